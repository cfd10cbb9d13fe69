import { test } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "./clock.js";
import { backoffDelayMs, retryWithBackoff } from "./retry-with-backoff.js";

/** A clock whose sleeps end at once, recording each wait; an aborted signal rejects as the real one does. */
function recordingClock(): Pick<Clock, "sleep"> & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      waits.push(ms);
    },
  };
}

const failing = (times: number, error: unknown = new Error("down")) => {
  let calls = 0;
  return async () => {
    calls += 1;
    if (calls <= times) throw error;
    return calls;
  };
};

test("the delay doubles from the first to the cap, and resets for a new call", async () => {
  const clock = recordingClock();
  const result = await retryWithBackoff(failing(6), { clock, signal: new AbortController().signal, backoff: { firstMs: 100, maxMs: 1_000 } });
  assert.deepEqual(result, { stopped: false, value: 7 });
  assert.deepEqual(clock.waits, [100, 200, 400, 800, 1_000, 1_000]);
  assert.equal(backoffDelayMs({ firstMs: 250, maxMs: 30_000 }, 1_000), 30_000, "a long outage neither overflows nor passes the cap");
});

test("jitter waits between half and all of each delay", async () => {
  const clock = recordingClock();
  const draws = [0, 1, 0.5];
  await retryWithBackoff(failing(3), {
    clock,
    signal: new AbortController().signal,
    backoff: { firstMs: 200, maxMs: 10_000 },
    jitter: true,
    random: () => draws.shift()!,
  });
  assert.deepEqual(clock.waits, [100, 400, 600]);
});

test("aborting stops the retries and ends the wait in progress, without an exception", async () => {
  const stop = new AbortController();
  let attempts = 0;
  const clock: Pick<Clock, "sleep"> = {
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        stop.abort(); // the wait is in progress when the stop comes
      }),
  };
  const result = await retryWithBackoff(
    async () => {
      attempts += 1;
      throw new Error("down");
    },
    { clock, signal: stop.signal, backoff: { firstMs: 1_000, maxMs: 1_000 } },
  );
  assert.deepEqual(result, { stopped: true });
  assert.equal(attempts, 1, "no attempt after the stop");
  assert.deepEqual(
    await retryWithBackoff(async () => 1, { clock, signal: stop.signal, backoff: { firstMs: 1, maxMs: 1 } }),
    { stopped: true },
    "a stopped signal runs nothing",
  );
});

test("onFailure sees each failure, may give up (the error is thrown) or retry at once", async () => {
  const clock = recordingClock();
  const seen: [string, number, number][] = [];
  const permanent = new Error("refused");
  await assert.rejects(
    retryWithBackoff(failing(5, permanent), {
      clock,
      signal: new AbortController().signal,
      backoff: { firstMs: 10, maxMs: 100 },
      onFailure: (error, { attempt, delayMs }) => {
        seen.push([(error as Error).message, attempt, delayMs]);
        return attempt === 1 ? "now" : attempt === 3 ? "give-up" : "wait";
      },
    }),
    permanent,
  );
  assert.deepEqual(seen, [
    ["refused", 1, 10],
    ["refused", 2, 20],
    ["refused", 3, 40],
  ]);
  assert.deepEqual(clock.waits, [20], "no wait after 'now', none after giving up");
});

test("the backoff may depend on the failure", async () => {
  const clock = recordingClock();
  let calls = 0;
  await retryWithBackoff(
    async () => {
      calls += 1;
      if (calls === 1) throw new RangeError("refused");
      if (calls === 2) throw new Error("down");
    },
    {
      clock,
      signal: new AbortController().signal,
      backoff: (error) => (error instanceof RangeError ? { firstMs: 1_000, maxMs: 60_000 } : { firstMs: 250, maxMs: 30_000 }),
    },
  );
  assert.deepEqual(clock.waits, [1_000, 500], "the attempt count is shared, the delays are the failure's own");
});
