// TaskStatusReport: the agent's actual state for one task (DESIGN.md rule 4: agents own actual
// state and report it; the control plane owns desired state). Field names follow the ECS Task /
// Container shapes so the control plane can copy them into DescribeTasks answers.
import type { HealthStatus } from "@aws-sdk/client-ecs";

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

/** Container steps, as the ECS agent names them. */
export type ContainerLastStatus = "PENDING" | "RUNNING" | "STOPPED";

export type TaskStopCode =
  | "TaskFailedToStart"
  | "EssentialContainerExited"
  | "UserInitiated"
  | "ServiceSchedulerInitiated"
  | "SpotInterruption"
  | "TerminationNotice";

export type TaskHealth = Extract<HealthStatus, "HEALTHY" | "UNHEALTHY" | "UNKNOWN">;

export interface EniAttachmentReport {
  /** ECS attachment type for a task ENI. */
  readonly type: "ElasticNetworkInterface";
  readonly status: "PRECREATED" | "ATTACHED" | "DELETED";
  readonly subnetId: string;
  readonly networkInterfaceId: string;
  readonly macAddress: string;
  readonly privateDnsName: string;
  readonly privateIPv4Address: string;
}

export interface ContainerStatusReport {
  readonly name: string;
  /** The runtime's id for the container (ECS: runtimeId). */
  readonly runtimeId?: string;
  readonly lastStatus: ContainerLastStatus;
  readonly exitCode?: number;
  readonly reason?: string;
  readonly health: TaskHealth;
  readonly essential: boolean;
  readonly image: string;
  readonly imageDigest?: string;
  readonly networkInterfaces: readonly { readonly attachmentId: string; readonly privateIpv4Address: string }[];
}

export interface TaskStatusReport {
  readonly protocolVersion: number;
  readonly taskArn: string;
  readonly lastStatus: TaskLastStatus;
  readonly desiredStatus: "RUNNING" | "STOPPED";
  /** Monotonic per task: the control plane drops a report older than one it has applied. */
  readonly sequence: number;
  readonly health: TaskHealth;
  readonly pullStartedAtMs?: number;
  readonly pullStoppedAtMs?: number;
  readonly connectivityAtMs?: number;
  readonly startedAtMs?: number;
  readonly stoppingAtMs?: number;
  readonly executionStoppedAtMs?: number;
  readonly stoppedAtMs?: number;
  readonly stopCode?: TaskStopCode;
  readonly stoppedReason?: string;
  readonly attachment?: EniAttachmentReport;
  readonly containers: readonly ContainerStatusReport[];
}
