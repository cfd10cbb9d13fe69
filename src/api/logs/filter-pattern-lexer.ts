// Tokens of the structured filter patterns (JSON `{ … }` and space-delimited `[ … ]`), and the
// boolean expression over conditions both share: `a = 1 && (b != x* || c > 2)`. The JSON matcher
// (filter-pattern-json.ts) and the space-delimited one (filter-pattern-delimited.ts) give the
// operands their meaning (a selector `$.a[0]`, a field name); this file only reads the text.
//
// One pass over the pattern (at most 1024 characters), no regex built from it, and a recursive
// descent whose depth is bounded by MAX_NESTING: hostile patterns cost time linear in their length.
import { invalidFilterPattern } from "./filter-pattern-regex.js";

export type TokenKind = "(" | ")" | "&&" | "||" | "," | "..." | "op" | "word" | "quoted" | "regex";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** A value a condition compares with: a word (number or string, `*` wildcards), a quoted string or a %regex%. */
export interface PatternValue {
  readonly kind: "word" | "quoted" | "regex";
  readonly text: string;
}

export type Condition =
  | { readonly kind: "compare"; readonly operand: string; readonly operator: ComparisonOperator; readonly value: PatternValue }
  | { readonly kind: "is"; readonly operand: string; readonly test: "NULL" | "TRUE" | "FALSE" | "NOT EXISTS" };

export type Expression =
  { readonly kind: "and" | "or"; readonly left: Expression; readonly right: Expression } | { readonly kind: "condition"; readonly condition: Condition };

/** How deep parentheses may nest; AWS documents no limit, this one keeps the parser's recursion small. */
export const MAX_NESTING = 32;

const OPERATOR_STARTS = new Set(["=", "!", "<", ">"]);
/** Characters that end a bare word. */
const WORD_STOPS = new Set([" ", "\t", "\n", "\r", "(", ")", ",", "=", "!", "<", ">", "&", "|", '"']);

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const push = (kind: TokenKind, text: string, length: number) => {
    tokens.push({ kind, text });
    index += length;
  };
  while (index < source.length) {
    const char = source[index]!;
    const pair = source.slice(index, index + 2);
    if (char === " " || char === "\t" || char === "\n" || char === "\r") index++;
    else if (char === "(" || char === ")" || char === ",") push(char, char, 1);
    else if (pair === "&&" || pair === "||") push(pair, pair, 2);
    else if (source.startsWith("...", index)) push("...", "...", 3);
    else if (OPERATOR_STARTS.has(char)) {
      if (pair === "!=" || pair === "<=" || pair === ">=") push("op", pair, 2);
      else if (char === "!") throw invalidFilterPattern();
      else push("op", char, 1);
    } else if (char === '"') {
      const { text, end } = readQuoted(source, index);
      push("quoted", text, end - index);
    } else if (char === "%") {
      const close = source.indexOf("%", index + 1);
      if (close < 0) throw invalidFilterPattern();
      push("regex", source.slice(index + 1, close), close + 1 - index);
    } else {
      let end = index;
      while (end < source.length && !WORD_STOPS.has(source[end]!)) end++;
      if (end === index) throw invalidFilterPattern(); // a lone "&" or "|"
      push("word", source.slice(index, end), end - index);
    }
  }
  return tokens;
}

/** A double-quoted string from `start` (its opening quote); `\"` and `\\` are escapes. */
function readQuoted(source: string, start: number): { text: string; end: number } {
  let text = "";
  let index = start + 1;
  while (index < source.length) {
    const char = source[index]!;
    if (char === '"') return { text, end: index + 1 };
    if (char === "\\" && (source[index + 1] === '"' || source[index + 1] === "\\")) {
      text += source[index + 1];
      index += 2;
    } else {
      text += char;
      index++;
    }
  }
  throw invalidFilterPattern();
}

/** A cursor over tokens, for the two parsers. */
export class TokenStream {
  private position = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }
  next(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw invalidFilterPattern();
    return token;
  }
  expect(kind: TokenKind): Token {
    const token = this.next();
    if (token.kind !== kind) throw invalidFilterPattern();
    return token;
  }
  done(): boolean {
    return this.position >= this.tokens.length;
  }
}

/**
 * `or := and ("||" and)*`, `and := primary ("&&" primary)*`, `primary := "(" or ")" | condition`:
 * && binds tighter than ||, as AWS documents ("() > && > ||"). `readCondition` reads one
 * condition; it is the parser's only link to what operands mean.
 */
export function parseExpression(stream: TokenStream, readCondition: (stream: TokenStream) => Condition, depth = 0): Expression {
  let left = parseAnd(stream, readCondition, depth);
  while (stream.peek()?.kind === "||") {
    stream.next();
    left = { kind: "or", left, right: parseAnd(stream, readCondition, depth) };
  }
  return left;
}

function parseAnd(stream: TokenStream, readCondition: (stream: TokenStream) => Condition, depth: number): Expression {
  let left = parsePrimary(stream, readCondition, depth);
  while (stream.peek()?.kind === "&&") {
    stream.next();
    left = { kind: "and", left, right: parsePrimary(stream, readCondition, depth) };
  }
  return left;
}

function parsePrimary(stream: TokenStream, readCondition: (stream: TokenStream) => Condition, depth: number): Expression {
  if (stream.peek()?.kind === "(") {
    if (depth >= MAX_NESTING) throw invalidFilterPattern(); // wording not confirmed (AWS documents no nesting limit)
    stream.next();
    const inner = parseExpression(stream, readCondition, depth + 1);
    stream.expect(")");
    return inner;
  }
  return { kind: "condition", condition: readCondition(stream) };
}

/** After an operand: `op value`, or (when `allowIs`) `IS NULL|TRUE|FALSE` / `NOT EXISTS`. */
export function readComparison(stream: TokenStream, operand: string, allowIs: boolean): Condition {
  const token = stream.next();
  if (token.kind === "op") {
    const valueToken = stream.next();
    if (valueToken.kind !== "word" && valueToken.kind !== "quoted" && valueToken.kind !== "regex") throw invalidFilterPattern();
    const value: PatternValue = { kind: valueToken.kind, text: valueToken.text };
    const operator = token.text as ComparisonOperator;
    if (operator !== "=" && operator !== "!=" && parseNumber(value) === undefined) throw invalidFilterPattern();
    return { kind: "compare", operand, operator, value };
  }
  if (allowIs && token.kind === "word" && token.text.toUpperCase() === "IS") {
    const what = stream.expect("word").text.toUpperCase();
    if (what !== "NULL" && what !== "TRUE" && what !== "FALSE") throw invalidFilterPattern();
    return { kind: "is", operand, test: what };
  }
  if (allowIs && token.kind === "word" && token.text.toUpperCase() === "NOT") {
    if (stream.expect("word").text.toUpperCase() !== "EXISTS") throw invalidFilterPattern();
    return { kind: "is", operand, test: "NOT EXISTS" };
  }
  throw invalidFilterPattern();
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The number a bare word spells (an integer or decimal, optional sign, optional exponent), if it is one. */
export function parseNumber(value: PatternValue): number | undefined {
  if (value.kind !== "word" || !NUMBER.test(value.text)) return undefined;
  const number = Number(value.text);
  return Number.isFinite(number) ? number : undefined;
}

/** Every condition of an expression, left to right (iteratively: the tree may be deep on one side). */
export function conditionsOf(expression: Expression): Condition[] {
  const found: Condition[] = [];
  const pending: Expression[] = [expression];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (node.kind === "condition") found.push(node.condition);
    else pending.push(node.right, node.left);
  }
  return found;
}
