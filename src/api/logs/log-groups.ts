// CloudWatch Logs log groups, log streams, retention and tags.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_Operations.html
import type {
  CreateLogGroupRequest,
  CreateLogGroupCommandOutput,
  CreateLogStreamRequest,
  CreateLogStreamCommandOutput,
  DeleteLogGroupRequest,
  DeleteLogGroupCommandOutput,
  DeleteLogStreamRequest,
  DeleteLogStreamCommandOutput,
  DeleteRetentionPolicyRequest,
  DeleteRetentionPolicyCommandOutput,
  DescribeLogGroupsRequest,
  DescribeLogGroupsResponse,
  DescribeLogStreamsRequest,
  DescribeLogStreamsResponse,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  LogGroup,
  LogStream,
  PutRetentionPolicyRequest,
  PutRetentionPolicyCommandOutput,
  TagResourceRequest,
  TagResourceCommandOutput,
  UntagResourceRequest,
  UntagResourceCommandOutput,
} from "@aws-sdk/client-cloudwatch-logs";
import type { AccountScope } from "../../core/arn.js";
import { buildArn, parseArn } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import { invalidParameterException, resourceAlreadyExistsException, resourceNotFoundException } from "../../core/errors.js";
import type { LogGroupRecord, LogStreamRecord, LogsRepository } from "../../store/logs-repository.js";
import type { ResponseBody } from "../service-module.js";
import { decodeOpaqueToken, encodeOpaqueToken } from "./log-tokens.js";

/** The retention values AWS accepts (PutRetentionPolicy retentionInDays enum). */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const MAX_TAGS = 50;

export interface LogsContext {
  readonly logs: LogsRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
}

export const logGroupArn = (scope: AccountScope, name: string) => buildArn(scope, "logs", `log-group:${name}`);
const logStreamArn = (scope: AccountScope, group: string, stream: string) => buildArn(scope, "logs", `log-group:${group}:log-stream:${stream}`);

/** "1 validation error detected: …" — how CloudWatch Logs words a member that breaks its model's constraint. */
function constraintViolation(value: string, member: string, constraint: string): Error {
  return invalidParameterException(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must ${constraint}`);
}

export function validateLogGroupName(name: string | undefined, member = "logGroupName"): string {
  // The model's length bound is checked first: a name of valid characters but 513 long is refused for its length.
  if (name !== undefined && name.length > 512) throw constraintViolation(name, member, "have length less than or equal to 512");
  if (name === undefined || !LOG_GROUP_NAME.test(name)) {
    throw invalidParameterException(
      `1 validation error detected: Value '${name ?? "null"}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
    );
  }
  return name;
}

function validateLogStreamName(name: string | undefined): string {
  if (name === undefined || name.length < 1 || name.length > 512 || /[:*]/.test(name)) {
    throw invalidParameterException(
      `1 validation error detected: Value '${name ?? "null"}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`,
    );
  }
  return name;
}

function validateTags(tags: Record<string, string> | undefined): Record<string, string> {
  const entries = Object.entries(tags ?? {});
  if (entries.length > MAX_TAGS) throw invalidParameterException(`A log group can have at most ${MAX_TAGS} tags.`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128 || key.toLowerCase().startsWith("aws:")) throw invalidParameterException(`Invalid tag key: ${key}`);
    if (typeof value !== "string" || value.length > 256) throw invalidParameterException(`Invalid tag value for key: ${key}`);
  }
  return Object.fromEntries(entries);
}

/** Resolves the log group named by logGroupName or logGroupIdentifier (a name or an ARN). */
export async function requireLogGroup(
  context: LogsContext,
  input: { logGroupName?: string | undefined; logGroupIdentifier?: string | undefined },
): Promise<LogGroupRecord> {
  if (input.logGroupName !== undefined && input.logGroupIdentifier !== undefined) {
    throw invalidParameterException("LogGroupName and LogGroupIdentifier are mutually exclusive parameters.");
  }
  const name = input.logGroupName ?? logGroupNameFromIdentifier(validateLogGroupIdentifier(input.logGroupIdentifier));
  if (name === undefined) throw invalidParameterException("Either LogGroupName or LogGroupIdentifier must be provided.");
  return requireLogGroupNamed(context, name);
}

async function requireLogGroupNamed(context: LogsContext, name: string): Promise<LogGroupRecord> {
  const group = await context.logs.getGroup(name);
  if (!group) throw resourceNotFoundException("The specified log group does not exist.");
  return group;
}

/**
 * The model's LogGroupIdentifier: 1 to 2,048 of [\w#+=/:,.@-] — a name, or a log group's ARN
 * without the ":*" that DescribeLogGroups' `arn` carries (the Logs API reference says to drop it).
 */
