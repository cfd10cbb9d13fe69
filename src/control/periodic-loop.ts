// A level-triggered loop run every `intervalMs` (DESIGN.md, rule 4): each pass looks at the
// current state and moves it one step; a pass that throws is logged and the next pass runs again.
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";

export interface PeriodicLoop {
  /** Runs one pass now (tests and shutdown use it); resolves when the pass is done. */
  runOnce(): Promise<void>;
  /** Stops scheduling passes and waits for a running one to finish. */
  stop(): Promise<void>;
}

export function startPeriodicLoop(options: {
  name: string;
  intervalMs: number;
  clock: Clock;
  logger: Pick<Logger, "error">;
  pass: () => Promise<void>;
}): PeriodicLoop {
  const abort = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const runOnce = () => {
    running = running.then(async () => {
      try {
        await options.pass();
      } catch (error) {
        options.logger.error({ loop: options.name, err: error }, "control loop pass failed");
      }
    });
    return running;
  };
  const schedule = async () => {
    while (!abort.signal.aborted) {
      try {
        await options.clock.sleep(options.intervalMs, abort.signal);
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
    },
  };
}
