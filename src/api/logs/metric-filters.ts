// PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter and TestMetricFilter. The filters
// are stored (store/logs-metric-filters-repository.ts) and applied to every event a group ingests
// (metric-filter-evaluator.ts); the aggregates they produce are not served by any API yet.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html
import type {
  DeleteMetricFilterCommandOutput,
  DeleteMetricFilterRequest,
  DescribeMetricFiltersRequest,
  DescribeMetricFiltersResponse,
  MetricFilter,
  MetricTransformation,
  PutMetricFilterCommandOutput,
  PutMetricFilterRequest,
  TestMetricFilterRequest,
  TestMetricFilterResponse,
} from "@aws-sdk/client-cloudwatch-logs";
import { StandardUnit } from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, limitExceededException, resourceNotFoundException } from "../../core/errors.js";
import type { LogMetricFiltersRepository, MetricFilterRecord, StoredMetricTransformation } from "../../store/index.js";
import type { ResponseBody } from "../service-module.js";
import type { CompiledFilterPattern } from "./filter-pattern.js";
import { eventView, parseFilterPattern } from "./filter-pattern.js";
import { parseSelector } from "./filter-pattern-json.js";
import type { LogsContext } from "./log-groups.js";
import { requireLogGroup, validateLogGroupName } from "./log-groups.js";
import { tokenize } from "./filter-pattern-lexer.js";
import { checkFilterName, checkMetricName, checkTransformationMembers } from "./metric-filter-inputs.js";
import { decodeOpaqueToken, encodeOpaqueToken } from "./log-tokens.js";
import type { MetricFilterEvaluator } from "./metric-filter-evaluator.js";

export interface MetricFiltersContext extends LogsContext {
  readonly metricFilters: LogMetricFiltersRepository;
  readonly evaluator: MetricFilterEvaluator;
}

/** AWS: "The maximum number of metric filters that can be associated with a log group is 100." */
export const MAX_METRIC_FILTERS_PER_GROUP = 100;
/** AWS: "a quota of five regular expression patterns per log group" (metric filters with a %regex%). */
export const MAX_REGEX_FILTERS_PER_GROUP = 5;
/** AWS: "One metric filter can include as many as three dimensions." */
export const MAX_DIMENSIONS = 3;
const DESCRIBE_LIMIT_DEFAULT = 50;

const UNITS = new Set<string>(Object.values(StandardUnit));
/** A metric value: a number, `$.selector` (JSON patterns) or `$field` (space-delimited ones). */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const FIELD_REFERENCE = /^\$[A-Za-z0-9_]+$/;

export async function putMetricFilter(context: MetricFiltersContext, input: PutMetricFilterRequest): Promise<ResponseBody<PutMetricFilterCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  const filterName = checkFilterName(input.filterName);
  const filterPattern = input.filterPattern ?? "";
  const pattern = parseMetricFilterPattern(filterPattern);
  const transformation = checkTransformations(input.metricTransformations, pattern);
  if (input.fieldSelectionCriteria !== undefined || (input.emitSystemFieldDimensions?.length ?? 0) > 0) {
    // wording not confirmed: Berth has no log transformers or system fields to select or emit.
    throw invalidParameterException("fieldSelectionCriteria and emitSystemFieldDimensions are not supported by Berth");
  }
  if (isRegexPattern(filterPattern)) {
    const others = (await context.metricFilters.ofGroup(group.id)).filter((f) => f.filterName !== filterName && isRegexPattern(f.filterPattern));
    if (others.length >= MAX_REGEX_FILTERS_PER_GROUP) throw limitExceededException("Resource limit exceeded."); // wording not confirmed
  }
  const stored = await context.metricFilters.put(
    {
      groupId: group.id,
      filterName,
      filterPattern,
      transformation,
      ...(input.applyOnTransformedLogs === undefined ? {} : { applyOnTransformedLogs: input.applyOnTransformedLogs }),
      createdAt: context.clock.now(),
    },
    MAX_METRIC_FILTERS_PER_GROUP,
  );
  if (!stored) throw limitExceededException("Resource limit exceeded."); // wording not confirmed
  context.evaluator.invalidate(group.id);
  return {};
}

