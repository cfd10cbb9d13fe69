// The control plane's half of the agent protocol: hosts register and heartbeat, long-poll for the
// tasks they should run, report what actually happened, and ship container logs. Desired state
// lives in the store (tasks rows, with the TaskSpec of every placed task); this class only serves
// it and folds reports back. Lost hosts (no heartbeat within the grace period) have their tasks
// reported STOPPED with an infrastructure reason.
//
// Authentication (checked by the HTTP route, decided here): an agent joins with a join token the
// server issued; registering returns a secret bound to that host id (only its sha256 is stored),
// and every later call must present that host's secret, so one agent can never act for another.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { DefaultNetwork } from "../core/default-network.js";
import { accessDeniedException, AwsError, invalidParameterException } from "../core/errors.js";
import type {
  ControlPlaneLink,
  DesiredTask,
  LogBatch,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
  TaskSpec,
  TaskStatusReport,
} from "../protocol/index.js";
import { capacityProblem, protocolVersion } from "../protocol/index.js";
import type { HostsRepository } from "../store/hosts-repository.js";
import type { LogsRepository } from "../store/logs-repository.js";
import type { TaskRow, TasksRepository } from "../store/tasks-repository.js";
import { parseTask } from "../store/tasks-repository.js";
import { applyTaskReport } from "./apply-task-report.js";

type TaskUpdate = Parameters<TasksRepository["updateMany"]>[0][number];

export interface FleetOptions {
  readonly hosts: HostsRepository;
  readonly tasks: TasksRepository;
  readonly logs: LogsRepository;
  readonly network: DefaultNetwork;
  readonly clock: Clock;
  readonly heartbeatIntervalMs?: number;
  /** How long a host may stay silent before it is lost (default: 4 heartbeat intervals). */
  readonly lostAfterMs?: number;
  /** Longest a poll waits for a change before answering with the unchanged list. */
  readonly pollWaitMs?: number;
  /** Adds what is issued fresh at hand-over and never stored (registry pull credentials). */
  readonly handOver?: (spec: TaskSpec) => TaskSpec;
}

export const LOST_HOST_REASON = "Task stopped because its host stopped responding (infrastructure failure).";

/**
 * How long after a task stopped its host may still ship its lines: the agent sends a container's
 * last lines after it exits (and after a short outage, late); after that, the stream is closed.
 */
export const LOGS_AFTER_STOP_GRACE_MS = 10 * 60_000;

/** The code of the error an agent gets for a host the server does not know: register again. */
export const HOST_NOT_REGISTERED = "HostNotRegistered";

const sha256 = (value: string) => createHash("sha256").update(value).digest();

export class Fleet implements ControlPlaneLink {
  private readonly generations = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  readonly heartbeatIntervalMs: number;
  readonly lostAfterMs: number;
  private readonly pollWaitMs: number;
  /** No host is declared lost before it had a full grace period to reach this server instance. */
  private readonly startedAtMs: number;
  private closed = false;

