/**
 * JSON parsing that keeps integers exact: receipts carry u64 ids and times, beyond what a JS number holds.
 * Integer literals become `bigint`, other numbers `number` — the same split Python's `json.loads` makes
 * between `int` and `float`, so a receipt is judged the same way by both SDKs.
 */

export type JsonValue = null | boolean | string | number | bigint | JsonValue[] | { [key: string]: JsonValue };

/** Thrown for text that is not JSON. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JsonSyntaxError";
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Parse JSON text, integers as `bigint`. */
export function parseJson(text: string): JsonValue {
  const parser = new Parser(text);
  const value = parser.value();
  parser.space();
  if (parser.position !== text.length) parser.fail("unexpected text after the value");
  return value;
}

class Parser {
  position = 0;

  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new JsonSyntaxError(`${message} at position ${this.position}`);
  }

  space(): void {
    while (/[ \t\n\r]/.test(this.text[this.position] ?? "")) this.position++;
  }

  value(): JsonValue {
    this.space();
    const char = this.text[this.position];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === '"') return this.string();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.position)) {
        this.position += word.length;
        return value;
      }
    }
    return this.number();
  }

  private match(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.text);
    if (found !== null) this.position += found[0].length;
    return found;
  }

  private number(): JsonValue {
    const found = this.match(NUMBER);
    if (found === null) this.fail("expected a value");
    return found[1] === undefined && found[2] === undefined ? BigInt(found[0]) : Number(found[0]);
  }

  string(): string {
    const found = this.match(STRING);
    if (found === null) this.fail("expected a string");
    return JSON.parse(found[0]) as string;
  }

  private expect(char: string): void {
    this.space();
    if (this.text[this.position] !== char) this.fail(`expected '${char}'`);
    this.position++;
  }

  private items<T>(close: string, item: () => T): T[] {
    const items: T[] = [];
    this.space();
    if (this.text[this.position] === close) {
      this.position++;
      return items;
    }
    for (;;) {
      items.push(item());
      this.space();
      if (this.text[this.position] === close) {
        this.position++;
        return items;
      }
      this.expect(",");
    }
  }

  private array(): JsonValue[] {
    this.position++;
    return this.items("]", () => this.value());
  }

  private object(): { [key: string]: JsonValue } {
    this.position++;
    const entries = this.items("}", (): [string, JsonValue] => {
      this.space();
      const key = this.string();
      this.expect(":");
      return [key, this.value()];
    });
    const out: { [key: string]: JsonValue } = {};
    for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    return out;
  }
}