/**
 * The pattern, with PutMetricFilter's wording of a refusal: "Invalid metric filter pattern" (where
 * FilterLogEvents says "Invalid filter pattern"), and a term's own error without that prefix, as
 * AWS answered CloudFormation's PutMetricFilter and PutSubscriptionFilter calls.
 */
function parseMetricFilterPattern(filterPattern: string): CompiledFilterPattern {
  try {
    return parseFilterPattern(filterPattern);
  } catch (error) {
    if (error instanceof Error && error.message === "Invalid filter pattern") throw invalidParameterException("Invalid metric filter pattern");
    if (error instanceof Error && error.message.startsWith("Invalid filter pattern: Invalid character(s)")) {
      throw invalidParameterException(error.message.slice("Invalid filter pattern: ".length));
    }
    throw error;
  }
}

/** Whether a (valid) pattern holds a %regex%: as the whole pattern, or as a value of a JSON or space-delimited one. */
function isRegexPattern(pattern: string): boolean {
  const source = pattern.trim();
  if (source.startsWith("{") || source.startsWith("[")) {
    try {
      return tokenize(source.slice(1, -1)).some((token) => token.kind === "regex");
    } catch {
      return false;
    }
  }
  return source.length >= 2 && source.startsWith("%") && source.endsWith("%");
}

/** Exactly one transformation (the model's list is "Fixed number of 1 item"), checked against the pattern. */
function checkTransformations(transformations: MetricTransformation[] | undefined, pattern: CompiledFilterPattern): StoredMetricTransformation {
  if (!transformations || transformations.length !== 1) {
    throw invalidParameterException(
      `1 validation error detected: Value at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1`,
    ); // wording not confirmed (the SDK model's constraint, as AWS words others)
  }
  const t = transformations[0]!;
  checkTransformationMembers(t);
  const metricValue = t.metricValue ?? "";
  if (!NUMBER.test(metricValue) && !isReferenceFor(metricValue, pattern)) {
    throw invalidParameterException(`Invalid metric value: ${metricValue}`); // wording not confirmed
  }
  const dimensions = t.dimensions ?? {};
  const entries = Object.entries(dimensions);
  if (entries.length > MAX_DIMENSIONS) throw invalidParameterException(`The number of dimensions must not exceed ${MAX_DIMENSIONS}.`); // wording not confirmed
  if (entries.length > 0 && pattern.kind !== "json" && pattern.kind !== "delimited") {
    throw invalidParameterException("The specified filter pattern does not support dimensions");
  }
  for (const [name, reference] of entries) {
    if (name === "" || name.length > 255 || !isReferenceFor(reference, pattern)) {
      throw invalidParameterException(`Invalid dimension: ${name}`); // wording not confirmed
    }
  }
  if (entries.length > 0 && t.defaultValue !== undefined) {
    // AWS's console and CloudFormation docs: a metric with dimensions has no default value.
    throw invalidParameterException("Default value is not supported for metric filters with dimensions."); // wording not confirmed
  }
  if (t.defaultValue !== undefined && !Number.isFinite(t.defaultValue)) throw invalidParameterException("Invalid default value"); // wording not confirmed
  if (t.unit !== undefined && !UNITS.has(t.unit)) throw invalidParameterException(`Invalid unit: ${t.unit}`); // wording not confirmed
  return {
    metricName: t.metricName ?? "",
    metricNamespace: t.metricNamespace ?? "",
    metricValue,
    ...(t.defaultValue === undefined ? {} : { defaultValue: t.defaultValue }),
    ...(entries.length === 0 ? {} : { dimensions }),
    ...(t.unit === undefined ? {} : { unit: t.unit }),
  };
}

/** `$.selector` with a JSON pattern, `$field` / `$3` with a space-delimited one. */
function isReferenceFor(reference: string, pattern: CompiledFilterPattern): boolean {
  if (pattern.kind === "json") return parseSelector(reference) !== undefined && reference.length > 1;
  if (pattern.kind === "delimited") return FIELD_REFERENCE.test(reference);
  return false;
}

type MetricFiltersPage = { f: string; g: string };
const isPage = (value: unknown): value is MetricFiltersPage =>
  typeof (value as MetricFiltersPage)?.f === "string" && typeof (value as MetricFiltersPage)?.g === "string";

