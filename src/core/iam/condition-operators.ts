// The Condition element's operators (IAM User Guide, "IAM JSON policy elements: Condition
// operators" and "Multivalued context keys"), compiled once per policy into closures:
//
//   "Condition": { "<operator>": { "<key>": value | [values] } }
//     several operators, several keys: AND;  several values of one key: OR.
//
//   - A key missing from the request: the condition is false, except for negated operators
//     (StringNotEquals, ArnNotLike, NotIpAddress, …), which are true; `…IfExists` makes it true.
//   - ForAnyValue: true when at least one request value matches (false for a missing key).
//     ForAllValues: true when every request value matches (true for a missing or empty key).
//   - Null: "true" asks that the key be absent, "false" that it be present.
//   - Policy variables in String*, Arn* and Bool values (2012-10-17 only).
//
// An unknown operator is rejected at validation; so are values that cannot be of the operator's type
// (a number that is not one, an address or CIDR that does not parse).

import { compileArnPattern } from "./arn-matching.js";
import { cidrContains, parseCidr, parseIpAddress, type CidrBlock, type IpAddress } from "./ip-address.js";
import { parseTemplate, ResolvedTemplateCache, resolveText, staticParts, type ConditionContext, type ContextValue, type Template } from "./policy-variables.js";
import { compileGlob } from "./wildcard.js";

/** A grammar failure in the Condition block; the document parser turns it into MalformedPolicyDocument. */
export class ConditionGrammarError extends Error {}

type ValueTest = (value: string, context: ConditionContext) => boolean;
export type ConditionTest = (value: ContextValue, context: ConditionContext) => boolean;

export interface CompiledCondition {
  /** The operator as written, e.g. "ForAnyValue:StringLike". */
  readonly operator: string;
  /** The condition key, lower-cased. */
  readonly key: string;
  readonly test: ConditionTest;
}

type ValueType = "string" | "numeric" | "date" | "bool" | "binary" | "ip" | "arn" | "null";
type Compare = "eq" | "eqIgnoreCase" | "like" | "lt" | "le" | "gt" | "ge";

interface BaseOperator {
  readonly type: ValueType;
  readonly compare: Compare;
  readonly negated: boolean;
}

const op = (type: ValueType, compare: Compare, negated = false): BaseOperator => ({ type, compare, negated });

const BASE_OPERATORS: ReadonlyMap<string, BaseOperator> = new Map([
  ["StringEquals", op("string", "eq")],
  ["StringNotEquals", op("string", "eq", true)],
  ["StringEqualsIgnoreCase", op("string", "eqIgnoreCase")],
  ["StringNotEqualsIgnoreCase", op("string", "eqIgnoreCase", true)],
  ["StringLike", op("string", "like")],
  ["StringNotLike", op("string", "like", true)],
  ["NumericEquals", op("numeric", "eq")],
  ["NumericNotEquals", op("numeric", "eq", true)],
  ["NumericLessThan", op("numeric", "lt")],
  ["NumericLessThanEquals", op("numeric", "le")],
  ["NumericGreaterThan", op("numeric", "gt")],
  ["NumericGreaterThanEquals", op("numeric", "ge")],
  ["DateEquals", op("date", "eq")],
  ["DateNotEquals", op("date", "eq", true)],
  ["DateLessThan", op("date", "lt")],
  ["DateLessThanEquals", op("date", "le")],
  ["DateGreaterThan", op("date", "gt")],
  ["DateGreaterThanEquals", op("date", "ge")],
  ["Bool", op("bool", "eq")],
  ["BinaryEquals", op("binary", "eq")],
  ["IpAddress", op("ip", "eq")],
  ["NotIpAddress", op("ip", "eq", true)],
  ["ArnEquals", op("arn", "like")],
  ["ArnLike", op("arn", "like")],
  ["ArnNotEquals", op("arn", "like", true)],
  ["ArnNotLike", op("arn", "like", true)],
  ["Null", op("null", "eq")],
]);

type SetOperator = "none" | "any" | "all";

export interface ParsedOperator {
  readonly base: BaseOperator;
  readonly set: SetOperator;
  readonly ifExists: boolean;
}

