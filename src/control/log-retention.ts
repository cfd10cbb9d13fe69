// Enforces CloudWatch Logs retention policies: events older than their group's retentionInDays are
// deleted. AWS deletes expired events lazily (within days); Berth checks every few minutes, on the
// replica that holds the loop's lease.
import type { PeriodicLoop, PeriodicLoopOptions } from "./periodic-loop.js";
import { startPeriodicLoop } from "./periodic-loop.js";

export function startLogRetention(options: Omit<PeriodicLoopOptions, "name" | "pass" | "intervalMs"> & { intervalMs?: number }): PeriodicLoop {
  return startPeriodicLoop({
    ...options,
    name: "log-retention",
    intervalMs: options.intervalMs ?? 5 * 60_000,
    pass: (fenced) => fenced((tx) => tx.logs.purgeExpired(options.clock.now())).then(() => undefined),
  });
}
