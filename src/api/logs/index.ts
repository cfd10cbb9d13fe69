// The CloudWatch Logs service module (AWS JSON 1.1, target prefix Logs_20140328, signing name
// "logs"). Storage is the store's LogsRepository; the gateway validates input shapes.
import * as logsSdk from "@aws-sdk/client-cloudwatch-logs";
import type { ListTagsLogGroupRequest, TagLogGroupRequest, UntagLogGroupRequest } from "@aws-sdk/client-cloudwatch-logs";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { LogsRepository } from "../../store/logs-repository.js";
import type { LogMetricFiltersRepository, LogResourcePoliciesRepository } from "../../store/index.js";
import type { MetricFilterEvaluator } from "./metric-filter-evaluator.js";
import type { MetricFiltersContext } from "./metric-filters.js";
import { deleteMetricFilter, describeMetricFilters, putMetricFilter, testMetricFilter } from "./metric-filters.js";
import type { ResourcePoliciesContext } from "./resource-policies.js";
import { deleteResourcePolicy, describeResourcePolicies, putResourcePolicy } from "./resource-policies.js";
import type { LogsInsightsRepository } from "../../store/logs-insights-repository.js";
import { getLogRecord } from "./insights/log-records.js";
import { deleteQueryDefinition, describeQueryDefinitions, putQueryDefinition } from "./insights/query-definitions.js";
import type { InsightsContext } from "./insights/query-operations.js";
import { describeQueries, getQueryResults, startQuery, stopQuery } from "./insights/query-operations.js";
import { QueryRunner } from "./insights/query-runner.js";
import type { JsonServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import { filterLogEvents, getLogEvents, putLogEvents } from "./log-events.js";
import { LiveTailSessions, startLiveTail } from "./live-tail.js";
import type { LogsContext } from "./log-groups.js";
import {
  createLogGroup,
  createLogStream,
  deleteLogGroup,
  deleteLogStream,
  deleteRetentionPolicy,
  describeLogGroups,
  describeLogStreams,
  listTagsForResource,
  logGroupArn,
  putRetentionPolicy,
  tagResource,
  untagResource,
} from "./log-groups.js";

export interface LogsServiceOptions {
  readonly logs: LogsRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
  /** Metric filters and the evaluator that applies them on ingest (its `wrap` of `logs`); without them those operations are not served. */
  readonly metricFilters?: { readonly repository: LogMetricFiltersRepository; readonly evaluator: MetricFilterEvaluator };
  /** Where resource policies are kept (stored, not enforced); without it those operations are not served. */
  readonly resourcePolicies?: LogResourcePoliciesRepository;
  /** Where Logs Insights queries and query definitions are kept; without it those operations are not served. */
  readonly insights?: LogsInsightsRepository;
  /** A query that failed for a reason of the server's (not of the query's). */
  readonly onQueryError?: (queryId: string, error: unknown) => void;
}

/** CloudWatch Logs' operations by name, with the request and response shapes of the SDK in package.json. */
type LogsOperations = SdkOperations<typeof logsSdk>;

export function createLogsService(options: LogsServiceOptions): JsonServiceModule {
  const context: LogsContext = options;
  // Binds a handler to the module's context; the operation table checks its input and answer.
  const on =
    <I extends object, O extends object>(handler: (context: LogsContext, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      handler(context, input);
  const insights = options.insights;
  const insightsContext: InsightsContext | undefined = insights && {
    ...context,
    insights,
    runner: new QueryRunner({ logs: options.logs, insights, clock: options.clock, ...(options.onQueryError ? { onError: options.onQueryError } : {}) }),
  };
  const onInsights =
    <I extends object, O extends object>(handler: (context: InsightsContext, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      handler(insightsContext!, input);
  const liveTails = new LiveTailSessions();
  const groupArn = (input: { logGroupName?: string }) => logGroupArn(options.scope, input.logGroupName ?? "");
  return {
    signingName: "logs",
    targetPrefix: "Logs_20140328",
    jsonVersion: "1.1",
    schemas: logsSdk as unknown as Record<string, unknown>,
    operations: jsonOperations<LogsOperations>()({
      CreateLogGroup: on(createLogGroup),
      DeleteLogGroup: on(deleteLogGroup),
      DescribeLogGroups: on(describeLogGroups),
      CreateLogStream: on(createLogStream),
      DeleteLogStream: on(deleteLogStream),
      DescribeLogStreams: on(describeLogStreams),
      PutLogEvents: on(putLogEvents),
      GetLogEvents: on(getLogEvents),
      FilterLogEvents: on(filterLogEvents),
      StartLiveTail: (input, request) => startLiveTail(context, liveTails, input, request),
      PutRetentionPolicy: on(putRetentionPolicy),
      DeleteRetentionPolicy: on(deleteRetentionPolicy),
      TagResource: on(tagResource),
      UntagResource: on(untagResource),
      ListTagsForResource: on(listTagsForResource),
      // The older, name-based tagging calls that some tools still use.
      TagLogGroup: on((ctx, input: TagLogGroupRequest) => tagResource(ctx, { resourceArn: groupArn(input), tags: input.tags })),
      UntagLogGroup: on((ctx, input: UntagLogGroupRequest) => untagResource(ctx, { resourceArn: groupArn(input), tagKeys: input.tags })),
      ListTagsLogGroup: on((ctx, input: ListTagsLogGroupRequest) => listTagsForResource(ctx, { resourceArn: groupArn(input) })),
      ...metricFilterAndPolicyOperations(context, options),
      // Logs Insights (src/api/logs/insights/).
      ...(insightsContext
        ? {
            StartQuery: onInsights(startQuery),
            GetQueryResults: onInsights(getQueryResults),
            StopQuery: onInsights(stopQuery),
            DescribeQueries: onInsights(describeQueries),
            PutQueryDefinition: onInsights(putQueryDefinition),
            DescribeQueryDefinitions: onInsights(describeQueryDefinitions),
            DeleteQueryDefinition: onInsights(deleteQueryDefinition),
            GetLogRecord: onInsights(getLogRecord),
          }
        : {}),
    }),
  };
}

/** Metric filters (metric-filters.ts) and resource policies (resource-policies.ts), served when the options give their stores. */
function metricFilterAndPolicyOperations(context: LogsContext, options: LogsServiceOptions) {
  const filters: MetricFiltersContext | undefined = options.metricFilters && {
    ...context,
    metricFilters: options.metricFilters.repository,
    evaluator: options.metricFilters.evaluator,
  };
  const policies: ResourcePoliciesContext | undefined = options.resourcePolicies && { ...context, resourcePolicies: options.resourcePolicies };
  const bind =
    <C, I extends object, O extends object>(bound: C, handler: (context: C, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      handler(bound, input);
  return {
    ...(filters
      ? {
          PutMetricFilter: bind(filters, putMetricFilter),
          DescribeMetricFilters: bind(filters, describeMetricFilters),
          DeleteMetricFilter: bind(filters, deleteMetricFilter),
          TestMetricFilter: bind(filters, testMetricFilter),
        }
      : {}),
    ...(policies
      ? {
          PutResourcePolicy: bind(policies, putResourcePolicy),
          DescribeResourcePolicies: bind(policies, describeResourcePolicies),
          DeleteResourcePolicy: bind(policies, deleteResourcePolicy),
        }
      : {}),
  };
}
