// EC2's `Filters` parameter, as every Describe* operation applies it
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Filtering.html): a resource matches
// when every filter matches (AND), and a filter matches when any of its values matches (OR).
// Values may use `*` (any run of characters) and `?` (one character); a literal `*`, `?` or `\`
// is escaped with a backslash. `tag:<key>` matches the value of that tag, `tag-key` any tag's key.
// Which names a resource accepts is the caller's table; an unknown name is refused as EC2 does:
// InvalidParameterValue "The filter 'x' is invalid".
import { AwsError } from "../errors.js";

/** A filter as the SDK sends it (Filter.N.Name, Filter.N.Value.M). */
export interface Ec2FilterInput {
  readonly Name?: string | undefined;
  readonly Values?: readonly string[] | undefined;
}

/** What a filter name reads from a resource: the values it has for that name (none: no match). */
export type FilterField<Resource> = (resource: Resource) => readonly (string | number | boolean | undefined)[] | string | number | boolean | undefined;

/** The filter names a resource type documents, each with its reader. */
export type FilterFields<Resource> = Readonly<Record<string, FilterField<Resource>>>;

/** A parsed filter set: a predicate over resources. */
export type ResourcePredicate<Resource> = (resource: Resource, tags: ReadonlyMap<string, string>) => boolean;

/**
 * Bounds on what a caller may send. EC2 answers FilterLimitExceeded "The maximum number of filter
 * values specified on a single call is 200" (counted over all the filters of the call, not per
 * filter) and "The maximum length for a filter value is 255 characters".
 */
export const MAX_FILTERS = 50;
export const MAX_FILTER_VALUES = 200;
export const MAX_FILTER_VALUE_LENGTH = 255;
/**
 * Steps of wildcard matching one request may spend, over all its filters, values and resources.
 * Each match is O(pattern × text) at worst, but 200 values × 50 tags × many resources of that is
 * billions of steps: past the budget the request is refused rather than blocking the event loop.
 * 1e7 steps is about a tenth of a second (~1e8 steps/s), far above what an honest filter set needs
 * (200 literal ids over 10,000 resources is 2e6).
 */
export const MAX_MATCH_STEPS = 10_000_000;

/** The steps left to one request's matching (shared by every matcher the request compiles). */
export class MatchBudget {
  private remaining: number;
  constructor(steps = MAX_MATCH_STEPS) {
    this.remaining = steps;
  }
  spend(steps: number): void {
    this.remaining -= steps;
    if (this.remaining < 0) {
      throw new AwsError("InvalidParameterValue", "The filters are too costly to evaluate: use fewer wildcard values or more specific filters");
    }
  }
}

function invalidFilter(name: string): AwsError {
  return new AwsError("InvalidParameterValue", `The filter '${name}' is invalid`);
}

/**
 * Compiles one EC2 wildcard value into a matcher (no RegExp from caller text: ReDoS-free). Every
 * step is charged to `budget`, which throws once the request has spent it.
 */
export function wildcardMatcher(pattern: string, budget: MatchBudget = new MatchBudget()): (text: string) => boolean {
  const tokens: ({ kind: "literal"; char: string } | { kind: "one" } | { kind: "any" })[] = [];
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === "\\" && index + 1 < pattern.length) tokens.push({ kind: "literal", char: pattern[++index] as string });
    else if (char === "*") tokens.push({ kind: "any" });
    else if (char === "?") tokens.push({ kind: "one" });
    else tokens.push({ kind: "literal", char });
  }
  if (tokens.every((token) => token.kind === "literal")) {
    const literal = tokens.map((token) => (token.kind === "literal" ? token.char : "")).join("");
    return (text) => {
      budget.spend(1);
      return text === literal;
    };
  }
  // Greedy glob matching with one backtrack point (the last `*`): O(pattern × text) at worst.
  return (text) => {
    let t = 0;
    let p = 0;
    let starAt = -1;
    let starText = 0;
    let steps = 0;
    while (t < text.length) {
      // Charged in batches: one call per step would dominate the loop.
      if (++steps === 1024) {
        budget.spend(steps);
        steps = 0;
      }
      const token = tokens[p];
      if (token && (token.kind === "one" || (token.kind === "literal" && token.char === text[t]))) {
        t++;
        p++;
      } else if (token && token.kind === "any") {
        starAt = p++;
        starText = t;
      } else if (starAt >= 0) {
        p = starAt + 1;
        t = ++starText;
      } else return false;
    }
    budget.spend(steps + 1);
    while (tokens[p]?.kind === "any") p++;
    return p === tokens.length;
  };
}

function fieldValues<Resource>(field: FilterField<Resource>, resource: Resource): string[] {
  const value = field(resource);
  const list = Array.isArray(value) ? value : [value];
  return (list as readonly (string | number | boolean | undefined)[]).filter((item) => item !== undefined).map((item) => String(item));
}

function compileOne<Resource>(filter: Ec2FilterInput, fields: FilterFields<Resource>, budget: MatchBudget): ResourcePredicate<Resource> {
  const name = filter.Name ?? "";
  const values = filter.Values ?? [];
  if (values.some((value) => value.length > MAX_FILTER_VALUE_LENGTH)) {
    throw new AwsError("FilterLimitExceeded", `The maximum length for a filter value is ${MAX_FILTER_VALUE_LENGTH} characters`);
  }
  const matchers = values.map((value) => wildcardMatcher(value, budget));
  const anyMatches = (candidates: readonly string[]) => candidates.some((candidate) => matchers.some((matches) => matches(candidate)));
  if (name.startsWith("tag:") && name.length > 4) {
    const key = name.slice(4);
    return (_resource, tags) => {
      const value = tags.get(key);
      return value !== undefined && anyMatches([value]);
    };
  }
  if (name === "tag-key") return (_resource, tags) => anyMatches([...tags.keys()]);
  if (name === "tag-value") return (_resource, tags) => anyMatches([...tags.values()]);
  const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (field === undefined) throw invalidFilter(name);
  return (resource) => anyMatches(fieldValues(field, resource));
}

/**
 * The predicate of `filters` over resources with `fields`. Throws InvalidParameterValue for an
 * unknown filter name or too many filters, FilterLimitExceeded for too many or too long values
 * (before anything is read from the store), and InvalidParameterValue from the predicate once the
 * request's matching has spent its MatchBudget.
 */
export function compileFilters<Resource>(filters: readonly Ec2FilterInput[] | undefined, fields: FilterFields<Resource>): ResourcePredicate<Resource> {
  const list = filters ?? [];
  if (list.length > MAX_FILTERS) throw new AwsError("InvalidParameterValue", `Too many filters: at most ${MAX_FILTERS} are allowed`);
  const valueCount = list.reduce((sum, filter) => sum + (filter.Values?.length ?? 0), 0);
  if (valueCount > MAX_FILTER_VALUES) {
    throw new AwsError("FilterLimitExceeded", `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`);
  }
  const budget = new MatchBudget();
  const predicates = list.map((filter) => compileOne(filter, fields, budget));
  return (resource, tags) => predicates.every((predicate) => predicate(resource, tags));
}

/** Whether a filter set reads tags at all (so a caller can skip loading them). */
export function filtersReadTags(filters: readonly Ec2FilterInput[] | undefined): boolean {
  return (filters ?? []).some((filter) => filter.Name?.startsWith("tag:") === true || filter.Name === "tag-key" || filter.Name === "tag-value");
}
