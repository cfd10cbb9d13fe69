// Saved Logs Insights queries: PutQueryDefinition, DescribeQueryDefinitions, DeleteQueryDefinition
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutQueryDefinition.html).
// A definition is stored as given; its query is compiled when it is run (StartQuery), as in AWS.
import { randomUUID } from "node:crypto";
import type {
  DeleteQueryDefinitionRequest,
  DeleteQueryDefinitionResponse,
  DescribeQueryDefinitionsRequest,
  DescribeQueryDefinitionsResponse,
  PutQueryDefinitionRequest,
  PutQueryDefinitionResponse,
} from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, limitExceededException, resourceNotFoundException } from "../../../core/errors.js";
import { validateLogGroupName } from "../log-groups.js";
import { decodeOpaqueToken, encodeOpaqueToken } from "../log-tokens.js";
import type { InsightsContext } from "./query-operations.js";
import { MAX_QUERY_STRING } from "./query-operations.js";

const MAX_NAME = 255;
const MAX_LOG_GROUP_NAMES = 50;
/** How many definitions one account may keep (wording not confirmed: the quota's figure is Berth's). */
const MAX_DEFINITIONS = 1_000;
const DEFINITION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function constraint(value: unknown, member: string, what: string): Error {
  return invalidParameterException(`1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must ${what}`);
}

function checkLength(value: unknown, member: string, min: number, max: number): string {
  if (typeof value !== "string") throw constraint("null", member, "not be null");
  if (value.length < min) throw constraint(value, member, `have length greater than or equal to ${min}`);
  if (value.length > max) throw constraint("…", member, `have length less than or equal to ${max}`);
  return value;
}

function checkDefinitionId(value: unknown, member = "queryDefinitionId"): string {
  const id = checkLength(value, member, 0, 256);
  if (!DEFINITION_ID.test(id)) throw resourceNotFoundException("The query definition does not exist."); // wording not confirmed
  return id;
}

export async function putQueryDefinition(context: InsightsContext, input: PutQueryDefinitionRequest): Promise<PutQueryDefinitionResponse> {
  if (input.queryLanguage !== undefined && input.queryLanguage !== "CWLI") {
    throw invalidParameterException(`Query language ${String(input.queryLanguage)} is not supported; use CWLI.`); // wording not confirmed
  }
  const name = checkLength(input.name, "name", 1, MAX_NAME);
  const queryString = checkLength(input.queryString, "queryString", 1, MAX_QUERY_STRING);
  const logGroupNames = input.logGroupNames ?? [];
  if (!Array.isArray(logGroupNames) || logGroupNames.length > MAX_LOG_GROUP_NAMES) {
    throw constraint("[…]", "logGroupNames", `have length less than or equal to ${MAX_LOG_GROUP_NAMES}`);
  }
  logGroupNames.forEach((group, index) => validateLogGroupName(group, `logGroupNames.${index + 1}.member`));
  let queryDefinitionId: string;
  if (input.queryDefinitionId !== undefined) {
    queryDefinitionId = checkDefinitionId(input.queryDefinitionId);
    if (!(await context.insights.getDefinition(queryDefinitionId))) throw resourceNotFoundException("The query definition does not exist."); // wording not confirmed
  } else {
    if ((await context.insights.countDefinitions()) >= MAX_DEFINITIONS) {
      throw limitExceededException(`An account can have at most ${MAX_DEFINITIONS} query definitions.`); // wording not confirmed
    }
    queryDefinitionId = randomUUID();
  }
  await context.insights.putDefinition({ queryDefinitionId, name, queryString, logGroupNames: [...logGroupNames], lastModified: context.clock.now() });
  return { queryDefinitionId };
}

type DefinitionsPage = { n: string; i: string };
const isDefinitionsPage = (value: unknown): value is DefinitionsPage =>
  typeof (value as DefinitionsPage)?.n === "string" && typeof (value as DefinitionsPage)?.i === "string" && (value as DefinitionsPage).n.length <= MAX_NAME;

export async function describeQueryDefinitions(context: InsightsContext, input: DescribeQueryDefinitionsRequest): Promise<DescribeQueryDefinitionsResponse> {
  const maxResults = input.maxResults;
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 1000)) {
    throw constraint(maxResults, "maxResults", maxResults < 1 ? "have value greater than or equal to 1" : "have value less than or equal to 1000");
  }
  const limit = maxResults ?? 1000;
  const namePrefix =
    input.queryDefinitionNamePrefix === undefined ? undefined : checkLength(input.queryDefinitionNamePrefix, "queryDefinitionNamePrefix", 1, MAX_NAME);
  if (input.queryLanguage !== undefined && input.queryLanguage !== "CWLI") return { queryDefinitions: [] };
  const page = input.nextToken === undefined ? undefined : decodeOpaqueToken(input.nextToken, isDefinitionsPage);
  const rows = await context.insights.listDefinitions({
    ...(namePrefix !== undefined ? { namePrefix } : {}),
    ...(page ? { after: { name: page.n, queryDefinitionId: page.i } } : {}),
    limit,
  });
  const last = rows.at(-1);
  return {
    queryDefinitions: rows.map((row) => ({
      queryLanguage: "CWLI",
      queryDefinitionId: row.queryDefinitionId,
      name: row.name,
      queryString: row.queryString,
      lastModified: row.lastModified,
      logGroupNames: [...row.logGroupNames],
    })),
    ...(rows.length === limit && last ? { nextToken: encodeOpaqueToken({ n: last.name, i: last.queryDefinitionId }) } : {}),
  };
}

export async function deleteQueryDefinition(context: InsightsContext, input: DeleteQueryDefinitionRequest): Promise<DeleteQueryDefinitionResponse> {
  const queryDefinitionId = checkDefinitionId(input.queryDefinitionId);
  if (!(await context.insights.deleteDefinition(queryDefinitionId))) throw resourceNotFoundException("The query definition does not exist."); // wording not confirmed
  return { success: true };
}
