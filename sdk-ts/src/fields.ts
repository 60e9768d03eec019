/**
 * The Services pallet's `Field` and `FieldType` values, and their SCALE encoding, as `tangle-protocol/blueprint`
 * has them: a unit variant is its name (`"String"`), a variant with a payload a one-key object
 * (`{ Int32: -1 }`), a tuple payload an array (`{ Optional: ["String", null] }`); `String` payloads are bytes.
 * Variant indices are sparse (`AccountId` is 100), as in the pallet.
 */

import { ScaleError, ScaleReader, concat, encodeBytes, encodeCompact, encodeInt } from "./scale.js";

export type PrimitiveFieldType =
  | "Void" | "Bool" | "Uint8" | "Int8" | "Uint16" | "Int16" | "Uint32" | "Int32" | "Uint64" | "Int64" | "String"
  | "AccountId";
export type FieldType =
  | PrimitiveFieldType
  | { Optional: FieldType }
  | { Array: [bigint, FieldType] }
  | { List: FieldType }
  | { Struct: FieldType[] };

type IntegerName = "Uint8" | "Int8" | "Uint16" | "Int16" | "Uint32" | "Int32" | "Uint64" | "Int64";
export type Field =
  | { Optional: [FieldType, Field | null] }
  | { Bool: boolean }
  | { Uint8: number } | { Int8: number } | { Uint16: number } | { Int16: number } | { Uint32: number } | { Int32: number }
  | { Uint64: bigint } | { Int64: bigint }
  | { String: Uint8Array }
  | { Array: [FieldType, Field[]] }
  | { List: [FieldType, Field[]] }
  | { Struct: [Uint8Array, [Uint8Array, Field][]] }
  | { AccountId: Uint8Array };

export const MAX_FIELDS = 256;
export const MAX_FIELD_BYTES = 1024;

const TYPE_INDEX: Record<string, number> = {
  Void: 0, Bool: 1, Uint8: 2, Int8: 3, Uint16: 4, Int16: 5, Uint32: 6, Int32: 7, Uint64: 8, Int64: 9, String: 10,
  Optional: 12, Array: 13, List: 14, Struct: 15, AccountId: 100,
};
const FIELD_INDEX: Record<string, number> = {
  Optional: 0, Bool: 1, Uint8: 2, Int8: 3, Uint16: 4, Int16: 5, Uint32: 6, Int32: 7, Uint64: 8, Int64: 9, String: 10,
  Array: 12, List: 13, Struct: 14, AccountId: 100,
};
const INTEGERS: Record<IntegerName, [number, boolean]> = {
  Uint8: [1, false], Int8: [1, true], Uint16: [2, false], Int16: [2, true],
  Uint32: [4, false], Int32: [4, true], Uint64: [8, false], Int64: [8, true],
};

function nameOf(index: number, table: Record<string, number>, what: string): string {
  const name = Object.keys(table).find((key) => table[key] === index);
  if (name === undefined) throw new ScaleError(`${index} is not a ${what} variant`);
  return name;
}

/** A variant's name and payload (`undefined` for a unit variant). */
export function variantOf(value: FieldType | Field): [string, unknown] {
  if (typeof value === "string") return [value, undefined];
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new ScaleError("a Field value is an object with exactly one key");
  return entries[0] as [string, unknown];
}

/** The SCALE bytes of a `FieldType`. */
export function encodeFieldType(type: FieldType): Uint8Array {
  const [name, payload] = variantOf(type);
  const index = TYPE_INDEX[name];
  if (index === undefined) throw new ScaleError(`unknown FieldType ${name}`);
  const head = Uint8Array.of(index);
  if (name === "Optional" || name === "List") return concat([head, encodeFieldType(payload as FieldType)]);
  if (name === "Array") {
    const [length, inner] = payload as [bigint, FieldType];
    return concat([head, encodeInt(length, 8, false), encodeFieldType(inner)]);
  }
  if (name === "Struct") return concat([head, encodeVec(payload as FieldType[], encodeFieldType)]);
  return head;
}

/** Reads one `FieldType`. */
export function decodeFieldType(reader: ScaleReader): FieldType {
  const name = nameOf(reader.u8(), TYPE_INDEX, "FieldType");
  if (name === "Optional") return { Optional: decodeFieldType(reader) };
  if (name === "List") return { List: decodeFieldType(reader) };
  if (name === "Array") return { Array: [reader.int(8, false), decodeFieldType(reader)] };
  if (name === "Struct") return { Struct: decodeVec(reader, decodeFieldType) };
  return name as PrimitiveFieldType;
}

