// ListSecrets and BatchGetSecretValue: the secrets matching Filters (API_Filter: name, tag-key and
// tag-value are case-sensitive prefixes, description a case-insensitive prefix, "all" words
// matched in any of them; a value starting with "!" negates), in pages.
import type {
  BatchGetSecretValueRequest,
  BatchGetSecretValueResponse,
  Filter,
  ListSecretsRequest,
  ListSecretsResponse,
  SecretListEntry,
  SecretValueEntry,
} from "@aws-sdk/client-secrets-manager";
import { isAwsError } from "../../core/errors.js";
import type { SecretRecord } from "../../store/index.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import { constraint, invalidParameter } from "./secrets-errors.js";
import type { SecretsContext } from "./secrets.js";
import { describeRecord, findSecret, readValue } from "./secrets.js";
import { AwsError } from "../../core/errors.js";

const FILTER_KEYS = new Set(["description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"]);
const FILTER_VALUE = /^!?[a-zA-Z0-9 :_@/+=.\-!]{0,512}$/;

/** Filters: at most 10 (API_ListSecrets, API_BatchGetSecretValue: "Maximum number of 10 items"), each of 1–10 values. */
const MAX_FILTERS = 10;

export function checkFilters(filters: readonly Filter[] | undefined): readonly Filter[] {
  if (filters && filters.length > MAX_FILTERS)
    // wording not confirmed (AWS's model-constraint text for the limit in the API reference)
    throw constraint("filters", `[${filters.length} filters]`, `Member must have length less than or equal to ${MAX_FILTERS}`);
  for (const filter of filters ?? []) {
    if (!FILTER_KEYS.has(filter.Key ?? ""))
      throw constraint("filters.member.key", filter.Key ?? "null", `Member must satisfy enum value set: [${[...FILTER_KEYS].join(", ")}]`);
    const values = filter.Values ?? [];
    if (values.length < 1 || values.length > 10) throw constraint("filters.member.values", String(values.length), "Member must have length between 1 and 10");
    for (const value of values) {
      if (!FILTER_VALUE.test(value))
        throw constraint(
          "filters.member.values.member",
          value.replace(/[^\x20-\x7e]/g, "?").slice(0, 64),
          "Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$",
        );
    }
  }
  return filters ?? [];
}

/** The words of an "all" search: split at anything not a letter or digit and where case or kind changes (credsDatabase#892 → creds, Database, 892). */
const words = (text: string) => text.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g) ?? [];

/** What an "all" filter searches in a secret: its words, lower-cased, built once per secret per request. */
type Haystack = () => readonly string[];

function haystackOf(secret: SecretRecord): Haystack {
  let built: string[] | undefined;
  return () =>
    (built ??= [secret.name, secret.description ?? "", ...secret.tags.flatMap((tag) => [tag.Key, tag.Value])].flatMap(words).map((word) => word.toLowerCase()));
}

/** One filter value, prepared once per request. */
interface Needle {
  readonly key: string;
  readonly negated: boolean;
  readonly value: string;
  readonly words: readonly string[];
}

function valueMatches(needle: Needle, secret: SecretRecord, haystack: Haystack): boolean {
  const value = needle.value;
  const startsWith = (text: string | undefined) => text !== undefined && text.startsWith(value);
  switch (needle.key) {
    case "name":
      return startsWith(secret.name);
    case "description":
      return secret.description !== undefined && secret.description.toLowerCase().startsWith(value.toLowerCase());
    case "tag-key":
      return secret.tags.some((tag) => startsWith(tag.Key));
    case "tag-value":
      return secret.tags.some((tag) => startsWith(tag.Value));
    case "all": {
      const hay = haystack();
      return needle.words.every((word) => hay.some((one) => one.startsWith(word)));
    }
    default:
      return false; // primary-region, owning-service: Berth has no replicas and no managing services
  }
}

/** A matcher for `filters`: every filter must match; within one, any of its values (a "!value" matches when the value does not). */
export function filterMatcher(filters: readonly Filter[]): (secret: SecretRecord) => boolean {
  const prepared: Needle[][] = filters.map((filter) =>
    (filter.Values ?? []).map((raw) => {
      const negated = raw.startsWith("!");
      const value = negated ? raw.slice(1) : raw;
      return { key: filter.Key ?? "", negated, value, words: words(value).map((word) => word.toLowerCase()) };
    }),
  );
  return (secret) => {
    const haystack = haystackOf(secret);
    return prepared.every((needles) => needles.some((needle) => valueMatches(needle, secret, haystack) !== needle.negated));
  };
}

