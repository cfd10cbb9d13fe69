// A strict JSON reader for policy documents. JSON.parse keeps the last of duplicate keys, so
// {"Effect":"Deny","Effect":"Allow"} would read as an Allow while a reviewer sees a Deny; this
// reader rejects duplicates, bounds nesting depth (policies nest five levels; hostile ones
// thousands), and builds objects without prototypes (a "__proto__" key is just a key).

export class StrictJsonError extends Error {}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const LITERALS: readonly [string, unknown][] = [
  ["true", true],
  ["false", false],
  ["null", null],
];

class Reader {
  private index = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): unknown {
    const value = this.value(0);
    this.skip();
    if (this.index !== this.text.length) throw this.fail("trailing characters");
    return value;
  }

  private fail(what: string): StrictJsonError {
    return new StrictJsonError(`${what} at offset ${this.index}`);
  }

  private skip(): void {
    while (this.index < this.text.length && WHITESPACE.has(this.text.charCodeAt(this.index))) this.index++;
  }

  private value(depth: number): unknown {
    this.skip();
    const char = this.text[this.index];
    if (char === "{" || char === "[") {
      if (depth >= this.maxDepth) throw this.fail("nesting too deep");
      return char === "{" ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (char === '"') return this.string();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.index)) {
        this.index += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.index;
    const number = NUMBER.exec(this.text);
    if (number === null) throw this.fail("unexpected character");
    this.index += number[0].length;
    return Number(number[0]);
  }

  private string(): string {
    const start = this.index++;
    for (; this.index < this.text.length; this.index++) {
      const code = this.text.charCodeAt(this.index);
      if (code === 0x5c) this.index++;
      else if (code === 0x22) break;
      else if (code < 0x20) throw this.fail("control character in string");
    }
    if (this.index >= this.text.length) throw this.fail("unterminated string");
    this.index++;
    try {
      return JSON.parse(this.text.slice(start, this.index)) as string;
    } catch {
      throw this.fail("invalid string escape");
    }
  }

  private object(depth: number): Record<string, unknown> {
    const object = Object.create(null) as Record<string, unknown>;
    this.index++;
    this.skip();
    if (this.text[this.index] === "}") {
      this.index++;
      return object;
    }
    for (;;) {
      this.skip();
      if (this.text[this.index] !== '"') throw this.fail("expected a key");
      const key = this.string();
      if (Object.hasOwn(object, key)) throw this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.skip();
      if (this.text[this.index++] !== ":") throw this.fail("expected ':'");
      object[key] = this.value(depth);
      this.skip();
      const next = this.text[this.index++];
      if (next === "}") return object;
      if (next !== ",") throw this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): unknown[] {
    const array: unknown[] = [];
    this.index++;
    this.skip();
    if (this.text[this.index] === "]") {
      this.index++;
      return array;
    }
    for (;;) {
      array.push(this.value(depth));
      this.skip();
      const next = this.text[this.index++];
      if (next === "]") return array;
      if (next !== ",") throw this.fail("expected ',' or ']'");
    }
  }
}

/** Parses `text` as JSON, rejecting duplicate keys and nesting deeper than `maxDepth`. */
export function parseStrictJson(text: string, maxDepth = 32): unknown {
  return new Reader(text, maxDepth).document();
}
