// Enforces CloudWatch Logs retention policies: events older than their group's retentionInDays are
// deleted. AWS deletes expired events lazily (within days); Berth checks every few minutes, on the
// replica that holds the loop's lease. The same pass drops metric filters' per-minute aggregates
// older than METRIC_AGGREGATE_RETENTION_MS, and load balancers' (elbMetrics) as well: CloudWatch
// keeps one-minute data points for 15 days.
import type { PeriodicLoop, PeriodicLoopOptions } from "./periodic-loop.js";
import { startPeriodicLoop } from "./periodic-loop.js";

/** CloudWatch: "Data points with a period of 60 seconds (1 minute) are available for 15 days." */
export const METRIC_AGGREGATE_RETENTION_MS = 15 * 86_400_000;

export function startLogRetention(options: Omit<PeriodicLoopOptions, "name" | "pass" | "intervalMs"> & { intervalMs?: number }): PeriodicLoop {
  return startPeriodicLoop({
    ...options,
    name: "log-retention",
    intervalMs: options.intervalMs ?? 5 * 60_000,
    pass: (fenced) =>
      fenced(async (tx) => {
        const now = options.clock.now();
        await tx.logs.purgeExpired(now);
        await tx.logMetricFilters.purgeAggregatesBefore(now - METRIC_AGGREGATE_RETENTION_MS);
        await tx.elbMetrics.purgeBefore(now - METRIC_AGGREGATE_RETENTION_MS);
      }),
  });
}
