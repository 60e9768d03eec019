/** FaaSClient against a fake fetch: requests on the wire, retries, typed errors, conversions. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  AuthenticationError,
  ConflictError,
  ExecutionTimeoutError,
  FaaSClient,
  FaaSConnectionError,
  InternalServerError,
  InvalidRequestError,
  InvalidResponseError,
  NotFoundError,
  RateLimitError,
  type FaaSClientOptions,
} from "../src/index.js";

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

type Answer = Response | Error;

/** A client whose fetch answers from `answers` in turn and records what was sent and slept. */
function fakeClient(answers: Answer[], options: FaaSClientOptions = {}) {
  const sent: Sent[] = [];
  const slept: number[] = [];
  const client = new FaaSClient({
    apiKey: "key-1",
    endpoint: "http://node.test:8080",
    sleep: async (seconds) => void slept.push(seconds),
    fetch: async (url, init) => {
      const raw = init.body;
      const body = typeof raw === "string" ? JSON.parse(raw) : raw;
      sent.push({ method: String(init.method), url, headers: init.headers as Record<string, string>, body });
      const answer = answers.shift();
      if (answer === undefined) throw new Error("the test gave no more answers");
      if (answer instanceof Error) throw answer;
      return answer;
    },
    ...options,
  });
  return { client, sent, slept };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

function envelope(status: number, code: string, details: Record<string, unknown> = {}, headers = {}): Response {
  return json(status, { error: { code, message: `${code} happened`, details } }, headers);
}

const EXECUTION = {
  execution_id: "exec_1",
  status: "completed",
  exit_code: 0,
  stdout: "hi\n",
  stderr: "",
  duration_ms: 145,
  mode: "cached",
  cached: true,
  cost: { compute: 0.00012, total: 0.00012 },
  language: "python",
  truncated: false,
  oom_killed: false,
  error: null,
  cached_from: "exec_0",
  build_cached: false,
  usage: { cpu_seconds: 0.05, memory_peak_bytes: 1048576 },
  created_at: "2026-01-15T10:30:00Z",
  finished_at: "2026-01-15T10:30:00.145000+00:00",
  instance_id: null,
  snapshot_id: null,
  branch_id: null,
};

function connectionRefused(): Error {
  return new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
  });
}