export async function describeMetricFilters(context: MetricFiltersContext, input: DescribeMetricFiltersRequest): Promise<DescribeMetricFiltersResponse> {
  if ((input.metricName === undefined) !== (input.metricNamespace === undefined)) {
    // AWS: "If you include this parameter in your request, you must also include the metricNamespace parameter" (and the reverse).
    throw invalidParameterException("metricName and metricNamespace must be specified together."); // wording not confirmed
  }
  const limit = input.limit ?? DESCRIBE_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
    throw invalidParameterException(
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value ${limit < 1 ? "greater than or equal to 1" : "less than or equal to 50"}`,
    );
  }
  if (input.filterNamePrefix !== undefined) checkFilterName(input.filterNamePrefix, "filterNamePrefix");
  if (input.metricName !== undefined) checkMetricName(input.metricName, "metricName");
  if (input.metricNamespace !== undefined) checkMetricName(input.metricNamespace, "metricNamespace");
  const group = input.logGroupName === undefined ? undefined : await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  const page = input.nextToken === undefined ? undefined : decodeOpaqueToken(input.nextToken, isPage);
  const found = await context.metricFilters.list({
    ...(group ? { groupId: group.id } : {}),
    // AWS: the prefix is used "only if you also include the logGroupName parameter".
    ...(group && input.filterNamePrefix ? { namePrefix: input.filterNamePrefix } : {}),
    ...(input.metricName === undefined ? {} : { metricName: input.metricName, metricNamespace: input.metricNamespace! }),
    ...(page ? { after: { filterName: page.f, logGroupName: page.g } } : {}),
    limit: limit + 1,
  });
  const shown = found.slice(0, limit);
  const last = shown.at(-1);
  return {
    metricFilters: shown.map(metricFilterOf),
    ...(found.length > limit && last ? { nextToken: encodeOpaqueToken({ f: last.filterName, g: last.logGroupName }) } : {}),
  };
}

function metricFilterOf(record: MetricFilterRecord): MetricFilter {
  const t = record.transformation;
  return {
    filterName: record.filterName,
    filterPattern: record.filterPattern,
    metricTransformations: [
      {
        metricName: t.metricName,
        metricNamespace: t.metricNamespace,
        metricValue: t.metricValue,
        ...(t.defaultValue === undefined ? {} : { defaultValue: t.defaultValue }),
        ...(t.dimensions === undefined ? {} : { dimensions: { ...t.dimensions } }),
        ...(t.unit === undefined ? {} : { unit: t.unit as StandardUnit }),
      },
    ],
    creationTime: record.createdAt,
    logGroupName: record.logGroupName,
    ...(record.applyOnTransformedLogs === undefined ? {} : { applyOnTransformedLogs: record.applyOnTransformedLogs }),
  };
}

export async function deleteMetricFilter(
  context: MetricFiltersContext,
  input: DeleteMetricFilterRequest,
): Promise<ResponseBody<DeleteMetricFilterCommandOutput>> {
  const group = await requireLogGroup(context, { logGroupName: validateLogGroupName(input.logGroupName) });
  if (!(await context.metricFilters.delete(group.id, checkFilterName(input.filterName)))) {
    throw resourceNotFoundException("The specified metric filter does not exist."); // wording not confirmed
  }
  context.evaluator.invalidate(group.id);
  return {};
}

/** AWS's model: logEventMessages has 1 to 50 members. */
const MAX_TEST_MESSAGES = 50;

export async function testMetricFilter(_context: MetricFiltersContext, input: TestMetricFilterRequest): Promise<TestMetricFilterResponse> {
  const pattern = parseFilterPattern(input.filterPattern ?? "");
  const messages = input.logEventMessages ?? [];
  if (messages.length < 1 || messages.length > MAX_TEST_MESSAGES) {
    throw invalidParameterException(
      `1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: Member must have length ${messages.length < 1 ? "greater than or equal to 1" : `less than or equal to ${MAX_TEST_MESSAGES}`}`,
    );
  }
  const matches: NonNullable<TestMetricFilterResponse["matches"]> = [];
  messages.forEach((message, index) => {
    const match = pattern.evaluate(eventView(message));
    if (match) matches.push({ eventNumber: index + 1, eventMessage: message, extractedValues: match.extractedValues() });
  });
  return { matches };
}
