// Ships one container's log lines to the task's log sink, exactly once across agent restarts:
//
//   read after the saved offset ─▶ sink.write (retried with backoff until acknowledged)
//        ─▶ offset saved durably ─▶ … ─▶ container exited: final pass until nothing is left
//        ─▶ "shipped" saved: only now may the container (and its log file) be removed
//
// A crash after the sink acknowledged but before the offset was saved sends those lines again on
// restart; each line carries its log offset so the sink drops what it already stored.
//
// Backoff (src/core/retry-with-backoff.ts): transient failures (control plane unreachable) retry from 250 ms up to 30 s, forever:
// the lines are still on disk and the task's cleanup waits for them. A refusal
// (LogDeliveryRefusedError, e.g. a log group that does not exist without awslogs-create-group)
// retries from 1 s up to 60 s while the container runs, since the group may be created meanwhile;
// once the container has exited, a few refused attempts later the rest is dropped with a clear error
// rather than holding the task's resources forever.
import type { Clock } from "../core/clock.js";
import { retryWithBackoff } from "../core/retry-with-backoff.js";
import type { LogSink, RuntimePort } from "./ports.js";
import { LogDeliveryRefusedError } from "./ports.js";

export interface LogShipperParts {
  readonly taskId: string;
  readonly containerName: string;
  readonly runtimeId: string;
  readonly runtime: Pick<RuntimePort, "readLogs">;
  readonly sink: LogSink;
  readonly clock: Clock;
  readonly pollMs: number;
  readonly onError: (error: unknown, what: string) => void;
  /** The offset after the last acknowledged line, as saved. */
  readonly savedOffset: () => number;
  /** Saves a new offset durably (after the sink acknowledged the lines before it). */
  readonly saveOffset: (offset: number) => Promise<void>;
  /** Saves that every line reached the sink (or was dropped): the log may be deleted. */
  readonly markShipped: () => Promise<void>;
  /** Aborted when the container has exited: one final pass, then done. */
  readonly exited: AbortSignal;
  /** Aborted when the agent detaches: stop at once, leaving the rest for the next agent. */
  readonly detached: AbortSignal;
}

const TRANSIENT_BACKOFF = { firstMs: 250, maxMs: 30_000 };
const REFUSED_BACKOFF = { firstMs: 1_000, maxMs: 60_000 };
/** Refused attempts after the container exited before the remaining lines are dropped. */
const REFUSED_FINAL_ATTEMPTS = 4;

const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

export async function shipContainerLogs(parts: LogShipperParts): Promise<void> {
  const what = `shipping logs of container ${parts.containerName}`;
  let refusedAfterExit = 0;
  let final = false;
  // One pass: read before deciding it is the last: an exit seen here means the file is complete.
  const pass = () => {
    final = parts.exited.aborted;
    return shipAvailable(parts, final);
  };
  for (;;) {
    try {
      const result = await retryWithBackoff(pass, {
        clock: parts.clock,
        signal: parts.detached,
        backoff: (error) => (error instanceof LogDeliveryRefusedError ? REFUSED_BACKOFF : TRANSIENT_BACKOFF),
        onFailure: (error, { attempt, delayMs }) => {
          if (error instanceof LogDeliveryRefusedError && final && ++refusedAfterExit >= REFUSED_FINAL_ATTEMPTS) return "give-up";
          // Logged on the 1st, 2nd, 4th, 8th… failure: visible, but not a line every retry.
          if (isPowerOfTwo(attempt)) parts.onError(error, `${what} failed (attempt ${attempt}); retrying in ${delayMs} ms`);
          return "wait";
        },
      });
      if (result.stopped) return;
    } catch (refused) {
      await dropRemaining(parts, refused);
      return;
    }
    if (final) {
      await parts.markShipped();
      return;
    }
    // Woken early by the exit, so the final pass follows at once.
    await parts.clock.sleep(parts.pollMs, AbortSignal.any([parts.exited, parts.detached])).catch(() => undefined);
  }
}

/** Sends everything readable now, batch by batch, saving the offset after each acknowledgement. */
async function shipAvailable(parts: LogShipperParts, final: boolean): Promise<void> {
  for (;;) {
    if (parts.detached.aborted) return;
    const chunk = await parts.runtime.readLogs(parts.runtimeId, parts.savedOffset(), { final });
    // Detached during the read: the closing agent waits for the read to end (TaskRunner.detach)
    // and sends nothing more; the next agent ships these lines from the saved offset.
    if (chunk.events.length === 0 || parts.detached.aborted) return;
    await parts.sink.write(parts.taskId, parts.containerName, chunk.events);
    await parts.saveOffset(chunk.nextOffset);
  }
}

async function dropRemaining(parts: LogShipperParts, cause: unknown): Promise<void> {
  let dropped = 0;
  for (;;) {
    const chunk = await parts.runtime.readLogs(parts.runtimeId, parts.savedOffset(), { final: true });
    if (chunk.events.length === 0) break;
    dropped += chunk.events.length;
    await parts.saveOffset(chunk.nextOffset);
  }
  parts.onError(
    new Error(`${dropped} log line(s) of container ${parts.containerName} were dropped after it exited: ${(cause as Error).message}`, { cause }),
    `shipping logs of container ${parts.containerName}`,
  );
  await parts.markShipped();
}
