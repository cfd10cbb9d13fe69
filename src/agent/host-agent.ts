// A host's agent as a member of the fleet: registers with the control plane, heartbeats, converges
// its Agent on the desired tasks it long-polls for, delivers status reports at least once, and
// ships container logs to CloudWatch Logs (the awslogs driver) through the same link.
//
//   start ─▶ register (backoff until it answers) ─▶ re-send every known task's report
//             ├─ heartbeat every interval
//             └─ poll ─▶ converge: run desired RUNNING tasks it lacks, stop desired STOPPED ones,
//                         stop tasks the control plane no longer knows (no orphans) ─▶ poll …
//   a heartbeat or poll answered "host not registered" (the server lost or reaped the host, or its
//   secret is stale) ─▶ register again ─▶ re-send reports ─▶ poll from scratch (reconcile)
//
// Every retry waits a jittered, doubling backoff (src/core/retry-with-backoff.ts) so a fleet that
// lost its server does not come back at it in lockstep; src/protocol/call-failure.ts says which
// failures are worth retrying.
import type { Clock } from "../core/clock.js";
import { retryWithBackoff } from "../core/retry-with-backoff.js";
import type {
  ControlPlaneLink,
  DesiredTask,
  HostCapacity,
  HostNetworkView,
  LoadBalancerNodeSpec,
  LogBatch,
  RegisterResponse,
  TaskSpec,
  TaskStatusReport,
} from "../protocol/index.js";
import { MAX_REPORT_SEQUENCE, boundedReport, callFailureKind, protocolVersion } from "../protocol/index.js";

/** Reports per report call: 100 bounded reports stay well under the server's 8 MiB body limit. */
const REPORTS_PER_CALL = 100;
import type { Logger } from "../core/logger.js";
import type { Agent } from "./agent.js";
import type { LogEvent, LogSink, TaskStateReporter } from "./ports.js";
import { LogDeliveryRefusedError } from "./ports.js";

export interface HostIdentity {
  readonly hostId: string;
  readonly agentVersion: string;
  readonly availabilityZone: string;
  readonly architecture: "X86_64" | "ARM64";
  readonly capacity: HostCapacity;
  /** The machine as the agent sees it, and whether the operator declared capacity beyond it. */
  readonly machine: { readonly cpuCount: number; readonly memoryMiB: number };
  readonly overcommit: boolean;
  readonly subnetIds: readonly string[];
  /** The host's underlay address for the VPC overlay (VXLAN); absent: tasks reach only this host's peers. */
  readonly overlayAddress?: string;
  /** The uplink address public tasks leave from; absent: no task has outbound access. */
  readonly publicAddress?: string;
}

/** How long a STOPPED task the control plane no longer lists stays in the agent's state. */
export const FORGET_STOPPED_AFTER_MS = 60_000;

const ORPHAN_REASON = "Task stopped because the control plane no longer knows it.";
/**
 * A report for a task the agent never ran and is told to stop: its sequence is above any a task
 * runner reaches, and STOPPED is terminal on the control plane, so nothing can follow it.
 */
const NEVER_RAN_SEQUENCE = MAX_REPORT_SEQUENCE;

/** Delays of the calls to the control plane (jittered): a report is small and urgent, a register or poll less so. */
const REPORT_BACKOFF = { firstMs: 100, maxMs: 5_000 };
const CALL_BACKOFF = { firstMs: 200, maxMs: 10_000 };

/** Whether the control plane answered that this host must register (again) before anything else. */
export const needsRegistration = (error: unknown): boolean => callFailureKind(error) === "register-again";

/** Delivers the newest report of every task, retrying until the control plane acknowledges it. */
export class ReportForwarder implements TaskStateReporter {
  private readonly pending = new Map<string, TaskStatusReport>();
  private flushing: Promise<void> | undefined;
  private flushSoon: NodeJS.Immediate | undefined;
  private readonly closed = new AbortController();
  hostId: string | undefined;

  constructor(
    private readonly link: ControlPlaneLink,
    private readonly clock: Clock,
    private readonly logger: Pick<Logger, "error" | "info">,
  ) {}

  async report(status: TaskStatusReport): Promise<void> {
    const queued = this.pending.get(status.taskArn);
    if (!queued || queued.sequence < status.sequence) this.pending.set(status.taskArn, boundedReport(status));
    // Delivered on the next turn of the event loop rather than at once: a task's state changes
    // come in bursts (a cached pull, for one, is several changes within a millisecond), and only
    // the newest of each task is sent, so a burst costs the control plane one write, not one each.
    this.flushSoon ??= setImmediate(() => {
      this.flushSoon = undefined;
      this.flush();
    });
  }

  /**
   * Stops delivering (agent shutdown). Undelivered reports are not lost: the next agent re-sends
   * every task's state after registering. Without this, a retry loop against a control plane
   * that is gone (its store closed) would keep the process alive forever.
   */
  close(): void {
    this.closed.abort();
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
  }

