// Container health checks (ContainerDefinition.healthCheck): CMD runs argv, CMD-SHELL runs
// `/bin/sh -c`; interval 5–300 s (default 30), timeout 2–60 s (default 5), retries 1–10
// (default 3), startPeriod 0–300 s during which failures do not count. The verdict is written to
// the container's record through the task's state cell, while the container runs.
import type { HealthCheck } from "@aws-sdk/client-ecs";
import type { Clock } from "../core/clock.js";
import type { RuntimePort } from "./ports.js";
import type { TaskStateCell } from "./task-state-cell.js";

export interface HealthCheckPlan {
  readonly argv: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

/** The check as the runtime runs it, with ECS's defaults filled in. */
export function healthCheckPlan(check: HealthCheck): HealthCheckPlan {
  const [kind, ...rest] = check.command ?? [];
  return {
    argv: kind === "CMD-SHELL" ? ["/bin/sh", "-c", rest.join(" ")] : kind === "CMD" ? rest : (check.command ?? []),
    intervalMs: (check.interval ?? 30) * 1000,
    timeoutMs: (check.timeout ?? 5) * 1000,
    retries: check.retries ?? 3,
    startPeriodMs: (check.startPeriod ?? 0) * 1000,
  };
}

export interface HealthCheckerParts {
  readonly cell: TaskStateCell;
  readonly runtime: Pick<RuntimePort, "exec">;
  readonly clock: Clock;
  readonly containerName: string;
  readonly runtimeId: string;
  readonly check: HealthCheck;
  /** Aborted when the container has exited: no more checks. */
  readonly exited: AbortSignal;
}

/** Checks until the container exits or the agent detaches. */
export async function runHealthChecks(parts: HealthCheckerParts): Promise<void> {
  const { cell, containerName: name, exited } = parts;
  const plan = healthCheckPlan(parts.check);
  const startMs = parts.clock.now();
  let failures = 0;
  while (!exited.aborted && !cell.detached) {
    let ok = false;
    try {
      ok = (await parts.runtime.exec(parts.runtimeId, plan.argv, plan.timeoutMs)).exitCode === 0;
    } catch {
      ok = false;
    }
    if (exited.aborted) return;
    if (ok) {
      failures = 0;
      await cell.changeContainer(name, (rc) => {
        if (rc.phase === "RUNNING") rc.health = "HEALTHY";
      });
    } else if (parts.clock.now() - startMs >= plan.startPeriodMs && ++failures >= plan.retries) {
      // Reported only: ECS does not stop a standalone task for this; the service scheduler
      // replaces unhealthy service tasks ("Task failed container health checks").
      await cell.changeContainer(name, (rc) => {
        if (rc.phase === "RUNNING") rc.health = "UNHEALTHY";
      });
    }
    try {
      await parts.clock.sleep(plan.intervalMs, AbortSignal.any([exited, cell.detachedSignal]));
    } catch {
      return;
    }
  }
}
