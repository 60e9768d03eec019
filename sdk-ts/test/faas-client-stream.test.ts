/**
 * ExecutionStream against a WebSocket server speaking API.md's stream protocol: events, input,
 * and every way a stream can end. Run once with the `ws` package (Node 20's default) and, in a child
 * process, once more with Node's own WebSocket (`--experimental-websocket`).
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { WebSocketServer, type WebSocket } from "ws";

import {
  AuthenticationError,
  FaaSClient,
  FaaSConnectionError,
  NotFoundError,
  type FaaSError,
  type StreamEvent,
} from "../src/index.js";

const NATIVE = typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function";
const received: Record<string, unknown>[] = [];
const handshakes: IncomingMessage[] = [];

function send(socket: WebSocket, message: Record<string, unknown>): void {
  socket.send(JSON.stringify(message));
}

/** What the fake node does once a client subscribed to `executionId`. */
function play(socket: WebSocket, executionId: string): void {
  const id = { execution_id: executionId };
  if (executionId === "exec_badkey") socket.close(1008, "unknown API key");
  else if (executionId === "exec_gone") socket.close(4404, "no such execution");
  else if (executionId === "exec_crash") {
    send(socket, { type: "output", ...id, stream: "stdout", data: "half" });
    setTimeout(() => socket.terminate(), 20);
  } else if (executionId === "exec_failed") {
    send(socket, { type: "error", ...id, error: "the sandbox died" });
  } else {
    send(socket, { type: "output", ...id, stream: "stdout", data: "ready\n" });
    send(socket, { type: "heartbeat", ...id });
    send(socket, { type: "progress", ...id, progress: 0.5, message: "half way" });
    send(socket, { type: "error", ...id, error: "resize needs integer cols and rows", final: false });
    send(socket, { type: "output", ...id, stream: "stderr", data: "warn\n" });
  }
}

function onMessage(socket: WebSocket, raw: string): void {
  const message = JSON.parse(raw) as Record<string, unknown>;
  received.push(message);
  const executionId = String(message["execution_id"]);
  if (message["type"] === "subscribe") play(socket, executionId);
  if (message["type"] === "input") {
    send(socket, {
      type: "output",
      execution_id: executionId,
      stream: "stdout",
      data: `echo:${String(message["data"])}`,
    });
    if (message["eof"] === true) send(socket, { type: "completed", execution_id: executionId, exit_code: 0 });
  }
}

function refuse(socket: Duplex): void {
  const body = JSON.stringify({ error: { code: "NOT_FOUND", message: "no such stream", details: {} } });
  socket.end(
    `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Request-ID: req-7\r\n\r\n${body}`,
  );
}

const server = createServer();
const sockets = new WebSocketServer({ noServer: true });
let endpoint = "";

before(async () => {
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    handshakes.push(request);
    if (request.url?.endsWith("/refused")) return refuse(socket);
    sockets.handleUpgrade(request, socket, head, (ws) => ws.on("message", (raw) => onMessage(ws, String(raw))));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  for (const client of sockets.clients) client.terminate();
  server.close();
});

function stream(executionId: string) {
  return new FaaSClient({ apiKey: "key-s", endpoint }).stream(executionId);
}

async function failure(promise: Promise<unknown>): Promise<FaaSError> {
  const error = await promise.then(
    () => assert.fail("expected the stream to fail"),
    (caught: unknown) => caught,
  );
  return error as FaaSError;
}

