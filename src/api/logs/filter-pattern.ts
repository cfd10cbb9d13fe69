// CloudWatch Logs filter patterns, as FilterLogEvents, metric filters and TestMetricFilter apply
// them. https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//
//   ""                        every event
//   ERROR -Exiting ?WARN      terms (filter-pattern-terms.ts)
//   %[0-9]{3}%                a regular expression in AWS's restricted syntax (filter-pattern-regex.ts)
//   { $.level = "error" }     a JSON pattern (filter-pattern-json.ts)
//   [ip, user, ..., code=4*]  a space-delimited pattern (filter-pattern-delimited.ts)
//
// The JSON and space-delimited grammars share a tokenizer and expression parser
// (filter-pattern-lexer.ts) and their comparisons (filter-pattern-compare.ts). Every part is
// linear in the pattern to compile and in the event to match: RE2 for regexes, no regex built
// from the caller's text, bounded nesting, and AWS's 1024-character limit on the pattern.
import { invalidParameterException } from "../../core/errors.js";
import type { Scalar } from "./filter-pattern-compare.js";
import { asNumber } from "./filter-pattern-compare.js";
import { compileDelimitedPattern } from "./filter-pattern-delimited.js";
import type { EventView } from "./filter-pattern-json.js";
import { compileJsonPattern, eventView, parseSelector, select, valueNode } from "./filter-pattern-json.js";
import { compileFilterRegex } from "./filter-pattern-regex.js";
import { compileTermPattern } from "./filter-pattern-terms.js";

export { MAX_COUNTED_REPEATS, MAX_REGEX_WIDTH, regexCost } from "./filter-pattern-regex.js";
export { eventView } from "./filter-pattern-json.js";
export type { EventView } from "./filter-pattern-json.js";

export type EventMatcher = (message: string) => boolean;

export type FilterPatternKind = "all" | "terms" | "regex" | "json" | "delimited";

/** What a matching event offers a metric filter's value: a JSON selector's or a named field's. */
export interface FilterMatch {
  /** The number `$.a.b` (JSON) or `$name` / `$3` (space-delimited) yields, if it is one. */
  numberAt(reference: string): number | undefined;
  /** The text (a string or number) a reference yields, if any. */
  textAt(reference: string): string | undefined;
  /** TestMetricFilter's extractedValues: the space-delimited fields as `$1`… and `$name`; none otherwise. */
  extractedValues(): Record<string, string>;
}

export interface CompiledFilterPattern {
  readonly kind: FilterPatternKind;
  /** The match of an event, or undefined when the pattern does not match it. */
  evaluate(event: EventView): FilterMatch | undefined;
}

/** AWS's limit on FilterPattern (the logs service model: min 0, max 1024). */
export const MAX_FILTER_PATTERN_LENGTH = 1024;

const NO_VALUES: FilterMatch = { numberAt: () => undefined, textAt: () => undefined, extractedValues: () => ({}) };

export function parseFilterPattern(pattern: string | undefined, member = "filterPattern"): CompiledFilterPattern {
  if (pattern !== undefined && pattern.length > MAX_FILTER_PATTERN_LENGTH) {
    throw invalidParameterException(
      `1 validation error detected: Value '${pattern}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_FILTER_PATTERN_LENGTH}`,
    );
  }
  const source = (pattern ?? "").trim();
  if (source === "") return { kind: "all", evaluate: () => NO_VALUES };
  if (source.startsWith("{")) {
    if (!source.endsWith("}")) throw invalidParameterException("If a filter pattern starts with '{' it must end with '}'");
    const test = compileJsonPattern(source);
    return { kind: "json", evaluate: (event) => (test(event) ? jsonValues(event) : undefined) };
  }
  if (source.startsWith("[")) {
    if (!source.endsWith("]")) throw invalidParameterException("If a filter pattern starts with '[' it must end with ']'"); // wording not confirmed (AWS's for '{' is)
    const delimited = compileDelimitedPattern(source);
    return {
      kind: "delimited",
      evaluate(event) {
        const fields = delimited.match(event.message);
        if (!fields) return undefined;
        const textAt = (reference: string) => (reference.startsWith("$") ? fields.get(reference.slice(1)) : undefined);
        return {
          textAt,
          numberAt: (reference) => asNumber(textAt(reference)),
          extractedValues: () => Object.fromEntries([...fields].filter(([name]) => !name.startsWith("#")).map(([name, value]) => [`$${name}`, value])),
        };
      },
    };
  }
  if (source.length >= 2 && source.startsWith("%") && source.endsWith("%")) {
    const expression = compileFilterRegex(source.slice(1, -1));
    return { kind: "regex", evaluate: (event) => (expression.test(event.message) ? NO_VALUES : undefined) };
  }
  const terms = compileTermPattern(source);
  return { kind: "terms", evaluate: (event) => (terms(event.message) ? NO_VALUES : undefined) };
}

function jsonValues(event: EventView): FilterMatch {
  const valueAt = (reference: string): Scalar => {
    const steps = parseSelector(reference);
    return steps ? valueNode(select(event.json(), steps)) : undefined;
  };
  return {
    numberAt: (reference) => asNumber(valueAt(reference)),
    textAt(reference) {
      const value = valueAt(reference);
      return value === undefined ? undefined : String(value);
    },
    extractedValues: () => ({}),
  };
}

/** The pattern as a yes/no test of messages (FilterLogEvents). */
export function compileFilterPattern(pattern: string | undefined): EventMatcher {
  const compiled = parseFilterPattern(pattern);
  if (compiled.kind === "all") return () => true;
  return (message) => compiled.evaluate(eventView(message)) !== undefined;
}
