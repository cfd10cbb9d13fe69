// GetParametersByPath and DescribeParameters: the parameters under a path or matching filters, in
// pages (ordered by name; the token is the last name shown). ParameterFilters served: Name
// (Equals, BeginsWith, Contains), Path (Recursive, OneLevel), Type, KeyId, Tier, DataType, Label
// (a label on the latest version), tag:KEY (Equals; any value when none is given).
import type {
  DescribeParametersRequest,
  DescribeParametersResult,
  GetParametersByPathRequest,
  GetParametersByPathResult,
  ParameterMetadata,
  ParameterStringFilter,
  ParameterTier,
  ParameterType,
} from "@aws-sdk/client-ssm";
import type { ParameterRecord } from "../../store/index.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import { parameterArn, validatePath } from "./parameter-names.js";
import type { ParametersContext } from "./parameters.js";
import { parameterShape } from "./parameters.js";
import { constraint, invalidFilterKey, invalidNextToken, validation } from "./ssm-errors.js";

const KEYS = new Set(["Name", "Path", "Type", "KeyId", "Tier", "DataType", "Label"]);

/** Whether `name` is under `path`: anywhere below it (recursive) or directly in it. */
function isUnder(name: string, path: string, recursive: boolean): boolean {
  const prefix = path === "/" ? "/" : `${path}/`;
  if (!name.startsWith(prefix)) return false;
  return recursive || !name.slice(prefix.length).includes("/");
}

function checkFilter(filter: ParameterStringFilter): void {
  const key = filter.Key ?? "";
  if (!KEYS.has(key) && !/^tag:.{1,128}$/.test(key)) throw invalidFilterKey();
  const values = filter.Values ?? [];
  if (values.length > 50) throw constraint("parameterFilters.member.values", String(values.length), "Member must have length less than or equal to 50");
  if (!key.startsWith("tag:") && values.length === 0) throw validation(`The following filter values are missing : null for filter key ${key}.`); // wording not confirmed
  const option = filter.Option ?? (key === "Path" ? "OneLevel" : "Equals");
  const allowed = key === "Path" ? ["Recursive", "OneLevel"] : key === "Name" ? ["Equals", "BeginsWith", "Contains"] : ["Equals", "BeginsWith"];
  // wording not confirmed
  if (!allowed.includes(option)) throw validation(`The following filter option is not valid: ${option}. Valid options include: [${allowed.join(", ")}].`);
}

function matchesFilter(filter: ParameterStringFilter, parameter: ParameterRecord): boolean {
  const key = filter.Key ?? "";
  const values = filter.Values ?? [];
  const option = filter.Option ?? (key === "Path" ? "OneLevel" : "Equals");
  const compare = (actual: string | undefined) =>
    actual !== undefined &&
    values.some((value) => (option === "BeginsWith" ? actual.startsWith(value) : option === "Contains" ? actual.includes(value) : actual === value));
  if (key.startsWith("tag:")) {
    const tag = parameter.tags.find((one) => one.Key === key.slice(4));
    return tag !== undefined && (values.length === 0 || values.includes(tag.Value));
  }
  switch (key) {
    case "Name":
      return compare(parameter.name) || (option === "Equals" && compare(parameter.name.replace(/^\//, "")));
    case "Path":
      return values.some((value) => isUnder(parameter.name, validatePath(value), option === "Recursive"));
    case "Type":
      return compare(parameter.type);
    case "KeyId":
      return compare(parameter.keyId);
    case "Tier":
      return compare(parameter.tier);
    case "DataType":
      return compare(parameter.dataType);
    default:
      return values.some((value) => parameter.labels.includes(value)); // Label
  }
}

type Position = { after: string };
const isPosition = (value: unknown): value is Position => typeof (value as Position)?.after === "string";

/**
 * One page, in code-unit order of names: sorted here, since the position compares names that way
 * and the database's order follows its collation (PostgreSQL's en_US puts "/a/b" after "/a-c").
 */
export function pageOf(parameters: readonly ParameterRecord[], limit: number, token: string | undefined): { shown: ParameterRecord[]; nextToken?: string } {
  const position = decodeToken(token, isPosition, invalidNextToken);
  const sorted = [...parameters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rest = position ? sorted.filter((parameter) => parameter.name > position.after) : sorted;
  const shown = rest.slice(0, limit);
  const last = shown.at(-1);
  return { shown, ...(rest.length > limit && last ? { nextToken: encodeToken({ after: last.name }) } : {}) };
}

function checkLimit(value: number | undefined, max: number): number {
  if (value === undefined) return max;
  if (!Number.isInteger(value) || value < 1 || value > max) throw constraint("maxResults", String(value), `Member must have value between 1 and ${max}`);
  return value;
}

export async function getParametersByPath(context: ParametersContext, input: GetParametersByPathRequest): Promise<GetParametersByPathResult> {
  const path = validatePath(input.Path ?? "");
  const limit = checkLimit(input.MaxResults, 10);
  const filters = input.ParameterFilters ?? [];
  for (const filter of filters) {
    checkFilter(filter);
    // wording not confirmed
    if (filter.Key === "Name" || filter.Key === "Path")
      throw validation(`The following filter key is not valid: ${filter.Key}. Valid filter keys include: [Type, KeyId, Label].`);
  }
  const under = (await context.parameters.list()).filter(
    (parameter) => isUnder(parameter.name, path, input.Recursive === true) && filters.every((filter) => matchesFilter(filter, parameter)),
  );
  const page = pageOf(under, limit, input.NextToken);
  return {
    Parameters: page.shown.map((parameter) => parameterShape(context, parameter, input.WithDecryption === true)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
}

function metadata(context: ParametersContext, parameter: ParameterRecord): ParameterMetadata {
  return {
    Name: parameter.name,
    ARN: parameterArn(context.scope, parameter.name),
    Type: parameter.type as ParameterType,
    ...(parameter.keyId === undefined ? {} : { KeyId: parameter.keyId }),
    LastModifiedDate: new Date(parameter.modifiedAt),
    LastModifiedUser: parameter.modifiedUser,
    ...(parameter.description === undefined ? {} : { Description: parameter.description }),
    ...(parameter.allowedPattern === undefined ? {} : { AllowedPattern: parameter.allowedPattern }),
    Version: parameter.version,
    Tier: parameter.tier as ParameterTier,
    Policies: [],
    DataType: parameter.dataType,
  };
}

export async function describeParameters(context: ParametersContext, input: DescribeParametersRequest): Promise<DescribeParametersResult> {
  // wording not confirmed
  if (input.Filters !== undefined && input.ParameterFilters !== undefined)
    throw validation("You can use either Filters or ParameterFilters in a single request, but not both.");
  // The older Filters (Name, Type, KeyId) as ParameterFilters: Name by prefix, the others exactly.
  const filters: ParameterStringFilter[] =
    input.ParameterFilters ??
    (input.Filters ?? []).map((filter) => {
      if (!["Name", "Type", "KeyId"].includes(filter.Key ?? "")) throw invalidFilterKey();
      return { Key: filter.Key, Option: filter.Key === "Name" ? "BeginsWith" : "Equals", Values: filter.Values };
    });
  filters.forEach(checkFilter);
  const limit = checkLimit(input.MaxResults, 50);
  const matching = (await context.parameters.list()).filter((parameter) => filters.every((filter) => matchesFilter(filter, parameter)));
  const page = pageOf(matching, limit, input.NextToken);
  return { Parameters: page.shown.map((parameter) => metadata(context, parameter)), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
}
