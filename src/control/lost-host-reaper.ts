// Hosts that stop heartbeating are lost: after `lostAfterMs` of silence a host is marked LOST and
// every not-yet-STOPPED task placed on it is reported STOPPED with an infrastructure reason, which
// releases its reservation. Level-triggered: every pass looks at all LOST hosts, so a task whose
// update lost a race (or a pass that crashed half-way) is stopped on the next pass.
import type { Task } from "@aws-sdk/client-ecs";
import type { Clock } from "../core/clock.js";
import type { HostsRepository, TasksRepository } from "../store/index.js";
import { LOST_RACE, withOptimisticRetry } from "../store/index.js";

export const LOST_HOST_REASON = "Task stopped because its host stopped responding (infrastructure failure).";

export interface LostHostReaperOptions {
  readonly hosts: Pick<HostsRepository, "markLost" | "list">;
  readonly tasks: Pick<TasksRepository, "reservations" | "get" | "update">;
  readonly clock: Clock;
  /** How long a host may stay silent before it is lost. */
  readonly lostAfterMs: number;
}

export class LostHostReaper {
  /** No host is declared lost before it had a full grace period to reach this server instance. */
  private readonly startedAtMs: number;

  constructor(private readonly options: LostHostReaperOptions) {
    this.startedAtMs = options.clock.now();
  }

  /**
   * Marks silent hosts lost, then stops every not-yet-STOPPED task on any lost host; returns the
   * hosts newly marked lost. `within`: the repositories of the transaction to do it in (the
   * server's loop passes its fenced transaction, so the whole pass is one commit or none).
   */
  async reapLostHosts(within?: Pick<LostHostReaperOptions, "hosts" | "tasks">): Promise<string[]> {
    const { clock, lostAfterMs } = this.options;
    const { hosts, tasks } = within ?? this.options;
    const now = clock.now();
    // After a server restart every agent gets a full grace period to reach the new instance: a
    // heartbeat stamped before the restart says nothing about whether the agent is still alive.
    const lost = now - this.startedAtMs >= lostAfterMs ? await hosts.markLost(now - lostAfterMs) : [];
    const lostHosts = new Set((await hosts.list()).filter((host) => host.status === "LOST").map((host) => host.hostId));
    if (lostHosts.size === 0) return lost;
    for (const reservation of await tasks.reservations()) {
      if (lostHosts.has(reservation.hostId)) await stopLostTask(tasks, reservation.taskArn, now);
    }
    return lost;
  }
}

async function stopLostTask(tasks: LostHostReaperOptions["tasks"], taskArn: string, now: number): Promise<void> {
  await withOptimisticRetry(
    async () => {
      const stored = await tasks.get(taskArn);
      if (!stored || stored.lastStatus === "STOPPED") return;
      const applied = await tasks.update(taskArn, stored.version, {
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        stoppedAtMs: now,
        task: stoppedByLoss(stored.task, now),
      });
      return applied ? undefined : LOST_RACE;
    },
    // Still racing after five tries: the next pass of the level-triggered reaper tries again.
    { exhausted: () => undefined },
  );
}

function stoppedByLoss(task: Task, now: number): Task {
  const stoppedAt = new Date(now);
  return {
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
}
