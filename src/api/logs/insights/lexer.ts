// Tokens of the CloudWatch Logs Insights query language
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html): commands are
// separated by `|`, `#` starts a comment that runs to the end of the line, strings are quoted with
// ' or ", field names with special characters with backticks, regular expressions are /…/, and a
// number directly followed by a unit (`5m`, `1h`) is a time period (for bin()).
import { QuerySyntaxError } from "./query-syntax-error.js";

export type TokenKind = "identifier" | "field" | "string" | "regex" | "number" | "period" | "operator" | "pipe" | "end";

export interface Token {
  readonly kind: TokenKind;
  /** Identifier/field name, string contents (unescaped), regex source, operator, or the number's text. */
  readonly text: string;
  /** Where the token starts, as a character offset into the query string. */
  readonly offset: number;
  /** Time periods: the length in milliseconds (fixed units) … */
  readonly periodMs?: number;
  /** … or in calendar months (month, quarter, year). */
  readonly periodMonths?: number;
}

/**
 * The time units bin() accepts (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html:
 * "millisecond ms msec, second s sec, minute m min, hour h hr, day d, week w, month mo mon,
 * quarter q qtr, year y yr"; units of more than one character may take an s). Fixed units in
 * milliseconds; months, quarters and years are calendar units, in months.
 */
const FIXED_UNITS: Readonly<Record<string, number>> = {
  millisecond: 1,
  ms: 1,
  msec: 1,
  second: 1_000,
  s: 1_000,
  sec: 1_000,
  minute: 60_000,
  m: 60_000,
  min: 60_000,
  hour: 3_600_000,
  h: 3_600_000,
  hr: 3_600_000,
  day: 86_400_000,
  d: 86_400_000,
  week: 604_800_000,
  w: 604_800_000,
};
const CALENDAR_UNITS: Readonly<Record<string, number>> = { month: 1, mo: 1, mon: 1, quarter: 3, q: 3, qtr: 3, year: 12, y: 12, yr: 12 };

function unitOf(text: string): { ms?: number; months?: number } | undefined {
  const unit = text.toLowerCase();
  const singular = unit.length > 2 && unit.endsWith("s") && unit !== "ms" ? unit.slice(0, -1) : unit;
  for (const name of unit === singular ? [unit] : [unit, singular]) {
    if (name !== unit && name.length < 2) continue;
    if (FIXED_UNITS[name] !== undefined) return { ms: FIXED_UNITS[name] };
    if (CALENDAR_UNITS[name] !== undefined) return { months: CALENDAR_UNITS[name] };
  }
  return undefined;
}

const OPERATORS = ["=~", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", "[", "]", ",", "."];

const isIdentifierStart = (c: string) => /[A-Za-z_@$]/.test(c);
const isIdentifierPart = (c: string) => /[A-Za-z0-9_@$.]/.test(c);
const isDigit = (c: string) => c >= "0" && c <= "9";

/**
 * Splits a query into tokens. A `/` starts a regular expression where an operand is expected
 * (after an operator, `(`, `,`, a keyword or at the start), and is division elsewhere.
 */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const operandExpected = () => {
    const last = tokens.at(-1);
    if (!last) return true;
    if (last.kind === "operator") return last.text !== ")" && last.text !== "]";
    if (last.kind === "pipe") return true;
    if (last.kind === "identifier" && /^(like|and|or|not|in|filter|parse)$/i.test(last.text)) return true;
    // `parse @message /…/`: the pattern follows the field.
    const before = tokens.at(-2);
    return (last.kind === "identifier" || last.kind === "field") && before?.kind === "identifier" && before.text.toLowerCase() === "parse";
  };
  while (at < query.length) {
    const c = query[at]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      at++;
    } else if (c === "#") {
      while (at < query.length && query[at] !== "\n") at++;
    } else if (c === "|") {
      tokens.push({ kind: "pipe", text: "|", offset: at++ });
    } else if (c === '"' || c === "'") {
      const [text, next] = readQuoted(query, at, c);
      tokens.push({ kind: "string", text, offset: at });
      at = next;
    } else if (c === "`") {
      const [text, next] = readQuoted(query, at, "`");
      tokens.push({ kind: "field", text, offset: at });
      at = next;
    } else if (c === "/" && operandExpected()) {
      const [text, next] = readRegex(query, at);
      tokens.push({ kind: "regex", text, offset: at });
      at = next;
    } else if (isDigit(c) || (c === "." && isDigit(query[at + 1] ?? ""))) {
      at = readNumber(query, at, tokens);
    } else if (isIdentifierStart(c)) {
      const start = at;
      while (at < query.length && isIdentifierPart(query[at]!)) at++;
      while (at > start + 1 && query[at - 1] === ".") at--;
      tokens.push({ kind: "identifier", text: query.slice(start, at), offset: start });
    } else {
      const operator = OPERATORS.find((op) => query.startsWith(op, at));
      if (!operator) throw QuerySyntaxError.at(query, at, `unexpected symbol found ${c}`);
      tokens.push({ kind: "operator", text: operator, offset: at });
      at += operator.length;
    }
  }
  tokens.push({ kind: "end", text: "<EOF>", offset: query.length });
  return tokens;
}

function readQuoted(query: string, start: number, quote: string): [string, number] {
  let text = "";
  let at = start + 1;
  while (at < query.length) {
    const c = query[at]!;
    if (c === "\\" && at + 1 < query.length) {
      const next = query[at + 1]!;
      text += next === "n" ? "\n" : next === "t" ? "\t" : next;
      at += 2;
    } else if (c === quote) {
      return [text, at + 1];
    } else {
      text += c;
      at++;
    }
  }
  throw QuerySyntaxError.at(query, start, `unterminated ${quote === "`" ? "field name" : "string"}`);
}

function readRegex(query: string, start: number): [string, number] {
  let at = start + 1;
  let source = "";
  while (at < query.length) {
    const c = query[at]!;
    if (c === "\\" && query[at + 1] === "/") {
      source += "/";
      at += 2;
    } else if (c === "\\" && at + 1 < query.length) {
      source += c + query[at + 1]!;
      at += 2;
    } else if (c === "/") {
      return [source, at + 1];
    } else {
      source += c;
      at++;
    }
  }
  throw QuerySyntaxError.at(query, start, "unterminated regular expression");
}

function readNumber(query: string, start: number, tokens: Token[]): number {
  let at = start;
  while (at < query.length && (isDigit(query[at]!) || query[at] === ".")) at++;
  if ((query[at] === "e" || query[at] === "E") && /[-+\d]/.test(query[at + 1] ?? "")) {
    at += 2;
    while (at < query.length && isDigit(query[at]!)) at++;
  }
  const text = query.slice(start, at);
  if (!/^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw QuerySyntaxError.at(query, start, `unexpected symbol found ${text}`);
  let unitEnd = at;
  while (unitEnd < query.length && /[a-z]/i.test(query[unitEnd]!)) unitEnd++;
  if (unitEnd > at) {
    const unit = unitOf(query.slice(at, unitEnd));
    if (unit === undefined) throw QuerySyntaxError.at(query, start, `unexpected symbol found ${query.slice(start, unitEnd)}`);
    const amount = Number(text);
    const period = unit.ms !== undefined ? { periodMs: amount * unit.ms } : { periodMonths: amount * unit.months! };
    tokens.push({ kind: "period", text: query.slice(start, unitEnd), offset: start, ...period });
    return unitEnd;
  }
  tokens.push({ kind: "number", text, offset: start });
  return at;
}