describe("requests", () => {
  test("execute sends API.md's snake_case body with the key and answers camelCase", async () => {
    const { client, sent } = fakeClient([json(200, EXECUTION)]);
    const execution = await client.execute({
      code: "print('hi')",
      language: "python",
      mode: "cached",
      resources: { cpuCores: 1, memoryMb: 512, timeoutMs: 30000 },
      envVars: { NODE_ENV: "production" },
      files: { "input.txt": "hello" },
      async: false,
      interactive: true,
    });
    assert.equal(sent[0]?.method, "POST");
    assert.equal(sent[0]?.url, "http://node.test:8080/api/v1/execute");
    assert.equal(sent[0]?.headers["Authorization"], "Bearer key-1");
    assert.deepEqual(sent[0]?.body, {
      code: "print('hi')",
      language: "python",
      mode: "cached",
      resources: { cpu_cores: 1, memory_mb: 512, timeout_ms: 30000 },
      env_vars: { NODE_ENV: "production" },
      files: { "input.txt": Buffer.from("hello").toString("base64") },
      interactive: true,
    });
    assert.equal(execution.id, "exec_1");
    assert.equal(execution.executionId, "exec_1");
    assert.equal(execution.exitCode, 0);
    assert.equal(execution.cachedFrom, "exec_0");
    assert.deepEqual(execution.usage, { cpuSeconds: 0.05, memoryPeakBytes: 1048576 });
    assert.deepEqual(execution.createdAt, new Date("2026-01-15T10:30:00Z"));
    assert.deepEqual(execution.finishedAt, new Date("2026-01-15T10:30:00.145Z"));
  });

  test("ids are percent-encoded: an id cannot change the route", async () => {
    const { client, sent } = fakeClient([json(200, EXECUTION)]);
    await client.getExecution("../usage?x=1");
    assert.equal(sent[0]?.url, "http://node.test:8080/api/v1/executions/..%2Fusage%3Fx%3D1");
  });

  test("the endpoint gets the API prefix once", () => {
    for (const endpoint of ["http://h:1", "http://h:1/", "http://h:1/api/v1", "http://h:1/api/v1/"]) {
      assert.equal(new FaaSClient({ apiKey: "k", endpoint }).baseUrl, "http://h:1/api/v1");
    }
  });

  test("no API key anywhere is refused up front", () => {
    const saved = process.env["FAAS_API_KEY"];
    delete process.env["FAAS_API_KEY"];
    try {
      assert.throws(() => new FaaSClient({ endpoint: "http://h" }), /no API key/);
    } finally {
      if (saved !== undefined) process.env["FAAS_API_KEY"] = saved;
    }
  });

  test("list queries carry only the filters given, in the API's names", async () => {
    const page = { instances: [], total: 0, limit: 5, offset: 10 };
    const { client, sent } = fakeClient([json(200, page)]);
    assert.deepEqual(await client.instances.list({ state: "running", limit: 5, offset: 10 }), page);
    assert.equal(sent[0]?.url, "http://node.test:8080/api/v1/instances?state=running&limit=5&offset=10");
  });

  test("an instance start sends resources only when one is given and parses the detail", async () => {
    const instance = {
      instance_id: "inst_1",
      state: "running",
      language: "python",
      endpoints: { ssh: "ssh://root@node:22001", http: { web: "http://node/p" } },
      resources: { cpu_cores: 1, memory_mb: 512, disk_gb: 1, gpu_count: 0 },
      ttl: 60,
      auto_stop: true,
      snapshot_id: null,
      network: "none",
      stopped_reason: null,
      metadata: { snake_key: 1 },
      created_at: "2026-01-15T10:40:00Z",
      updated_at: "2026-01-15T10:41:00Z",
      expires_at: "2026-01-15T10:41:00Z",
      events: [{ from_state: null, to_state: "running", reason: "created", at: "2026-01-15T10:40:00Z" }],
    };
    const { client, sent } = fakeClient([json(201, instance), json(201, instance)]);
    const started = await client.instances.create({ language: "python", memoryMb: 512, ttl: 60 });
    await client.instances.create({ language: "python" });
    assert.deepEqual(sent[0]?.body, { language: "python", resources: { memory_mb: 512 }, ttl: 60 });
    assert.deepEqual(sent[1]?.body, { language: "python" });
    assert.deepEqual(started.endpoints, { ssh: "ssh://root@node:22001", http: { web: "http://node/p" } });
    assert.deepEqual(started.metadata, { snake_key: 1 }, "metadata is the user's: its keys are not converted");
    assert.deepEqual(started.events, [
      { fromState: null, toState: "running", reason: "created", at: new Date("2026-01-15T10:40:00Z") },
    ]);
    assert.equal(started.resources.diskGb, 1);
  });

  test("a merge and a sync speak the API's field names", async () => {
    const merged = {
      snapshot_id: "snap_m",
      checksum: "sha256:ab",
      size_bytes: 10,
      branch_ids: ["b1", "b2"],
      strategy: "ours",
      base_snapshot_id: "snap_b",
      merged_files: 1,
      resolved_conflicts: [{ path: "doc.txt" }],
      memory_state: "fresh",
      note: "files only",
      created_at: "2026-01-15T10:40:00Z",
    };
    const synced = {
      uploaded: ["a"],
      downloaded: [],
      deleted_remote: [],
      deleted_local: [],
      unchanged: [],
      conflicts: [],
      transferred: 1,
      deleted: 0,
      bytes: 3,
    };
    const { client, sent } = fakeClient([json(200, merged), json(200, synced)]);
    const result = await client.branches.merge(["b1", "b2"], { strategy: "ours" });
    assert.deepEqual(sent[0]?.body, { branch_ids: ["b1", "b2"], strategy: "ours" });
    assert.equal(result.baseSnapshotId, "snap_b");
    assert.deepEqual(result.resolvedConflicts, [{ path: "doc.txt" }]);
    const sync = await client.instances.files.sync("inst_1", { localDir: "p", remoteDir: "w", exclude: [".git"] });
    assert.deepEqual(sent[1]?.body, { local_dir: "p", remote_dir: "w", exclude: [".git"] });
    assert.equal(sync.transferred, 1);
    assert.deepEqual(sync.deletedRemote, []);
  });
});

