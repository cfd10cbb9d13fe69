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

/** Bounds on what a caller may send (EC2 refuses more than 200 values per filter too; cheap to check). */
export const MAX_FILTERS = 50;
export const MAX_FILTER_VALUES = 200;
const MAX_VALUE_LENGTH = 1024;

function invalidFilter(name: string): AwsError {
  return new AwsError("InvalidParameterValue", `The filter '${name}' is invalid`);
}

/** Compiles one EC2 wildcard value into a matcher (no RegExp from caller text: linear and ReDoS-free). */
export function wildcardMatcher(pattern: string): (text: string) => boolean {
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
    return (text) => text === literal;
  }
  // Greedy glob matching with one backtrack point (the last `*`): O(pattern × text) at worst.
  return (text) => {
    let t = 0;
    let p = 0;
    let starAt = -1;
    let starText = 0;
    while (t < text.length) {
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
    while (tokens[p]?.kind === "any") p++;
    return p === tokens.length;
  };
}

function fieldValues<Resource>(field: FilterField<Resource>, resource: Resource): string[] {
  const value = field(resource);
  const list = Array.isArray(value) ? value : [value];
  return (list as readonly (string | number | boolean | undefined)[]).filter((item) => item !== undefined).map((item) => String(item));
}

function compileOne<Resource>(filter: Ec2FilterInput, fields: FilterFields<Resource>): ResourcePredicate<Resource> {
  const name = filter.Name ?? "";
  const values = filter.Values ?? [];
  if (values.length > MAX_FILTER_VALUES) {
    throw new AwsError("InvalidParameterValue", `The filter '${name}' has too many values (at most ${MAX_FILTER_VALUES})`);
  }
  if (values.some((value) => value.length > MAX_VALUE_LENGTH)) throw new AwsError("InvalidParameterValue", `A value of the filter '${name}' is too long`);
  const matchers = values.map(wildcardMatcher);
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
 * unknown filter name or too many filters/values (before anything is read from the store).
 */
export function compileFilters<Resource>(filters: readonly Ec2FilterInput[] | undefined, fields: FilterFields<Resource>): ResourcePredicate<Resource> {
  const list = filters ?? [];
  if (list.length > MAX_FILTERS) throw new AwsError("InvalidParameterValue", `Too many filters: at most ${MAX_FILTERS} are allowed`);
  const predicates = list.map((filter) => compileOne(filter, fields));
  return (resource, tags) => predicates.every((predicate) => predicate(resource, tags));
}

/** Whether a filter set reads tags at all (so a caller can skip loading them). */
export function filtersReadTags(filters: readonly Ec2FilterInput[] | undefined): boolean {
  return (filters ?? []).some((filter) => filter.Name?.startsWith("tag:") === true || filter.Name === "tag-key" || filter.Name === "tag-value");
}
