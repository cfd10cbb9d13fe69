// The bodies of the agent protocol's calls as the control plane receives them, and their checks.
// The HTTP route checks every body against these before the Fleet sees it: a body of the wrong
// types or over a limit is the caller's fault, a 400, never a 500 from deep inside. Each body also
// carries the caller's hostId (the route checks it against the X-Berth-Host-Id header).
import Type from "typebox";
import type { Static } from "typebox";
import { LogBatchSchema, MAX_LOG_BATCHES_PER_CALL, RegisterRequestSchema, ReportRequestSchema } from "./agent-api.js";
import { TargetHealthRequestSchema } from "./load-balancer-nodes.js";
import { LoadBalancerMetricsRequestSchema } from "./load-balancer-metrics.js";
import type { Checked } from "./schema-check.js";
import { compileCheck } from "./schema-check.js";

const sender = { hostId: Type.Optional(Type.String({ maxLength: 255 })) };

export const PollBodySchema = Type.Object({ ...sender, knownGeneration: Type.Optional(Type.Number()) });
export type PollBody = Static<typeof PollBodySchema>;

/** `reports` may be absent: an empty report. */
export const ReportBodySchema = Type.Object({ ...sender, reports: Type.Optional(ReportRequestSchema.properties.reports) });
export type ReportBody = Static<typeof ReportBodySchema>;

export const LogsBodySchema = Type.Object({
  ...sender,
  batches: Type.Optional(Type.Immutable(Type.Array(LogBatchSchema, { maxItems: MAX_LOG_BATCHES_PER_CALL }))),
});
export type LogsBody = Static<typeof LogsBodySchema>;

export const TargetHealthBodySchema = Type.Object({ ...sender, results: Type.Optional(TargetHealthRequestSchema.properties.results) });
export type TargetHealthBody = Static<typeof TargetHealthBodySchema>;

export const LoadBalancerMetricsBodySchema = Type.Object({ ...sender, metrics: LoadBalancerMetricsRequestSchema.properties.metrics });
export type LoadBalancerMetricsBody = Static<typeof LoadBalancerMetricsBodySchema>;

const registerCheck = compileCheck(RegisterRequestSchema);
const pollCheck = compileCheck(PollBodySchema);
const reportCheck = compileCheck(ReportBodySchema);
const logsCheck = compileCheck(LogsBodySchema);
const targetHealthCheck = compileCheck(TargetHealthBodySchema);
const loadBalancerMetricsCheck = compileCheck(LoadBalancerMetricsBodySchema);

export const parseRegisterBody = (body: unknown): Checked<Static<typeof RegisterRequestSchema>> => registerCheck.parse(body);
export const parsePollBody = (body: unknown): Checked<PollBody> => pollCheck.parse(body);
export const parseReportBody = (body: unknown): Checked<ReportBody> => reportCheck.parse(body);
export const parseLogsBody = (body: unknown): Checked<LogsBody> => logsCheck.parse(body);
export const parseTargetHealthBody = (body: unknown): Checked<TargetHealthBody> => targetHealthCheck.parse(body);
export const parseLoadBalancerMetricsBody = (body: unknown): Checked<LoadBalancerMetricsBody> => loadBalancerMetricsCheck.parse(body);
