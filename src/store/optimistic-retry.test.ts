import { test } from "node:test";
import assert from "node:assert/strict";
import { LOST_RACE, withOptimisticRetry } from "./optimistic-retry.js";

test("retries an attempt that lost the race until one applies", async () => {
  let calls = 0;
  const answer = await withOptimisticRetry(async () => (++calls < 3 ? LOST_RACE : "applied"), { exhausted: () => "gave up" });
  assert.equal(answer, "applied");
  assert.equal(calls, 3);
});

test("gives up after the attempt budget with what exhausted() answers or throws", async () => {
  let calls = 0;
  assert.equal(await withOptimisticRetry(async () => (calls++, LOST_RACE), { attempts: 4, exhausted: () => "gave up" }), "gave up");
  assert.equal(calls, 4);
  await assert.rejects(
    withOptimisticRetry(async () => LOST_RACE, {
      exhausted: () => {
        throw new Error("lost five times");
      },
    }),
    /lost five times/,
  );
});

test("an attempt with nothing to write ends the retry at once", async () => {
  let calls = 0;
  assert.equal(await withOptimisticRetry(async () => (calls++, undefined), { exhausted: () => "gave up" }), undefined);
  assert.equal(calls, 1);
});
