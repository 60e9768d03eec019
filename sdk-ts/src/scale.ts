/**
 * The few SCALE encoders and decoders receipts and `Field` values need: fixed-width little-endian integers,
 * compact lengths, byte vectors and UTF-8 text. Pure functions; the chain's own codec is never consulted.
 */

/** Bytes that are not valid SCALE for what was asked, or a value that does not fit its SCALE type. */
export class ScaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScaleError";
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** `bytes` as UTF-8 text; throws `ScaleError` when they are not valid UTF-8. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ScaleError("the bytes are not valid UTF-8 text");
  }
}

/** `0x`-hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The bytes of `0x`-hex text; throws `ScaleError` unless it is `0x` followed by pairs of hex digits. */
export function fromHex(text: string): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(text)) throw new ScaleError(`not 0x-hex: ${text.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(text.slice(2), "hex"));
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** The bytes of every part, one after another. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function range(width: number, signed: boolean): [bigint, bigint] {
  const bits = BigInt(8 * width);
  return signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

/** `value` little-endian in `width` bytes (two's complement when `signed`). */
export function encodeInt(value: bigint | number, width: number, signed: boolean): Uint8Array {
  const number = BigInt(value);
  const [low, high] = range(width, signed);
  if (number < low || number > high) throw new ScaleError(`${number} does not fit ${signed ? "i" : "u"}${8 * width}`);
  let rest = BigInt.asUintN(8 * width, number);
  const out = new Uint8Array(width);
  for (let index = 0; index < width; index++) {
    out[index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** SCALE compact encoding of a non-negative integer below 2**32 (all a length ever needs here). */
export function encodeCompact(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
    throw new ScaleError(`${value} does not fit a compact u32`);
  }
  if (value < 1 << 6) return Uint8Array.of(value << 2);
  if (value < 1 << 14) return encodeInt((value << 2) | 1, 2, false);
  if (value < 1 << 30) return encodeInt(value * 4 + 2, 4, false);
  return concat([Uint8Array.of(3), encodeInt(value, 4, false)]);
}

/** `Vec<u8>`: compact length, then the bytes. */
export function encodeBytes(bytes: Uint8Array): Uint8Array {
  return concat([encodeCompact(bytes.length), bytes]);
}

/** A string as SCALE does it: compact length of its UTF-8 bytes, then the bytes. */
export function encodeText(text: string): Uint8Array {
  return encodeBytes(utf8(text));
}

/** Reads SCALE values from `bytes` front to back; every read past the end throws `ScaleError`. */
export class ScaleReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** The next `length` bytes. */
  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) {
      throw new ScaleError(`needs ${length} more bytes at offset ${this.offset}; ${this.remaining} remain`);
    }
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  u8(): number {
    return this.take(1)[0] as number;
  }

  /** A `width`-byte little-endian integer. */
  int(width: number, signed: boolean): bigint {
    const raw = this.take(width);
    let value = 0n;
    for (let index = width - 1; index >= 0; index--) value = (value << 8n) | BigInt(raw[index] as number);
    return signed ? BigInt.asIntN(8 * width, value) : value;
  }

  /** A compact integer (any of the four modes). */
  compact(): bigint {
    const mode = (this.bytes[this.offset] ?? 0) & 3;
    if (mode === 0) return BigInt(this.u8() >> 2);
    if (mode === 1) return this.int(2, false) >> 2n;
    if (mode === 2) return this.int(4, false) >> 2n;
    const length = (this.u8() >> 2) + 4;
    return this.int(length, false);
  }

  /** A compact length that must be a sane number of items. */
  length(): number {
    const length = this.compact();
    if (length > BigInt(this.remaining)) throw new ScaleError(`a length of ${length} exceeds the ${this.remaining} bytes left`);
    return Number(length);
  }

  /** `Vec<u8>`. */
  vecU8(): Uint8Array {
    return this.take(this.length());
  }

  /** Throws unless every byte was read. */
  finish(what: string): void {
    if (this.remaining !== 0) throw new ScaleError(`${this.remaining} bytes left over after ${what}`);
  }
}
