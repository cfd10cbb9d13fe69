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
  /**
   * Asks for a pass soon instead of at the end of the interval (a signal says there is work).
   * Wakes during a pass are remembered: one more pass runs after it.
   */
  wake(): void;
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
  /**
   * The least time between the end of one pass and the start of the next, however often the loop
   * is woken (default 0): a burst of signals (a thousand tasks reporting) runs a few passes, not
   * one per signal back to back.
   */
  readonly minGapMs?: number;
  /**
   * One pass; `lease` is what it holds (for writes that check it themselves, Store.exclusively's
   * fence). A pass that may outlast its lease calls `renew` now and then (false: the lease is lost,
   * stop). Answering true asks for the next pass at once.
   */
  readonly pass: (fenced: Fenced, lease: HeldLease, renew: () => Promise<boolean>) => Promise<void | boolean>;
}

export function leaseTtlMs(intervalMs: number): number {
  return 2 * intervalMs + 10_000;
}

export function startPeriodicLoop(options: PeriodicLoopOptions): PeriodicLoop {
  const { store, clock } = options;
  const abort = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let held: HeldLease | undefined;
  // A wake cuts the current sleep short; one that comes during a pass makes the next sleep zero.
  let cutSleep = new AbortController();
  let woken = false;
  let lastPassEndMs = Number.NEGATIVE_INFINITY;
  const onePass = async (): Promise<boolean> => {
    held = await store.leases.acquire(options.name, options.holder, clock.now(), leaseTtlMs(options.intervalMs));
    if (!held) return false; // another replica runs this loop
    const lease = held;
    // A renewal by the holder keeps the fencing token: the same lease, held longer.
    const renew = async () => {
      const renewed = await store.leases.acquire(options.name, options.holder, clock.now(), leaseTtlMs(options.intervalMs));
      return renewed?.fencingToken === lease.fencingToken;
    };
    return (await options.pass((work) => store.fenced(lease, () => clock.now(), work), lease, renew)) === true;
  };
  const runOnce = () => {
    const pass = running.then(async () => {
      try {
        return await onePass();
      } catch (error) {
        options.logger.error({ loop: options.name, err: error }, "control loop pass failed");
        return false;
      }
    });
    running = pass.then(() => undefined);
    return pass;
  };
  const schedule = async () => {
    let waitMs = options.firstPassAfterMs ?? options.intervalMs;
    while (!abort.signal.aborted) {
      if (!woken) {
        try {
          await clock.sleep(waitMs, cutSleep.signal);
        } catch {
          if (abort.signal.aborted) return;
        }
      }
      const gapLeftMs = lastPassEndMs + (options.minGapMs ?? 0) - clock.now();
      if (gapLeftMs > 0) await clock.sleep(gapLeftMs, abort.signal).catch(() => undefined);
      woken = false;
      cutSleep = new AbortController();
      if (abort.signal.aborted) return;
      waitMs = options.intervalMs;
      const again = await runOnce();
      lastPassEndMs = clock.now();
      if (again) woken = true;
    }
  };
  abort.signal.addEventListener("abort", () => cutSleep.abort(), { once: true });
  void schedule();
  return {
    runOnce: () => runOnce().then(() => undefined),
    wake() {
      woken = true;
      cutSleep.abort();
    },
    async stop() {
      abort.abort();
      await running;
      // Another replica takes the loop over at its next pass instead of after the lease runs out.
      if (held) await store.leases.release(held).catch(() => undefined);
      held = undefined;
    },
  };
}
