// What each host should run, served by long poll. Desired state lives in the store (the tasks
// placed on a host, each with its TaskSpec); this feed only answers polls from it and wakes the
// pollers of a host when it changed (RunTask, StopTask), on whichever replica made the change: the
// server feeds the store's "host-tasks" signals to `notify`.
//
//   poll(host, known generation)
//     known == current ──▶ wait: notify(host) | pollWaitMs | caller gone | close()
//     ──▶ { generation: current, tasks: the host's not-yet-STOPPED placed tasks,
//           network: what the host must enforce for them (VPCs, security groups, peers),
//           loadBalancers: the load balancer nodes it runs }
//
// Generations live in this process's memory only; they start from the clock at first use, so a
// number an agent learnt before a server restart never equals a new one (its first poll after the
// restart answers at once).
import type { Clock } from "../core/clock.js";
import { AwsError } from "../core/errors.js";
import type { DesiredTask, HostNetworkView, LoadBalancerNodeSpec, PollResponse, TaskSpec } from "../protocol/index.js";
import { EMPTY_NETWORK_VIEW } from "../protocol/index.js";
import type { StoredTask, TasksRepository } from "../store/index.js";
import { placedTaskSpec } from "./placed-task-spec.js";

export interface DesiredStateFeedOptions {
  readonly tasks: Pick<TasksRepository, "activeOnHost">;
  readonly clock: Clock;
  /** Longest a poll waits for a change before answering with the unchanged list. */
  readonly pollWaitMs: number;
  /** Adds what is issued fresh at hand-over and never stored (registry pull credentials, after the execution role's check). */
  readonly handOver?: (spec: TaskSpec) => TaskSpec | Promise<TaskSpec>;
  /** The network the host must enforce (host-network-view.ts); none known: the empty view. */
  readonly networkView?: (hostId: string) => Promise<HostNetworkView>;
  /** The load balancer nodes the host runs (load-balancer-nodes.ts); none known: the answer has none. */
  readonly loadBalancerNodes?: (hostId: string) => Promise<LoadBalancerNodeSpec[]>;
}

const shuttingDown = () => new AwsError("ServiceUnavailable", "The control plane is shutting down.", { httpStatus: 503 });

export class DesiredStateFeed {
  private readonly generations = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(private readonly options: DesiredStateFeedOptions) {}

  /** Answers every waiting long poll now and every later one at once (server shutdown). */
  close(): void {
    this.closed = true;
    this.notifyAll();
  }

  /** Tells every host's pollers that their desired tasks may have changed (a lost signal connection). */
  notifyAll(): void {
    for (const hostId of [...this.waiters.keys()]) this.notify(hostId);
  }

  /** Tells a host's pollers that its desired tasks changed. */
  notify(hostId: string): void {
    this.generations.set(hostId, this.generation(hostId) + 1);
    const waiting = this.waiters.get(hostId);
    this.waiters.delete(hostId);
    for (const wake of waiting ?? []) wake();
  }

  async poll(hostId: string, knownGeneration: number, signal?: AbortSignal): Promise<PollResponse> {
    // Shutting down: no new long poll may hold the listener open; the agent backs off and retries.
    if (this.closed) throw shuttingDown();
    if (knownGeneration === this.generation(hostId)) await this.waitForChange(hostId, signal);
    if (this.closed) throw shuttingDown();
    const generation = this.generation(hostId);
    // The view is read after the tasks, so it covers at least every task of this answer.
    const placed = await this.options.tasks.activeOnHost(hostId);
    const network = (await this.options.networkView?.(hostId)) ?? EMPTY_NETWORK_VIEW;
    const handOver = this.options.handOver;
    const handedOver = await Promise.all(
      placed.map(async (task) => {
        const desired = desiredTaskOf(task);
        if (!desired) return [];
        return handOver && desired.desiredStatus === "RUNNING" ? [{ ...desired, spec: await handOver(desired.spec) }] : [desired];
      }),
    );
    const tasks = handedOver.flat();
    const loadBalancers = await this.options.loadBalancerNodes?.(hostId);
    return { generation, tasks, network, ...(loadBalancers ? { loadBalancers } : {}) };
  }

  private generation(hostId: string): number {
    let value = this.generations.get(hostId);
    if (value === undefined) {
      value = this.options.clock.now();
      this.generations.set(hostId, value);
    }
    return value;
  }

  /** Sleeps on the clock until this host is notified, pollWaitMs pass, or the caller goes away. */
  private async waitForChange(hostId: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    const woken = new AbortController();
    const wake = () => woken.abort();
    const waiting = this.waiters.get(hostId) ?? new Set<() => void>();
    this.waiters.set(hostId, waiting);
    waiting.add(wake);
    signal?.addEventListener("abort", wake, { once: true });
    try {
      await this.options.clock.sleep(this.options.pollWaitMs, woken.signal);
    } catch {
      // Woken before the time was up: that is what the abort is for.
    } finally {
      signal?.removeEventListener("abort", wake);
      waiting.delete(wake);
      if (waiting.size === 0 && this.waiters.get(hostId) === waiting) this.waiters.delete(hostId);
    }
  }
}

function desiredTaskOf(task: StoredTask): DesiredTask | undefined {
  const spec = placedTaskSpec(task);
  if (!spec) return undefined;
  return {
    spec,
    desiredStatus: task.desiredStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    ...(task.task.stopCode !== undefined ? { stopCode: task.task.stopCode } : {}),
    ...(task.task.stoppedReason !== undefined ? { stoppedReason: task.task.stoppedReason } : {}),
  };
}