/** Parses "ForAllValues:StringLikeIfExists" and the like; undefined for an unknown operator. */
export function parseOperator(name: string): ParsedOperator | undefined {
  let rest = name;
  let set: SetOperator = "none";
  if (rest.startsWith("ForAnyValue:")) [set, rest] = ["any", rest.slice("ForAnyValue:".length)];
  else if (rest.startsWith("ForAllValues:")) [set, rest] = ["all", rest.slice("ForAllValues:".length)];
  const ifExists = rest.endsWith("IfExists") && rest !== "IfExists";
  if (ifExists) rest = rest.slice(0, -"IfExists".length);
  const base = BASE_OPERATORS.get(rest);
  if (base === undefined || (base.type === "null" && (ifExists || set !== "none"))) return undefined;
  return { base, set, ifExists };
}

function ordered(compare: Compare, left: number, right: number): boolean {
  switch (compare) {
    case "lt":
      return left < right;
    case "le":
      return left <= right;
    case "gt":
      return left > right;
    case "ge":
      return left >= right;
    default:
      return left === right;
  }
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const EPOCH = /^\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parseNumber(value: string): number {
  return NUMBER.test(value.trim()) ? Number(value) : Number.NaN;
}

let lastDateText: string | undefined;
let lastDate = Number.NaN;

/** ISO 8601 (what Date.parse reads) or epoch seconds; NaN when neither. The last answer is remembered (aws:CurrentTime). */
export function parseDate(value: string): number {
  if (value === lastDateText) return lastDate;
  const parsed = EPOCH.test(value) ? Number(value) * 1000 : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  [lastDateText, lastDate] = [value, parsed];
  return parsed;
}

function orderedTest(base: BaseOperator, values: readonly string[], parse: (value: string) => number): ValueTest {
  const numbers = values.map((value) => {
    const parsed = parse(value);
    if (Number.isNaN(parsed)) throw new ConditionGrammarError(`invalid ${base.type} value`);
    return parsed;
  });
  return (value) => {
    const actual = parse(value);
    if (Number.isNaN(actual)) return false;
    for (const expected of numbers) if (ordered(base.compare, actual, expected)) return true;
    return false;
  };
}

// The request's address is the same for every statement of a request: parsed once, remembered.
let lastAddressText: string | undefined;
let lastAddress: IpAddress | undefined;

function requestAddress(text: string): IpAddress | undefined {
  if (text !== lastAddressText) [lastAddressText, lastAddress] = [text, parseIpAddress(text)];
  return lastAddress;
}

function ipTest(values: readonly string[]): ValueTest {
  const blocks: CidrBlock[] = values.map((value) => {
    const block = parseCidr(value);
    if (block === undefined) throw new ConditionGrammarError(`invalid IP address or CIDR ${JSON.stringify(value)}`);
    return block;
  });
  return (value) => {
    const address = requestAddress(value);
    if (address === undefined) return false;
    for (const block of blocks) if (cidrContains(block, address)) return true;
    return false;
  };
}

function binaryTest(values: readonly string[]): ValueTest {
  const expected = values.map((value) => {
    if (!BASE64.test(value) || value.length % 4 !== 0) throw new ConditionGrammarError("invalid base64 value");
    return Buffer.from(value, "base64");
  });
  return (value) => {
    if (!BASE64.test(value)) return false;
    const actual = Buffer.from(value, "base64");
    return expected.some((bytes) => bytes.equals(actual));
  };
}

function boolTest(templates: readonly Template[]): ValueTest {
  for (const template of templates) {
    if (template.dynamic) continue;
    const text = resolveText(template, new Map())?.toLowerCase();
    if (text !== "true" && text !== "false") throw new ConditionGrammarError("invalid Bool value");
  }
  return (value, context) => {
    const actual = value.toLowerCase();
    return templates.some((template) => resolveText(template, context)?.toLowerCase() === actual);
  };
}

function stringTest(base: BaseOperator, templates: readonly Template[]): ValueTest {
  const ignoreCase = base.compare === "eqIgnoreCase";
  if (base.compare === "like") {
    const globs = templates.map((template) =>
      template.dynamic ? new ResolvedTemplateCache(template, (parts) => compileGlob(parts)) : compileGlob(staticParts(template)),
    );
    return (value, context) => globs.some((glob) => (glob instanceof ResolvedTemplateCache ? glob.get(context) : glob)?.matches(value) === true);
  }
  const exact = templates.map((template) =>
    template.dynamic
      ? undefined
      : staticParts(template)
          .map((part) => part.text)
          .join(""),
  );
  const expected = ignoreCase ? exact.map((text) => text?.toLowerCase()) : exact;
  return (value, context) => {
    const actual = ignoreCase ? value.toLowerCase() : value;
    for (let index = 0; index < templates.length; index++) {
      let want = expected[index];
      if (want === undefined) {
        want = resolveText(templates[index] as Template, context);
        if (ignoreCase) want = want?.toLowerCase();
      }
      if (want === actual) return true;
    }
    return false;
  };
}

function arnTest(templates: readonly Template[]): ValueTest {
  const patterns = templates.map((template) =>
    template.dynamic ? new ResolvedTemplateCache(template, compileArnPattern) : compileArnPattern(staticParts(template)),
  );
  return (value, context) => patterns.some((pattern) => (pattern instanceof ResolvedTemplateCache ? pattern.get(context) : pattern)?.matches(value) === true);
}

function nullTest(values: readonly string[]): ConditionTest {
  const wanted = values.map((value) => {
    const lower = value.toLowerCase();
    if (lower !== "true" && lower !== "false") throw new ConditionGrammarError("invalid Null value");
    return lower === "true";
  });
  return (value) => {
    const absent = value === undefined || (Array.isArray(value) && value.length === 0);
    return wanted.includes(absent);
  };
}

function valueTest(base: BaseOperator, values: readonly string[], variablesAllowed: boolean): ValueTest {
  const templates = () => values.map((value) => parseTemplate(value, variablesAllowed));
  switch (base.type) {
    case "string":
      return stringTest(base, templates());
    case "arn":
      return arnTest(templates());
    case "bool":
      return boolTest(templates());
    case "numeric":
      return orderedTest(base, values, parseNumber);
    case "date":
      return orderedTest(base, values, parseDate);
    case "ip":
      return ipTest(values);
    default:
      return binaryTest(values);
  }
}

/** Combines the per-value test with negation, the set operator and IfExists. */
function combine(parsed: ParsedOperator, matches: ValueTest): ConditionTest {
  const { set, ifExists } = parsed;
  const negated = parsed.base.negated;
  const one = negated ? (value: string, context: ConditionContext) => !matches(value, context) : matches;
  return (value, context) => {
    // "If the key values in the request resolve to an empty data set (for example, an empty string),
    // ForAllValues returns true and ForAnyValue returns false" (IAM User Guide, multivalued keys).
    const empty = value === undefined || value.length === 0;
    const absent = empty && (typeof value !== "string" || set !== "none");
    if (set === "all") return absent || every(value, one, context);
    if (absent) return ifExists || (set === "none" && negated);
    if (typeof value === "string") return one(value, context);
    const list = value as readonly string[];
    if (set === "any" || !negated) return list.some((item) => one(item, context));
    return !list.some((item) => matches(item, context));
  };
}

function every(value: ContextValue, test: ValueTest, context: ConditionContext): boolean {
  if (typeof value === "string") return test(value, context);
  return (value ?? []).every((item) => test(item, context));
}

/** A policy value as IAM reads it: strings, numbers and booleans, alone or in a list. */
export function conditionValues(raw: unknown): string[] {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  return list.map((item) => {
    if (typeof item === "string") return item;
    if (typeof item === "number" && Number.isFinite(item)) return String(item);
    if (typeof item === "boolean") return item ? "true" : "false";
    throw new ConditionGrammarError("condition values must be strings, numbers or booleans");
  });
}

/** Compiles one `"<operator>": { "<key>": <values> }` entry; throws ConditionGrammarError. */
export function compileCondition(operator: string, key: string, raw: unknown, variablesAllowed: boolean): CompiledCondition {
  const parsed = parseOperator(operator);
  if (parsed === undefined) throw new ConditionGrammarError(`unknown condition operator ${JSON.stringify(operator)}`);
  if (key.length === 0) throw new ConditionGrammarError("empty condition key");
  const values = conditionValues(raw);
  const test = parsed.base.type === "null" ? nullTest(values) : combine(parsed, valueTest(parsed.base, values, variablesAllowed));
  return { operator, key: key.toLowerCase(), test };
}
