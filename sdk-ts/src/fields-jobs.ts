/**
 * The blueprint's job table, job arguments and job results as `Field` values, as `tangle-protocol/blueprint`
 * encodes them. Every argument is `String` or `Optional(String)`; structured ones are JSON text written the
 * way Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))` writes it, so both SDKs send the
 * same bytes for the same request.
 */

import { type Field, type FieldType, FieldError, checkFieldLimits, decodeFields, encodeFields, variantOf } from "./fields.js";
import { ScaleError, fromUtf8, utf8 } from "./scale.js";

const STRING: FieldType = "String";
const OPTIONAL_STRING: FieldType = { Optional: "String" };

/** One job of the blueprint: its index on chain, name and argument names and types. */
export interface JobSpec {
  index: number;
  name: string;
  params: readonly (readonly [name: string, type: "String" | "Optional(String)"])[];
}

export const JOBS: readonly JobSpec[] = [
  {
    index: 0,
    name: "execute",
    params: [
      ["language", "String"], ["code", "String"], ["mode", "String"], ["resources", "String"], ["env", "String"],
      ["files", "String"], ["snapshot_id", "Optional(String)"], ["branch_id", "Optional(String)"],
    ],
  },
  { index: 1, name: "snapshot_create", params: [["instance_id", "String"]] },
  { index: 2, name: "snapshot_restore", params: [["snapshot_id", "String"]] },
  { index: 3, name: "branch_create", params: [["snapshot_id", "String"], ["name", "String"]] },
  { index: 4, name: "branch_merge", params: [["branch_ids", "String"], ["strategy", "String"]] },
];

/** The job with this index or name; throws `FieldError` when the blueprint has none. */
export function jobSpec(job: number | string): JobSpec {
  const spec = JOBS.find((item) => item.index === job || item.name === job);
  if (spec === undefined) {
    const known = JOBS.map((item) => `${item.index} ${item.name}`).join(", ");
    throw new FieldError(`unknown job ${typeof job === "string" ? `'${job}'` : job}; this blueprint has jobs ${known}`);
  }
  return spec;
}

/** A job's arguments by name; `null` is an absent `Optional(String)`. */
export type JobArgs = Record<string, string | null>;

/** The options of job 0 (`execute`), as `submitJob` takes them. */
export interface ExecuteJobOptions {
  code: string;
  language: string;
  mode?: string;
  resources?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Path -> base64 content. */
  files?: Record<string, string>;
  snapshotId?: string | null;
  branchId?: string | null;
}

/** The named argument texts of an `execute` job (empty objects travel as `""`). */
export function executeJobArgs(options: ExecuteJobOptions): JobArgs {
  return {
    language: options.language,
    code: options.code,
    mode: options.mode ?? "ephemeral",
    resources: dumpObject(options.resources),
    env: dumpObject(options.env),
    files: dumpObject(options.files),
    snapshot_id: options.snapshotId ?? null,
    branch_id: options.branchId ?? null,
  };
}

/** The `Vec<Field>` arguments of job `job`, checked against the chain's limits. */
export function jobArgFields(job: number, args: JobArgs): Field[] {
  const spec = jobSpec(job);
  const fields = spec.params.map(([name, type]): Field => {
    const text = args[name];
    if (text === undefined) throw new FieldError(`job ${spec.name} needs the argument ${name}`);
    if (type === "String" && text === null) throw new FieldError(`argument ${name} of job ${spec.name} is required`);
    return type === "String" ? { String: utf8(text as string) } : { Optional: [STRING, text === null ? null : { String: utf8(text) }] };
  });
  checkFieldLimits(fields);
  return fields;
}

/** The exact SCALE bytes of job `job`'s `Vec<Field>` arguments. */
export function encodeJobArgs(job: number, args: JobArgs): Uint8Array {
  return encodeFields(jobArgFields(job, args));
}

/** The named argument texts of job `job` from the SCALE bytes of its arguments; throws `FieldError`. */
export function decodeJobArgs(job: number, bytes: Uint8Array): JobArgs {
  const spec = jobSpec(job);
  const fields = decodeFields(bytes);
  if (fields.length !== spec.params.length) {
    const names = spec.params.map(([name]) => name).join(", ");
    throw new FieldError(`job ${spec.name} takes ${spec.params.length} arguments (${names}), not ${fields.length}`);
  }
  const args: JobArgs = {};
  spec.params.forEach(([name, type], position) => {
    const what = `argument ${position} (${name}) of job ${spec.name}`;
    args[name] = type === "String" ? readText(fields[position] as Field, what) : readOptionalText(fields[position] as Field, what);
  });
  return args;
}

