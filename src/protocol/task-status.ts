// TaskStatusReport: the agent's actual state for one task (DESIGN.md rule 4: agents own actual
// state and report it; the control plane owns desired state). Field names follow the ECS Task /
// Container shapes so the control plane can copy them into DescribeTasks answers. The schemas are
// the definition; the types are inferred from them, and the control plane checks every report
// against them before it is applied (src/api/agent-route.ts).
import type { HealthStatus, TaskStopCode as AwsTaskStopCode } from "@aws-sdk/client-ecs";
import Type from "typebox";
import type { Static } from "typebox";

/** Fargate task lifecycle (REFERENCE.md "Task lifecycle"), in order. */
export const taskLifecycle = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"] as const;
export type TaskLastStatus = (typeof taskLifecycle)[number];

/** ECS Task.stopCode: AWS's TaskStopCode values, all of them (checked below). */
export const taskStopCodes = [
  "TaskFailedToStart",
  "EssentialContainerExited",
  "UserInitiated",
  "ServiceSchedulerInitiated",
  "SpotInterruption",
  "TerminationNotice",
  "InfrastructureHealth",
] as const;
export const TaskStopCodeSchema = Type.Enum(taskStopCodes);
export type TaskStopCode = Static<typeof TaskStopCodeSchema>;

/**
 * Lengths and counts a report may carry. A host is not trusted with the size of what it writes into
 * task documents other tenants read; the agent cuts reasons to MAX_REASON_CHARS before sending
 * (boundedReport), so a long runtime error can never make its own report refused.
 */
export const MAX_REASON_CHARS = 1024;
export const MAX_NAME_CHARS = 255;
export const MAX_ARN_CHARS = 1600;
export const MAX_IMAGE_CHARS = 4096;
export const MAX_CONTAINERS_PER_TASK = 10;
export const MAX_INTERFACES_PER_CONTAINER = 16;
const Name = () => Type.String({ maxLength: MAX_NAME_CHARS });
const Reason = () => Type.String({ maxLength: MAX_REASON_CHARS });
const Short = () => Type.String({ maxLength: 64 });

/** A reason cut to what the protocol carries, marked as cut. */
export function boundedReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 3)}...`;
}

/** The report with its reasons cut to MAX_REASON_CHARS (names and ids are the agent's own, already bounded). */
export function boundedReport(report: TaskStatusReport): TaskStatusReport {
  const cut = (reason: string | undefined) => (reason === undefined ? undefined : boundedReason(reason));
  const long = (reason: string | undefined) => reason !== undefined && reason.length > MAX_REASON_CHARS;
  if (!long(report.stoppedReason) && !report.containers.some((container) => long(container.reason))) return report;
  return {
    ...report,
    ...(report.stoppedReason === undefined ? {} : { stoppedReason: cut(report.stoppedReason) }),
    containers: report.containers.map((container) => (container.reason === undefined ? container : { ...container, reason: cut(container.reason) })),
  };
}

/** Report sequences are stored in a 32-bit column. */
export const MAX_REPORT_SEQUENCE = 2 ** 31 - 1;
/** Timestamps (ms since the epoch) from 1970-01-01 to 9999-12-31T23:59:59.999Z: anything else is not a time. */
export const MIN_TIMESTAMP_MS = 0;
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;
export const TimestampMsSchema = Type.Integer({ minimum: MIN_TIMESTAMP_MS, maximum: MAX_TIMESTAMP_MS });

export const TaskHealthSchema = Type.Enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]);
export type TaskHealth = Static<typeof TaskHealthSchema>;

/** Container steps, as the ECS agent names them. */
export const ContainerLastStatusSchema = Type.Enum(["PENDING", "RUNNING", "STOPPED"]);
export type ContainerLastStatus = Static<typeof ContainerLastStatusSchema>;

export const EniAttachmentReportSchema = Type.Immutable(
  Type.Object({
    /** ECS attachment type for a task ENI. */
    type: Type.Literal("ElasticNetworkInterface"),
    status: Type.Enum(["PRECREATED", "ATTACHED", "DELETED"]),
    subnetId: Name(),
    networkInterfaceId: Name(),
    macAddress: Short(),
    privateDnsName: Name(),
    privateIPv4Address: Short(),
  }),
);
export type EniAttachmentReport = Static<typeof EniAttachmentReportSchema>;

export const ContainerStatusReportSchema = Type.Immutable(
  Type.Object({
    name: Name(),
    /** The runtime's id for the container (ECS: runtimeId). */
    runtimeId: Type.Optional(Name()),
    lastStatus: ContainerLastStatusSchema,
    /** An exit status, or a signal number as some runtimes report it (up to 2^32). */
    exitCode: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 32 })),
    reason: Type.Optional(Reason()),
    health: TaskHealthSchema,
    essential: Type.Boolean(),
    image: Type.String({ maxLength: MAX_IMAGE_CHARS }),
    imageDigest: Type.Optional(Name()),
    networkInterfaces: Type.Immutable(
      Type.Array(Type.Immutable(Type.Object({ attachmentId: Name(), privateIpv4Address: Short() })), { maxItems: MAX_INTERFACES_PER_CONTAINER }),
    ),
  }),
);
export type ContainerStatusReport = Static<typeof ContainerStatusReportSchema>;

export const TaskStatusReportSchema = Type.Immutable(
  Type.Object({
    protocolVersion: Type.Number(),
    taskArn: Type.String({ maxLength: MAX_ARN_CHARS }),
    lastStatus: Type.Enum(taskLifecycle),
    desiredStatus: Type.Enum(["RUNNING", "STOPPED"]),
    /** Monotonic per task: the control plane drops a report older than one it has applied. */
    sequence: Type.Integer({ minimum: 0, maximum: MAX_REPORT_SEQUENCE }),
    health: TaskHealthSchema,
    pullStartedAtMs: Type.Optional(TimestampMsSchema),
    pullStoppedAtMs: Type.Optional(TimestampMsSchema),
    connectivityAtMs: Type.Optional(TimestampMsSchema),
    startedAtMs: Type.Optional(TimestampMsSchema),
    stoppingAtMs: Type.Optional(TimestampMsSchema),
    executionStoppedAtMs: Type.Optional(TimestampMsSchema),
    stoppedAtMs: Type.Optional(TimestampMsSchema),
    stopCode: Type.Optional(TaskStopCodeSchema),
    stoppedReason: Type.Optional(Reason()),
    attachment: Type.Optional(EniAttachmentReportSchema),
    containers: Type.Immutable(Type.Array(ContainerStatusReportSchema, { maxItems: MAX_CONTAINERS_PER_TASK })),
  }),
);
export type TaskStatusReport = Static<typeof TaskStatusReportSchema>;

// The inferred unions are AWS's own, so nothing converts between them (DESIGN.md rule 7).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const stopCodesAreAws: Same<TaskStopCode, AwsTaskStopCode> = true;
const healthIsAws: Same<TaskHealth, Extract<HealthStatus, "HEALTHY" | "UNHEALTHY" | "UNKNOWN">> = true;
void [stopCodesAreAws, healthIsAws];
