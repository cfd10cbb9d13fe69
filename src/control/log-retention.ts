// Enforces CloudWatch Logs retention policies: events older than their group's retentionInDays are
// deleted. AWS deletes expired events lazily (within days); Berth checks every few minutes.
import type { Clock } from "../core/clock.js";
import type { LogsRepository } from "../store/logs-repository.js";
import type { Logger } from "../core/logger.js";
import type { PeriodicLoop } from "./periodic-loop.js";
import { startPeriodicLoop } from "./periodic-loop.js";

export function startLogRetention(options: { logs: LogsRepository; clock: Clock; logger: Pick<Logger, "error">; intervalMs?: number }): PeriodicLoop {
  return startPeriodicLoop({
    name: "log-retention",
    intervalMs: options.intervalMs ?? 5 * 60_000,
    clock: options.clock,
    logger: options.logger,
    pass: async () => {
      await options.logs.purgeExpired(options.clock.now());
    },
  });
}
