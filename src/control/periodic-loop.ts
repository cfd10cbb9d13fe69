// A level-triggered loop run every `intervalMs` (DESIGN.md, rule 4): each pass looks at the
// current state and moves it one step; a pass that throws is logged and the next pass runs again.
//
// Several replicas may share one store, and each runs every loop; a loop's passes must still run
// on one replica at a time. So each pass first takes (or renews) the loop's lease in the store, and
// a replica that does not hold it skips the pass. The pass makes its writes through `fenced`: each
// such transaction is refused (LeaseLostError) once the lease has moved on, so a replica that
// stalled past its lease cannot write over its successor's work. The lease runs for twice the
// interval plus 10 s from each renewal: a replica that dies holding it is replaced within that.
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { HeldLease, Repositories, Store } from "../store/index.js";

export interface PeriodicLoop {
  /** Runs one pass now (tests and shutdown use it); resolves when the pass is done. */
  runOnce(): Promise<void>;
  /** Stops scheduling passes, waits for a running one to finish and gives the lease up. */
  stop(): Promise<void>;
}

/** Runs `work` in a transaction that holds the loop's lease, or refuses it (LeaseLostError). */
export type Fenced = <T>(work: (tx: Repositories) => Promise<T>) => Promise<T>;

export interface PeriodicLoopOptions {
  /** Also the lease's name: one lease per loop, whichever replica runs it. */
  readonly name: string;
  readonly intervalMs: number;
  /** When the first pass runs (default: after one interval). */
  readonly firstPassAfterMs?: number;
  readonly clock: Clock;
  readonly logger: Pick<Logger, "error">;
  readonly store: Pick<Store, "leases" | "fenced">;
  /** This replica's name in the store's leases (unique per process). */
  readonly holder: string;
  readonly pass: (fenced: Fenced) => Promise<void>;
}

export function leaseTtlMs(intervalMs: number): number {
  return 2 * intervalMs + 10_000;
}

export function startPeriodicLoop(options: PeriodicLoopOptions): PeriodicLoop {
  const { store, clock } = options;
  const abort = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let held: HeldLease | undefined;
  const onePass = async () => {
    held = await store.leases.acquire(options.name, options.holder, clock.now(), leaseTtlMs(options.intervalMs));
    if (!held) return; // another replica runs this loop
    const lease = held;
    await options.pass((work) => store.fenced(lease, clock.now(), work));
  };
  const runOnce = () => {
    running = running.then(async () => {
      try {
        await onePass();
      } catch (error) {
        options.logger.error({ loop: options.name, err: error }, "control loop pass failed");
      }
    });
    return running;
  };
  const schedule = async () => {
    let waitMs = options.firstPassAfterMs ?? options.intervalMs;
    while (!abort.signal.aborted) {
      try {
        await clock.sleep(waitMs, abort.signal);
        waitMs = options.intervalMs;
      } catch {
        return; // aborted
      }
      await runOnce();
    }
  };
  void schedule();
  return {
    runOnce,
    async stop() {
      abort.abort();
      await running;
      // Another replica takes the loop over at its next pass instead of after the lease runs out.
      if (held) await store.leases.release(held).catch(() => undefined);
      held = undefined;
    },
  };
}
