/**
 * FaaSClient against a real node (`faas serve`: real Docker sandboxes, CRIU for snapshots).
 * Run by tests/sdk_ts/test_faas_client.py, which starts the node and sets FAAS_ENDPOINT and FAAS_API_KEY;
 * by hand: FAAS_ENDPOINT=http://127.0.0.1:8080 FAAS_API_KEY=... npm test -w sdk-ts.
 */

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";

import {
  AuthenticationError,
  ConflictError,
  FaaSClient,
  InvalidRequestError,
  NotFoundError,
  RateLimitError,
  type FaaSError,
  type StreamEvent,
} from "../../src/index.js";

const ENDPOINT = process.env["FAAS_ENDPOINT"];
const FILES_ROOT = process.env["NODE_FILES_ROOT"];
/** A node allowing 3 requests a minute per key. */
const LIMITED = process.env["FAAS_LIMITED_ENDPOINT"];
const skip = ENDPOINT === undefined ? "FAAS_ENDPOINT is not set: tests/sdk_ts/test_faas_client.py runs these" : false;

function client(): FaaSClient {
  return new FaaSClient({ apiKey: process.env["FAAS_API_KEY"], endpoint: ENDPOINT });
}

/** In an instance: /workspace over HTTP on 8000, a TCP echo on 9000 (threads of its live interpreter). */
const SERVERS = `
import http.server, socket, threading

with open("/workspace/hello.txt", "w") as f:
    f.write("hello from inside\\n")

class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory="/workspace", **kwargs)

    def log_message(self, *args):
        pass

web = http.server.ThreadingHTTPServer(("127.0.0.1", 8000), Handler)
threading.Thread(target=web.serve_forever, daemon=True).start()

echo = socket.socket()
echo.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
echo.bind(("127.0.0.1", 9000))
echo.listen()

def repeat(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)

def accept():
    while True:
        threading.Thread(target=repeat, args=(echo.accept()[0],), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** What the TCP server behind host:port answers to `message`. */
function echoThrough(host: string, port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(message));
    socket.setTimeout(10_000, () => socket.destroy(new Error("no echo within 10 s")));
    socket.once("data", (data) => {
      resolve(String(data));
      socket.end();
    });
    socket.once("error", reject);
  });
}

function text(bytes: Uint8Array | undefined): string {
  return new TextDecoder().decode(bytes);
}

describe("FaaSClient against a real node", { skip, timeout: 600_000 }, () => {
  test("API.md's TypeScript example: a cached execution, then its stream's output and completion", async () => {
    const client = new FaaSClient({ apiKey: process.env["FAAS_API_KEY"], endpoint: ENDPOINT });
    const execution = await client.execute({
      code: "for i in range(10): print(i)",
      language: "python",
      mode: "cached",
    });
    const stream = client.stream(execution.id);
    const outputs: string[] = [];
    let exitCode: number | null = -1;
    stream.on("output", (data) => outputs.push(data));
    stream.on("complete", (code) => (exitCode = code));
    await stream.finished();
    assert.equal(outputs.join(""), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    assert.equal(exitCode, 0);
    assert.equal(execution.stdout, outputs.join(""));

    const again = await client.execute({ code: "for i in range(10): print(i)", language: "python", mode: "cached" });
    assert.equal(again.cached, true);
    assert.equal(again.cachedFrom, execution.id);
    assert.equal(again.stdout, execution.stdout);
  });

  test("an async execution streams live and takes input", async () => {
    const code = "import time\nprint('ready', flush=True)\nname = input()\ntime.sleep(0.3)\nprint('hello', name)";
    const sdk = client();
    const started = await sdk.execute({ code, language: "python", async: true, interactive: true });
    assert.equal(started.status, "running");
    const stream = sdk.stream(started.id);
    const events: StreamEvent[] = [];
    let answered = false;
    for await (const event of stream) {
      events.push(event);
      const printed = events.map((e) => (e.type === "output" ? e.data : "")).join("");
      if (!answered && printed.includes("ready\n")) {
        answered = true;
        await stream.sendInput("ada\n", { eof: true });
      }
    }
    const printed = events.map((e) => (e.type === "output" ? e.data : "")).join("");
    assert.equal(printed, "ready\nhello ada\n");
    assert.deepEqual(events.at(-1), { type: "completed", executionId: started.id, exitCode: 0 });
    const final = await sdk.getExecution(started.id);
    assert.deepEqual([final.status, final.stdout, final.exitCode], ["completed", "ready\nhello ada\n", 0]);
  });

  test("a failing program's stream reports its exit code and stderr", async () => {
    const sdk = client();
    const execution = await sdk.execute({
      code: "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)",
      language: "python",
    });
    assert.deepEqual([execution.status, execution.exitCode, execution.stderr], ["failed", 3, "oops\n"]);
    const events: StreamEvent[] = [];
    for await (const event of sdk.stream(execution.id)) events.push(event);
    // Live chunks may split lines anywhere: what counts is what each stream carried in all.
    const stderr = events.map((e) => (e.type === "output" && e.stream === "stderr" ? e.data : "")).join("");
    assert.equal(stderr, "oops\n");
    assert.deepEqual(events.at(-1), { type: "completed", executionId: execution.id, exitCode: 3 });
  });

  test("state lives on: a persistent execution, its snapshot, branches, a merge, a restore", async () => {
    const sdk = client();
    const edit = (line: string): string =>
      `lines = open('doc.txt').read().splitlines(keepends=True)\nlines[1] = '${line}\\n'\nopen('doc.txt', 'w').write(''.join(lines))\n`;
    const first = await sdk.execute({
      code: "x = 41",
      language: "python",
      mode: "persistent",
      files: { "doc.txt": "one\ntwo\nthree\n" },
    });
    assert.equal(first.mode, "persistent");
    assert.match(first.instanceId ?? "", /^inst_/);
    const kept = await sdk.instances.execute(first.instanceId!, { code: "x += 1\nprint(x)", language: "python" });
    assert.deepEqual([kept.mode, kept.stdout], ["persistent", "42\n"]);

    const base = await sdk.snapshots.create({ executionId: first.id, metadata: { name: "at 42" } });
    assert.match(base.snapshotId, /^snap_/);
    assert.deepEqual(
      [base.mode, base.metadata, base.instanceId],
      ["checkpointed", { name: "at 42" }, first.instanceId],
    );
    assert.ok(base.sizeBytes > 0 && base.checksum.startsWith("sha256:") && base.createdAt instanceof Date);
    assert.deepEqual(await sdk.snapshots.get(base.snapshotId), base);
    const listed = await sdk.snapshots.list({ mode: "checkpointed", limit: 100 });
    assert.ok(listed.snapshots.some((s) => s.snapshotId === base.snapshotId));

    const left = await sdk.branches.create({ snapshotId: base.snapshotId, metadata: { name: "left" } });
    const right = await sdk.branches.create({ snapshotId: base.snapshotId });
    assert.equal(left.headSnapshotId, base.snapshotId);
    const onLeft = await sdk.branches.execute(left.branchId, { code: edit("ours"), language: "python" });
    assert.deepEqual([onLeft.mode, onLeft.branchId], ["branched", left.branchId]);
    assert.equal((await sdk.branches.get(left.branchId)).headSnapshotId, onLeft.snapshotId);
    await sdk.branches.execute(right.branchId, { code: edit("theirs"), language: "python" });
    const branches = await sdk.branches.list({ snapshotId: base.snapshotId });
    assert.deepEqual(new Set(branches.branches.map((b) => b.branchId)), new Set([left.branchId, right.branchId]));

    const ids = [left.branchId, right.branchId];
    const conflict = await sdk.branches.merge(ids).catch((error: unknown) => error);
    assert.ok(conflict instanceof ConflictError, `expected ConflictError, got ${String(conflict)}`);
    const conflicts = conflict.details["conflicts"] as { path: string }[];
    assert.deepEqual(
      conflicts.map((c) => c.path),
      ["doc.txt"],
    );
    const merged = await sdk.branches.merge(ids, { strategy: "ours" });
    assert.deepEqual([merged.baseSnapshotId, merged.memoryState], [base.snapshotId, "fresh"]);
    assert.deepEqual(
      merged.resolvedConflicts.map((c) => c["path"]),
      ["doc.txt"],
    );

    const restored = await sdk.snapshots.restore(merged.snapshotId);
    assert.equal(restored.status, "restored");
    const line = await sdk.instances.execute(restored.instanceId, {
      code: "print(open('doc.txt').read().splitlines()[1])",
      language: "python",
    });
    assert.equal(line.stdout, "ours\n");
    const atBase = await sdk.snapshots.restore(base.snapshotId);
    assert.equal(
      (await sdk.instances.execute(atBase.instanceId, { code: "print(x)", language: "python" })).stdout,
      "42\n",
    );

    const needed = await sdk.snapshots.delete(base.snapshotId).catch((error: unknown) => error);
    assert.ok(needed instanceof ConflictError);
    assert.ok((needed.details["children"] as string[]).includes(onLeft.snapshotId!));
    const deleted = await sdk.snapshots.delete(base.snapshotId, { force: true });
    assert.ok(deleted.deleted && deleted.reparentedChildren.includes(onLeft.snapshotId!));
    await assert.rejects(sdk.snapshots.get(base.snapshotId), NotFoundError);
  });

  test("an instance: started, executed in, files up and down, paused, resumed with its state, stopped", async () => {
    const sdk = client();
    const started = await sdk.instances.create({ language: "python", memoryMb: 512, metadata: { name: "ts-sdk" } });
    const id = started.instanceId;
    assert.deepEqual([started.state, started.language, started.metadata], ["running", "python", { name: "ts-sdk" }]);
    assert.equal(started.events?.at(-1)?.toState, "running");

    const uploaded = await sdk.instances.files.upload(
      id,
      { "notes.txt": "from the SDK\n", "data/n.bin": new Uint8Array([7, 8, 9]) },
      { path: "in" },
    );
    assert.deepEqual(uploaded, { files: 2, bytes: 16 });
    const read = await sdk.instances.execute(id, {
      code: "x = open('in/notes.txt').read()\nprint(x, end='')\nwritten = open('out.txt', 'w').write('made inside\\n')",
      language: "python",
    });
    assert.equal(read.stdout, "from the SDK\n");
    const files = await sdk.instances.files.download(id, "in");
    assert.equal(text(files["notes.txt"]), "from the SDK\n");
    assert.deepEqual([...(files["data/n.bin"] ?? [])], [7, 8, 9]);
    assert.equal(text((await sdk.instances.files.download(id))["out.txt"]), "made inside\n");

    assert.equal((await sdk.instances.pause(id)).state, "paused");
    await assert.rejects(sdk.instances.execute(id, { code: "print(x)", language: "python" }), ConflictError);
    assert.equal((await sdk.instances.resume(id)).state, "running");
    assert.equal(
      (await sdk.instances.execute(id, { code: "print(x, end='')", language: "python" })).stdout,
      "from the SDK\n",
    );

    const running = await sdk.instances.list({ state: "running", limit: 100 });
    assert.ok(running.instances.some((i) => i.instanceId === id));
    assert.ok(running.instances.every((i) => i.state === "running" && i.events === null));
    const stopped = await sdk.instances.stop(id);
    assert.equal(stopped.state, "stopped");
    assert.deepEqual(stopped.events?.map((e) => e.toState).slice(-3), ["paused", "running", "stopped"]);
    assert.equal((await sdk.instances.get(id)).state, "stopped");
    await assert.rejects(sdk.instances.execute(id, { code: "print(1)", language: "python" }), ConflictError);
  });

  test(
    "copies and a two-way sync between the node's files root and an instance",
    { skip: FILES_ROOT === undefined ? "NODE_FILES_ROOT is not set" : false },
    async () => {
      const root = FILES_ROOT!;
      const sdk = client();
      mkdirSync(join(root, "project", "src"), { recursive: true });
      writeFileSync(join(root, "project", "src", "main.py"), "print('v1')\n");
      writeFileSync(join(root, "project", "skip.log"), "noise\n");
      const { instanceId: id } = await sdk.instances.create({ language: "python", memoryMb: 512 });

      const copied = await sdk.instances.files.copy(id, {
        direction: "upload",
        localPath: "project/src",
        remotePath: "app",
      });
      assert.deepEqual(copied, { files: 1, bytes: 12 });
      assert.equal(
        (await sdk.instances.execute(id, { code: "exec(open('app/main.py').read())", language: "python" })).stdout,
        "v1\n",
      );
      await sdk.instances.execute(id, { code: "n = open('app/made.txt', 'w').write('inside\\n')", language: "python" });
      const back = await sdk.instances.files.copy(id, {
        direction: "download",
        localPath: "copied",
        remotePath: "app",
      });
      assert.equal(back.files, 2);
      assert.equal(readFileSync(join(root, "copied", "made.txt"), "utf8"), "inside\n");

      const first = await sdk.instances.files.sync(id, {
        localDir: "project",
        remoteDir: "work",
        exclude: ["*.log"],
        bidirectional: true,
      });
      assert.deepEqual(first.uploaded, ["src/main.py"]);
      assert.equal(first.transferred, 1);
      await sdk.instances.execute(id, {
        code: "n = open('work/src/main.py', 'w').write(\"print('v2')\\n\")",
        language: "python",
      });
      const second = await sdk.instances.files.sync(id, {
        localDir: "project",
        remoteDir: "work",
        exclude: ["*.log"],
        bidirectional: true,
      });
      assert.deepEqual([second.downloaded, second.uploaded, second.conflicts], [["src/main.py"], [], []]);
      assert.equal(readFileSync(join(root, "project", "src", "main.py"), "utf8"), "print('v2')\n");
      await sdk.instances.stop(id);
    },
  );

  test("the ways into an instance: an exposed service, a port forward, SSH access, Jupyter; VSCode refused", async () => {
    const sdk = client();
    const { instanceId: id } = await sdk.instances.create({ language: "python", memoryMb: 512 });
    await sdk.instances.execute(id, { code: SERVERS, language: "python" });

    const web = await sdk.instances.expose(id, "web", 8000);
    assert.deepEqual([web.name, web.port], ["web", 8000]);
    const page = new URL(web.url);
    page.pathname += "hello.txt";
    const served = await fetch(page);
    assert.equal(served.status, 200);
    assert.equal(await served.text(), "hello from inside\n");
    assert.deepEqual((await sdk.instances.get(id)).endpoints.http, { web: web.url });
    await sdk.instances.unexpose(id, "web");
    assert.equal((await fetch(page)).status, 404);

    const localPort = await freePort();
    const forward = await sdk.instances.forwardPort(id, localPort, 9000);
    assert.deepEqual([forward.localPort, forward.remotePort], [localPort, 9000]);
    assert.deepEqual(await sdk.instances.portForwards(id), [forward]);
    assert.equal(await echoThrough(forward.bindAddress, localPort, "ping"), "ping");
    await sdk.instances.removePortForward(id, localPort);
    assert.deepEqual(await sdk.instances.portForwards(id), []);

    const ssh = await sdk.instances.ssh(id);
    assert.equal(ssh.username, "root");
    assert.match(ssh.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    assert.match(ssh.fingerprint, /^SHA256:/);
    assert.equal(ssh.sshUrl, `ssh://root@${ssh.host}:${ssh.port}`);
    assert.equal((await sdk.instances.get(id)).endpoints.ssh, ssh.sshUrl);

    const jupyter = await sdk.instances.jupyter(id);
    assert.equal(jupyter.type, "jupyter");
    assert.ok((jupyter.token ?? "").length >= 24 && jupyter.password === null);
    const status = await fetch(`${jupyter.url.split("?")[0]}api/status?token=${jupyter.token}`);
    assert.equal(status.status, 200);

    const vscode = await sdk.instances.vscode(id).catch((error: unknown) => error);
    assert.ok(vscode instanceof InvalidRequestError);
    assert.deepEqual(vscode.details["available"], ["jupyter", "vnc"]);
    await sdk.instances.stop(id);
  });

  test("usage counts this tenant's executions and credits", async () => {
    const sdk = client();
    await sdk.execute({ code: "print('counted')", language: "python" });
    const report = await sdk.usage.get();
    assert.ok(report.executions.totalCount >= 1);
    assert.ok(report.executions.byMode.ephemeral >= 1);
    assert.ok(report.periodStart <= new Date() && new Date() <= report.periodEnd);
    assert.ok(report.costs.totalCost > 0);
    const current = await sdk.usage.current();
    assert.equal(current.activeExecutions, 0);
    assert.ok(current.rateLimitRemaining > 0);
    assert.ok(Math.abs(current.currentBalance - report.costs.creditsRemaining) < 1e-6);
  });

  test(
    "a real rate limit: RateLimitError says when it resets, and retries wait exactly Retry-After",
    { skip: LIMITED === undefined ? "FAAS_LIMITED_ENDPOINT is not set" : false },
    async () => {
      const slept: number[] = [];
      const apiKey = process.env["FAAS_API_KEY"];
      const patient = new FaaSClient({ apiKey, endpoint: LIMITED, sleep: async (seconds) => void slept.push(seconds) });
      const impatient = new FaaSClient({ apiKey, endpoint: LIMITED, maxRetries: 0 });
      // The node's windows are whole clock minutes: the 4th request is refused, or the 7th across a boundary.
      let limited: unknown = null;
      const before = Date.now();
      for (let i = 0; i < 7 && !(limited instanceof RateLimitError); i += 1) {
        limited = await impatient.usage.current().catch((error: unknown) => error);
      }
      assert.ok(limited instanceof RateLimitError, `expected RateLimitError, got ${String(limited)}`);
      assert.deepEqual([limited.statusCode, limited.limit, limited.remaining], [429, 3, 0]);
      assert.ok(limited.retryAfter !== null && limited.retryAfter > 0 && limited.retryAfter <= 60);
      const resetIn = limited.resetAt.getTime() - before;
      assert.ok(resetIn > 0 && resetIn <= 61_000, `resets in ${resetIn} ms`);

      const again = await patient.usage.current().catch((error: unknown) => error);
      if (!(again instanceof RateLimitError)) {
        // The window turned between the two calls: nothing to wait for.
        assert.ok(Date.now() >= limited.resetAt.getTime() && slept.length === 0, `not limited: ${String(again)}`);
        return;
      }
      assert.ok(slept.length >= 1 && slept.length <= 2, `waits ${slept}`);
      assert.ok(
        Math.abs(slept[0]! - limited.retryAfter) <= 1,
        `slept ${slept[0]} for Retry-After ${limited.retryAfter}`,
      );
      assert.ok(slept.reduce((total, wait) => total + wait, 0) <= 60, "at most 60 s of waiting per call");
    },
  );

  test("a bad request, an unknown id and a wrong key throw their typed errors", async () => {
    const sdk = client();
    const bad = await sdk.execute({ code: "1", language: "cobol" as "python" }).catch((error: unknown) => error);
    assert.ok(bad instanceof InvalidRequestError);
    assert.equal((bad as FaaSError).statusCode, 400);
    assert.deepEqual(
      ((bad as FaaSError).details["errors"] as { field: string }[]).map((e) => e.field),
      ["language"],
    );

    const unknown = await sdk.getExecution("exec_000000000000000000000000").catch((error: unknown) => error);
    assert.ok(unknown instanceof NotFoundError);
    assert.equal((unknown as FaaSError).code, "NOT_FOUND");
    await assert.rejects(sdk.instances.get("inst_nope"), NotFoundError);
    const ended = await sdk.stream("exec_000000000000000000000000").finished();
    assert.equal(ended?.type, "error");
    assert.match(ended?.type === "error" ? ended.error : "", /not found/);

    const stranger = new FaaSClient({ apiKey: "not-a-key", endpoint: ENDPOINT });
    const refused = await stranger.execute({ code: "print(1)", language: "python" }).catch((error: unknown) => error);
    assert.ok(refused instanceof AuthenticationError);
    assert.equal((refused as FaaSError).statusCode, 401);
    await assert.rejects(stranger.stream("exec_000000000000000000000000").finished(), AuthenticationError);
  });
});
