// TaskStatusReport: the agent's actual state for one task (DESIGN.md rule 4: agents own actual
// state and report it; the control plane owns desired state). Field names follow the ECS Task /
// Container shapes so the control plane can copy them into DescribeTasks answers. The schemas are
// the definition; the types are inferred from them, and the control plane checks every report
// against them before it is applied (src/api/agent-route.ts).
import type { HealthStatus, TaskStopCode as AwsTaskStopCode } from "@aws-sdk/client-ecs";
import Type from "typebox";
import type { Static } from "typebox";

/** Fargate task lifecycle (REFERENCE.md "Task lifecycle"), in order. */
export const taskLifecycle = [
  "PROVISIONING",
  "PENDING",
  "ACTIVATING",
  "RUNNING",
  "DEACTIVATING",
  "STOPPING",
  "DEPROVISIONING",
  "STOPPED",
] as const;
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
    subnetId: Type.String(),
    networkInterfaceId: Type.String(),
    macAddress: Type.String(),
    privateDnsName: Type.String(),
    privateIPv4Address: Type.String(),
  }),
);
export type EniAttachmentReport = Static<typeof EniAttachmentReportSchema>;

export const ContainerStatusReportSchema = Type.Immutable(
  Type.Object({
    name: Type.String(),
    /** The runtime's id for the container (ECS: runtimeId). */
    runtimeId: Type.Optional(Type.String()),
    lastStatus: ContainerLastStatusSchema,
    /** An exit status, or a signal number as some runtimes report it (up to 2^32). */
    exitCode: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 32 })),
    reason: Type.Optional(Type.String()),
    health: TaskHealthSchema,
    essential: Type.Boolean(),
    image: Type.String(),
    imageDigest: Type.Optional(Type.String()),
    networkInterfaces: Type.Immutable(Type.Array(Type.Immutable(Type.Object({ attachmentId: Type.String(), privateIpv4Address: Type.String() })))),
  }),
);
export type ContainerStatusReport = Static<typeof ContainerStatusReportSchema>;

export const TaskStatusReportSchema = Type.Immutable(
  Type.Object({
    protocolVersion: Type.Number(),
    taskArn: Type.String(),
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
    stoppedReason: Type.Optional(Type.String()),
    attachment: Type.Optional(EniAttachmentReportSchema),
    containers: Type.Immutable(Type.Array(ContainerStatusReportSchema)),
  }),
);
export type TaskStatusReport = Static<typeof TaskStatusReportSchema>;

// The inferred unions are AWS's own, so nothing converts between them (DESIGN.md rule 7).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const stopCodesAreAws: Same<TaskStopCode, AwsTaskStopCode> = true;
const healthIsAws: Same<TaskHealth, Extract<HealthStatus, "HEALTHY" | "UNHEALTHY" | "UNKNOWN">> = true;
void [stopCodesAreAws, healthIsAws];
