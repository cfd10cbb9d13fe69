// IAM's input constraints (IAM API Reference, each parameter's "Length Constraints" and "Pattern")
// in the model-constraint form IAM answers with: ValidationError "1 validation error detected:
// Value 'x' at 'roleName' failed to satisfy constraint: Member must …". Also tags, paging markers,
// policy documents (grammar and size quotas through core/iam), and the URL encoding IAM applies
// to policy documents in its answers.
import type { Tag } from "@aws-sdk/client-iam";
import { parsePolicyDocument } from "../../core/iam/index.js";
import type { PolicyKind } from "../../core/iam/index.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import { invalidInput, limitExceeded, validationError } from "./iam-errors.js";

const constraint = (value: unknown, member: string, rule: string) =>
  validationError(`1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must ${rule}`);

function checkString(value: string | undefined, member: string, min: number, max: number, pattern: RegExp, patternText: string): string {
  // The gateway refuses a missing required member first; this is the backstop.
  if (value === undefined)
    throw validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  if (value.length < min) throw constraint(value, member, `have length greater than or equal to ${min}`);
  if (value.length > max) throw constraint(value, member, `have length less than or equal to ${max}`);
  if (!pattern.test(value)) throw constraint(value, member, `satisfy regular expression pattern: ${patternText}`);
  return value;
}

/**
 * An entity name of IAM's characters: lengths in the model-constraint form, characters in IAM's own
 * words ("The specified value for roleName is invalid. …", seen verbatim for roleName; the same
 * form for userName and policyName is not confirmed).
 */
function entityName(value: string | undefined, member: string, max: number): string {
  const name = checkString(value, member, 1, max, /^[\s\S]*$/, "");
  if (!/^[\w+=,.@-]+$/.test(name))
    throw validationError(`The specified value for ${member} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`);
  return name;
}

export const roleName = (value: string | undefined, member = "roleName") => entityName(value, member, 64);
export const userName = (value: string | undefined, member = "userName") => entityName(value, member, 64);
export const policyName = (value: string | undefined, member = "policyName") => entityName(value, member, 128);

/** A path: "/" or "/a/b/" of printable ASCII, at most 512 characters. */
export function path(value: string | undefined, member = "path"): string {
  if (value === undefined) return "/";
  return checkString(value, member, 1, 512, /^(\/|\/[\u0021-\u007e]+\/)$/, "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
}

export function pathPrefix(value: string | undefined): string {
  if (value === undefined) return "/";
  return checkString(value, "pathPrefix", 1, 512, /^\/[\u0021-\u007f]*$/, "\\u002F[\\u0021-\\u007F]*");
}

export function description(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return checkString(value, "description", 0, 1000, /^[\t\n\r\u0020-\u007e\u00a1-\u00ff]*$/, "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*");
}

export function accessKeyId(value: string | undefined): string {
  return checkString(value, "accessKeyId", 16, 128, /^\w+$/, "[\\w]+");
}

export function versionId(value: string | undefined): string {
  return checkString(value, "versionId", 0, Number.MAX_SAFE_INTEGER, /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/, "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?");
}

/** MaxSessionDuration: 3600 to 43200 seconds (wording not confirmed: the model-constraint form). */
export function maxSessionDuration(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 3600) throw constraint(value, "maxSessionDuration", "have value greater than or equal to 3600");
  if (value > 43200) throw constraint(value, "maxSessionDuration", "have value less than or equal to 43200");
  return value;
}

export function policyArnInput(value: string | undefined): string {
  return checkString(value, "policyArn", 20, 2048, /^[\s\S]*$/, "");
}

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 50;

/** Tags as given (case kept), refused past 50, with a bad key or value, or a key twice (any case). */
export function tags(input: readonly Tag[] | undefined): Map<string, string> {
  const result = new Map<string, string>();
  if (input === undefined) return result;
  if (input.length > MAX_TAGS) throw constraint("[…]", "tags", `have length less than or equal to ${MAX_TAGS}`);
  const seen = new Set<string>();
  for (const [index, tag] of input.entries()) {
    const key = tagKey(tag.Key, `tags.${index + 1}.member.key`);
    const value = tag.Value ?? "";
    if (value.length > 256) throw constraint(value, `tags.${index + 1}.member.value`, "have length less than or equal to 256");
    if (!TAG_VALUE.test(value))
      throw constraint(value, `tags.${index + 1}.member.value`, "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*");
    // wording not confirmed
    if (seen.has(key.toLowerCase())) throw invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.");
    seen.add(key.toLowerCase());
    result.set(key, value);
  }
  return result;
}