const LOG_GROUP_IDENTIFIER = /^[\w#+=/:,.@-]*$/;
function validateLogGroupIdentifier(identifier: string | undefined): string | undefined {
  if (identifier === undefined) return undefined;
  if (identifier.length < 1) throw constraintViolation(identifier, "logGroupIdentifier", "have length greater than or equal to 1");
  if (identifier.length > 2048) throw constraintViolation(identifier, "logGroupIdentifier", "have length less than or equal to 2048");
  if (!LOG_GROUP_IDENTIFIER.test(identifier)) {
    throw constraintViolation(identifier, "logGroupIdentifier", "satisfy regular expression pattern: [\\w#+=/:,.@-]*");
  }
  return identifier;
}

function logGroupNameFromIdentifier(identifier: string | undefined): string | undefined {
  if (identifier === undefined) return undefined;
  const arn = parseArn(identifier);
  if (!arn) return identifier;
  const match = /^log-group:([^:]+)(?::\*)?$/.exec(arn.resource);
  if (!match) throw invalidParameterException(`Invalid log group identifier: ${identifier}`);
  return match[1];
}

export async function requireLogStream(context: LogsContext, group: LogGroupRecord, name: string | undefined): Promise<LogStreamRecord> {
  const stream = await context.logs.getStream(group.id, validateLogStreamName(name));
  if (!stream) throw resourceNotFoundException("The specified log stream does not exist.");
  return stream;
}

function describeGroup(scope: AccountScope, row: LogGroupRecord): LogGroup {
  const arn = logGroupArn(scope, row.name);
  return {
    logGroupName: row.name,
    creationTime: row.createdAt,
    ...(row.retentionDays === null ? {} : { retentionInDays: row.retentionDays }),
    metricFilterCount: 0,
    arn: `${arn}:*`,
    storedBytes: row.storedBytes,
    ...(row.kmsKeyId === undefined ? {} : { kmsKeyId: row.kmsKeyId }),
    logGroupClass: row.logGroupClass,
    logGroupArn: arn,
  };
}

function describeStream(scope: AccountScope, group: LogGroupRecord, row: LogStreamRecord): LogStream {
  return {
    logStreamName: row.name,
    creationTime: row.createdAt,
    ...(row.firstEventAt === null ? {} : { firstEventTimestamp: row.firstEventAt }),
    ...(row.lastEventAt === null ? {} : { lastEventTimestamp: row.lastEventAt }),
    ...(row.lastIngestionAt === null ? {} : { lastIngestionTime: row.lastIngestionAt }),
    arn: logStreamArn(scope, group.name, row.name),
    storedBytes: 0, // deprecated by AWS, which always reports 0 here
  };
}

function checkLimit(limit: number | undefined, max: number): number {
  if (limit === undefined) return max;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw invalidParameterException(
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value ${limit < 1 ? "greater than or equal to 1" : `less than or equal to ${max}`}`,
    );
  }
  return limit;
}

export async function createLogGroup(context: LogsContext, input: CreateLogGroupRequest): Promise<ResponseBody<CreateLogGroupCommandOutput>> {
  const name = validateLogGroupName(input.logGroupName);
  const logGroupClass = input.logGroupClass ?? "STANDARD";
  const created = await context.logs.createGroup({
    name,
    createdAt: context.clock.now(),
    kmsKeyId: input.kmsKeyId,
    logGroupClass,
    tags: validateTags(input.tags),
  });
  if (!created) throw resourceAlreadyExistsException("The specified log group already exists");
  return {};
}

export async function deleteLogGroup(context: LogsContext, input: DeleteLogGroupRequest): Promise<ResponseBody<DeleteLogGroupCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  await context.logs.deleteGroup(group.id);
  return {};
}

type GroupPage = { after: string };
const isGroupPage = (value: unknown): value is GroupPage => typeof (value as GroupPage)?.after === "string";

export async function describeLogGroups(context: LogsContext, input: DescribeLogGroupsRequest): Promise<DescribeLogGroupsResponse> {
  if (input.logGroupNamePrefix !== undefined && input.logGroupNamePattern !== undefined) {
    throw invalidParameterException("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.");
  }
  const limit = checkLimit(input.limit, 50);
  const page = input.nextToken === undefined ? undefined : decodeOpaqueToken(input.nextToken, isGroupPage);
  const rows = await context.logs.listGroups({
    ...(input.logGroupNamePrefix ? { namePrefix: input.logGroupNamePrefix } : {}),
    ...(input.logGroupNamePattern ? { nameContains: input.logGroupNamePattern } : {}),
    ...(page ? { afterName: page.after } : {}),
    limit: limit + 1,
  });
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    logGroups: shown.map((row) => describeGroup(context.scope, row)),
    ...(rows.length > limit && last ? { nextToken: encodeOpaqueToken({ after: last.name }) } : {}),
  };
}

export async function createLogStream(context: LogsContext, input: CreateLogStreamRequest): Promise<ResponseBody<CreateLogStreamCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  const created = await context.logs.createStream(group.id, validateLogStreamName(input.logStreamName), context.clock.now());
  if (!created) throw resourceAlreadyExistsException("The specified log stream already exists");
  return {};
}

export async function deleteLogStream(context: LogsContext, input: DeleteLogStreamRequest): Promise<ResponseBody<DeleteLogStreamCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  const stream = await requireLogStream(context, group, input.logStreamName);
  await context.logs.deleteStream(stream.id);
  return {};
}

type StreamPage = { name: string; lastEventAt: number | null };
const isStreamPage = (value: unknown): value is StreamPage =>
  typeof (value as StreamPage)?.name === "string" && ((value as StreamPage).lastEventAt === null || typeof (value as StreamPage).lastEventAt === "number");

export async function describeLogStreams(context: LogsContext, input: DescribeLogStreamsRequest): Promise<DescribeLogStreamsResponse> {
  const group = await requireLogGroup(context, input);
  const orderBy = input.orderBy ?? "LogStreamName";
  if (orderBy !== "LogStreamName" && orderBy !== "LastEventTime") {
    throw constraintViolation(orderBy, "orderBy", "satisfy enum value set: [LogStreamName, LastEventTime]");
  }
  if (orderBy === "LastEventTime" && input.logStreamNamePrefix !== undefined) {
    throw invalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  const limit = checkLimit(input.limit, 50);
  const page = input.nextToken === undefined ? undefined : decodeOpaqueToken(input.nextToken, isStreamPage);
  const rows = await context.logs.listStreams({
    groupId: group.id,
    ...(input.logStreamNamePrefix ? { namePrefix: input.logStreamNamePrefix } : {}),
    orderBy,
    descending: input.descending ?? false,
    ...(page ? { after: page } : {}),
    limit: limit + 1,
  });
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    logStreams: shown.map((row) => describeStream(context.scope, group, row)),
    ...(rows.length > limit && last ? { nextToken: encodeOpaqueToken({ name: last.name, lastEventAt: last.lastEventAt }) } : {}),
  };
}

export async function putRetentionPolicy(context: LogsContext, input: PutRetentionPolicyRequest): Promise<ResponseBody<PutRetentionPolicyCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  const days = input.retentionInDays;
  if (days === undefined || !(RETENTION_DAYS as readonly number[]).includes(days)) {
    throw invalidParameterException(
      `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`,
    );
  }
  await context.logs.setRetention(group.id, days);
  return {};
}

export async function deleteRetentionPolicy(
  context: LogsContext,
  input: DeleteRetentionPolicyRequest,
): Promise<ResponseBody<DeleteRetentionPolicyCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  await context.logs.setRetention(group.id, null);
  return {};
}

async function groupFromArn(context: LogsContext, resourceArn: string | undefined): Promise<LogGroupRecord> {
  const arn = resourceArn === undefined ? undefined : parseArn(resourceArn);
  if (!arn || arn.service !== "logs" || !arn.resource.startsWith("log-group:")) {
    throw invalidParameterException(`Invalid resource ARN: ${resourceArn ?? ""}`);
  }
  const name = logGroupNameFromIdentifier(resourceArn);
  if (name === undefined) throw invalidParameterException(`Invalid resource ARN: ${resourceArn ?? ""}`);
  return requireLogGroupNamed(context, name);
}

export async function tagResource(context: LogsContext, input: TagResourceRequest): Promise<ResponseBody<TagResourceCommandOutput>> {
  const group = await groupFromArn(context, input.resourceArn);
  const tags = validateTags({ ...group.tags, ...validateTags(input.tags) });
  await context.logs.setTags(group.id, tags);
  return {};
}

export async function untagResource(context: LogsContext, input: UntagResourceRequest): Promise<ResponseBody<UntagResourceCommandOutput>> {
  const group = await groupFromArn(context, input.resourceArn);
  const tags = { ...group.tags };
  for (const key of input.tagKeys ?? []) delete tags[key];
  await context.logs.setTags(group.id, tags);
  return {};
}

export async function listTagsForResource(context: LogsContext, input: ListTagsForResourceRequest): Promise<ListTagsForResourceResponse> {
  const group = await groupFromArn(context, input.resourceArn);
  return { tags: { ...group.tags } };
}
