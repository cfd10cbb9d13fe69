// Space-delimited filter patterns: `[ip, user, ..., status_code = 4* && bytes > 1000, bytes]`.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//
// The event splits on spaces into fields; the characters between a pair of square brackets or of
// double quotes are one field (without the brackets or quotes). The pattern names the fields in
// order; "..." stands for any number of fields. Without "...", the event must have exactly as many
// fields as the pattern (AWS's example: [w1=ERROR, w2] matches "ERROR message" but not "ERROR WARN
// message"). A field may carry a condition, which may also name other fields of the pattern and
// combine with && and ||; the event matches when every condition holds. Fields are also named by
// position, $1 for the first, as AWS's extracted fields show. An empty entry (`a, , b` or a
// trailing comma, as in AWS's example `[..., request=*.html*, status_code=4*,]`) is a field
// without a name.
//
// With several "...", each run of named fields between them is placed at the first position it
// fits (AWS does not say how it places them; a placement that backtracked over conditions could
// cost time exponential in the pattern).
import type { ScalarTest } from "./filter-pattern-compare.js";
import { compileComparison } from "./filter-pattern-compare.js";
import type { Condition, Expression } from "./filter-pattern-lexer.js";
import { conditionsOf, parseExpression, readComparison, TokenStream, tokenize } from "./filter-pattern-lexer.js";
import { invalidFilterPattern, MAX_REGEXES_PER_PATTERN } from "./filter-pattern-regex.js";

/** The pattern's fields in order; null stands for "...". */
type Slot = string | null;

export interface DelimitedPattern {
  /** The event's fields by name (the pattern's names, and "1", "2", … by position), or undefined if it does not match. */
  match(message: string): Map<string, string> | undefined;
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `[ … ]` (the brackets included) into a matcher. */
export function compileDelimitedPattern(source: string): DelimitedPattern {
  const stream = new TokenStream(tokenize(source.slice(1, -1)));
  const slots: Slot[] = [];
  const expressions: Expression[] = [];
  while (!stream.done()) {
    const token = stream.next();
    if (token.kind === "...") slots.push(null);
    // An empty entry (AWS's example ends `status_code=4*,]`) is a field without a name.
    else if (token.kind === ",") {
      slots.push(`#${slots.length}`);
      continue;
    } else if (token.kind === "word" && FIELD_NAME.test(token.text)) {
      if (slots.includes(token.text)) throw invalidFilterPattern(); // wording not confirmed (a field named twice)
      slots.push(token.text);
      if (stream.peek()?.kind === "op") expressions.push(parseExpression(new FirstOperand(stream, token.text), readDelimitedCondition));
    } else throw invalidFilterPattern();
    if (stream.done()) break;
    stream.expect(",");
    if (stream.done()) slots.push(`#${slots.length}`);
  }
  if (slots.length === 0) throw invalidFilterPattern();
  const conditions = expressions.flatMap(conditionsOf);
  if (conditions.filter((c) => c.kind === "compare" && c.value.kind === "regex").length > MAX_REGEXES_PER_PATTERN) throw invalidFilterPattern();
  for (const condition of conditions) if (!slots.includes(condition.operand)) throw invalidFilterPattern(); // a condition on a field the pattern does not name
  const tests = expressions.map(compileExpression);
  // Without "...", one field more than the pattern names is enough to know the event does not match.
  const maxFields = slots.includes(null) ? Number.POSITIVE_INFINITY : slots.length + 1;
  return {
    match(message) {
      const fields = splitFields(message, maxFields);
      const named = place(slots, fields);
      if (!named) return undefined;
      for (const test of tests) if (!test(named)) return undefined;
      fields.forEach((field, index) => named.set(String(index + 1), field));
      return named;
    },
  };
}

/**
 * A stream whose first condition's operand is the field just read: in `status_code = 4* && …` the
 * name was consumed as the field; the expression parser reads conditions as `name op value`.
 */
class FirstOperand extends TokenStream {
  private pending: string | undefined;
  constructor(
    private readonly inner: TokenStream,
    name: string,
  ) {
    super([]);
    this.pending = name;
  }
  override peek(offset = 0) {
    if (this.pending !== undefined) return offset === 0 ? { kind: "word" as const, text: this.pending } : this.inner.peek(offset - 1);
    return this.inner.peek(offset);
  }
  override next() {
    if (this.pending !== undefined) {
      const text = this.pending;
      this.pending = undefined;
      return { kind: "word" as const, text };
    }
    return this.inner.next();
  }
  override done() {
    return this.pending === undefined && this.inner.done();
  }
}

function readDelimitedCondition(stream: TokenStream): Condition {
  const operand = stream.expect("word").text;
  if (!FIELD_NAME.test(operand)) throw invalidFilterPattern();
  return readComparison(stream, operand, false);
}

type FieldsTest = (fields: Map<string, string>) => boolean;

function compileExpression(expression: Expression): FieldsTest {
  if (expression.kind === "condition") {
    const condition = expression.condition;
    if (condition.kind !== "compare") throw invalidFilterPattern();
    const test: ScalarTest = compileComparison(condition.operator, condition.value);
    return (fields) => test(fields.get(condition.operand));
  }
  const left = compileExpression(expression.left);
  const right = compileExpression(expression.right);
  return expression.kind === "and" ? (fields) => left(fields) && right(fields) : (fields) => left(fields) || right(fields);
}

/** The event's fields: space-separated, "[…]" and "\"…\"" kept whole (an unclosed one runs to the end). */
export function splitFields(message: string, maxFields = Number.POSITIVE_INFINITY): string[] {
  const fields: string[] = [];
  let index = 0;
  while (index < message.length && fields.length < maxFields) {
    const char = message[index]!;
    if (char === " ") {
      index++;
      continue;
    }
    const close = char === "[" ? "]" : char === '"' ? '"' : undefined;
    if (close) {
      const end = message.indexOf(close, index + 1);
      const stop = end < 0 ? message.length : end;
      fields.push(message.slice(index + 1, stop));
      index = stop + 1;
    } else {
      const end = message.indexOf(" ", index);
      const stop = end < 0 ? message.length : end;
      fields.push(message.slice(index, stop));
      index = stop;
    }
  }
  return fields;
}

/** Assigns fields to the pattern's names, or undefined when the event has too few (or, without "...", too many). */
function place(slots: readonly Slot[], fields: readonly string[]): Map<string, string> | undefined {
  const named = new Map<string, string>();
  const firstGap = slots.indexOf(null);
  if (firstGap < 0) {
    if (slots.length !== fields.length) return undefined;
    slots.forEach((slot, index) => named.set(slot!, fields[index]!));
    return named;
  }
  const lastGap = slots.lastIndexOf(null);
  const head = slots.slice(0, firstGap) as string[];
  const tail = slots.slice(lastGap + 1) as string[];
  const middleCount = slots.slice(firstGap, lastGap).filter((slot) => slot !== null).length;
  if (head.length + middleCount + tail.length > fields.length) return undefined;
  head.forEach((slot, index) => named.set(slot, fields[index]!));
  tail.forEach((slot, index) => named.set(slot, fields[fields.length - tail.length + index]!));
  // Runs between two "..." go at the first positions after the head, in order.
  let position = head.length;
  for (const slot of slots.slice(firstGap, lastGap)) if (slot !== null) named.set(slot, fields[position++]!);
  return named;
}
