// TaskSpec: everything a host agent needs to run one task, fully resolved by the control plane.
// Decision: the control plane applies the RunTask `overrides` to the task definition before it
// sends the spec (so `taskDefinition` here is the effective one); `overrides` is carried only so
// the agent can echo it in reports and the metadata endpoint. The agent never re-applies it.
import type { LogConfiguration, TaskDefinition, TaskOverride } from "@aws-sdk/client-ecs";

export type DesiredStatus = "RUNNING" | "STOPPED";

/** ECS pull behaviour: Fargate always pulls; "if-not-present" lets the agent reuse its cache. */
export type PullPolicy = "always" | "if-not-present";

export interface TaskPlatform {
  /** OCI os, e.g. "linux". */
  readonly os: string;
  /** OCI architecture, e.g. "amd64" | "arm64". */
  readonly architecture: string;
}

/**
 * The task's elastic network interface, allocated by the control plane when it places the task
 * (so its address is unique in the subnet across every host, and DescribeTasks and
 * DescribeNetworkInterfaces show it from the start). The groups here are those at launch; the
 * current ones come with the host's network view (network-view.ts). The interface's members are
 * optional only while the control plane's allocation is being wired in (issue 12's work).
 */
export interface TaskNetworkSpec {
  readonly vpcId?: string;
  readonly vpcCidr?: string;
  /** The VPC's VXLAN network identifier (network-view.ts). */
  readonly vni?: number;
  readonly subnetId: string;
  /** The subnet's IPv4 CIDR, e.g. "172.31.0.0/20"; its .1 is the task's gateway. */
  readonly subnetCidr: string;
  readonly eniId?: string;
  readonly privateIpv4Address?: string;
  readonly macAddress?: string;
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: "ENABLED" | "DISABLED";
}

/**
 * A pull credential for the control plane's own registry, issued for the task's execution role
 * when the task is handed to an agent (a poll answer): basic auth user "AWS", a password scoped to
 * the task's repositories for pulls only, expiring. Never stored with the task on the control
 * plane; a secret, so nothing may log it. The agent keeps it with the task's record in its state
 * dir (0700), so a pull resumed after an agent restart still has it while it lasts.
 */
export interface RegistryPullCredential {
  /** host:port as images name it, e.g. "10.0.0.1:8470". */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
  readonly expiresAtMs: number;
}

/** Where the agent obtains the execution role's credentials (image pulls, log writes). */
export interface CredentialsReference {
  readonly executionRoleArn?: string;
  readonly taskRoleArn?: string;
  /** Opaque id the agent hands to the credentials endpoint to fetch the credentials. */
  readonly credentialsId?: string;
  /** Pull credentials for images in the built-in registry (only when the task has an execution role). */
  readonly registryAuth?: readonly RegistryPullCredential[];
  /**
   * Launched by a caller other than the account's root: the control plane holds the execution role
   * to its policies for this task's pulls from the built-in registry and its awslogs delivery, and
   * the agent asks the `secrets` call before pulling (its failure is the task's).
   */
  readonly checkExecutionRole?: boolean;
}

export interface TaskSpec {
  readonly protocolVersion: number;
  readonly taskArn: string;
  /** Last segment of the task ARN. */
  readonly taskId: string;
  readonly clusterArn: string;
  readonly family: string;
  readonly revision: number;
  /** The effective task definition: RunTask overrides already applied by the control plane. */
  readonly taskDefinition: TaskDefinition;
  /** The overrides as the user sent them, for reporting only (see the decision above). */
  readonly overrides?: TaskOverride;
  /** Task-level size after overrides (1024 units = 1 vCPU). */
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  /** Fargate default is 20 GiB, maximum 200 GiB. */
  readonly ephemeralStorageGiB: number;
  readonly platform: TaskPlatform;
  readonly network: TaskNetworkSpec;
  readonly region: string;
  readonly availabilityZone: string;
  readonly desiredStatus: DesiredStatus;
  /** Default for containers without stopTimeout (ECS: 30 s, max 120 s). */
  readonly stopTimeoutMs: number;
  readonly pullPolicy: PullPolicy;
  /** Per container name: the effective log configuration (null when the container has none). */
  readonly logConfigurations: Readonly<Record<string, LogConfiguration | null>>;
  readonly credentials: CredentialsReference;
  /** When the control plane created the task (ms since epoch). */
  readonly createdAtMs: number;
  readonly startedBy?: string;
  readonly group?: string;
}

/** ECS container stopTimeout bounds (ContainerDefinition.stopTimeout, seconds). */
export const defaultStopTimeoutMs = 30_000;
export const maxStopTimeoutMs = 120_000;
