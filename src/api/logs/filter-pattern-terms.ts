// Term filter patterns for unstructured events: `ERROR`, `ERROR -Exiting`, `?ERROR ?WARN`,
// `"Failed to process"`. https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//
// Terms are case-sensitive and match anywhere in the event (ERROR matches "ERRORCODE"); every
// plain term must appear, at least one of the ?-terms (when there are any), and none of the
// -terms. A quoted term is a phrase matched as written ("Exception occurred"); AWS: "Metric filter
// terms that include characters other than alphanumeric or underscore must be placed inside double
// quotes", and refuses them unquoted with "Invalid character(s) in term 'x'" (as it answers for an
// unquoted e-mail address, a parenthesis or a typographic quote). Matching is String.includes per
// term: linear in the event per term.
import { invalidParameterException } from "../../core/errors.js";
import { invalidFilterPattern } from "./filter-pattern-regex.js";

const UNQUOTED_TERM = /^[A-Za-z0-9_]+$/;

/** AWS's answer to a term it cannot read: FilterLogEvents and Live Tail word it so. */
const invalidTerm = (term: string) => invalidParameterException(`Invalid filter pattern: Invalid character(s) in term '${term}'`);

interface Term {
  readonly text: string;
  readonly kind: "required" | "optional" | "excluded";
}

export function compileTermPattern(source: string): (message: string) => boolean {
  const terms = readTerms(source);
  const required = terms.filter((t) => t.kind === "required").map((t) => t.text);
  const optional = terms.filter((t) => t.kind === "optional").map((t) => t.text);
  const excluded = terms.filter((t) => t.kind === "excluded").map((t) => t.text);
  return (message) =>
    required.every((t) => message.includes(t)) &&
    (optional.length === 0 || optional.some((t) => message.includes(t))) &&
    !excluded.some((t) => message.includes(t));
}

const isBlank = (char: string | undefined) => char === " " || char === "\t";

function readTerms(source: string): Term[] {
  const terms: Term[] = [];
  let index = 0;
  while (index < source.length) {
    while (isBlank(source[index])) index++;
    if (index >= source.length) break;
    let kind: Term["kind"] = "required";
    if (source[index] === "?" || source[index] === "-") {
      kind = source[index] === "?" ? "optional" : "excluded";
      index++;
      // AWS's own example writes `"ERROR" - "Exiting"`: the sign may stand apart from its term.
      while (isBlank(source[index])) index++;
    }
    let text: string;
    if (source[index] === '"') {
      const close = source.indexOf('"', index + 1);
      if (close < 0) throw invalidFilterPattern();
      text = source.slice(index + 1, close);
      index = close + 1;
      if (text === "") throw invalidTerm('""');
    } else {
      const start = index;
      while (index < source.length && !isBlank(source[index])) index++;
      text = source.slice(start, index);
      if (text === "") throw invalidFilterPattern();
      if (!UNQUOTED_TERM.test(text)) throw invalidTerm(text);
    }
    terms.push({ text, kind });
  }
  return terms;
}