describe("retries", () => {
  test("a 429 is retried after exactly its Retry-After, even for an execution", async () => {
    const { client, sent, slept } = fakeClient([
      envelope(429, "RATE_LIMIT_EXCEEDED", {}, { "retry-after": "3" }),
      json(200, EXECUTION),
    ]);
    assert.equal((await client.execute({ code: "1", language: "python" })).id, "exec_1");
    assert.equal(sent.length, 2);
    assert.deepEqual(slept, [3]);
  });

  test("Retry-After may be an HTTP date", async () => {
    const when = new Date(Date.now() + 5000).toUTCString();
    const { client, slept } = fakeClient([
      envelope(429, "RATE_LIMIT_EXCEEDED", {}, { "retry-after": when }),
      json(200, EXECUTION),
    ]);
    await client.getExecution("exec_1");
    assert.equal(slept.length, 1);
    assert.ok(slept[0]! > 3 && slept[0]! <= 5, `slept ${slept[0]}`);
  });

  test("a Retry-After past the wait cap throws the RateLimitError at once", async () => {
    const { client, sent, slept } = fakeClient([envelope(429, "RATE_LIMIT_EXCEEDED", {}, { "retry-after": "120" })]);
    const error = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfter, 120);
    assert.equal(sent.length, 1);
    assert.deepEqual(slept, []);
  });

  test("a GET is retried on 5xx with growing jittered backoff, then gives up", async () => {
    const { client, sent, slept } = fakeClient([
      envelope(503, "INTERNAL_ERROR"),
      envelope(502, "INTERNAL_ERROR"),
      envelope(500, "INTERNAL_ERROR"),
    ]);
    await assert.rejects(client.getExecution("exec_1"), InternalServerError);
    assert.equal(sent.length, 3);
    assert.equal(slept.length, 2);
    assert.ok(slept[0]! >= 0.25 && slept[0]! <= 0.5, `first back-off ${slept[0]}`);
    assert.ok(slept[1]! >= 0.5 && slept[1]! <= 1, `second back-off ${slept[1]}`);
  });

  test("an execution is never re-sent after a 5xx", async () => {
    for (const status of [500, 502, 503, 504]) {
      const { client, sent } = fakeClient([envelope(status, "INTERNAL_ERROR"), json(200, EXECUTION)]);
      await assert.rejects(client.execute({ code: "1", language: "python" }), InternalServerError);
      assert.equal(sent.length, 1, `re-sent after ${status}`);
    }
  });

  test("an execution is never re-sent after a timeout, and the error says the server may have run it", async () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    const { client, sent } = fakeClient([timeout, json(200, EXECUTION)]);
    const error = await client.execute({ code: "1", language: "python" }).catch((caught: unknown) => caught);
    assert.ok(error instanceof FaaSConnectionError);
    assert.match(error.message, /may have acted on it anyway/);
    assert.equal(sent.length, 1);
  });

  test("an execution is retried when the connection was refused before sending", async () => {
    const { client, sent } = fakeClient([connectionRefused(), json(200, EXECUTION)]);
    assert.equal((await client.execute({ code: "1", language: "python" })).id, "exec_1");
    assert.equal(sent.length, 2);
  });

  test("snapshot, branch and instance changes are not repeated after a 5xx", async () => {
    const { client, sent } = fakeClient([
      envelope(503, "INTERNAL_ERROR"),
      envelope(503, "INTERNAL_ERROR"),
      envelope(503, "INTERNAL_ERROR"),
    ]);
    await assert.rejects(client.snapshots.restore("snap_1"), InternalServerError);
    await assert.rejects(client.branches.merge(["a", "b"]), InternalServerError);
    await assert.rejects(client.instances.pause("inst_1"), InternalServerError);
    assert.equal(sent.length, 3);
  });

  test("client errors are not retried, and maxRetries 0 retries nothing", async () => {
    const { client, sent } = fakeClient([envelope(404, "NOT_FOUND")]);
    await assert.rejects(client.getExecution("nope"), NotFoundError);
    assert.equal(sent.length, 1);
    const none = fakeClient([envelope(503, "INTERNAL_ERROR")], { maxRetries: 0 });
    await assert.rejects(none.client.getExecution("exec_1"), InternalServerError);
    assert.equal(none.sent.length, 1);
  });

  test("a dead server ends in a FaaSConnectionError after the retries", async () => {
    const { client, sent } = fakeClient([connectionRefused(), connectionRefused(), connectionRefused()]);
    const error = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(error instanceof FaaSConnectionError);
    assert.equal(error.code, "CONNECTION_ERROR");
    assert.equal(error.statusCode, null);
    assert.equal(sent.length, 3);
  });
});