export function tagKey(key: string | undefined, member = "tagKeys"): string {
  return checkString(key, member, 1, 128, TAG_KEY, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+");
}

/** An entity's tags with `added` merged in (a key of another case replaces it), at most 50. */
export function mergeTags(current: ReadonlyMap<string, string>, added: ReadonlyMap<string, string>): Map<string, string> {
  const merged = new Map(current);
  for (const [key, value] of added) {
    for (const existing of merged.keys()) if (existing.toLowerCase() === key.toLowerCase()) merged.delete(existing);
    merged.set(key, value);
  }
  // wording not confirmed
  if (merged.size > MAX_TAGS) throw limitExceeded("The number of tags has reached the maximum limit.");
  return merged;
}

export function removeTags(current: ReadonlyMap<string, string>, keys: readonly string[] | undefined = []): Map<string, string> {
  if (keys.length > MAX_TAGS) throw constraint("[…]", "tagKeys", `have length less than or equal to ${MAX_TAGS}`);
  const removed = new Set(keys.map((key) => tagKey(key).toLowerCase()));
  return new Map([...current].filter(([key]) => !removed.has(key.toLowerCase())));
}

export const tagList = (map: ReadonlyMap<string, string>): { Key: string; Value: string }[] => [...map].map(([Key, Value]) => ({ Key, Value }));

/** Page of `items` after Marker, at most MaxItems (1–1000, 100 by default), with IAM's IsTruncated/Marker. */
export function page<T>(items: readonly T[], keyOf: (item: T) => string, marker: string | undefined, maxItems: number | undefined) {
  if (maxItems !== undefined && (!Number.isInteger(maxItems) || maxItems < 1)) throw constraint(maxItems, "maxItems", "have value greater than or equal to 1");
  if (maxItems !== undefined && maxItems > 1000) throw constraint(maxItems, "maxItems", "have value less than or equal to 1000");
  const after = decodeToken(
    marker,
    (value): value is string => typeof value === "string",
    () => validationError("Invalid Marker."),
  ); // wording not confirmed
  // Sorted here in code-unit order, the order the marker compares in (a PostgreSQL collation may sort otherwise).
  const sorted = items.map((item) => ({ item, key: keyOf(item) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const start = after === undefined ? 0 : sorted.findIndex((entry) => entry.key > after);
  const rest = start === -1 ? [] : sorted.slice(start).map((entry) => entry.item);
  const limit = maxItems ?? 100;
  const chosen = rest.slice(0, limit);
  const truncated = rest.length > limit;
  return { items: chosen, IsTruncated: truncated, Marker: truncated ? encodeToken(keyOf(chosen[chosen.length - 1] as T)) : undefined };
}

/**
 * A policy document checked as IAM checks it: IAM's character set (else the model-constraint
 * ValidationError), then the grammar (MalformedPolicyDocument). Principals named in a trust policy
 * must exist: `exists` is asked about each user or role ARN it names.
 */
export async function policyDocument(input: string | undefined, kind: PolicyKind, member: string, exists?: (arn: string) => Promise<boolean>): Promise<string> {
  const text = checkString(input, member, 1, 131072, /^[\t\n\r\u0020-\u00ff]+$/, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
  if (kind !== "trust" || exists === undefined) {
    parsePolicyDocument(text, kind);
    return text;
  }
  // The library's check is synchronous: collect the ARNs a first pass names, ask the store, then
  // parse again with the answers (a missing principal is then refused with IAM's message).
  const named: string[] = [];
  parsePolicyDocument(text, kind, { principalExists: (arn) => (named.push(arn), true) });
  const missing = new Set<string>();
  for (const arn of new Set(named)) if (!(await exists(arn))) missing.add(arn);
  if (missing.size > 0) parsePolicyDocument(text, kind, { principalExists: (arn) => !missing.has(arn) });
  return text;
}

/** IAM answers policy documents URL-encoded (RFC 3986: everything but unreserved characters); boto3 and the CLI decode them. */
export function encodePolicyDocument(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}