/** The SCALE bytes of a `Field`. */
export function encodeField(field: Field): Uint8Array {
  const [name, payload] = variantOf(field);
  const index = FIELD_INDEX[name];
  if (index === undefined) throw new ScaleError(`unknown Field ${name}`);
  return concat([Uint8Array.of(index), encodePayload(name, payload)]);
}

function encodePayload(name: string, payload: unknown): Uint8Array {
  if (name in INTEGERS) {
    const [width, signed] = INTEGERS[name as IntegerName];
    return encodeInt(payload as number | bigint, width, signed);
  }
  switch (name) {
    case "Bool":
      return Uint8Array.of(payload ? 1 : 0);
    case "String":
      return encodeBytes(payload as Uint8Array);
    case "AccountId":
      if ((payload as Uint8Array).length !== 32) throw new ScaleError("an AccountId is 32 bytes");
      return payload as Uint8Array;
    case "Optional": {
      const [type, inner] = payload as [FieldType, Field | null];
      return concat([encodeFieldType(type), inner === null ? Uint8Array.of(0) : concat([Uint8Array.of(1), encodeField(inner)])]);
    }
    case "Array":
    case "List": {
      const [type, items] = payload as [FieldType, Field[]];
      return concat([encodeFieldType(type), encodeVec(items, encodeField)]);
    }
    default: {
      const [structName, members] = payload as [Uint8Array, [Uint8Array, Field][]];
      return concat([encodeBytes(structName), encodeVec(members, ([key, value]) => concat([encodeBytes(key), encodeField(value)]))]);
    }
  }
}

/** Reads one `Field`. */
export function decodeField(reader: ScaleReader): Field {
  const name = nameOf(reader.u8(), FIELD_INDEX, "Field");
  if (name in INTEGERS) {
    const [width, signed] = INTEGERS[name as IntegerName];
    const value = reader.int(width, signed);
    return (width === 8 ? { [name]: value } : { [name]: Number(value) }) as Field;
  }
  switch (name) {
    case "Bool": {
      const byte = reader.u8();
      if (byte > 1) throw new ScaleError(`${byte} is not a bool`);
      return { Bool: byte === 1 };
    }
    case "String":
      return { String: reader.vecU8() };
    case "AccountId":
      return { AccountId: reader.take(32) };
    case "Optional": {
      const type = decodeFieldType(reader);
      const flag = reader.u8();
      if (flag > 1) throw new ScaleError(`${flag} is not an Option flag`);
      return { Optional: [type, flag === 1 ? decodeField(reader) : null] };
    }
    case "Array":
    case "List": {
      const payload: [FieldType, Field[]] = [decodeFieldType(reader), decodeVec(reader, decodeField)];
      return (name === "List" ? { List: payload } : { Array: payload });
    }
    default: {
      const structName = reader.vecU8();
      return { Struct: [structName, decodeVec(reader, (inner) => [inner.vecU8(), decodeField(inner)] as [Uint8Array, Field])] };
    }
  }
}

function encodeVec<T>(items: readonly T[], encode: (item: T) => Uint8Array): Uint8Array {
  return concat([encodeCompact(items.length), ...items.map(encode)]);
}

function decodeVec<T>(reader: ScaleReader, decode: (reader: ScaleReader) => T): T[] {
  const length = reader.length();
  return Array.from({ length }, () => decode(reader));
}

/** A `Field` limit or shape the chain would refuse, or an argument of the wrong kind. */
export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FieldError";
  }
}

/** Throws `FieldError` unless there are at most 256 fields of at most 1024 encoded bytes each (the pallet's limits). */
export function checkFieldLimits(fields: readonly Field[]): void {
  if (fields.length > MAX_FIELDS) {
    throw new FieldError(`${fields.length} fields is more than the chain's limit of ${MAX_FIELDS}`);
  }
  fields.forEach((field, position) => {
    const size = encodeField(field).length;
    if (size > MAX_FIELD_BYTES) {
      throw new FieldError(`field ${position} is ${size} bytes once encoded; the chain's limit is ${MAX_FIELD_BYTES} bytes`);
    }
  });
}

/** The exact SCALE bytes of `Vec<Field>` as the chain stores them, after checking the pallet's limits. */
export function encodeFields(fields: readonly Field[]): Uint8Array {
  checkFieldLimits(fields);
  return encodeVec(fields, encodeField);
}

/** The `Vec<Field>` in SCALE bytes; every byte must be used. Throws `FieldError`. */
export function decodeFields(bytes: Uint8Array): Field[] {
  try {
    const reader = new ScaleReader(bytes);
    const fields = decodeVec(reader, decodeField);
    reader.finish("Vec<Field>");
    return fields;
  } catch (error) {
    if (error instanceof ScaleError) throw new FieldError(`the bytes are not a valid Vec<Field>: ${error.message}`);
    throw error;
  }
}