type Position = { after: [number | string, string] };
const isPosition = (value: unknown): value is Position =>
  Array.isArray((value as Position)?.after) && (value as Position).after.length === 2 && typeof (value as Position).after[1] === "string";
// wording not confirmed
const invalidToken = () => new AwsError("InvalidNextTokenException", "The NextToken value is invalid.");

type SortKey = (secret: SecretRecord) => number | string;
const SORT_KEYS: Record<string, SortKey> = {
  "created-date": (secret) => secret.createdAt,
  "last-accessed-date": (secret) => secret.lastAccessedAt ?? 0,
  "last-changed-date": (secret) => secret.lastChangedAt,
  name: (secret) => secret.name,
};

function compare(a: [number | string, string], b: [number | string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** One page of the secrets matching, in the order asked for. */
async function page(
  context: SecretsContext,
  options: { filters: readonly Filter[]; includeDeleted: boolean; sortBy: string; descending: boolean; limit: number; token: string | undefined },
): Promise<{ secrets: SecretRecord[]; nextToken?: string }> {
  const key = SORT_KEYS[options.sortBy];
  if (!key) throw constraint("sortBy", options.sortBy, "Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]");
  const position = decodeToken(options.token, isPosition, invalidToken);
  const direction = options.descending ? -1 : 1;
  const keyOf = (secret: SecretRecord): [number | string, string] => [key(secret), secret.arn];
  const matches = filterMatcher(options.filters);
  const sorted = (await context.secrets.list())
    .filter((secret) => (options.includeDeleted || secret.deletedAt === undefined) && matches(secret))
    .sort((a, b) => direction * compare(keyOf(a), keyOf(b)))
    .filter((secret) => !position || direction * compare(keyOf(secret), position.after) > 0);
  const shown = sorted.slice(0, options.limit);
  const last = shown.at(-1);
  return { secrets: shown, ...(sorted.length > options.limit && last ? { nextToken: encodeToken({ after: keyOf(last) }) } : {}) };
}

function checkMaxResults(value: number | undefined, max: number): number {
  if (value === undefined) return max;
  if (!Number.isInteger(value) || value < 1 || value > max) throw constraint("maxResults", String(value), `Member must have value between 1 and ${max}`);
  return value;
}

export async function listSecrets(context: SecretsContext, input: ListSecretsRequest): Promise<ListSecretsResponse> {
  const found = await page(context, {
    filters: checkFilters(input.Filters),
    includeDeleted: input.IncludePlannedDeletion === true,
    sortBy: input.SortBy ?? "created-date",
    descending: input.SortOrder === "desc",
    limit: checkMaxResults(input.MaxResults, 100),
    token: input.NextToken,
  });
  const entries: SecretListEntry[] = [];
  for (const secret of found.secrets) {
    const { VersionIdsToStages, ...described } = describeRecord(secret, await context.secrets.versions(secret.arn));
    entries.push({ ...described, SecretVersionsToStages: VersionIdsToStages });
  }
  return { SecretList: entries, ...(found.nextToken ? { NextToken: found.nextToken } : {}) };
}

export async function batchGetSecretValue(context: SecretsContext, input: BatchGetSecretValueRequest): Promise<BatchGetSecretValueResponse> {
  const byList = input.SecretIdList !== undefined;
  // wording not confirmed
  if (byList === (input.Filters !== undefined)) throw invalidParameter("You must provide either SecretIdList or Filters, but not both.");
  let ids: string[];
  let nextToken: string | undefined;
  if (byList) {
    ids = input.SecretIdList ?? [];
    if (ids.length < 1 || ids.length > 20) throw constraint("secretIdList", String(ids.length), "Member must have length between 1 and 20");
    // wording not confirmed
    if (input.MaxResults !== undefined || input.NextToken !== undefined) throw invalidParameter("MaxResults and NextToken can only be used with Filters.");
  } else {
    const found = await page(context, {
      filters: checkFilters(input.Filters),
      includeDeleted: false,
      sortBy: "created-date",
      descending: false,
      limit: checkMaxResults(input.MaxResults, 20),
      token: input.NextToken,
    });
    ids = found.secrets.map((secret) => secret.arn);
    nextToken = found.nextToken;
  }
  const values: SecretValueEntry[] = [];
  const errors: BatchGetSecretValueResponse["Errors"] = [];
  for (const id of ids) {
    try {
      values.push(await readValue(context, await findSecret(context, id)));
    } catch (error) {
      if (!isAwsError(error) || !error.isClientFault) throw error;
      errors.push({ SecretId: id, ErrorCode: error.code, Message: error.message });
    }
  }
  return { SecretValues: values, Errors: errors, ...(nextToken ? { NextToken: nextToken } : {}) };
}
