// A task's cleanup steps (remove a container, its storage, its network) retried with backoff until
// they succeed: a task must not stay DEPROVISIONING because one unmount or `runc delete` failed
// once. Every step is idempotent, so retrying (or replaying after a restart) is safe.
import type { Clock } from "../core/clock.js";
import { retryWithBackoff } from "../core/retry-with-backoff.js";

/** 250 ms doubling to 30 s. */
const CLEANUP_BACKOFF = { firstMs: 250, maxMs: 30_000 };

/** Retries `action` until it succeeds or `signal` aborts (then `stopped`). */
export async function retryCleanup(
  parts: { readonly clock: Clock; readonly onError: (error: unknown, what: string) => void },
  signal: AbortSignal,
  what: string,
  action: () => Promise<void>,
): Promise<{ readonly stopped: boolean }> {
  const result = await retryWithBackoff(action, {
    clock: parts.clock,
    signal,
    backoff: CLEANUP_BACKOFF,
    // Logged on the 1st, 2nd, 4th, 8th… failure: visible, but not a line every retry.
    onFailure: (error, { attempt, delayMs }) => {
      if ((attempt & (attempt - 1)) === 0) parts.onError(error, `${what} failed (attempt ${attempt}); retrying in ${delayMs} ms`);
    },
  });
  return { stopped: result.stopped };
}
