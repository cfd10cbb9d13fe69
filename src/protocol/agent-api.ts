// The agent protocol's messages and the link interface both halves talk through. Over the network
// it is HTTP+JSON under AGENT_ROUTE_PREFIX (version.ts) on the server's listener, authenticated
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
//
// The schemas are the definition of each message and the types are inferred from them; each side
// checks what the other sends (agent-bodies.ts for the control plane, control-link-http.ts for the
// agent). The values a host may declare are checked apart, in capacity-limits.ts.
import Type from "typebox";
import type { Static } from "typebox";
import type { TaskSpec } from "./task-spec.js";
import { MAX_ARN_CHARS, MAX_NAME_CHARS, TaskStatusReportSchema, TaskStopCodeSchema, TimestampMsSchema } from "./task-status.js";
import { MAX_TASK_SLOTS } from "./capacity-limits.js";
import { HostNetworkViewSchema } from "./network-view.js";
import { LoadBalancerNodesSchema } from "./load-balancer-nodes.js";
import type { LoadBalancerNodeSpec, TargetHealthRequest } from "./load-balancer-nodes.js";
import type { LoadBalancerMetricsRequest } from "./load-balancer-metrics.js";
import type { HostNetworkView } from "./network-view.js";
import type { TaskCredentialsAnswer } from "./task-credentials.js";
import type { TaskSecretsAnswer } from "./task-secrets.js";

const Name = () => Type.String({ maxLength: MAX_NAME_CHARS });
const Ipv4 = () => Type.String({ pattern: "^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$" });
/** Most subnets a host may serve, and most a server announces. */
export const MAX_HOST_SUBNETS = 64;
const MAX_ANNOUNCED_SUBNETS = 4096;
/** Most desired tasks one poll answer lists (running ones plus those still being stopped). */
export const MAX_DESIRED_TASKS = 10 * MAX_TASK_SLOTS;

export const HostCapacitySchema = Type.Immutable(
  Type.Object({
    cpuUnits: Type.Number(),
    memoryMiB: Type.Number(),
    taskSlots: Type.Number(),
    ephemeralGiB: Type.Number(),
  }),
);
export type HostCapacity = Static<typeof HostCapacitySchema>;

export const RegisterRequestSchema = Type.Immutable(
  Type.Object({
    protocolVersion: Type.Number(),
    /** Stable per host (kept in the agent's state dir). */
    hostId: Name(),
    agentVersion: Name(),
    availabilityZone: Name(),
    architecture: Type.Enum(["X86_64", "ARM64"]),
    capacity: HostCapacitySchema,
    /** The machine the agent runs on, as it sees it; the capacity must fit it (see capacity-limits.ts). */
    machine: Type.Immutable(Type.Object({ cpuCount: Type.Number(), memoryMiB: Type.Number() })),
    /** The operator declared capacity above the machine's (--capacity-cpu-units/--capacity-memory-mib). */
    overcommit: Type.Boolean(),
    /** Subnets whose bridges this host can serve; the server fills in all of the AZ's when empty. */
    subnetIds: Type.Immutable(Type.Array(Name(), { maxItems: MAX_HOST_SUBNETS })),
    /** The host's underlay address, where other hosts reach its VPC routers over VXLAN (absent: no overlay). */
    overlayAddress: Type.Optional(Ipv4()),
    /** The address tasks with a public IP leave the host from (its uplink's; absent: no outbound). */
    publicAddress: Type.Optional(Ipv4()),
  }),
);
export type RegisterRequest = Static<typeof RegisterRequestSchema>;

export const SubnetAnnouncementSchema = Type.Immutable(Type.Object({ subnetId: Name(), cidrBlock: Type.String({ maxLength: 64 }), availabilityZone: Name() }));

export const RegisterResponseSchema = Type.Immutable(
  Type.Object({
    hostId: Name(),
    /** This host's credential for every later call (and to re-register while the host is alive). */
    hostSecret: Name(),
    /** Bounded both ways: a server cannot make its agents heartbeat in a tight loop, or never. */
    heartbeatIntervalMs: Type.Integer({ minimum: 100, maximum: 300_000 }),
    /** The server's default network, so the agent can create the right bridges. */
    subnets: Type.Immutable(Type.Array(SubnetAnnouncementSchema, { maxItems: MAX_ANNOUNCED_SUBNETS })),
  }),
);
export type RegisterResponse = Static<typeof RegisterResponseSchema>;

/**
 * A task spec is the control plane's own resolution of a task definition (AWS shapes, see
 * task-spec.ts): the agent checks that it names its task, and trusts the rest of it as it trusts
 * the authenticated server it came from. The task id becomes host paths, a network namespace's
 * name and lines of `ip -batch` input, so it is held to a plain name (no "/", "..", newline).
 */
const TaskSpecSchema = Type.Unsafe<TaskSpec>(
  Type.Object({
    taskArn: Type.String({ maxLength: MAX_ARN_CHARS }),
    taskId: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }),
    taskDefinition: Type.Object({}),
  }),
);

export const DesiredTaskSchema = Type.Immutable(
  Type.Object({
    spec: TaskSpecSchema,
    desiredStatus: Type.Enum(["RUNNING", "STOPPED"]),
    /** For a stop: the stop code and reason the control plane decided. */
    stopCode: Type.Optional(TaskStopCodeSchema),
    stoppedReason: Type.Optional(Type.String()),
  }),
);
export type DesiredTask = Static<typeof DesiredTaskSchema>;