function expect(field: Field, name: string, what: string): unknown {
  const [actual, payload] = variantOf(field);
  if (actual !== name) throw new FieldError(`${what} must be a ${name} field, not ${actual}`);
  return payload;
}

/** The text of a `Field::String`; throws `FieldError` if it is not valid UTF-8. */
export function readText(field: Field, what: string): string {
  try {
    return fromUtf8(expect(field, "String", what) as Uint8Array);
  } catch (error) {
    if (error instanceof ScaleError) throw new FieldError(`${what} is not valid UTF-8 text`);
    throw error;
  }
}

/** The text of a `Field::Optional(String, ...)`, `null` when absent. */
export function readOptionalText(field: Field, what: string): string | null {
  const [type, inner] = expect(field, "Optional", what) as [FieldType, Field | null];
  if (variantOf(type)[0] !== "String") throw new FieldError(`${what} must be an Optional(String) field`);
  return inner === null ? null : readText(inner, what);
}

/** The bytes of a `Field::List(Uint8, ...)`. */
export function readBytes(field: Field, what: string): Uint8Array {
  const [type, items] = expect(field, "List", what) as [FieldType, Field[]];
  if (variantOf(type)[0] !== "Uint8") throw new FieldError(`${what} must be a List(Uint8) field`);
  return Uint8Array.from(items.map((item) => expect(item, "Uint8", what) as number));
}

/** The number of a `Field::Int32`. */
export function readInt32(field: Field, what: string): number {
  return expect(field, "Int32", what) as number;
}

/** `Field::List(Uint8, ...)` of `bytes`, one element a byte. */
export function bytesField(bytes: Uint8Array): Field {
  return { List: ["Uint8", Array.from(bytes, (byte): Field => ({ Uint8: byte }))] };
}

function dumpObject(value: Record<string, unknown> | undefined): string {
  return value === undefined || Object.keys(value).length === 0 ? "" : pythonJson(value);
}

/** JSON as Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))` (ASCII-only) writes it. */
export function pythonJson(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "string") return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((key) => `${pythonString(key)}:${pythonJson((value as Record<string, unknown>)[key])}`).join(",")}}`;
  }
  throw new FieldError(`cannot write ${typeof value} as JSON`);
}

function pythonNumber(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : Number.isNaN(value) ? "NaN" : "-Infinity";
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return value.toFixed(0);
  return String(value).replace(/e([+-])(\d)$/, "e$10$2");
}

function pythonString(text: string): string {
  const escapes: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
  let out = '"';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    const code = text.charCodeAt(index);
    out += escapes[char] ?? (code < 0x20 || code > 0x7e ? `\\u${code.toString(16).padStart(4, "0")}` : char);
  }
  return out + '"';
}

function byCodePoint(a: string, b: string): number {
  const left = Array.from(a, (char) => char.codePointAt(0) as number);
  const right = Array.from(b, (char) => char.codePointAt(0) as number);
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    if (left[index] !== right[index]) return (left[index] as number) - (right[index] as number);
  }
  return left.length - right.length;
}

/** What the operator posts on chain for a job call: the receipt's hash and signature, and a summary. */
export interface JobResult {
  receiptHash: Uint8Array;
  signature: Uint8Array;
  status: string;
  exitCode: number;
  reference: string;
}

/** The result's `Vec<Field>` bytes, as the operator submits them. */
export function encodeResult(result: JobResult): Uint8Array {
  return encodeFields([
    bytesField(result.receiptHash),
    bytesField(result.signature),
    { String: utf8(result.status) },
    { Int32: result.exitCode },
    { String: utf8(result.reference) },
  ]);
}

/** The `JobResult` from its `Vec<Field>` SCALE bytes; throws `FieldError` for any other shape. */
export function decodeResult(bytes: Uint8Array): JobResult {
  const fields = decodeFields(bytes);
  if (fields.length !== 5) throw new FieldError(`a job result has 5 fields, not ${fields.length}`);
  const [hash, signature, status, exitCode, reference] = fields as [Field, Field, Field, Field, Field];
  const result = {
    receiptHash: readBytes(hash, "receipt_hash"),
    signature: readBytes(signature, "signature"),
    status: readText(status, "status"),
    exitCode: readInt32(exitCode, "exit_code"),
    reference: readText(reference, "reference"),
  };
  if (result.receiptHash.length !== 32) throw new FieldError(`receipt_hash must be 32 bytes, not ${result.receiptHash.length}`);
  if (result.signature.length !== 65) throw new FieldError(`signature must be 65 bytes, not ${result.signature.length}`);
  return result;
}
