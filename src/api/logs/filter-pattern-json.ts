// JSON filter patterns: `{ $.eventType = "UpdateTrail" && ($.latency > 500 || $.error IS TRUE) }`.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//
// A selector starts at the root ($) and walks properties (`.name`: letters, digits, "-" and "_")
// and array elements (`[N]`, after a property). A comparison needs the selector to reach a value
// node (a string or a number): on an array, an object, a boolean, null or nothing both = and !=
// are false ("{$.users = 1} and {$.users != 1} will fail to match a log event where users is an
// array"). IS NULL / IS TRUE / IS FALSE test for that JSON value; NOT EXISTS for no value at all.
// An event that is not a JSON object matches no JSON pattern.
import type { Scalar, ScalarTest } from "./filter-pattern-compare.js";
import { compileComparison } from "./filter-pattern-compare.js";
import type { Condition, Expression } from "./filter-pattern-lexer.js";
import { conditionsOf, parseExpression, readComparison, TokenStream, tokenize } from "./filter-pattern-lexer.js";
import { invalidFilterPattern, MAX_REGEXES_PER_PATTERN } from "./filter-pattern-regex.js";

/** One step of a selector: a property name or an array index. */
export type SelectorStep = string | number;

/** An event seen by the matchers: its message, and its JSON parsed at most once. */
export interface EventView {
  readonly message: string;
  json(): unknown;
}

export type JsonTest = (event: EventView) => boolean;

const SELECTOR = /^\$((\.[A-Za-z0-9_-]+(\[\d{1,9}\])*)*)$/;
const STEP = /\.([A-Za-z0-9_-]+)|\[(\d{1,9})\]/g;

/** Selectors parsed before (metric values read one per event); bounded, as selectors come from callers. */
const parsedSelectors = new Map<string, readonly SelectorStep[] | undefined>();
const MAX_PARSED_SELECTORS = 1_000;

/** The steps of a `$.a.b[0]` selector, or undefined if the text is not one. */
export function parseSelector(text: string): readonly SelectorStep[] | undefined {
  if (parsedSelectors.has(text)) return parsedSelectors.get(text);
  const match = SELECTOR.exec(text);
  let steps: SelectorStep[] | undefined;
  if (match) {
    steps = [];
    for (const step of match[1]!.matchAll(STEP)) steps.push(step[1] !== undefined ? step[1] : Number(step[2]));
  }
  if (parsedSelectors.size >= MAX_PARSED_SELECTORS) parsedSelectors.clear();
  parsedSelectors.set(text, steps);
  return steps;
}

/** The JSON value a selector reaches, or undefined when it reaches none. */
export function select(root: unknown, steps: readonly SelectorStep[]): unknown {
  let node = root;
  for (const step of steps) {
    if (typeof step === "number") {
      if (!Array.isArray(node) || step >= node.length) return undefined;
      node = node[step];
    } else {
      if (node === null || typeof node !== "object" || Array.isArray(node) || !Object.hasOwn(node, step)) return undefined;
      node = (node as Record<string, unknown>)[step];
    }
  }
  return node;
}

/** `{ … }` (the braces included) into a test of events. */
export function compileJsonPattern(source: string): JsonTest {
  const stream = new TokenStream(tokenize(source.slice(1, -1)));
  const expression = parseExpression(stream, readJsonCondition);
  if (!stream.done()) throw invalidFilterPattern();
  const conditions = conditionsOf(expression);
  if (conditions.filter((c) => c.kind === "compare" && c.value.kind === "regex").length > MAX_REGEXES_PER_PATTERN) throw invalidFilterPattern();
  const test = compileExpression(expression);
  return (event) => {
    const root = event.json();
    return root !== null && typeof root === "object" && !Array.isArray(root) && test(root);
  };
}

function readJsonCondition(stream: TokenStream): Condition {
  const operand = stream.expect("word").text;
  if (!parseSelector(operand)) throw invalidFilterPattern();
  return readComparison(stream, operand, true);
}

type RootTest = (root: object) => boolean;

function compileExpression(expression: Expression): RootTest {
  if (expression.kind === "condition") return compileCondition(expression.condition);
  const left = compileExpression(expression.left);
  const right = compileExpression(expression.right);
  return expression.kind === "and" ? (root) => left(root) && right(root) : (root) => left(root) || right(root);
}

function compileCondition(condition: Condition): RootTest {
  const steps = parseSelector(condition.operand)!;
  if (condition.kind === "is") {
    const expected = condition.test === "NULL" ? null : condition.test === "TRUE" ? true : condition.test === "FALSE" ? false : undefined;
    return (root) => select(root, steps) === expected;
  }
  const test: ScalarTest = compileComparison(condition.operator, condition.value);
  return (root) => test(valueNode(select(root, steps)));
}

/** A string or number node as a Scalar; anything else is not comparable. */
export function valueNode(node: unknown): Scalar {
  return typeof node === "string" || typeof node === "number" ? node : undefined;
}

/** Parses an event's message as JSON, once; a message that is not JSON yields undefined. */
export function eventView(message: string): EventView {
  let parsed: { value: unknown } | undefined;
  return {
    message,
    json() {
      if (!parsed) {
        const start = message.trimStart();
        let value: unknown;
        if (start.startsWith("{")) {
          try {
            value = JSON.parse(message) as unknown;
          } catch {
            value = undefined; // not JSON (or nested deeper than the parser goes): no JSON pattern matches
          }
        }
        parsed = { value };
      }
      return parsed.value;
    },
  };
}
