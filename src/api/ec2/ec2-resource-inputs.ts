// What the VPC, subnet, interface and tag operations share: ids checked against their shape
// (Malformed before NotFound, as EC2 answers), MaxResults/NextToken paging as EC2 does it, and
// tags checked as EC2 checks them (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html:
// keys 1..127 characters, values up to 255, no "aws:" prefix, 50 per resource).
import type { Tag, TagSpecification } from "@aws-sdk/client-ec2";
import type { Ec2ResourceType } from "../../core/ec2/ec2-ids.js";
import { isEc2Id } from "../../core/ec2/ec2-ids.js";
import { printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import { invalidParameterCombination, invalidParameterValue } from "./ec2-errors.js";

/** How each id type's errors are named and worded (EC2: "The vpc ID 'vpc-1' does not exist"). */
const ID_ERRORS: Record<Exclude<Ec2ResourceType, "sg" | "sgr">, { readonly code: string; readonly noun: string }> = {
  vpc: { code: "InvalidVpcID", noun: "vpc" },
  subnet: { code: "InvalidSubnetID", noun: "subnet" },
  eni: { code: "InvalidNetworkInterfaceID", noun: "networkInterface" },
};

/** At most this many ids per request: each one is a store read. */
export const MAX_IDS = 1000;

export function notFound(type: keyof typeof ID_ERRORS, id: string): AwsError {
  const { code, noun } = ID_ERRORS[type];
  return new AwsError(`${code}.NotFound`, `The ${noun} ID '${printable(id)}' does not exist`);
}

/** `id` when it is a well-formed id of `type`, else EC2's `<Type>.Malformed` error. */
export function checkId(type: keyof typeof ID_ERRORS, id: string | undefined): string {
  if (id !== undefined && isEc2Id(id, type)) return id;
  const { code } = ID_ERRORS[type];
  throw new AwsError(`${code}.Malformed`, `Invalid id: "${printable(id ?? "")}" (expecting "${type}-...")`);
}

/** The ids a Describe names (deduplicated, checked), or undefined for "all". */
export function checkIds(type: keyof typeof ID_ERRORS, ids: readonly string[] | undefined): string[] | undefined {
  if (ids === undefined || ids.length === 0) return undefined;
  if (ids.length > MAX_IDS) throw invalidParameterValue(`At most ${MAX_IDS} ids may be given.`);
  return [...new Set(ids.map((id) => checkId(type, id)))];
}

/** Throws NotFound for the first id of `wanted` that `found` lacks (EC2 refuses the whole Describe). */
export function requireAll(type: keyof typeof ID_ERRORS, wanted: readonly string[] | undefined, found: readonly string[]): void {
  const present = new Set(found);
  const missing = (wanted ?? []).find((id) => !present.has(id));
  if (missing !== undefined) throw notFound(type, missing);
}

export interface PageRequest {
  readonly MaxResults?: number | undefined;
  readonly NextToken?: string | undefined;
}

const invalidNextToken = () => new AwsError("InvalidPaginationToken", "The specified pagination token is not valid.");

/**
 * One page of `items` (sorted by id), after the token's id, of at most MaxResults (5..1000, as
 * EC2's Describe operations document). `idsParameter` is the request's id list: EC2 refuses it
 * together with MaxResults.
 */
export function page<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  request: PageRequest,
  ids: { readonly parameter: string; readonly given: boolean },
): { readonly items: T[]; readonly NextToken?: string } {
  if (request.MaxResults !== undefined && ids.given) {
    throw invalidParameterCombination(`The parameter ${ids.parameter} cannot be used with the parameter maxResults`);
  }
  if (request.MaxResults !== undefined && (!Number.isInteger(request.MaxResults) || request.MaxResults < 5 || request.MaxResults > 1000)) {
    throw invalidParameterValue(`Value ( ${request.MaxResults} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.`);
  }
  const after = decodeToken(
    request.NextToken === "" ? undefined : request.NextToken,
    (value): value is { after: string } =>
      typeof value === "object" &&
      value !== null &&
      typeof (value as { after?: unknown }).after === "string" &&
      (value as { after: string }).after.length <= 256,
    invalidNextToken,
  )?.after;
  const rest = after === undefined ? [...items] : items.filter((item) => idOf(item) > after);
  const size = request.MaxResults ?? Number.POSITIVE_INFINITY;
  if (rest.length <= size) return { items: rest };
  const shown = rest.slice(0, size);
  return { items: shown, NextToken: encodeToken({ after: idOf(shown[shown.length - 1] as T) }) };
}

/** Checks one tag as EC2 does; returns [key, value]. */
export function checkTag(tag: Tag, requireValue = true): [string, string] {
  const key = tag.Key ?? "";
  const value = tag.Value ?? (requireValue ? "" : "");
  if (key.length === 0 || key.length > 127) throw invalidParameterValue("Tag keys must be between 1 and 127 characters long.");
  if (value.length > 255) throw invalidParameterValue("Tag values may be at most 255 characters long.");
  if (key.toLowerCase().startsWith("aws:")) throw invalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
  return [key, value];
}

/** Checked tags, at most 50 of them (EC2's TagLimitExceeded). */
export function checkTags(tags: readonly Tag[] | undefined): Map<string, string> {
  const checked = new Map((tags ?? []).map((tag) => checkTag(tag)));
  if (checked.size > 50) throw new AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.");
  return checked;
}

/** The tags TagSpecifications give a resource of `resourceType` (another type is refused, as EC2 does). */
export function specifiedTags(
  specifications: readonly TagSpecification[] | undefined,
  resourceType: "vpc" | "subnet" | "security-group" | "security-group-rule",
): Map<string, string> {
  const tags = new Map<string, string>();
  for (const specification of specifications ?? []) {
    if (specification.ResourceType !== resourceType) {
      throw invalidParameterValue(`'${printable(String(specification.ResourceType ?? ""))}' is not a valid taggable resource type for this operation.`);
    }
    for (const [key, value] of checkTags(specification.Tags)) tags.set(key, value);
  }
  if (tags.size > 50) throw new AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.");
  return tags;
}

export const toTagList = (tags: ReadonlyMap<string, string> | undefined): Tag[] =>
  [...(tags ?? new Map<string, string>())].map(([Key, Value]) => ({ Key, Value }));
