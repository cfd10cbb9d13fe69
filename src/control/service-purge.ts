// Forgets deleted services. API_DeleteService: DRAINING and INACTIVE services "can still be viewed
// with the DescribeServices API operation. However, in the future, INACTIVE services may be cleaned
// up and purged from Amazon ECS record keeping". ECS does not publish how long it keeps them; Berth
// keeps them an hour, as it keeps stopped tasks. A service INACTIVE for longer is deleted here with
// its deployment history and tags, in one transaction, on the replica that holds the loop's lease.
// Meanwhile only DescribeServices shows it: it is not listed and does not count toward the
// cluster's quota of services, and CreateService may reuse its name.
import type { PeriodicLoop, PeriodicLoopOptions } from "./periodic-loop.js";
import { startPeriodicLoop } from "./periodic-loop.js";

/** How long an INACTIVE service stays discoverable. */
export const INACTIVE_SERVICE_RETENTION_MS = 3_600_000;
/** Services deleted per transaction; a pass that deleted this many asks for the next one at once. */
const PURGE_BATCH = 500;

export function startServicePurge(
  options: Omit<PeriodicLoopOptions, "name" | "pass" | "intervalMs"> & { intervalMs?: number; retentionMs?: number },
): PeriodicLoop {
  const retentionMs = options.retentionMs ?? INACTIVE_SERVICE_RETENTION_MS;
  return startPeriodicLoop({
    ...options,
    name: "service-purge",
    intervalMs: options.intervalMs ?? 60_000,
    pass: async (fenced) => {
      const purged = await fenced((tx) => tx.services.purgeInactive(options.clock.now() - retentionMs, PURGE_BATCH));
      return purged.length >= PURGE_BATCH;
    },
  });
}
