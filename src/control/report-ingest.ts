// Agents' status reports folded into the stored tasks (see apply-task-report.ts for the fold
// itself). A host reports only its own tasks: a report for a task placed elsewhere, or unknown, is
// ignored. The whole batch is written in one transaction (one commit, not one per task: a burst of
// launches reports many tasks at once). Optimistic concurrency per task: a report whose task
// another writer (StopTask, the reaper) changed in between is read again and applied on the next
// pass, as is a second report of one task in the same batch (applied over the first); a batch
// still racing after the store's attempts is answered 503, so the agent sends it again.
import type { Clock } from "../core/clock.js";
import { AwsError } from "../core/errors.js";
import type { ReportRequest, TaskStatusReport } from "../protocol/index.js";
import type { TaskUpdate, TasksRepository } from "../store/index.js";
import { LOST_RACE, withOptimisticRetry } from "../store/index.js";
import { applyTaskReport } from "./apply-task-report.js";

export interface ReportIngestOptions {
  readonly tasks: Pick<TasksRepository, "getMany" | "updateMany">;
  readonly clock: Clock;
  /** Called with the services whose tasks' reported state changed (the service scheduler's wake-up). */
  readonly onServiceTasksChanged?: (serviceNames: readonly string[]) => void;
}

export class ReportIngest {
  constructor(private readonly options: ReportIngestOptions) {}

  async report(hostId: string, request: ReportRequest): Promise<void> {
    let remaining = request.reports;
    await withOptimisticRetry(
      async () => {
        remaining = await this.applyOnce(hostId, remaining);
        return remaining.length > 0 ? LOST_RACE : undefined;
      },
      // Still racing after five passes (several servers write one task): a retryable failure, so
      // the agent sends the batch again, to this server or the next, rather than dropping reports it
      // was told were delivered; the stored sequence keeps whatever did apply from applying twice.
      {
        exhausted: () => {
          throw new AwsError("ServiceUnavailable", "The task reports could not be applied for concurrent updates; send them again.", { httpStatus: 503 });
        },
      },
    );
  }

  /** One pass over `reports`; returns those to apply again (lost a race, or a task's second report). */
  private async applyOnce(hostId: string, reports: readonly TaskStatusReport[]): Promise<TaskStatusReport[]> {
    const stored = new Map((await this.options.tasks.getMany(reports.map((report) => report.taskArn))).map((task) => [task.taskArn, task]));
    const planned = new Map<string, { report: TaskStatusReport; update: TaskUpdate; serviceName: string | undefined }>();
    const again: TaskStatusReport[] = [];
    for (const report of reports) {
      const current = stored.get(report.taskArn);
      if (!current || current.hostId !== hostId) continue; // unknown or not this host's: ignore
      if (planned.has(report.taskArn)) {
        again.push(report);
        continue;
      }
      const next = applyTaskReport({ task: current.task, reportSequence: current.reportSequence }, report);
      if (!next) continue; // already applied (at-least-once delivery)
      const stoppedAtMs =
        current.stoppedAtMs ?? (next.task.lastStatus === "STOPPED" ? (next.task.stoppedAt?.getTime() ?? this.options.clock.now()) : undefined);
      planned.set(report.taskArn, {
        report,
        // Only a change the scheduler acts on wakes it (a host re-sending its reports with new sequence numbers does not).
        serviceName:
          next.task.lastStatus !== current.lastStatus ||
          next.task.healthStatus !== current.task.healthStatus ||
          next.task.desiredStatus !== current.desiredStatus
            ? current.serviceName
            : undefined,
        update: {
          taskArn: report.taskArn,
          expectedVersion: current.version,
          change: {
            lastStatus: next.task.lastStatus ?? current.lastStatus,
            desiredStatus: next.task.desiredStatus ?? current.desiredStatus,
            ...(stoppedAtMs !== undefined ? { stoppedAtMs } : {}),
            reportSequence: next.reportSequence,
            task: next.task,
          },
        },
      });
    }
    const entries = [...planned.values()];
    const applied = await this.options.tasks.updateMany(entries.map((entry) => entry.update));
    const services = new Set(entries.flatMap((entry, index) => (applied[index] && entry.serviceName !== undefined ? [entry.serviceName] : [])));
    if (services.size > 0) this.options.onServiceTasksChanged?.([...services]);
    return [...entries.filter((_, index) => !applied[index]).map((entry) => entry.report), ...again];
  }
}
