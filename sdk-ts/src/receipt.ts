/**
 * The execution receipt, its canonical encoding and its hash, as `tangle-protocol/attestations/receipt.py`.
 *
 * Canonical encoding: the ASCII domain tag `tangle-faas/receipt/v1`, then the SCALE encoding of the fields in
 * declaration order (fixed-size byte arrays raw; u8, i32, u64 little-endian; strings as compact length + UTF-8).
 * The hash is keccak256 of that encoding. Ids and times are u64, so they are `bigint` here.
 */

import { blake2b } from "@noble/hashes/blake2.js";
import { sha256 as sha2_256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

import { type JsonValue } from "./receipt-json.js";
import { concat, encodeInt, encodeText, fromHex, toHex, utf8 } from "./scale.js";

export const DOMAIN_TAG = utf8("tangle-faas/receipt/v1");

/** What an operator attests about one job call; the field order is the encoding order. */
export interface Receipt {
  chainId: Uint8Array;
  serviceId: bigint;
  callId: bigint;
  job: number;
  argsHash: Uint8Array;
  imageDigest: string;
  codeHash: Uint8Array;
  exitCode: number;
  status: string;
  stdoutSha256: Uint8Array;
  stderrSha256: Uint8Array;
  startedAtMs: bigint;
  finishedAtMs: bigint;
  operatorKey: Uint8Array;
}

type Kind = { bytes: number } | { int: number; signed: boolean } | "text";
/** Each field: its wire (JSON) name, property name and kind, in encoding order. */
const FIELDS: readonly (readonly [string, keyof Receipt, Kind])[] = [
  ["chain_id", "chainId", { bytes: 32 }],
  ["service_id", "serviceId", { int: 8, signed: false }],
  ["call_id", "callId", { int: 8, signed: false }],
  ["job", "job", { int: 1, signed: false }],
  ["args_hash", "argsHash", { bytes: 32 }],
  ["image_digest", "imageDigest", "text"],
  ["code_hash", "codeHash", { bytes: 32 }],
  ["exit_code", "exitCode", { int: 4, signed: true }],
  ["status", "status", "text"],
  ["stdout_sha256", "stdoutSha256", { bytes: 32 }],
  ["stderr_sha256", "stderrSha256", { bytes: 32 }],
  ["started_at_ms", "startedAtMs", { int: 8, signed: false }],
  ["finished_at_ms", "finishedAtMs", { int: 8, signed: false }],
  ["operator_key", "operatorKey", { bytes: 65 }],
];

/** A receipt or its JSON form has a field of the wrong size or type. */
export class ReceiptFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReceiptFormatError";
  }
}

/** The canonical encoding: the domain tag followed by the receipt's SCALE encoding. */
export function encodeReceipt(receipt: Receipt): Uint8Array {
  return concat([
    DOMAIN_TAG,
    ...FIELDS.map(([, key, kind]) => {
      const value = receipt[key];
      if (kind === "text") return encodeText(value as string);
      if ("int" in kind) return encodeInt(value as bigint | number, kind.int, kind.signed);
      return value as Uint8Array;
    }),
  ]);
}

/** keccak256 of the canonical encoding (32 bytes): what the operator signs and posts on chain. */
export function receiptHash(receipt: Receipt): Uint8Array {
  return keccak_256(encodeReceipt(receipt));
}

/** sha256 of `data` (text hashed as UTF-8), as receipts hash code, stdout and stderr. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return sha2_256(typeof data === "string" ? utf8(data) : data);
}

/** blake2b-256 of `data`, as receipts hash the SCALE-encoded job arguments. */
export function blake2_256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

/** The receipt as the operator's REST endpoint serves it: bytes as `0x`-hex, integers as `bigint` (as `parseJson`). */
export function receiptToJson(receipt: Receipt): Record<string, string | bigint> {
  const out: Record<string, string | bigint> = {};
  for (const [name, key, kind] of FIELDS) {
    const value = receipt[key];
    if (kind === "text") out[name] = value as string;
    else out[name] = "bytes" in kind ? toHex(value as Uint8Array) : BigInt(value as number | bigint);
  }
  return out;
}

/**
 * The receipt from its REST form (parse the body with `parseJson` so u64 values stay exact), checked field by
 * field in the same order and with the same words as Python's `Receipt.from_json`.
 *
 * @throws ReceiptFormatError a field is missing, unknown or malformed.
 */
export function receiptFromJson(data: JsonValue): Receipt {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ReceiptFormatError("a receipt is a JSON object");
  }
  const names = FIELDS.map(([name]) => name);
  const missing = names.filter((name) => !Object.hasOwn(data, name)).sort();
  const extra = Object.keys(data).filter((name) => !names.includes(name)).sort();
  if (missing.length > 0 || extra.length > 0) {
    throw new ReceiptFormatError(`receipt fields differ: missing ${pythonList(missing)}, unknown ${pythonList(extra)}`);
  }
  const values = new Map<string, unknown>();
  for (const [name, , kind] of FIELDS) values.set(name, kind !== "text" && "bytes" in kind ? hexField(name, data[name]) : data[name]);
  for (const [name, , kind] of FIELDS) {
    if (kind !== "text" && "bytes" in kind && (values.get(name) as Uint8Array).length !== kind.bytes) {
      throw new ReceiptFormatError(`${name} must be ${kind.bytes} bytes`);
    }
  }
  for (const [name, key, kind] of FIELDS) {
    if (kind === "text" || !("int" in kind)) continue;
    const value = values.get(name);
    const bits = BigInt(8 * kind.int);
    const [low, high] = kind.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
    if (typeof value !== "bigint" || value < low || value > high) {
      throw new ReceiptFormatError(`${name} must be an integer in [${low}, ${high}]`);
    }
    values.set(name, key === "job" || key === "exitCode" ? Number(value) : value);
  }
  for (const [name, , kind] of FIELDS) {
    if (kind === "text" && typeof values.get(name) !== "string") throw new ReceiptFormatError(`${name} must be text`);
  }
  return Object.fromEntries(FIELDS.map(([name, key]) => [key, values.get(name)])) as unknown as Receipt;
}

function hexField(name: string, value: unknown): Uint8Array {
  if (typeof value !== "string" || !value.startsWith("0x")) throw new ReceiptFormatError(`${name} must be 0x-hex`);
  try {
    return fromHex(value);
  } catch {
    throw new ReceiptFormatError(`${name} is not valid hex`);
  }
}

/** A list of strings as Python prints it (`['a', 'b']`), so messages read the same in both SDKs. */
export function pythonList(items: readonly string[]): string {
  return `[${items.map(pythonRepr).join(", ")}]`;
}

/** A string as Python's `repr` writes it (quotes and escapes), for messages shared with the Python SDK. */
export function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escapes: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", [quote]: `\\${quote}` };
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    out += escapes[char] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char);
  }
  return out + quote;
}