  constructor(private readonly options: FleetOptions) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
    this.lostAfterMs = options.lostAfterMs ?? 4 * this.heartbeatIntervalMs;
    this.pollWaitMs = options.pollWaitMs ?? 20_000;
    this.startedAtMs = options.clock.now();
  }

  /** Answers every waiting long-poll now and every later one at once (server shutdown). */
  close(): void {
    this.closed = true;
    for (const hostId of [...this.waiters.keys()]) this.notify(hostId);
  }

  /** Whether `secret` is the one issued to `hostId` at its last registration. */
  async authenticateHost(hostId: string, secret: string): Promise<boolean> {
    const host = hostId ? await this.options.hosts.get(hostId) : undefined;
    if (!host || host.token_sha256 === "") return false;
    const expected = Buffer.from(host.token_sha256, "hex");
    const presented = sha256(secret);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }

  /**
   * Whether a join-token holder may (re)register `hostId`: a new or lost host may; a live one only
   * with the secret it was issued, so a join token alone cannot take over another agent's host.
   */
  async mayRegister(hostId: string, presentedSecret: string | undefined): Promise<boolean> {
    const host = await this.options.hosts.get(hostId);
    if (!host || host.status === "LOST" || host.token_sha256 === "") return true;
    return presentedSecret !== undefined && (await this.authenticateHost(hostId, presentedSecret));
  }

  /** Tells a host's pollers that its desired tasks changed (called after RunTask/StopTask). */
  notify(hostId: string): void {
    this.generations.set(hostId, this.generation(hostId) + 1);
    const waiting = this.waiters.get(hostId);
    this.waiters.delete(hostId);
    for (const wake of waiting ?? []) wake();
  }

  private generation(hostId: string): number {
    // Generations start from the server's start time so an agent's number from before a server
    // restart never equals a new one: the first poll after a restart answers at once.
    let value = this.generations.get(hostId);
    if (value === undefined) {
      value = this.options.clock.now();
      this.generations.set(hostId, value);
    }
    return value;
  }

  async register(request: RegisterRequest): Promise<RegisterResponse> {
    if (request.protocolVersion !== protocolVersion) {
      throw invalidParameterException(`Unsupported agent protocol version ${request.protocolVersion}; this server speaks ${protocolVersion}.`);
    }
    // A join token is all it takes to get here: the declared capacity decides how many tasks (and
    // their secrets) the scheduler hands this host, so it must fit the machine (refused, not clamped).
    // The identity becomes a primary key, log fields and varchar(64) columns: whole patterns only.
    if (typeof request.hostId !== "string" || !/^[A-Za-z0-9._-]{1,128}$/.test(request.hostId)) throw invalidParameterException("A host id is 1 to 128 letters, digits, '.', '_' or '-'.");
    if (typeof request.agentVersion !== "string" || !/^[\x21-\x7e]{1,64}$/.test(request.agentVersion)) throw invalidParameterException("An agent version is 1 to 64 printable characters.");
    if (request.architecture !== "X86_64" && request.architecture !== "ARM64") throw invalidParameterException("The architecture must be X86_64 or ARM64.");
    if (!Array.isArray(request.subnetIds) || request.subnetIds.length > 64 || !request.subnetIds.every((id) => typeof id === "string")) throw invalidParameterException("subnetIds must be a list of at most 64 subnet ids.");
    const problem = capacityProblem(request);
    if (problem) throw invalidParameterException(problem);
    const zoneSubnets = this.options.network.subnets.filter((subnet) => subnet.availabilityZone === request.availabilityZone);
    if (zoneSubnets.length === 0) throw invalidParameterException(`Unknown availability zone ${request.availabilityZone}.`);
    const unknown = request.subnetIds.filter((id) => !this.options.network.subnets.some((subnet) => subnet.subnetId === id));
    if (unknown.length > 0) throw invalidParameterException(`Unknown subnets: ${unknown.join(", ")}.`);
    const subnetIds = request.subnetIds.length > 0 ? request.subnetIds : zoneSubnets.map((subnet) => subnet.subnetId);
    const now = this.options.clock.now();
    const hostSecret = randomBytes(32).toString("base64url");
    await this.options.hosts.upsert({
      host_id: request.hostId,
      availability_zone: request.availabilityZone,
      architecture: request.architecture,
      cpu_units: request.capacity.cpuUnits,
      memory_mib: request.capacity.memoryMiB,
      task_slots: request.capacity.taskSlots,
      ephemeral_gib: request.capacity.ephemeralGiB,
      status: "ACTIVE",
      registered_at: now,
      last_heartbeat_at: now,
      token_sha256: sha256(hostSecret).toString("hex"),
      agent_version: request.agentVersion,
      subnets_json: JSON.stringify(subnetIds),
    });
    return {
      hostId: request.hostId,
      hostSecret,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      subnets: this.options.network.subnets
        .filter((subnet) => subnetIds.includes(subnet.subnetId))
        .map(({ subnetId, cidrBlock, availabilityZone }) => ({ subnetId, cidrBlock, availabilityZone })),
    };
  }

  async poll(hostId: string, knownGeneration: number, signal?: AbortSignal): Promise<PollResponse> {
    // Shutting down: no new long poll may hold the listener open; the agent backs off and retries.
    if (this.closed) throw new AwsError("ServiceUnavailable", "The control plane is shutting down.", { httpStatus: 503 });
    if (knownGeneration === this.generation(hostId)) {
      await new Promise<void>((resolve) => {
        const waiting = this.waiters.get(hostId) ?? new Set<() => void>();
        this.waiters.set(hostId, waiting);
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          waiting.delete(done);
          resolve();
        };
        const timer = setTimeout(done, this.pollWaitMs);
        signal?.addEventListener("abort", done, { once: true });
        waiting.add(done);
      });
    }
    if (this.closed) throw new AwsError("ServiceUnavailable", "The control plane is shutting down.", { httpStatus: 503 });
    const generation = this.generation(hostId);
    const active = (await this.options.tasks.activeOnHost(hostId)).filter((row) => row.spec !== null);
    const handOver = this.options.handOver;
    const tasks = active.map(desiredTaskOf).map((task) => (handOver && task.desiredStatus === "RUNNING" ? { ...task, spec: handOver(task.spec) } : task));
    return { generation, tasks };
  }

  async report(hostId: string, request: ReportRequest): Promise<void> {
    // The whole batch is applied in one transaction (one commit, not one per task: a burst of
    // launches reports many tasks at once). Optimistic concurrency per task: a report whose task
    // another writer (StopTask) changed in between is re-read and applied on the next pass.
    let remaining = request.reports;
    for (let attempt = 0; attempt < 5 && remaining.length > 0; attempt++) {
      const stored = new Map((await this.options.tasks.getMany(remaining.map((report) => report.taskArn))).map((entry) => [entry.row.task_arn, entry]));
      const planned = new Map<string, { report: TaskStatusReport; update: TaskUpdate }>();
      const retry: TaskStatusReport[] = [];
      for (const report of remaining) {
        const current = stored.get(report.taskArn);
        if (!current || current.row.host_id !== hostId) continue; // unknown or not this host's: ignore
        if (planned.has(report.taskArn)) {
          retry.push(report); // a second report of one task: applied over the first, next pass
          continue;
        }
        const next = applyTaskReport({ task: current.task, reportSequence: current.row.report_sequence }, report);
        if (!next) continue; // already applied (at-least-once delivery)
        const stoppedAt = current.row.stopped_at ?? (next.task.lastStatus === "STOPPED" ? (next.task.stoppedAt?.getTime() ?? this.options.clock.now()) : null);
        planned.set(report.taskArn, {
          report,
          update: {
            taskArn: report.taskArn,
            expectedVersion: current.row.version,
            change: {
              last_status: next.task.lastStatus ?? current.row.last_status,
              desired_status: next.task.desiredStatus ?? current.row.desired_status,
              stopped_at: stoppedAt,
              report_sequence: next.reportSequence,
              document: JSON.stringify(next.task),
            },
          },
        });
      }
      const entries = [...planned.values()];
      const applied = await this.options.tasks.updateMany(entries.map((entry) => entry.update));
      remaining = [...entries.filter((_, index) => !applied[index]).map((entry) => entry.report), ...retry];
    }
  }

  async heartbeat(hostId: string): Promise<void> {
    const known = await this.options.hosts.heartbeat(hostId, this.options.clock.now());
    if (!known) throw new AwsError(HOST_NOT_REGISTERED, `Host ${hostId} is not registered.`);
  }

  async putLogs(hostId: string, batches: readonly LogBatch[]): Promise<void> {
    const logs = this.options.logs;
    const now = this.options.clock.now();
    // Every batch is checked before any is written: a host writes only the awslogs streams of the
    // tasks placed on it, at the group and stream their task definitions name — never another
    // host's task's stream, nor any group it picks.
    const placed = new Map((await this.options.tasks.getMany([...new Set(batches.map((batch) => String(batch.taskArn)))])).map((entry) => [entry.row.task_arn, entry.row]));
    for (const batch of batches) {
      const row = placed.get(batch.taskArn);
      const refused =
        row?.host_id !== hostId || row.spec === null
          ? `task ${String(batch.taskArn)} is not placed on host ${hostId}`
          : row.last_status === "STOPPED" && row.stopped_at !== null && now - row.stopped_at > LOGS_AFTER_STOP_GRACE_MS
            ? `task ${String(batch.taskArn)} stopped more than ${LOGS_AFTER_STOP_GRACE_MS / 60_000} minutes ago`
            : awslogsMismatch(JSON.parse(row.spec as string) as TaskSpec, batch);
      if (refused) throw accessDeniedException(`Host ${hostId} may not write log stream ${String(batch.logStreamName)} of group ${String(batch.logGroupName)}: ${refused}.`);
    }
    for (const batch of batches) {
      let group = await logs.getGroup(batch.logGroupName);
      if (!group && batch.createGroup) {
        group =
          (await logs.createGroup({ name: batch.logGroupName, created_at: now, retention_days: null, kms_key_id: null, log_group_class: "STANDARD", tags_json: "{}" })) ??
          (await logs.getGroup(batch.logGroupName));
      }
      // Like the awslogs driver, a missing group without awslogs-create-group is an error the
      // agent reports against the container rather than data silently dropped.
      if (!group) throw invalidParameterException(`The specified log group does not exist: ${batch.logGroupName}`);
      const stream = (await logs.getStream(group.id, batch.logStreamName)) ?? (await logs.createStream(group.id, batch.logStreamName, now)) ?? (await logs.getStream(group.id, batch.logStreamName));
      if (!stream) throw invalidParameterException(`Could not create log stream ${batch.logStreamName}`);
      // Lines an agent sends again after a crash (see LogBatch.events[].offset) are dropped by the
      // store, against the offset the stream's stored lines reach (kept with them: restarts too).
      const events = batch.events
        .map((event) => ({ timestamp: event.timestamp, message: event.message, ...(event.offset !== undefined ? { sourceOffset: event.offset } : {}) }))
        .sort((a, b) => a.timestamp - b.timestamp);
      await logs.appendEvents(stream, events, now);
    }
  }

  /**
   * Marks silent hosts lost, then stops every not-yet-STOPPED task on any lost host. Level-
   * triggered: the second step looks at all LOST hosts on every pass, so a task whose update lost
   * a race (or a pass that crashed half-way) is stopped on the next pass and never keeps its
   * reservation. Returns the hosts newly marked lost.
   */
  async reapLostHosts(): Promise<string[]> {
    const now = this.options.clock.now();
    // After a server restart every agent gets a full grace period to reach the new instance: a
    // heartbeat stamped before the restart says nothing about whether the agent is still alive.
    const lost = now - this.startedAtMs >= this.lostAfterMs ? await this.options.hosts.markLost(now - this.lostAfterMs) : [];
    const lostHosts = new Set((await this.options.hosts.list()).filter((host) => host.status === "LOST").map((host) => host.host_id));
    if (lostHosts.size === 0) return lost;
    for (const row of await this.options.tasks.reservations()) {
      if (row.host_id !== null && lostHosts.has(row.host_id)) await this.stopLostTask(row.task_arn, now);
    }
    return lost;
  }

  private async stopLostTask(taskArn: string, now: number): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.options.tasks.get(taskArn);
      if (!stored || stored.row.last_status === "STOPPED") return;
      const { task } = stored;
      const stoppedAt = new Date(now);
      const stopped = {
        ...task,
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        stoppedReason: task.stoppedReason ?? LOST_HOST_REASON,
        stoppingAt: task.stoppingAt ?? stoppedAt,
        executionStoppedAt: task.executionStoppedAt ?? stoppedAt,
        stoppedAt,
        containers: (task.containers ?? []).map((container) => ({ ...container, lastStatus: "STOPPED" })),
        version: (task.version ?? 1) + 1,
      };
      const applied = await this.options.tasks.update(taskArn, stored.row.version, {
        last_status: "STOPPED",
        desired_status: "STOPPED",
        stopped_at: now,
        document: JSON.stringify(stopped),
      });
      if (applied) return;
    }
    // Still racing after five tries: the next pass of the level-triggered reaper tries again.
  }
}

