// One comparison of a structured filter pattern (`= 200`, `!= 123.123.*`, `> 1000`, `= %re%`),
// compiled once to a test of the value the selector or field yields.
//
// AWS (FilterAndPatternSyntax): strings match exactly, with "*" as a wildcard "at, before, or
// after a search term" — "*Event" matches PutEvent, "Event*" EventId, but "Ev*ent" only the
// string "Ev*ent": only a leading or trailing "*" is a wildcard. Numbers compare numerically with
// =, !=, <, >, <=, >=; the ordering operators need a number on both sides.
import type RE2 from "re2";
import type { ComparisonOperator, PatternValue } from "./filter-pattern-lexer.js";
import { parseNumber } from "./filter-pattern-lexer.js";
import { compileFilterRegex } from "./filter-pattern-regex.js";

/** What a selector or field yields: a string, a number, or nothing comparable (missing, object, …). */
export type Scalar = string | number | undefined;

export type ScalarTest = (actual: Scalar) => boolean;

export function compileComparison(operator: ComparisonOperator, value: PatternValue): ScalarTest {
  const number = parseNumber(value);
  if (operator !== "=" && operator !== "!=") {
    const limit = number!; // the parser refuses an ordering operator without a number
    return (actual) => {
      const n = asNumber(actual);
      if (n === undefined) return false;
      return operator === "<" ? n < limit : operator === "<=" ? n <= limit : operator === ">" ? n > limit : n >= limit;
    };
  }
  const equals =
    value.kind === "regex" ? regexTest(compileFilterRegex(value.text)) : number !== undefined ? numberOrText(number, value.text) : textTest(value.text);
  // Both = and != need a comparable value: a missing field or an object matches neither.
  return operator === "=" ? (actual) => actual !== undefined && equals(actual) : (actual) => actual !== undefined && !equals(actual);
}

function regexTest(expression: RE2): (actual: string | number) => boolean {
  return (actual) => expression.test(String(actual));
}

/** A numeric pattern value: equal to a number numerically, to a string by its text or its number. */
function numberOrText(number: number, text: string): (actual: string | number) => boolean {
  return (actual) => (typeof actual === "number" ? actual === number : actual === text || asNumber(actual) === number);
}

function textTest(pattern: string): (actual: string | number) => boolean {
  const leading = pattern.startsWith("*");
  const trailing = pattern.length > 1 && pattern.endsWith("*");
  if (pattern === "*") return () => true;
  const core = pattern.slice(leading ? 1 : 0, trailing ? -1 : undefined);
  return (actual) => {
    const text = String(actual);
    if (leading && trailing) return text.includes(core);
    if (leading) return text.endsWith(core);
    if (trailing) return text.startsWith(core);
    return text === core;
  };
}

const NUMERIC_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A number, or a string that spells one (space-delimited fields are always strings). */
export function asNumber(actual: Scalar): number | undefined {
  if (typeof actual === "number") return actual;
  if (typeof actual !== "string" || actual.length > 64 || !NUMERIC_TEXT.test(actual)) return undefined;
  const number = Number(actual);
  return Number.isFinite(number) ? number : undefined;
}