  flush(): void {
    if (this.flushing || this.hostId === undefined || this.closed.signal.aborted) return;
    const hostId = this.hostId;
    // Each attempt sends the newest report of every task, so a retry never sends a stale one.
    const sendPending = async () => {
      // At most REPORTS_PER_CALL a call: each report is bounded (boundedReport, the protocol's
      // limits), so a call always fits the server's body limit and is never refused for its size.
      const batch = [...this.pending.values()].slice(0, REPORTS_PER_CALL);
      await this.link.report(hostId, { reports: batch });
      for (const sent of batch) if (this.pending.get(sent.taskArn) === sent) this.pending.delete(sent.taskArn);
    };
    this.flushing = (async () => {
      while (this.pending.size > 0 && !this.closed.signal.aborted) {
        await retryWithBackoff(sendPending, {
          clock: this.clock,
          signal: this.closed.signal,
          backoff: REPORT_BACKOFF,
          jitter: true,
          onFailure: (error) => this.logger.error({ err: error, reports: this.pending.size }, "status report delivery failed; retrying"),
        });
      }
    })().finally(() => {
      this.flushing = undefined;
      if (this.pending.size > 0) this.flush();
    });
  }
}

/**
 * The awslogs driver: container output goes to `awslogs-group`, stream
 * `<awslogs-stream-prefix>/<container name>/<task id>`, creating the group when
 * `awslogs-create-group` is "true". Containers without awslogs have their output discarded, as on
 * Fargate. A failed write rejects, so the runner keeps the log offset and sends the lines again.
 */
export class AwslogsSink implements LogSink {
  hostId: string | undefined;

  constructor(
    private readonly link: ControlPlaneLink,
    private readonly specOf: (taskId: string) => TaskSpec | undefined,
  ) {}

  async write(taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void> {
    const spec = this.specOf(taskId);
    const config = spec?.logConfigurations[containerName];
    if (!spec || !config || config.logDriver !== "awslogs" || events.length === 0) return;
    if (this.hostId === undefined) throw new Error("not registered with the control plane yet");
    const options = config.options ?? {};
    const group = options["awslogs-group"];
    if (!group) return;
    const prefix = options["awslogs-stream-prefix"];
    const batch: LogBatch = {
      taskArn: spec.taskArn,
      containerName,
      logGroupName: group,
      logStreamName: prefix ? `${prefix}/${containerName}/${spec.taskId}` : `${containerName}/${spec.taskId}`,
      createGroup: options["awslogs-create-group"] === "true",
      events: events.map((event) => ({ timestamp: event.timestamp, message: event.message, offset: event.offset })),
    };
    try {
      await this.link.putLogs(this.hostId, [batch]);
    } catch (error) {
      // A 4xx (over HTTP) or a client-fault AwsError (embedded): the destination refuses these
      // lines (a missing log group without awslogs-create-group); retrying fast will not help.
      if (callFailureKind(error) === "permanent") {
        throw new LogDeliveryRefusedError(`awslogs: ${(error as Error).message} (group ${group}, stream ${batch.logStreamName})`, { cause: error });
      }
      throw error;
    }
  }
}

export class HostAgent {
  private readonly abort = new AbortController();
  private loops: Promise<unknown>[] = [];
  private hostId: string | undefined;
  private registering: Promise<unknown> | undefined;

  constructor(
    private readonly parts: {
      readonly agent: Agent;
      readonly link: ControlPlaneLink;
      readonly identity: HostIdentity;
      readonly reports: ReportForwarder;
      readonly logSink: AwslogsSink;
      readonly clock: Clock;
      readonly logger: Pick<Logger, "error" | "info">;
      /**
       * Brings the host's network (VPC routers, security groups, overlay peers) to a poll answer's
       * view, before its tasks are converged; level-triggered and idempotent like converge.
       */
      readonly applyNetwork?: (view: HostNetworkView) => Promise<void>;
      /** Brings the host's load balancer nodes to a poll answer's list, after its network (load-balancer-nodes.ts). */
      readonly convergeLoadBalancers?: (nodes: readonly LoadBalancerNodeSpec[]) => Promise<void>;
    },
  ) {}

  async start(): Promise<void> {
    await this.parts.agent.start();
    const registration = await this.register();
    if (!registration) return; // closed while registering
    this.loops = [this.heartbeatLoop(registration.heartbeatIntervalMs), this.pollLoop()];
  }

  /** Registers (retrying), then re-sends every known task's state: reconcile after either restart. */
  private async register(): Promise<RegisterResponse | undefined> {
    const registration = await this.retry("register", () =>
      this.parts.link.register({ protocolVersion, ...this.parts.identity, subnetIds: [...this.parts.identity.subnetIds] }),
    );
    if (!registration) return undefined;
    this.hostId = registration.hostId;
    this.parts.reports.hostId = this.hostId;
    this.parts.logSink.hostId = this.hostId;
    for (const status of this.parts.agent.list()) await this.parts.reports.report(status);
    return registration;
  }

  /** One registration at a time, however many loops noticed the server forgot this host. */
  private reregister(): Promise<unknown> {
    this.registering ??= (async () => {
      this.parts.logger.info({ hostId: this.hostId }, "the control plane does not know this host; registering again");
      await this.register();
    })().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await this.parts.agent.close();
    this.parts.reports.close();
  }

