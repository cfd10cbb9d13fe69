// The evaluator over a real (in-memory) store: what the wrapped appendEvents records, for the
// agents' positioned lines as for PutLogEvents, and when a change to the filters applies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "../../store/index.js";
import type { Store } from "../../store/index.js";
import { CACHE_TTL_MS, MetricFilterEvaluator } from "./metric-filter-evaluator.js";

async function fixture(): Promise<{ store: Store; now: { ms: number }; evaluator: MetricFilterEvaluator; errors: unknown[]; groupId: number }> {
  const store = await openStore({ inMemory: true });
  const now = { ms: 1_800_000_000_000 };
  const errors: unknown[] = [];
  const evaluator = new MetricFilterEvaluator(
    store.logMetricFilters,
    () => now.ms,
    (error) => errors.push(error),
  );
  const group = (await store.logs.createGroup({ name: "/g", createdAt: now.ms, logGroupClass: "STANDARD", tags: {} }))!;
  return { store, now, evaluator, errors, groupId: group.id };
}

const countFilter = (groupId: number, filterName: string, filterPattern: string) => ({
  groupId,
  filterName,
  filterPattern,
  transformation: { metricName: filterName, metricNamespace: "T", metricValue: "1" },
  createdAt: 0,
});

test("an agent's line sent again is stored once and counted once", async () => {
  const { store, evaluator, groupId } = await fixture();
  await store.logMetricFilters.put(countFilter(groupId, "errors", "ERROR"), 100);
  const logs = evaluator.wrap(store.logs);
  const stream = (await store.logs.createStream(groupId, "ecs/web/1", 0))!;
  const lines = [
    { timestamp: 60_000, message: "ERROR one", sourceOffset: 10 },
    { timestamp: 60_001, message: "ERROR two", sourceOffset: 20 },
  ];
  assert.equal((await logs.appendEvents(stream, lines, 0)).length, 2);
  // The same batch again (an agent retrying after a lost answer), and one new line.
  const again = await logs.appendEvents(stream, [...lines, { timestamp: 60_002, message: "ERROR three", sourceOffset: 30 }], 0);
  assert.deepEqual(
    again.map((event) => event.message),
    ["ERROR three"],
  );
  const [row] = await store.logMetricFilters.aggregates("T", "errors");
  assert.equal(row?.count, 3);
  assert.equal(row?.minute, 60_000);
  await store.close();
});

test("a Put or Delete on this replica applies at once; one through another replica within the cache's lifetime", async () => {
  const { store, now, evaluator, groupId } = await fixture();
  const logs = evaluator.wrap(store.logs);
  const stream = (await store.logs.createStream(groupId, "s", 0))!;
  const put = (messages: string[]) =>
    logs.appendEvents(
      stream,
      messages.map((message) => ({ timestamp: 0, message })),
      0,
    );
  await put(["x"]); // caches "no filters"
  await store.logMetricFilters.put(countFilter(groupId, "xs", "x"), 100);
  evaluator.invalidate(groupId); // what PutMetricFilter does
  await put(["x"]);
  assert.equal((await store.logMetricFilters.aggregates("T", "xs"))[0]?.count, 1);
  // Another replica deletes it: this one still counts until its cache entry expires.
  await store.logMetricFilters.delete(groupId, "xs");
  await put(["x"]);
  assert.equal((await store.logMetricFilters.aggregates("T", "xs"))[0]?.count, 2);
  now.ms += CACHE_TTL_MS;
  await put(["x"]);
  assert.equal((await store.logMetricFilters.aggregates("T", "xs"))[0]?.count, 2);
  await store.close();
});

test("a failure to record metrics is reported and does not fail the ingest", async () => {
  const { store, evaluator, errors, groupId } = await fixture();
  await store.logMetricFilters.put(countFilter(groupId, "all", ""), 100);
  const failing = new MetricFilterEvaluator(
    {
      ...store.logMetricFilters,
      addAggregates: () => Promise.reject(new Error("disk full")),
    },
    () => 0,
    (error) => errors.push(error),
  );
  const stream = (await store.logs.createStream(groupId, "s", 0))!;
  const stored = await failing.wrap(store.logs).appendEvents(stream, [{ timestamp: 0, message: "m" }], 0);
  assert.equal(stored.length, 1);
  assert.equal((errors[0] as Error).message, "disk full");
  assert.equal((await store.logs.groupEvents({ groupId, range: {}, limit: 10 })).length, 1);
  void evaluator;
  await store.close();
});

test("values and dimensions read from events; non-numbers, missing fields and oversize dimension values are skipped", async () => {
  const { store, evaluator, groupId } = await fixture();
  await store.logMetricFilters.put(
    {
      groupId,
      filterName: "latency",
      filterPattern: "{ $.latency = * }",
      transformation: { metricName: "Latency", metricNamespace: "T", metricValue: "$.latency", dimensions: { Path: "$.path" } },
      createdAt: 0,
    },
    100,
  );
  const stream = (await store.logs.createStream(groupId, "s", 0))!;
  const events = [
    { latency: 5, path: "/a" },
    { latency: 7, path: "/a" },
    { latency: 1, path: "/b" },
    { latency: "fast", path: "/a" },
    { latency: 3 },
    { latency: 9, path: "x".repeat(1025) },
    { latency: 2, path: { nested: true } },
  ].map((body, index) => ({ timestamp: index, message: JSON.stringify(body) }));
  await evaluator.wrap(store.logs).appendEvents(stream, events, 0);
  const rows = await store.logMetricFilters.aggregates("T", "Latency");
  assert.deepEqual(
    rows.map((row) => [row.dimensions, row.sum, row.count, row.min, row.max]),
    [
      [{ Path: "/a" }, 12, 2, 5, 7],
      [{ Path: "/b" }, 1, 1, 1, 1],
    ],
  );
  await store.close();
});

test("aggregates older than a minute given are purged (the log retention loop keeps 15 days)", async () => {
  const { store, evaluator, groupId } = await fixture();
  await store.logMetricFilters.put(countFilter(groupId, "all", ""), 100);
  const stream = (await store.logs.createStream(groupId, "s", 0))!;
  await evaluator.wrap(store.logs).appendEvents(
    stream,
    [0, 60_000, 120_000].map((timestamp) => ({ timestamp, message: "m" })),
    0,
  );
  assert.equal(await store.logMetricFilters.purgeAggregatesBefore(120_000), 2);
  assert.deepEqual(
    (await store.logMetricFilters.aggregates("T", "all")).map((row) => row.minute),
    [120_000],
  );
  await store.close();
});
