// The retry that goes with the repositories' optimistic concurrency: an update names the version it
// read and applies only if the row is still at it (TasksRepository.update/updateMany answer
// false otherwise). A writer that lost the race reads again and decides again. It lives in the
// store because it is half of the store's concurrency contract, not a policy of any one caller:
// every writer of a versioned row (StopTask, the lost-host reaper, agent reports) retries the same
// way, and with several control-plane replicas on one database (issue 11) these races cross
// processes, so the attempt budget is tuned here, once.

/** What an attempt answers when its write did not apply because the row changed since it read it. */
export const LOST_RACE: unique symbol = Symbol("lost the race");

export interface OptimisticRetryOptions<T> {
  /** How many attempts before giving up (default 5). */
  readonly attempts?: number;
  /** What to answer (or throw) when every attempt lost the race. */
  readonly exhausted: () => T;
}

/**
 * Runs `attempt` (read, decide, conditional write) until it answers anything but LOST_RACE, at
 * most `attempts` times; then answers `exhausted()`.
 */
export async function withOptimisticRetry<T>(attempt: () => Promise<T | typeof LOST_RACE>, options: OptimisticRetryOptions<T>): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let tried = 0; tried < attempts; tried++) {
    const outcome = await attempt();
    if (outcome !== LOST_RACE) return outcome;
  }
  return options.exhausted();
}
