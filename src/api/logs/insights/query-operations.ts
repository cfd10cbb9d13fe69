// StartQuery, GetQueryResults, StopQuery and DescribeQueries
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html and
// its siblings). StartQuery compiles the query (a syntax error is a MalformedQueryException at
// once), records it as Scheduled in the store and hands it to this replica's QueryRunner; every
// later call reads the store, so any replica answers for any query.
import { randomUUID } from "node:crypto";
import type {
  DescribeQueriesRequest,
  DescribeQueriesResponse,
  GetQueryResultsRequest,
  GetQueryResultsResponse,
  QueryInfo,
  StartQueryRequest,
  StartQueryResponse,
  StopQueryRequest,
  StopQueryResponse,
} from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, limitExceededException, resourceNotFoundException } from "../../../core/errors.js";
import type { InsightsQueryRecord, InsightsQueryStatus, LogsInsightsRepository } from "../../../store/logs-insights-repository.js";
import type { LogGroupRecord } from "../../../store/logs-repository.js";
import type { LogsContext } from "../log-groups.js";
import { requireLogGroup } from "../log-groups.js";
import { decodeOpaqueToken, encodeOpaqueToken } from "../log-tokens.js";
import { compileQuery } from "./compile-query.js";
import type { QueryRunner } from "./query-runner.js";
import { QUERY_TIMEOUT_MS } from "./query-runner.js";
import { QuerySyntaxError } from "./query-syntax-error.js";

export interface InsightsContext extends LogsContext {
  readonly insights: LogsInsightsRepository;
  readonly runner: QueryRunner;
}

/** StartQuery's queryString: "Length Constraints: Minimum length of 0. Maximum length of 10000." */
export const MAX_QUERY_STRING = 10_000;
const MAX_LOG_GROUPS = 50;
const DEFAULT_LIMIT = 1_000;
const MAX_LIMIT = 10_000;
/** AWS: "You can have up to 30 concurrent CloudWatch Logs insights queries". */
const MAX_CONCURRENT_QUERIES = 30;
/** How long a query and its results stay readable (AWS keeps query results for 7 days). */
export const QUERY_RETENTION_MS = 7 * 86_400_000;
/** What one query may hold in memory (stats groups, dedup keys, rows held by sort). */
const QUERY_MEMORY_BYTES = 256 * 1_048_576;
const QUERY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STATUSES: readonly InsightsQueryStatus[] = ["Scheduled", "Running", "Complete", "Failed", "Cancelled", "Timeout"];

function constraint(value: unknown, member: string, what: string): Error {
  return invalidParameterException(`1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must ${what}`);
}

function checkSeconds(value: number | undefined, member: string): number {
  if (value === undefined) throw constraint("null", member, "not be null");
  if (!Number.isSafeInteger(value)) throw constraint(value, member, "be a whole number of seconds"); // wording not confirmed
  if (value < 0) throw constraint(value, member, "have value greater than or equal to 0");
  // Milliseconds of it must stay a safe integer (the store's bigint, JavaScript's number).
  if (value > Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1)
    throw constraint(value, member, `have value less than or equal to ${Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1}`);
  return value;
}

function checkLimit(value: number | undefined, member: string, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw constraint(value, member, "have value greater than or equal to 1");
  if (value > max) throw constraint(value, member, `have value less than or equal to ${max}`);
  return value;
}

/** Exactly one of logGroupName, logGroupNames, logGroupIdentifiers; each group must exist. */
async function resolveGroups(context: LogsContext, input: StartQueryRequest): Promise<LogGroupRecord[]> {
  const given = [input.logGroupName, input.logGroupNames, input.logGroupIdentifiers].filter((member) => member !== undefined).length;
  if (given !== 1) {
    // wording not confirmed
    throw invalidParameterException("Exactly one of logGroupName, logGroupNames, or logGroupIdentifiers must be specified.");
  }
  const groups: LogGroupRecord[] = [];
  const add = (group: LogGroupRecord) => {
    if (!groups.some((known) => known.id === group.id)) groups.push(group);
  };
  if (input.logGroupName !== undefined) add(await requireLogGroup(context, { logGroupName: input.logGroupName }));
  for (const [member, list] of [
    ["logGroupNames", input.logGroupNames],
    ["logGroupIdentifiers", input.logGroupIdentifiers],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length < 1) throw constraint("[]", member, "have length greater than or equal to 1");
    if (list.length > MAX_LOG_GROUPS) throw constraint("[…]", member, `have length less than or equal to ${MAX_LOG_GROUPS}`);
    for (const entry of list) {
      if (member === "logGroupIdentifiers" && typeof entry === "string" && entry.endsWith("*")) {
        throw invalidParameterException(`Invalid log group identifier: ${entry}`); // wording not confirmed (AWS: "the ARN can't end with an asterisk")
      }
      add(await requireLogGroup(context, member === "logGroupNames" ? { logGroupName: entry } : { logGroupIdentifier: entry }));
    }
  }
  return groups;
}

