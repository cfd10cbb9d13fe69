// The agent protocol's messages and the link interface both halves talk through. Over the network
// it is HTTP+JSON under /_berth/agent/v<protocolVersion>/ on the server's listener, authenticated
// per agent: register presents the join token the server issued (Authorization: Bearer <token>)
// and receives a secret bound to its host id; every later call presents that host secret instead.
// The embedded agent of `berth server` uses the same interface in process.
//
//   agent                                  control plane
//   register(capacity, AZ, subnets) ──────▶ host row upserted; returns hostId + intervals
//   poll(hostId, knownGeneration)   ──────▶ long-poll: desired tasks for the host (full list,
//                                           level-triggered: the agent converges on it)
//   report(hostId, reports[])       ──────▶ folded into tasks (at-least-once; sequence-checked)
//   heartbeat(hostId)               ──────▶ keeps the host ACTIVE (lost after the grace period)
//   putLogs(hostId, batches[])      ──────▶ CloudWatch Logs events (awslogs driver)
import type { TaskSpec } from "./task-spec.js";
import type { TaskStatusReport } from "./task-status.js";

export interface HostCapacity {
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly taskSlots: number;
  readonly ephemeralGiB: number;
}

export interface RegisterRequest {
  readonly protocolVersion: number;
  /** Stable per host (kept in the agent's state dir). */
  readonly hostId: string;
  readonly agentVersion: string;
  readonly availabilityZone: string;
  readonly architecture: "X86_64" | "ARM64";
  readonly capacity: HostCapacity;
  /** The machine the agent runs on, as it sees it; the capacity must fit it (see capacity-limits.ts). */
  readonly machine: { readonly cpuCount: number; readonly memoryMiB: number };
  /** The operator declared capacity above the machine's (--capacity-cpu-units/--capacity-memory-mib). */
  readonly overcommit: boolean;
  /** Subnets whose bridges this host can serve; the server fills in all of the AZ's when empty. */
  readonly subnetIds: readonly string[];
}

export interface RegisterResponse {
  readonly hostId: string;
  /** This host's credential for every later call (and to re-register while the host is alive). */
  readonly hostSecret: string;
  readonly heartbeatIntervalMs: number;
  /** The server's default network, so the agent can create the right bridges. */
  readonly subnets: readonly { readonly subnetId: string; readonly cidrBlock: string; readonly availabilityZone: string }[];
}

export interface DesiredTask {
  readonly spec: TaskSpec;
  readonly desiredStatus: "RUNNING" | "STOPPED";
  /** For a stop: the stop code and reason the control plane decided. */
  readonly stopCode?: string;
  readonly stoppedReason?: string;
}

export interface PollResponse {
  /** Increases whenever the host's desired tasks change; pass it back to long-poll for the next change. */
  readonly generation: number;
  readonly tasks: readonly DesiredTask[];
}

export interface ReportRequest {
  readonly reports: readonly TaskStatusReport[];
}

export interface LogBatch {
  readonly taskArn: string;
  readonly containerName: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly createGroup: boolean;
  /**
   * `offset`: the line's position in its container's log, increasing within a stream. An agent
   * that crashed after the control plane stored a batch but before it saved its own offset sends
   * those lines again; the control plane drops events at or below the last offset it stored for
   * the stream. Optional: events without it are always stored.
   */
  readonly events: readonly { readonly timestamp: number; readonly message: string; readonly offset?: number }[];
}

export interface ControlPlaneLink {
  register(request: RegisterRequest): Promise<RegisterResponse>;
  poll(hostId: string, knownGeneration: number, signal?: AbortSignal): Promise<PollResponse>;
  report(hostId: string, request: ReportRequest): Promise<void>;
  heartbeat(hostId: string): Promise<void>;
  putLogs(hostId: string, batches: readonly LogBatch[]): Promise<void>;
}
