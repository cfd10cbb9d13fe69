// CloudWatch Logs filter patterns for unstructured log events, as FilterLogEvents applies them.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//
//   ""                      every event
//   ERROR                   events containing the term (terms are case-sensitive)
//   ERROR ARGUMENTS         events containing every term
//   "Exception occurred"    a quoted phrase, matched exactly (also how terms with symbols are given)
//   ?ERROR ?WARN            events containing any of the ?-terms
//   ERROR -Exiting          "-" excludes events containing the term
//   %[0-9]{3}%              a regular expression (the %…% form)
//
// JSON ({ $.field = … }) and space-delimited ([a, b, …]) patterns are not implemented; they are
// refused with InvalidParameterException rather than matched wrongly.
//
// %regex% runs on RE2 (the re2 package, Google's engine, built from source at install): matching
// takes time linear in the event's length whatever the pattern, so a caller's pattern such as
// %(a+)+$% cannot stall the event loop (heartbeats, every other request) as a backtracking engine
// would. RE2 has no backreferences or lookaround; neither does CloudWatch's regex syntax, and such
// a pattern is refused as invalid.
import RE2 from "re2";
import { invalidParameterException } from "../../core/errors.js";

export type EventMatcher = (message: string) => boolean;

interface Term {
  readonly text: string;
  readonly kind: "required" | "optional" | "excluded";
}

const invalidPattern = () => invalidParameterException("Invalid filter pattern");

export function compileFilterPattern(pattern: string | undefined): EventMatcher {
  const source = (pattern ?? "").trim();
  if (source === "") return () => true;
  if (source.startsWith("{") || source.startsWith("[")) {
    throw invalidParameterException("JSON and space-delimited filter patterns are not supported by Berth yet");
  }
  if (source.length >= 2 && source.startsWith("%") && source.endsWith("%")) {
    let expression: RE2;
    try {
      expression = new RE2(source.slice(1, -1), "u");
    } catch {
      throw invalidPattern();
    }
    return (message) => expression.test(message);
  }
  const terms = tokenize(source);
  const required = terms.filter((t) => t.kind === "required").map((t) => t.text);
  const optional = terms.filter((t) => t.kind === "optional").map((t) => t.text);
  const excluded = terms.filter((t) => t.kind === "excluded").map((t) => t.text);
  return (message) =>
    required.every((t) => message.includes(t)) &&
    (optional.length === 0 || optional.some((t) => message.includes(t))) &&
    !excluded.some((t) => message.includes(t));
}

function tokenize(source: string): Term[] {
  const terms: Term[] = [];
  let index = 0;
  while (index < source.length) {
    while (source[index] === " " || source[index] === "\t") index++;
    if (index >= source.length) break;
    let kind: Term["kind"] = "required";
    if (source[index] === "?" || source[index] === "-") {
      kind = source[index] === "?" ? "optional" : "excluded";
      index++;
    }
    let text: string;
    if (source[index] === '"') {
      const close = source.indexOf('"', index + 1);
      if (close < 0) throw invalidPattern();
      text = source.slice(index + 1, close);
      index = close + 1;
    } else {
      const start = index;
      while (index < source.length && source[index] !== " " && source[index] !== "\t") index++;
      text = source.slice(start, index);
    }
    if (text === "") throw invalidPattern();
    terms.push({ text, kind });
  }
  return terms;
}