const pollTaskFields = {
  /** Increases whenever the host's desired tasks change; pass it back to long-poll for the next change. */
  generation: Type.Number(),
  tasks: Type.Immutable(Type.Array(DesiredTaskSchema, { maxItems: MAX_DESIRED_TASKS })),
};

/** A poll answer's tasks part, which the agent checks strictly (its network view apart: PollAnswer). */
export const PollTasksSchema = Type.Immutable(Type.Object(pollTaskFields));

export const PollResponseSchema = Type.Immutable(
  Type.Object({
    ...pollTaskFields,
    /** The network this host must enforce now (network-view.ts); applied before the tasks. */
    network: HostNetworkViewSchema,
    /** The load balancer nodes this host runs (load-balancer-nodes.ts); absent from older servers. */
    loadBalancers: Type.Optional(LoadBalancerNodesSchema),
  }),
);
export type PollResponse = Static<typeof PollResponseSchema>;

/**
 * A poll answer as the agent acts on it. Its network view is checked apart from its tasks: a view
 * that fails its check (a server newer than the agent's limits, a broken one) is left out, with
 * `networkProblem` saying why, and the host keeps the network it has while its tasks, stops
 * included, are still converged.
 */
export type PollAnswer = Omit<PollResponse, "network" | "loadBalancers"> & {
  readonly network?: HostNetworkView;
  readonly networkProblem?: string;
  /** Checked apart too: a list that fails its check leaves the host's nodes as they are. */
  readonly loadBalancers?: readonly LoadBalancerNodeSpec[];
  readonly loadBalancersProblem?: string;
};

/** Most task reports in one report call (a host runs at most MAX_TASK_SLOTS tasks, plus stopped ones it still reports). */
export const MAX_REPORTS_PER_CALL = 10_000;

export const ReportRequestSchema = Type.Immutable(
  Type.Object({
    reports: Type.Immutable(Type.Array(TaskStatusReportSchema, { maxItems: MAX_REPORTS_PER_CALL })),
  }),
);
export type ReportRequest = Static<typeof ReportRequestSchema>;

/** Most events one log batch may carry (CloudWatch Logs' PutLogEvents takes 10,000 too). */
export const MAX_LOG_EVENTS_PER_BATCH = 10_000;
/** Most bytes (UTF-8) of messages one log batch may carry; a longer single message is cut to this. */
export const MAX_LOG_BATCH_MESSAGE_BYTES = 1024 * 1024;
/** Most log batches in one logs call (the agent sends one). */
export const MAX_LOG_BATCHES_PER_CALL = 100;

export const LogBatchEventSchema = Type.Immutable(
  Type.Object({
    timestamp: TimestampMsSchema,
    message: Type.String(),
    /**
     * The line's position in its container's log, increasing within a stream. An agent that
     * crashed after the control plane stored a batch but before it saved its own offset sends
     * those lines again; the control plane drops events at or below the last offset it stored
     * for the stream. Optional: events without it are always stored.
     */
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  }),
);
export type LogBatchEvent = Static<typeof LogBatchEventSchema>;

const messageBytes = (events: readonly LogBatchEvent[]) => {
  let bytes = 0;
  for (const event of events) bytes += Buffer.byteLength(event.message, "utf8");
  return bytes;
};

export const LogBatchSchema = Type.Refine(
  Type.Immutable(
    Type.Object({
      taskArn: Type.String({ maxLength: MAX_ARN_CHARS }),
      containerName: Name(),
      logGroupName: Type.String({ maxLength: 512 }),
      logStreamName: Type.String({ maxLength: 512 }),
      createGroup: Type.Boolean(),
      events: Type.Immutable(Type.Array(LogBatchEventSchema, { maxItems: MAX_LOG_EVENTS_PER_BATCH })),
    }),
  ),
  (batch) => messageBytes(batch.events) <= MAX_LOG_BATCH_MESSAGE_BYTES,
  () => `the batch has more than ${MAX_LOG_BATCH_MESSAGE_BYTES} bytes of messages; at most that per batch.`,
);
export type LogBatch = Static<typeof LogBatchSchema>;

export interface ControlPlaneLink {
  register(request: RegisterRequest): Promise<RegisterResponse>;
  poll(hostId: string, knownGeneration: number, signal?: AbortSignal): Promise<PollAnswer>;
  report(hostId: string, request: ReportRequest): Promise<void>;
  heartbeat(hostId: string): Promise<void>;
  putLogs(hostId: string, batches: readonly LogBatch[]): Promise<void>;
  /** The task role's temporary credentials of a task on this host (task-credentials.ts); absent on links that cannot issue them. */
  taskCredentials?(hostId: string, taskArn: string): Promise<TaskCredentialsAnswer>;
  /** The secrets of a task on this host, resolved with its execution role (task-secrets.ts); absent on links that cannot resolve them. */
  taskSecrets?(hostId: string, taskArn: string): Promise<TaskSecretsAnswer>;
  /** What this host's load balancer nodes see of their targets; absent on links without load balancing. */
  targetHealth?(hostId: string, request: TargetHealthRequest): Promise<void>;
  /** What this host's load balancer nodes measured (per-minute parts); absent on links without load balancing. */
  loadBalancerMetrics?(hostId: string, request: LoadBalancerMetricsRequest): Promise<void>;
}
