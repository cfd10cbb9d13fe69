// The CloudWatch Logs service module (AWS JSON 1.1, target prefix Logs_20140328, signing name
// "logs"). Storage is the store's LogsRepository; the gateway validates input shapes.
import * as logsSchemas from "@aws-sdk/client-cloudwatch-logs";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { LogsRepository } from "../../store/logs-repository.js";
import type { JsonOperationHandler, JsonServiceModule } from "../service-module.js";
import { filterLogEvents, getLogEvents, putLogEvents } from "./log-events.js";
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
}

export function createLogsService(options: LogsServiceOptions): JsonServiceModule {
  const context: LogsContext = options;
  // Each handler receives input already checked against the SDK schema of its request shape.
  const on =
    <I>(handler: (context: LogsContext, input: I) => Promise<unknown>): JsonOperationHandler =>
    (input) =>
      handler(context, input as I);
  const groupArn = (input: { logGroupName?: string }) => logGroupArn(options.scope, input.logGroupName ?? "");
  return {
    signingName: "logs",
    targetPrefix: "Logs_20140328",
    jsonVersion: "1.1",
    schemas: logsSchemas as unknown as Record<string, unknown>,
    operations: {
      CreateLogGroup: on(createLogGroup),
      DeleteLogGroup: on(deleteLogGroup),
      DescribeLogGroups: on(describeLogGroups),
      CreateLogStream: on(createLogStream),
      DeleteLogStream: on(deleteLogStream),
      DescribeLogStreams: on(describeLogStreams),
      PutLogEvents: on(putLogEvents),
      GetLogEvents: on(getLogEvents),
      FilterLogEvents: on(filterLogEvents),
      PutRetentionPolicy: on(putRetentionPolicy),
      DeleteRetentionPolicy: on(deleteRetentionPolicy),
      TagResource: on(tagResource),
      UntagResource: on(untagResource),
      ListTagsForResource: on(listTagsForResource),
      // The older, name-based tagging calls that some tools still use.
      TagLogGroup: on((ctx, input: { logGroupName?: string; tags?: Record<string, string> }) =>
        tagResource(ctx, { resourceArn: groupArn(input), ...(input.tags ? { tags: input.tags } : {}) }),
      ),
      UntagLogGroup: on((ctx, input: { logGroupName?: string; tags?: string[] }) =>
        untagResource(ctx, { resourceArn: groupArn(input), ...(input.tags ? { tagKeys: input.tags } : {}) }),
      ),
      ListTagsLogGroup: on((ctx, input: { logGroupName?: string }) => listTagsForResource(ctx, { resourceArn: groupArn(input) })),
    },
  };
}