  private async heartbeatLoop(intervalMs: number): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.parts.clock.sleep(intervalMs, this.abort.signal);
        await this.parts.link.heartbeat(this.hostId!);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.parts.logger.error({ err: error }, "heartbeat failed");
        if (needsRegistration(error)) await this.reregister().catch(() => undefined);
      }
    }
  }

  private async pollLoop(): Promise<void> {
    let generation = -1;
    const pollAndConverge = async () => {
      const answer = await this.parts.link.poll(this.hostId!, generation, this.abort.signal);
      generation = answer.generation;
      // A view that cannot be applied leaves the host's rules as they were (new interfaces get no
      // traffic: the policy fails closed) and is retried with the next answer; the tasks are still
      // converged, so stops are never held up by it.
      if (answer.network) {
        await this.parts.applyNetwork?.(answer.network).catch((error: unknown) => this.parts.logger.error({ err: error }, "applying the network view failed"));
      } else this.parts.logger.error({ problem: answer.networkProblem }, "the poll answer's network view was refused; the host keeps its network as it is");
      await this.converge(answer.tasks);
      if (answer.loadBalancers) {
        await this.parts
          .convergeLoadBalancers?.(answer.loadBalancers)
          .catch((error: unknown) => this.parts.logger.error({ err: error }, "converging the load balancer nodes failed"));
      } else
        this.parts.logger.error(
          { problem: answer.loadBalancersProblem },
          "the poll answer's load balancer nodes were refused; the host keeps its nodes as they are",
        );
    };
    // One long poll after another; a failure backs off (reset by the next success), except that a
    // host the server forgot registers again and polls at once, from scratch.
    while (!this.abort.signal.aborted) {
      await retryWithBackoff(pollAndConverge, {
        clock: this.parts.clock,
        signal: this.abort.signal,
        backoff: CALL_BACKOFF,
        jitter: true,
        onFailure: async (error) => {
          this.parts.logger.error({ err: error }, "poll failed; reconnecting");
          generation = -1;
          return needsRegistration(error) &&
            (await this.reregister().then(
              () => true,
              () => false,
            ))
            ? "now"
            : "wait";
        },
      });
    }
  }

  /** Level-triggered: brings the Agent to the desired list, whatever happened before. */
  async converge(desired: readonly DesiredTask[]): Promise<void> {
    const agent = this.parts.agent;
    const wanted = new Set(desired.map((task) => task.spec.taskArn));
    for (const task of desired) {
      const known = agent.describe(task.spec.taskArn);
      if (task.desiredStatus === "RUNNING" && !known) {
        await agent.runTask(task.spec);
      } else if (task.desiredStatus === "STOPPED" && known && known.desiredStatus !== "STOPPED") {
        await agent.stopTask(task.spec.taskArn, task.stoppedReason ?? "Task stopped by user", task.stopCode ?? "UserInitiated");
      } else if (task.desiredStatus === "STOPPED" && !known) {
        // Stopped before this host ever started it (or its record was lost): nothing runs, nothing
        // is held, so say STOPPED, or the task would wait for a report that never comes.
        const now = this.parts.clock.now();
        await this.parts.reports.report({
          protocolVersion,
          taskArn: task.spec.taskArn,
          lastStatus: "STOPPED",
          desiredStatus: "STOPPED",
          sequence: NEVER_RAN_SEQUENCE,
          health: "UNKNOWN",
          stoppingAtMs: now,
          executionStoppedAtMs: now,
          stoppedAtMs: now,
          ...(task.stopCode !== undefined ? { stopCode: task.stopCode } : {}),
          ...(task.stoppedReason !== undefined ? { stoppedReason: task.stoppedReason } : {}),
          containers: [],
        });
      }
    }
    for (const status of agent.list()) {
      if (!wanted.has(status.taskArn) && status.lastStatus !== "STOPPED" && status.desiredStatus !== "STOPPED") {
        await agent.stopTask(status.taskArn, ORPHAN_REASON, "ServiceSchedulerInitiated");
      }
      // The control plane lists a task until it has applied its STOPPED report; once it no
      // longer does (and a grace period passed, for late describes), the agent's record can go.
      const stoppedForMs = status.stoppedAtMs === undefined ? 0 : this.parts.clock.now() - status.stoppedAtMs;
      if (!wanted.has(status.taskArn) && status.lastStatus === "STOPPED" && stoppedForMs >= FORGET_STOPPED_AFTER_MS) {
        await agent.forget(status.taskArn);
      }
    }
  }

  /** Retries a call until it succeeds, is refused for good (thrown) or the agent closes (undefined). */
  private async retry<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    const result = await retryWithBackoff(action, {
      clock: this.parts.clock,
      signal: this.abort.signal,
      backoff: CALL_BACKOFF,
      jitter: true,
      onFailure: (error) => {
        if (callFailureKind(error) === "permanent") return "give-up";
        this.parts.logger.error({ err: error }, `${what} failed; retrying`);
        return "wait";
      },
    });
    return result.stopped ? undefined : result.value;
  }
}
