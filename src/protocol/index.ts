export { AGENT_ROUTE_PREFIX, protocolVersion } from "./version.js";
export type { AgentCall } from "./version.js";
export type { CredentialsReference, DesiredStatus, PullPolicy, RegistryPullCredential, TaskNetworkSpec, TaskPlatform, TaskSpec } from "./task-spec.js";
export { defaultStopTimeoutMs, maxStopTimeoutMs } from "./task-spec.js";
export type {
  ContainerLastStatus,
  ContainerStatusReport,
  EniAttachmentReport,
  TaskHealth,
  TaskLastStatus,
  TaskStatusReport,
  TaskStopCode,
} from "./task-status.js";
export { boundedReason, boundedReport, MAX_REASON_CHARS } from "./task-status.js";
export {
  MAX_REPORT_SEQUENCE,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  TaskStatusReportSchema,
  TaskStopCodeSchema,
  taskLifecycle,
  taskStopCodes,
} from "./task-status.js";
export type {
  ControlPlaneLink,
  DesiredTask,
  HostCapacity,
  LogBatch,
  LogBatchEvent,
  PollAnswer,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
} from "./agent-api.js";
export {
  DesiredTaskSchema,
  LogBatchSchema,
  MAX_LOG_BATCHES_PER_CALL,
  MAX_LOG_BATCH_MESSAGE_BYTES,
  MAX_LOG_EVENTS_PER_BATCH,
  MAX_REPORTS_PER_CALL,
  PollResponseSchema,
  PollTasksSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ReportRequestSchema,
} from "./agent-api.js";
export type { LogsBody, PollBody, ReportBody, TargetHealthBody } from "./agent-bodies.js";
export { parseLogsBody, parsePollBody, parseRegisterBody, parseReportBody, parseTargetHealthBody } from "./agent-bodies.js";
export type { LoadBalancerNodeSpec, TargetHealthRequest, TargetHealthResult } from "./load-balancer-nodes.js";
export { LoadBalancerNodesSchema, MAX_LOAD_BALANCER_NODES, MAX_TARGET_HEALTH_RESULTS } from "./load-balancer-nodes.js";
export type { LoadBalancerMetric, LoadBalancerMetricName, LoadBalancerMetricsRequest } from "./load-balancer-metrics.js";
export { APPLICATION_ELB_METRICS, MAX_LOAD_BALANCER_METRICS_PER_CALL, MAX_METRIC_VALUE, NETWORK_ELB_METRICS } from "./load-balancer-metrics.js";
export type { LoadBalancerMetricsBody } from "./agent-bodies.js";
export { parseLoadBalancerMetricsBody } from "./agent-bodies.js";
export type * from "./load-balancer-model.js";
export { compileCheck } from "./schema-check.js";
export type { BodyCheck, Checked } from "./schema-check.js";
export { ControlLinkError, HOST_NOT_REGISTERED, callFailureKind } from "./call-failure.js";
export type { CallFailureKind } from "./call-failure.js";
export { formatJoinToken, parseJoinToken } from "./join-token.js";
export type { JoinToken } from "./join-token.js";
export { capacityProblem, MAX_OVERCOMMIT, MAX_HOST_CPUS, MAX_HOST_MEMORY_MIB, MAX_TASK_SLOTS, MAX_EPHEMERAL_GIB_PER_SLOT } from "./capacity-limits.js";
export type { HostNetworkView, InterfaceSpec, LoadBalancerName, NetworkPeer, SecurityGroupRuleSpec, SecurityGroupSpec, VpcSpec } from "./network-view.js";
export { EMPTY_NETWORK_VIEW, HostNetworkViewSchema, NETWORK_VIEW_LIMITS } from "./network-view.js";
export type { TaskCredentialsAnswer, TaskCredentialsBody } from "./task-credentials.js";
export { parseTaskCredentialsAnswer, parseTaskCredentialsBody, TaskCredentialsAnswerSchema } from "./task-credentials.js";
export type { ContainerSecrets, TaskSecretsAnswer, TaskSecretsBody } from "./task-secrets.js";
export { MAX_SECRET_VALUE_CHARS, parseTaskSecretsAnswer, parseTaskSecretsBody, TaskSecretsAnswerSchema } from "./task-secrets.js";
