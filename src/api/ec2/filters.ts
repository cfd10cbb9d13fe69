// EC2's Describe* filters (`Filter.N.Name`, `Filter.N.Value.M`): a resource is listed when it matches
// every filter, and it matches a filter when one of the filter's values matches one of the
// resource's values for that name. Values take the wildcards `*` (any run of characters) and `?`
// (exactly one), and a backslash escapes either or itself
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html#query-filtering).
// Each operation names the filters it supports; any other name is InvalidParameterValue.
import type { Filter } from "@aws-sdk/client-ec2";
import { invalidFilter, invalidParameterValue } from "./ec2-errors.js";

/** A filter name's values on one resource (several for tags or multi-valued attributes). */
export type FilterFields<Resource> = Readonly<Record<string, (resource: Resource) => readonly (string | undefined)[]>>;

/** Bounds on what one request may ask for: every value becomes a pattern matched against each resource. */
const MAX_FILTERS = 50;
const MAX_VALUES_PER_FILTER = 200;
const MAX_VALUE_LENGTH = 1024;

/** A compiled filter value: the pattern as a whole-string regular expression, or the literal. */
function compileValue(value: string): (candidate: string) => boolean {
  if (!/[*?\\]/.test(value)) return (candidate) => candidate === value;
  let source = "";
  for (let index = 0; index < value.length; index++) {
    const character = value[index] as string;
    if (character === "\\" && index + 1 < value.length) source += escapeRegExp(value[++index] as string);
    else if (character === "*") source += "[\\s\\S]*";
    else if (character === "?") source += "[\\s\\S]";
    else source += escapeRegExp(character);
  }
  // Linear-time enough: the only quantifier is `[\s\S]*`, and runs of `*` collapse to one.
  const pattern = new RegExp(`^${source.replace(/(\[\\s\\S\]\*)+/g, "[\\s\\S]*")}$`);
  return (candidate) => pattern.test(candidate);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A predicate for the request's filters over the resources of one operation. Throws
 * InvalidParameterValue for a filter name the operation does not support or an oversized request.
 */
export function compileFilters<Resource>(filters: readonly Filter[] | undefined, fields: FilterFields<Resource>): (resource: Resource) => boolean {
  if (!filters || filters.length === 0) return () => true;
  if (filters.length > MAX_FILTERS) throw invalidParameterValue(`The request may contain at most ${MAX_FILTERS} filters.`);
  const compiled = filters.map((filter) => {
    const name = filter.Name ?? "";
    const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!field) throw invalidFilter(name);
    const values = filter.Values ?? [];
    if (values.length > MAX_VALUES_PER_FILTER) throw invalidParameterValue(`The filter '${name}' may have at most ${MAX_VALUES_PER_FILTER} values.`);
    if (values.some((value) => value.length > MAX_VALUE_LENGTH)) throw invalidParameterValue(`A value of the filter '${name}' is too long.`);
    return { field, matchers: values.map(compileValue) };
  });
  return (resource) =>
    compiled.every(({ field, matchers }) => {
      const candidates = field(resource).filter((candidate): candidate is string => candidate !== undefined);
      return matchers.some((matches) => candidates.some(matches));
    });
}
