/** The WebSocket protocol of API.md ("WebSocket Protocol", "WebSocket Events") as pure functions. */

import { FaaSConnectionError, STATUS_CODES, errorFromEnvelope, type FaaSError } from "./errors.js";
import type { StreamEvent } from "./models.js";

/** How the server refuses an API key after the handshake. */
export const POLICY_VIOLATION = 1008;

/** `http(s)://host/api/v1` → `ws(s)://host/api/v1/stream/{executionId}`. */
export function streamUrl(baseUrl: string, executionId: string): string {
  const url = new URL(`${baseUrl}/stream/${encodeURIComponent(executionId)}`);
  url.protocol = url.protocol === "https:" ? "wss:" : url.protocol === "http:" ? "ws:" : url.protocol;
  return url.toString();
}

export function subscribeMessage(executionId: string): string {
  return JSON.stringify({ type: "subscribe", execution_id: executionId });
}

export function unsubscribeMessage(executionId: string): string {
  return JSON.stringify({ type: "unsubscribe", execution_id: executionId });
}

export function inputMessage(executionId: string, data: string, eof = false): string {
  return JSON.stringify({ type: "input", execution_id: executionId, data, ...(eof ? { eof: true } : {}) });
}

export function resizeMessage(executionId: string, cols: number, rows: number): string {
  return JSON.stringify({ type: "resize", execution_id: executionId, cols, rows });
}

/** A server message as an event; null for messages this SDK does not know (forward compatibility). */
export function parseStreamMessage(raw: string, executionId: string): StreamEvent | null {
  const message: unknown = JSON.parse(raw);
  if (typeof message !== "object" || message === null || Array.isArray(message)) return null;
  const fields = message as Record<string, unknown>;
  const id = typeof fields["execution_id"] === "string" ? fields["execution_id"] : executionId;
  switch (fields["type"]) {
    case "output":
      return {
        type: "output",
        executionId: id,
        stream: fields["stream"] === "stderr" ? "stderr" : "stdout",
        data: typeof fields["data"] === "string" ? fields["data"] : "",
      };
    case "progress":
      return {
        type: "progress",
        executionId: id,
        progress: typeof fields["progress"] === "number" ? fields["progress"] : null,
        message: typeof fields["message"] === "string" ? fields["message"] : null,
      };
    case "completed":
      return {
        type: "completed",
        executionId: id,
        exitCode: typeof fields["exit_code"] === "number" ? fields["exit_code"] : null,
      };
    case "error":
      return {
        type: "error",
        executionId: id,
        error: typeof fields["error"] === "string" && fields["error"] ? fields["error"] : "execution failed",
        final: fields["final"] !== false,
      };
    default:
      return null;
  }
}

/** The stream ends after `completed` or a final `error`. */
export function isFinal(event: StreamEvent): boolean {
  return event.type === "completed" || (event.type === "error" && event.final);
}

/**
 * The error for a stream the server closed before `completed`/`error`.
 *
 * Close codes 4400-4599 are read as 4000 + an HTTP status (4401 unauthorized, 4404 not found);
 * 1008 (policy violation) is how the server refuses an API key after the handshake.
 */
export function streamClosedError(code: number | null, reason: string): FaaSError {
  if (code === POLICY_VIOLATION) return errorFromEnvelope(401, null, {}, reason || "the server refused the API key");
  if (code !== null && code >= 4400 && code < 4600 && STATUS_CODES[code - 4000] !== undefined) {
    return errorFromEnvelope(code - 4000, null, {}, reason);
  }
  return new FaaSConnectionError(
    `the stream closed before the execution completed (code ${code ?? "none"}: ${reason || "no reason"})`,
  );
}