describe("errors", () => {
  const table: [number, string, Function][] = [
    [400, "INVALID_REQUEST", InvalidRequestError],
    [401, "UNAUTHORIZED", AuthenticationError],
    [404, "NOT_FOUND", NotFoundError],
    [409, "CONFLICT", ConflictError],
    [408, "EXECUTION_TIMEOUT", ExecutionTimeoutError],
  ];
  for (const [status, code, kind] of table) {
    test(`${code} (${status}) throws ${kind.name} with the envelope's fields`, async () => {
      const { client } = fakeClient([envelope(status, code, { field: "code" }, { "x-request-id": "req-9" })]);
      const error = await client.execute({ code: "1", language: "python" }).catch((caught: unknown) => caught);
      assert.ok(error instanceof kind);
      assert.ok(error instanceof Error && error.name === kind.name);
      const typed = error as InvalidRequestError;
      assert.deepEqual(
        [typed.code, typed.message, typed.statusCode, typed.requestId],
        [code, `${code} happened`, status, "req-9"],
      );
      assert.deepEqual(typed.details, { field: "code" });
    });
  }

  test("a RateLimitError says when to come back", async () => {
    const details = { limit: 100, remaining: 0, reset_at: "2026-01-15T11:00:00Z" };
    const { client } = fakeClient([envelope(429, "RATE_LIMIT_EXCEEDED", details, { "retry-after": "120" })]);
    const error = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(error instanceof RateLimitError);
    assert.deepEqual(error.resetAt, new Date("2026-01-15T11:00:00Z"));
    assert.deepEqual([error.limit, error.remaining, error.retryAfter], [100, 0, 120]);
  });

  test("without details, the rate-limit headers fill in (Unix seconds reset)", async () => {
    const headers = {
      "retry-after": "90",
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "1800000000",
    };
    const { client } = fakeClient([envelope(429, "RATE_LIMIT_EXCEEDED", {}, headers)]);
    const error = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(error instanceof RateLimitError);
    assert.deepEqual(error.resetAt, new Date(1800000000 * 1000));
    assert.deepEqual([error.limit, error.remaining], [10, 0]);
  });

  test("a timeout keeps the partial output", async () => {
    const details = { execution_id: "exec_t", stdout: "partial\n", stderr: "" };
    const { client } = fakeClient([envelope(408, "EXECUTION_TIMEOUT", details)]);
    const error = await client.execute({ code: "1", language: "python" }).catch((caught: unknown) => caught);
    assert.ok(error instanceof ExecutionTimeoutError);
    assert.deepEqual([error.executionId, error.stdout], ["exec_t", "partial\n"]);
  });

  test("a successful answer that is not the documented JSON is an InvalidResponseError, not a TypeError", async () => {
    const { client } = fakeClient([new Response("<html>portal</html>", { status: 200 }), json(200, { stdout: "x" })]);
    const notJson = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(notJson instanceof InvalidResponseError);
    assert.deepEqual([notJson.code, notJson.statusCode], ["INVALID_RESPONSE", 200]);
    const missing = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(missing instanceof InvalidResponseError);
    assert.match(missing.message, /execution_id is not a string/);
  });

  test("answers without the envelope are typed by their status", async () => {
    const page = new Response("<html>Bad Gateway</html>", { status: 502 });
    const { client } = fakeClient([page], { maxRetries: 0 });
    const error = await client.getExecution("exec_1").catch((caught: unknown) => caught);
    assert.ok(error instanceof InternalServerError);
    assert.equal(error.code, "INTERNAL_ERROR");
    assert.equal(error.message, "<html>Bad Gateway</html>");
    const missing = fakeClient([new Response("nope", { status: 404 })]);
    await assert.rejects(missing.client.getExecution("x"), NotFoundError);
  });
});
