export { protocolVersion } from "./version.js";
export type {
  CredentialsReference,
  DesiredStatus,
  PullPolicy,
  RegistryPullCredential,
  TaskNetworkSpec,
  TaskPlatform,
  TaskSpec,
} from "./task-spec.js";
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
export { taskLifecycle } from "./task-status.js";
export type {
  ControlPlaneLink,
  DesiredTask,
  HostCapacity,
  LogBatch,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
} from "./agent-api.js";
export { formatJoinToken, parseJoinToken } from "./join-token.js";
export type { JoinToken } from "./join-token.js";
export { capacityProblem, MAX_OVERCOMMIT, MAX_HOST_CPUS, MAX_HOST_MEMORY_MIB, MAX_TASK_SLOTS, MAX_EPHEMERAL_GIB_PER_SLOT } from "./capacity-limits.js";