export async function startQuery(context: InsightsContext, input: StartQueryRequest): Promise<StartQueryResponse> {
  if (input.queryLanguage !== undefined && input.queryLanguage !== "CWLI") {
    // Only Logs Insights QL is served; PPL and SQL are refused rather than run as something else.
    throw invalidParameterException(`Query language ${String(input.queryLanguage)} is not supported; use CWLI.`); // wording not confirmed
  }
  const queryString = input.queryString;
  if (typeof queryString !== "string") throw constraint("null", "queryString", "not be null");
  if (queryString.length > MAX_QUERY_STRING) throw constraint("…", "queryString", `have length less than or equal to ${MAX_QUERY_STRING}`);
  const startTime = checkSeconds(input.startTime, "startTime");
  const endTime = checkSeconds(input.endTime, "endTime");
  if (endTime < startTime) throw invalidParameterException("End time should not be before the start time"); // wording not confirmed
  const limit = checkLimit(input.limit, "limit", MAX_LIMIT, DEFAULT_LIMIT);
  const groups = await resolveGroups(context, input);
  let compiled;
  try {
    compiled = compileQuery(queryString, { limit, memoryLimitBytes: QUERY_MEMORY_BYTES });
  } catch (error) {
    if (error instanceof QuerySyntaxError) throw error.toAwsError();
    throw error;
  }
  const now = context.clock.now();
  await context.insights.purgeQueries(now - QUERY_RETENTION_MS);
  // A query whose runner died with its replica stays Running in the store: past the timeout it is a Timeout, and no longer counts.
  await context.insights.expireActive(now - QUERY_TIMEOUT_MS);
  const queryId = randomUUID();
  const created = await context.insights.createQuery(
    { queryId, queryString, logGroupNames: groups.map((group) => group.name), startTime, endTime, limit, createTime: now },
    { maxActive: MAX_CONCURRENT_QUERIES, activeSince: now - QUERY_TIMEOUT_MS },
  );
  if (!created) {
    // AWS's wording, as its SDKs report it: "Account maximum query concurrency limit of [10] reached."
    throw limitExceededException(`Account maximum query concurrency limit of [${MAX_CONCURRENT_QUERIES}] reached.`);
  }
  void context.runner.start({
    queryId,
    groups: groups.map((group) => ({ id: group.id, name: group.name })),
    // The range is inclusive at both ends, in seconds: every millisecond of the end second counts.
    startMs: startTime * 1000,
    endMs: (endTime + 1) * 1000,
    accountId: context.scope.accountId,
    compiled,
  });
  return { queryId };
}

async function requireQuery(context: InsightsContext, queryId: string | undefined): Promise<InsightsQueryRecord> {
  if (typeof queryId !== "string" || queryId.length < 1) throw constraint("null", "queryId", "have length greater than or equal to 1");
  if (queryId.length > 256) throw constraint("…", "queryId", "have length less than or equal to 256");
  const query = QUERY_ID.test(queryId) ? await context.insights.getQuery(queryId) : undefined;
  if (!query) throw resourceNotFoundException("Query does not exist."); // wording not confirmed
  return query;
}

/** A Running query whose runner is gone (its replica stopped) reads as Timeout once past AWS's 60 minutes. */
function effectiveStatus(query: InsightsQueryRecord, now: number): InsightsQueryStatus {
  if ((query.status === "Running" || query.status === "Scheduled") && now - query.createTime > QUERY_TIMEOUT_MS) return "Timeout";
  return query.status;
}

export async function getQueryResults(context: InsightsContext, input: GetQueryResultsRequest): Promise<GetQueryResultsResponse> {
  const query = await requireQuery(context, input.queryId);
  return {
    queryLanguage: "CWLI",
    results: query.results ?? [],
    statistics: { ...query.statistics },
    status: effectiveStatus(query, context.clock.now()),
  };
}

export async function stopQuery(context: InsightsContext, input: StopQueryRequest): Promise<StopQueryResponse> {
  const query = await requireQuery(context, input.queryId);
  context.runner.stop(query.queryId);
  const stopped = await context.insights.endQuery(query.queryId, { status: "Cancelled" });
  return { success: stopped };
}

type QueriesPage = { c: number; q: string };
const isQueriesPage = (value: unknown): value is QueriesPage =>
  Number.isSafeInteger((value as QueriesPage)?.c) && typeof (value as QueriesPage)?.q === "string" && (value as QueriesPage).q.length <= 64;

export async function describeQueries(context: InsightsContext, input: DescribeQueriesRequest): Promise<DescribeQueriesResponse> {
  const limit = checkLimit(input.maxResults, "maxResults", 1000, 1000);
  if (input.status !== undefined && !STATUSES.includes(input.status as InsightsQueryStatus)) {
    throw constraint(input.status, "status", `satisfy enum value set: [${[...STATUSES, "Unknown"].join(", ")}]`);
  }
  if (input.queryLanguage !== undefined && input.queryLanguage !== "CWLI") return { queries: [] };
  const page = input.nextToken === undefined ? undefined : decodeOpaqueToken(input.nextToken, isQueriesPage);
  if (input.logGroupName !== undefined) await requireLogGroup(context, { logGroupName: input.logGroupName });
  const now = context.clock.now();
  await context.insights.expireActive(now - QUERY_TIMEOUT_MS);
  const rows = await context.insights.listQueries({
    ...(input.logGroupName !== undefined ? { logGroupName: input.logGroupName } : {}),
    ...(input.status !== undefined ? { status: input.status as InsightsQueryStatus } : {}),
    ...(page ? { after: { createTime: page.c, queryId: page.q } } : {}),
    limit,
  });
  const queries: QueryInfo[] = rows
    .filter((row) => now - row.createTime <= QUERY_RETENTION_MS)
    .map((row) => ({
      queryLanguage: "CWLI",
      queryId: row.queryId,
      queryString: row.queryString,
      status: effectiveStatus(row, now),
      createTime: row.createTime,
      logGroupName: row.logGroupNames[0]!,
    }));
  const last = rows.at(-1);
  return { queries, ...(rows.length === limit && last ? { nextToken: encodeOpaqueToken({ c: last.createTime, q: last.queryId }) } : {}) };
}
