// Retrying a failing step with a doubling delay, the one loop every retrier of Berth shares (the
// agent's registration, status reports, polls, log shipping and cleanup steps). The delay doubles
// from `firstMs` to `maxMs`; with `jitter` each wait is between half and all of it ("full jitter"
// halved), so a fleet that lost its server does not come back at it in lockstep. Aborting `signal`
// ends the current wait at once and stops the retries: the caller learns it by the `stopped`
// result, never by an exception, so shutdown paths stay quiet.
import type { Clock } from "./clock.js";

export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** What follows a failure: wait the backoff and retry (the default), retry at once, or give up (the error is thrown). */
export type RetryDecision = "wait" | "now" | "give-up";

export interface FailedAttempt {
  /** 1 for the first failure of this retryWithBackoff call. */
  readonly attempt: number;
  /** The wait before the next attempt, if the decision is to wait. */
  readonly delayMs: number;
}

export interface RetryOptions {
  readonly clock: Pick<Clock, "sleep">;
  /** Aborted: no further attempt; the current wait ends at once. */
  readonly signal: AbortSignal;
  /** The delays, or the delays for this failure (a refusal may wait longer than an outage). */
  readonly backoff: Backoff | ((error: unknown) => Backoff);
  readonly jitter?: boolean;
  /** Sees every failure (to log it) and decides what follows; "wait" when absent. */
  readonly onFailure?: (error: unknown, failed: FailedAttempt) => RetryDecision | void | Promise<RetryDecision | void>;
  /** Where jitter draws from (tests pass a fixed one). */
  readonly random?: () => number;
}

export type RetryResult<T> = { readonly stopped: false; readonly value: T } | { readonly stopped: true };

/** Doubles per attempt, capped; the exponent is capped too so a long outage never overflows. */
export function backoffDelayMs(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.firstMs * 2 ** Math.min(attempt - 1, 30), backoff.maxMs);
}

/** Runs `action` until it resolves, `onFailure` gives up (its error is thrown) or `signal` stops it. */
export async function retryWithBackoff<T>(action: (attempt: number) => Promise<T>, options: RetryOptions): Promise<RetryResult<T>> {
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) return { stopped: true };
    try {
      return { stopped: false, value: await action(attempt) };
    } catch (error) {
      if (options.signal.aborted) return { stopped: true };
      const backoff = typeof options.backoff === "function" ? options.backoff(error) : options.backoff;
      const fullMs = backoffDelayMs(backoff, attempt);
      const delayMs = options.jitter ? Math.round(fullMs / 2 + (random() * fullMs) / 2) : fullMs;
      const decision = (await options.onFailure?.(error, { attempt, delayMs })) ?? "wait";
      if (decision === "give-up") throw error;
      if (decision === "wait") await options.clock.sleep(delayMs, options.signal).catch(() => undefined);
    }
  }
}
