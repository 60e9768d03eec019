/**
 * The raw WebSocket: the platform's own (`globalThis.WebSocket`) when there is one, else the `ws` package
 * (Node 20 has no stable global WebSocket). Either way the stream sees the same four callbacks.
 */

import { FaaSConnectionError, errorFromEnvelope, type FaaSError } from "./errors.js";

export interface SocketHandlers {
  open(): void;
  message(text: string): void;
  /** The connection closed (by either side) after it was open. */
  closed(code: number | null, reason: string): void;
  /** It never opened: refused handshake (typed like REST), unreachable server, timeout. */
  failed(error: FaaSError): void;
}

export interface Socket {
  send(text: string): void;
  close(): void;
}

export interface SocketOptions {
  url: string;
  /** Sent with the handshake where the platform allows headers (Node); else the key goes as `?api_key=`. */
  headers: Record<string, string>;
  apiKey: string;
  openTimeoutMs: number;
}

/** Opens a socket; every callback fires at most once except `message`, and none after `failed`. */
export async function connectSocket(options: SocketOptions, handlers: SocketHandlers): Promise<Socket> {
  const native = (globalThis as { WebSocket?: NativeWebSocketClass }).WebSocket;
  if (native !== undefined) return connectNative(native, options, handlers);
  let ws: typeof import("ws");
  try {
    ws = await import("ws");
  } catch (error) {
    throw new FaaSConnectionError("no WebSocket: this platform has none and the `ws` package is not installed", {
      cause: error,
    });
  }
  return connectWs(ws.WebSocket, options, handlers);
}

function connectWs(WS: typeof import("ws").WebSocket, options: SocketOptions, handlers: SocketHandlers): Socket {
  const socket = new WS(options.url, { headers: options.headers, handshakeTimeout: options.openTimeoutMs });
  let opened = false;
  let failed = false;
  const fail = (error: FaaSError): void => {
    if (!failed && !opened) handlers.failed(error);
    failed = true;
  };
  socket.on("open", () => {
    opened = true;
    handlers.open();
  });
  socket.on("message", (data) => handlers.message(String(data)));
  socket.on("close", (code, reason) => {
    if (opened) handlers.closed(code, reason.toString());
    else fail(new FaaSConnectionError(`cannot open the stream at ${options.url}: closed (code ${code})`));
  });
  socket.on("error", (error) => {
    fail(new FaaSConnectionError(`cannot open the stream at ${options.url}: ${error.message}`, { cause: error }));
  });
  socket.on("unexpected-response", (request, response) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(
        Object.entries(response.headers).map(([name, value]) => [name, String(value)]),
      );
      fail(errorFromEnvelope(response.statusCode ?? 0, parseJson(text), headers, text));
      request.destroy();
    });
  });
  return { send: (text) => socket.send(text), close: () => socket.close(1000) };
}

interface NativeWebSocket {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

type NativeWebSocketClass = new (url: string, init?: unknown) => NativeWebSocket;

function connectNative(Native: NativeWebSocketClass, options: SocketOptions, handlers: SocketHandlers): Socket {
  // Node's global WebSocket (undici) takes headers; a browser's takes none, so the key rides in the query.
  const inNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
  const url = new URL(options.url);
  if (!inNode) url.searchParams.set("api_key", options.apiKey);
  const socket = inNode ? new Native(url.toString(), { headers: options.headers }) : new Native(url.toString());
  let opened = false;
  let failed = false;
  const fail = (why: string): void => {
    if (!failed && !opened) {
      handlers.failed(new FaaSConnectionError(`cannot open the stream at ${options.url}: ${why}`));
    }
    failed = true;
  };
  const timer = setTimeout(() => {
    fail(`no answer within ${options.openTimeoutMs} ms`);
    socket.close();
  }, options.openTimeoutMs);
  socket.onopen = () => {
    clearTimeout(timer);
    opened = !failed;
    if (opened) handlers.open();
  };
  socket.onmessage = (event) => handlers.message(String(event.data));
  socket.onerror = () => fail("the connection failed (the platform gives no details)");
  socket.onclose = (event) => {
    clearTimeout(timer);
    if (opened) handlers.closed(event.code, event.reason);
    else fail(`closed (code ${event.code})`);
  };
  return { send: (text) => socket.send(text), close: () => socket.close(1000) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null; // Not our envelope: the error is typed by its status.
  }
}