/** Why a batch is not the awslogs stream its task's container writes to (as AwslogsSink names it). */
function awslogsMismatch(spec: TaskSpec, batch: LogBatch): string | undefined {
  const configurations = spec.logConfigurations ?? {};
  const config = typeof batch.containerName === "string" && Object.hasOwn(configurations, batch.containerName) ? configurations[batch.containerName] : undefined;
  if (!config || config.logDriver !== "awslogs") return `container ${String(batch.containerName)} of the task has no awslogs log configuration`;
  const options = config.options ?? {};
  const prefix = options["awslogs-stream-prefix"];
  const stream = prefix ? `${prefix}/${batch.containerName}/${spec.taskId}` : `${batch.containerName}/${spec.taskId}`;
  if (options["awslogs-group"] !== batch.logGroupName || stream !== batch.logStreamName) return "the task's log configuration names another group or stream";
  if (batch.createGroup && options["awslogs-create-group"] !== "true") return "the task's log configuration does not create its group";
  return undefined;
}

function desiredTaskOf(row: TaskRow): DesiredTask {
  const { task } = parseTask(row);
  return {
    spec: JSON.parse(row.spec as string) as TaskSpec,
    desiredStatus: row.desired_status === "STOPPED" ? "STOPPED" : "RUNNING",
    ...(task.stopCode !== undefined ? { stopCode: task.stopCode } : {}),
    ...(task.stoppedReason !== undefined ? { stoppedReason: task.stoppedReason } : {}),
  };
}
