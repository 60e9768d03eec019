/**
 * The wire format (API.md's snake_case JSON) from and to the SDK's camelCase types, as pure functions.
 * This module holds the readers and executions; wire-resources.ts the other resources.
 */

import { InvalidResponseError } from "./errors.js";
import type { Execution, ExecuteOptions, ExecutionStatus, Language, Mode, Resources } from "./models.js";

export type Json = Record<string, unknown>;

/** A field the API guarantees is missing or of the wrong type. */
function malformed(field: string, expected: string): InvalidResponseError {
  return new InvalidResponseError(`unexpected answer from the server: ${field} is not ${expected}`);
}

export function object(value: unknown, field = "the answer"): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformed(field, "an object");
  }
  return value as Json;
}

export function str(body: Json, key: string): string {
  const value = body[key];
  if (typeof value !== "string") throw malformed(key, "a string");
  return value;
}

export function optStr(body: Json, key: string): string | null {
  const value = body[key];
  return typeof value === "string" ? value : null;
}

export function num(body: Json, key: string): number {
  const value = body[key];
  if (typeof value !== "number") throw malformed(key, "a number");
  return value;
}

export function optNum(body: Json, key: string): number | null {
  const value = body[key];
  return typeof value === "number" ? value : null;
}

export function bool(body: Json, key: string, fallback = false): boolean {
  const value = body[key];
  return typeof value === "boolean" ? value : fallback;
}

/** An ISO 8601 instant as the API writes it (`Z`, an offset, or none meaning UTC). */
export function parseInstant(value: string): Date {
  const hasZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(value);
  const parsed = new Date(hasZone ? value : `${value}Z`);
  if (Number.isNaN(parsed.getTime())) throw malformed(value, "an ISO 8601 instant");
  return parsed;
}

export function date(body: Json, key: string): Date {
  return parseInstant(str(body, key));
}

export function optDate(body: Json, key: string): Date | null {
  const value = optStr(body, key);
  return value === null ? null : parseInstant(value);
}

export function list(body: Json, key: string): unknown[] {
  const value = body[key];
  if (!Array.isArray(value)) throw malformed(key, "a list");
  return value;
}

export function strings(body: Json, key: string): string[] {
  const value = body[key];
  return Array.isArray(value) ? value.map(String) : [];
}

export function metadata(body: Json, key = "metadata"): Record<string, unknown> {
  const value = body[key];
  return typeof value === "object" && value !== null && !Array.isArray(value) ? { ...(value as Json) } : {};
}

/** A JSON object of the given fields, leaving out those that are undefined or null. */
export function withoutUnset(fields: Record<string, unknown>): Json {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}

/** Input files as the API wants them: path → base64 (text is encoded as UTF-8). */
export function encodeFiles(files: Record<string, string | Uint8Array>): Record<string, string> {
  const encoder = new TextEncoder();
  return Object.fromEntries(
    Object.entries(files).map(([path, content]) => [
      path,
      base64(typeof content === "string" ? encoder.encode(content) : content),
    ]),
  );
}

/** Base64 without Node's Buffer (the SDK also runs in browsers). */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

function resourcesBody(resources: Resources): Json {
  return withoutUnset({
    cpu_cores: resources.cpuCores,
    memory_mb: resources.memoryMb,
    timeout_ms: resources.timeoutMs,
  });
}

/** The JSON body of `POST /execute`; options left unset or false are not sent. */
export function executeBody(options: ExecuteOptions): Json {
  const body = withoutUnset({
    code: options.code,
    language: options.language,
    mode: options.mode,
    resources: options.resources === undefined ? undefined : resourcesBody(options.resources),
    env_vars: options.envVars,
    files: options.files === undefined ? undefined : encodeFiles(options.files),
    stdin: options.stdin,
    instance_id: options.instanceId,
    snapshot_id: options.snapshotId,
    branch_id: options.branchId,
  });
  for (const flag of ["async", "interactive", "tty"] as const) {
    if (options[flag] === true) body[flag] = true;
  }
  return body;
}

/** An `ExecutionOut` object (lenient about the fields a running execution lacks). */
export function parseExecution(value: unknown): Execution {
  const body = object(value);
  const cost = object(body["cost"] ?? {}, "cost");
  const usage = object(body["usage"] ?? {}, "usage");
  const executionId = str(body, "execution_id");
  return {
    id: executionId,
    executionId,
    status: str(body, "status") as ExecutionStatus,
    exitCode: optNum(body, "exit_code"),
    stdout: optStr(body, "stdout") ?? "",
    stderr: optStr(body, "stderr") ?? "",
    durationMs: optNum(body, "duration_ms") ?? 0,
    mode: (optStr(body, "mode") ?? "ephemeral") as Mode,
    cached: bool(body, "cached"),
    cost: { compute: optNum(cost, "compute") ?? 0, total: optNum(cost, "total") ?? 0 },
    language: optStr(body, "language") as Language | null,
    truncated: bool(body, "truncated"),
    oomKilled: bool(body, "oom_killed"),
    error: optStr(body, "error"),
    cachedFrom: optStr(body, "cached_from"),
    buildCached: bool(body, "build_cached"),
    usage: { cpuSeconds: optNum(usage, "cpu_seconds") ?? 0, memoryPeakBytes: optNum(usage, "memory_peak_bytes") ?? 0 },
    createdAt: optDate(body, "created_at"),
    finishedAt: optDate(body, "finished_at"),
    instanceId: optStr(body, "instance_id"),
    snapshotId: optStr(body, "snapshot_id"),
    branchId: optStr(body, "branch_id"),
  };
}
