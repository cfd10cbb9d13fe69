// FilterLogEvents under an expensive %regex%: the pattern limits, and the time budget per call
// that keeps a scan from holding the event loop (heartbeats, every other request).
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import RE2 from "re2";
import type { Clock } from "../../core/clock.js";
import type { Store } from "../../store/index.js";
import { openStore } from "../../store/index.js";
import type { FilterLogEventsResponse } from "@aws-sdk/client-cloudwatch-logs";
import type { EventMatcher } from "./filter-pattern.js";
import { filterLogEvents, putLogEvents } from "./log-events.js";
import type { LogsContext } from "./log-groups.js";
import { createLogGroup, createLogStream } from "./log-groups.js";

/** The security review's pattern: 51 characters, about 26 µs per character of event on RE2. */
const REVIEW_PATTERN = `%${"[\\s\\S]{1000}".repeat(4)}z%`;

let store: Store;
let context: LogsContext;
beforeEach(async () => {
  store = await openStore({ inMemory: true });
  const now = Date.UTC(2026, 10, 1);
  const clock: Clock = { now: () => now, sleep: async () => {} };
  context = { logs: store.logs, clock, scope: { partition: "aws", region: "us-east-1", accountId: "123456789012" } };
  await createLogGroup(context, { logGroupName: "/ecs/app" });
  await createLogStream(context, { logGroupName: "/ecs/app", logStreamName: "s1" });
});
afterEach(() => store.close());

/** Puts the messages, as many batches as PutLogEvents' 1 MiB limit needs, one millisecond apart. */
async function put(messages: string[]) {
  for (let start = 0; start < messages.length; start += 4) {
    await putLogEvents(context, {
      logGroupName: "/ecs/app",
      logStreamName: "s1",
      logEvents: messages.slice(start, start + 4).map((message, i) => ({ timestamp: context.clock.now() - 1000 + start + i, message })),
    });
  }
}

test("the review's 51-character pattern is refused before anything is scanned", async () => {
  assert.equal(REVIEW_PATTERN.length, 51);
  await put(["x".repeat(100_000)]);
  await assert.rejects(filterLogEvents(context, { logGroupName: "/ecs/app", filterPattern: REVIEW_PATTERN }), {
    name: "InvalidParameterException",
    message: /counted repetitions .* at most 100; this one adds up to 4000/,
  });
});

test("a filterPattern longer than AWS's 1024 characters is refused with AWS's validation message", async () => {
  const pattern = "a".repeat(1025);
  await assert.rejects(filterLogEvents(context, { logGroupName: "/ecs/app", filterPattern: pattern }), {
    name: "InvalidParameterException",
    message: `1 validation error detected: Value '${pattern}' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024`,
  });
  await put(["a".repeat(2000)]);
  const ok = await filterLogEvents(context, { logGroupName: "/ecs/app", filterPattern: "a".repeat(1024) });
  assert.equal(ok.events!.length, 1, "1024 characters are allowed");
});

test("a slow matcher: each call stops after its time budget, the loop stays responsive, paging finds every match once", async (t) => {
  // A matcher that costs what the static limits are there to refuse (\pL{30}: ~40 ms for 50,000
  // "é"), built without those limits, as a pattern that slipped past them would behave. Events of
  // 100 KB (50,000 two-byte characters); every third ends in "z" and matches.
  const slow = (pattern: string | undefined): EventMatcher => {
    const expression = new RE2((pattern ?? "").slice(1, -1), "u");
    return (message) => expression.test(message);
  };
  const pattern = "%\\pL{30}z%";
  const messages = Array.from({ length: 36 }, (_, i) => `${i} ${"é".repeat(49_990)}${i % 3 === 0 ? "z" : "."}`);
  await put(messages);
  const expected = messages.filter((m) => m.endsWith("z"));

  // The unbounded cost, for the record: the same matcher over every event, in one go.
  const matcher = slow(pattern);
  const startedAll = performance.now();
  assert.deepEqual(messages.filter(matcher), expected);
  const unboundedMs = performance.now() - startedAll;

  // A timer due every 10 ms; the lag of its worst tick is how long the loop was blocked.
  let last = performance.now();
  let worstLagMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstLagMs = Math.max(worstLagMs, now - last - 10);
    last = now;
  }, 10);
  const seen: string[] = [];
  const callMs: number[] = [];
  let nextToken: string | undefined;
  let calls = 0;
  try {
    do {
      // Yield between calls as a server does between requests, so that the timer can tick.
      await new Promise((resolve) => setTimeout(resolve, 15));
      const started = performance.now();
      const page: FilterLogEventsResponse = await filterLogEvents(
        context,
        { logGroupName: "/ecs/app", filterPattern: pattern, ...(nextToken ? { nextToken } : {}) },
        { compile: slow },
      );
      callMs.push(performance.now() - started);
      seen.push(...page.events!.map((e) => e.message!));
      nextToken = page.nextToken;
      calls++;
      assert.ok(calls < 200, "paging ends");
    } while (nextToken !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 30));
  } finally {
    clearInterval(ticker);
  }
  const diagnostics = `unbounded ${unboundedMs.toFixed(0)} ms; ${calls} calls of ${callMs.map((ms) => ms.toFixed(0)).join("/")} ms; worst timer lag ${worstLagMs.toFixed(0)} ms`;
  t.diagnostic(diagnostics);
  assert.ok(unboundedMs > 600, `the matcher is slow enough to need the budget: ${diagnostics}`);
  assert.ok(calls > 1, `the scan was split into several calls: ${diagnostics}`);
  // Bounds relative to the unbounded scan, measured in the same run: a loaded machine slows both
  // alike (on a quiet one a call takes ~200 ms against an unbounded scan of ~1 s; under CI load
  // 580 ms against 2.6 s). Without the budget one call would be the whole scan.
  assert.ok(Math.max(...callMs) < unboundedMs / 2, `every call returned within its budget and one event: ${diagnostics}`);
  assert.ok(worstLagMs < unboundedMs / 2, `the event loop was never blocked for long: ${diagnostics}`);
  assert.deepEqual(seen, expected, "paging through the nextTokens returns each match exactly once, in order");
});

test("the budget leaves small scans alone: one call, no nextToken", async () => {
  await put(["ERROR one", "INFO two", "ERROR three"]);
  const page = await filterLogEvents(context, { logGroupName: "/ecs/app", filterPattern: "%ERROR%" });
  assert.deepEqual(
    page.events!.map((e) => e.message),
    ["ERROR one", "ERROR three"],
  );
  assert.equal(page.nextToken, undefined);
});