describe(`ExecutionStream over ${NATIVE ? "Node's own WebSocket" : "the ws package"}`, () => {
  test("it subscribes with the key, delivers typed events to listeners and the iterator, and sends input", async () => {
    const live = stream("exec_live");
    const outputs: string[] = [];
    const errors: string[] = [];
    let progress: number | null = null;
    let exitCode: number | null = -1;
    live.on("output", (data) => outputs.push(data));
    live.on("progress", (fraction) => (progress = fraction));
    live.on("error", (message) => errors.push(message));
    live.on("complete", (code) => (exitCode = code));
    const events: StreamEvent[] = [];
    for await (const event of live) {
      events.push(event);
      if (event.type === "output" && event.stream === "stderr") await live.sendInput("ada\n", { eof: true });
    }
    assert.deepEqual(
      events.map((event) => event.type),
      ["output", "progress", "error", "output", "output", "completed"],
      "the unknown heartbeat is skipped; a refused command (final: false) does not end the stream",
    );
    assert.deepEqual(events[1], { type: "progress", executionId: "exec_live", progress: 0.5, message: "half way" });
    assert.deepEqual(events[3], { type: "output", executionId: "exec_live", stream: "stderr", data: "warn\n" });
    assert.deepEqual(outputs, ["ready\n", "warn\n", "echo:ada\n"]);
    assert.deepEqual([progress, exitCode, errors], [0.5, 0, ["resize needs integer cols and rows"]]);
    assert.ok(received.some((m) => m["type"] === "subscribe" && m["execution_id"] === "exec_live"));
    assert.deepEqual(received.at(-1), { type: "input", execution_id: "exec_live", data: "ada\n", eof: true });
    assert.equal(handshakes.at(-1)?.headers.authorization, "Bearer key-s");
    assert.equal(handshakes.at(-1)?.url, "/api/v1/stream/exec_live");
    await assert.rejects(live.sendInput("late"), FaaSConnectionError);
  });

  test("an iterator started after the events arrived still gets them all", async () => {
    const live = stream("exec_live");
    let first = "";
    await new Promise<void>((resolve) => live.on("output", (data) => ((first ||= data), resolve())));
    await live.resize(120, 40);
    await live.sendInput("", { eof: true });
    const types: string[] = [];
    for await (const event of live) types.push(event.type);
    assert.equal(first, "ready\n");
    assert.deepEqual(types, ["output", "progress", "error", "output", "output", "completed"]);
    assert.ok(received.some((m) => m["type"] === "resize" && m["cols"] === 120 && m["rows"] === 40));
  });

  test("leaving the loop early closes the stream", async () => {
    const live = stream("exec_live");
    for await (const event of live) {
      assert.equal(event.type, "output");
      break;
    }
    assert.equal(await live.finished(), null);
    await assert.rejects(live.sendInput("x"), FaaSConnectionError);
  });

  test("a failed execution ends the stream with its error event", async () => {
    const ended = await stream("exec_failed").finished();
    assert.deepEqual(ended, { type: "error", executionId: "exec_failed", error: "the sandbox died", final: true });
  });

  test("a key refused after the handshake (1008) is an AuthenticationError", async () => {
    const refused = stream("exec_badkey");
    const seen: unknown[] = [];
    refused.on("error", (_message, cause) => seen.push(cause));
    const error = await failure(refused.finished());
    assert.ok(error instanceof AuthenticationError);
    assert.deepEqual([error.statusCode, error.message], [401, "unknown API key"]);
    assert.deepEqual(seen, [error], "the error listener hears it too");
    await assert.rejects(async () => {
      for await (const _ of refused) assert.fail("no events");
    }, AuthenticationError);
  });

  test("close code 4404 is a NotFoundError", async () => {
    const error = await failure(stream("exec_gone").finished());
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.message, "no such execution");
  });

  test("a connection lost before completion is a FaaSConnectionError, after the output it got", async () => {
    const crashed = stream("exec_crash");
    const events: StreamEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of crashed) events.push(event);
      })(),
    );
    assert.ok(error instanceof FaaSConnectionError);
    assert.match(error.message, /closed before the execution completed/);
    assert.deepEqual(
      events.map((e) => (e.type === "output" ? e.data : e.type)),
      ["half"],
    );
  });

  test("a refused handshake is typed from its status and envelope where the platform shows them", async () => {
    const error = await failure(stream("refused").finished());
    if (NATIVE) {
      assert.ok(error instanceof FaaSConnectionError, "a standard WebSocket hides the refusal's status");
    } else {
      assert.ok(error instanceof NotFoundError);
      assert.deepEqual([error.message, error.statusCode, error.requestId], ["no such stream", 404, "req-7"]);
    }
  });

  test("an unreachable server is a FaaSConnectionError", async () => {
    const nobody = new FaaSClient({ apiKey: "k", endpoint: "http://127.0.0.1:1" }).stream("exec_1");
    assert.ok((await failure(nobody.finished())) instanceof FaaSConnectionError);
  });

  test("close() ends the iterator and finished() with null, even before the socket opened", async () => {
    const closing = stream("exec_live");
    closing.close();
    assert.equal(await closing.finished(), null);
    const events: StreamEvent[] = [];
    for await (const event of closing) events.push(event);
    assert.deepEqual(events, []);
  });
});

test("the same tests pass over Node's own WebSocket", { skip: NATIVE ? "this is that run" : false }, () => {
  const file = fileURLToPath(import.meta.url);
  execFileSync(process.execPath, ["--experimental-websocket", "--import", "tsx", "--test", file], {
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
    stdio: "pipe",
    timeout: 60_000,
  });
});
