// Deletes Secrets Manager secrets whose recovery window has passed (DeleteSecret's DeletionDate),
// with their versions, on the replica that holds the loop's lease. AWS deletes them "at the end
// of the recovery window"; until then RestoreSecret brings a secret back.
import type { PeriodicLoop, PeriodicLoopOptions } from "./periodic-loop.js";
import { startPeriodicLoop } from "./periodic-loop.js";

/** Secrets deleted per transaction; a pass that deleted this many asks for the next one at once. */
const PURGE_BATCH = 500;

export function startSecretPurge(options: Omit<PeriodicLoopOptions, "name" | "pass" | "intervalMs"> & { intervalMs?: number }): PeriodicLoop {
  return startPeriodicLoop({
    ...options,
    name: "secret-purge",
    intervalMs: options.intervalMs ?? 60_000,
    pass: async (fenced) => (await fenced((tx) => tx.secrets.purgeDue(options.clock.now(), PURGE_BATCH))).length >= PURGE_BATCH,
  });
}
