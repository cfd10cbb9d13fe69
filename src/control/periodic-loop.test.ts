import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { Clock } from "../core/clock.js";
import { systemClock } from "../core/clock.js";
import type { Store } from "../store/index.js";
import { leaseTtlMs, startPeriodicLoop } from "./periodic-loop.js";

const HOUR = 3_600_000;

eachStoreBackend((backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(() => store.close());

  test("of two replicas' loops, only the lease holder runs passes; the other takes over when it stops or its lease runs out", async () => {
    let nowMs = 1_000;
    // Passes are run by hand (runOnce); the interval only sets the lease's time.
    const clock: Clock = { now: () => nowMs, sleep: (ms, signal) => systemClock.sleep(ms + HOUR, signal) };
    const errors: unknown[] = [];
    const ran: string[] = [];
    const loopOf = (holder: string) =>
      startPeriodicLoop({
        name: "reaper",
        intervalMs: 1_000,
        clock,
        logger: { error: (details) => errors.push(details) },
        store,
        holder,
        pass: (fenced) => fenced(async (tx) => void (await tx.accountSettings.put("p", `${holder}-${nowMs}`, "ran"), ran.push(holder))),
      });
    const a = loopOf("replica-a");
    const b = loopOf("replica-b");
    await a.runOnce();
    await b.runOnce();
    nowMs += 500;
    await b.runOnce();
    await a.runOnce();
    assert.deepEqual(ran, ["replica-a", "replica-a"], "b never runs while a holds the lease");
    // a stops renewing (it hung, or died) and its lease runs out: b takes over.
    nowMs += leaseTtlMs(1_000) + 1;
    await b.runOnce();
    assert.deepEqual(ran.at(-1), "replica-b");
    await b.stop();
    await a.runOnce();
    assert.deepEqual(ran.at(-1), "replica-a", "a stopped loop gives its lease up at once");
    await a.stop();
    assert.deepEqual(errors, []);
  });

  test("a holder that stalls past its lease has its writes refused once another replica took over", async () => {
    let nowMs = 0;
    const clock: Clock = { now: () => nowMs, sleep: (ms, signal) => systemClock.sleep(ms + HOUR, signal) };
    const errors: { err?: unknown }[] = [];
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const slow = startPeriodicLoop({
      name: "gc",
      intervalMs: 1_000,
      clock,
      logger: { error: (details) => errors.push(details) },
      store,
      holder: "slow",
      pass: async (fenced) => {
        await stalled; // a long pause, between taking the lease and writing
        await fenced((tx) => tx.accountSettings.put("p", "written-by", "slow"));
      },
    });
    const pass = slow.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 50));
    nowMs += leaseTtlMs(1_000) + 1;
    const fast = startPeriodicLoop({
      name: "gc",
      intervalMs: 1_000,
      clock,
      logger: { error: () => undefined },
      store,
      holder: "fast",
      pass: (fenced) => fenced((tx) => tx.accountSettings.put("p", "written-by", "fast")),
    });
    await fast.runOnce();
    release();
    await pass;
    assert.deepEqual(
      (await store.accountSettings.list()).map((setting) => setting.value),
      ["fast"],
    );
    assert.equal((errors[0]?.err as Error | undefined)?.name, "LeaseLostError");
    await slow.stop();
    await fast.stop();
  });

  test("a burst of wakes runs a few passes, at most one per minGapMs; a pass that renews keeps its lease and token", async () => {
    let passes = 0;
    const renewals: boolean[] = [];
    const loop = startPeriodicLoop({
      name: "burst",
      intervalMs: HOUR,
      firstPassAfterMs: HOUR,
      minGapMs: 150,
      clock: systemClock,
      logger: { error: () => undefined },
      store,
      holder: "replica",
      pass: async (_fenced, lease, renew) => {
        passes++;
        renewals.push(await renew());
        assert.equal((await store.leases.get("burst"))!.fencingToken, lease.fencingToken);
      },
    });
    const startedMs = Date.now();
    for (let i = 0; i < 40; i++) {
      loop.wake();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const elapsedMs = Date.now() - startedMs;
    await loop.stop();
    // 40 wakes over elapsedMs: without the gap a pass per wake (each pass takes a few ms).
    assert.ok(passes >= 1 && passes <= Math.ceil(elapsedMs / 150) + 1, `${passes} passes in ${elapsedMs} ms`);
    assert.ok(renewals.every(Boolean));
  });
});
