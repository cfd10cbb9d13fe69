// Metric filters on ingest (issue 16): the cost of storing events in a log group with 5 metric
// filters (JSON count with a default value, JSON value, space-delimited value with a dimension,
// %regex%, terms) against the same events into a group with none, in the same run, through the
// evaluator-wrapped LogsRepository.appendEvents that PutLogEvents and the agents' ingest share, on a
// SQLite store file. Rounds alternate between the two groups so that load from other sessions
// falls on both alike.
//   node --import tsx bench/logs-metric-filters.ts        (BENCH_BATCHES=… to change the size)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MetricFilterEvaluator } from "../src/api/logs/metric-filter-evaluator.js";
import { openStore } from "../src/store/index.js";

const BATCHES = Number(process.env["BENCH_BATCHES"] ?? 40);
const BATCH_SIZE = 1_000;
const ROUNDS = 5;

const dir = mkdtempSync(join(tmpdir(), "berth-bench-metric-filters-"));
const store = await openStore({ path: join(dir, "berth.db") });
try {
  const now = Date.now();
  const evaluator = new MetricFilterEvaluator(
    store.logMetricFilters,
    () => Date.now(),
    (error) => console.error(error),
  );
  const logs = evaluator.wrap(store.logs);
  const plain = (await store.logs.createGroup({ name: "/plain", createdAt: now, logGroupClass: "STANDARD", tags: {} }))!;
  const metered = (await store.logs.createGroup({ name: "/metered", createdAt: now, logGroupClass: "STANDARD", tags: {} }))!;
  const filters: [string, string, Record<string, unknown>][] = [
    ["errors", '{ $.level = "ERROR" }', { metricValue: "1", defaultValue: 0 }],
    ["latency", "{ $.latency > 0 }", { metricValue: "$.latency" }],
    ["bytes", "[ip, method, path, status = 4*, bytes]", { metricValue: "$bytes", dimensions: { Status: "$status" } }],
    ["gets", "%/items/9[0-9]%", { metricValue: "1" }],
    ["timeouts", "timeout -retry", { metricValue: "1" }],
  ];
  for (const [filterName, filterPattern, extra] of filters) {
    await store.logMetricFilters.put(
      {
        groupId: metered.id,
        filterName,
        filterPattern,
        transformation: { metricName: filterName, metricNamespace: "Bench", metricValue: "1", ...extra } as never,
        createdAt: now,
      },
      100,
    );
  }
  // Half JSON events, half access-log lines, a few with "timeout".
  const batch = (round: number, index: number) =>
    Array.from({ length: BATCH_SIZE }, (_, k) => {
      const i = index * BATCH_SIZE + k;
      const message =
        i % 2 === 0
          ? JSON.stringify({
              level: i % 50 === 0 ? "ERROR" : "INFO",
              latency: (i * 7919) % 1000,
              path: `/api/v1/items/${i % 97}`,
              requestId: `req-${round}-${i}`,
            })
          : `10.0.${i % 256}.${i % 7} GET /api/v1/items/${i % 97} ${i % 9 === 0 ? 404 : 200} ${(i * 31) % 5000}${i % 100 === 1 ? " timeout" : ""}`;
      return { timestamp: now - 3_600_000 + i * 10, message };
    });
  const ingest = async (groupId: number, streamName: string, round: number) => {
    const stream = (await store.logs.createStream(groupId, streamName, now))!;
    const batches = Array.from({ length: BATCHES }, (_, index) => batch(round, index));
    const started = performance.now();
    for (const events of batches) await logs.appendEvents(stream, events, now);
    return performance.now() - started;
  };
  await ingest(plain.id, "warm-plain", -1);
  await ingest(metered.id, "warm-metered", -1);
  const plainMs: number[] = [];
  const meteredMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    plainMs.push(await ingest(plain.id, `p${round}`, round));
    meteredMs.push(await ingest(metered.id, `m${round}`, round));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const events = BATCHES * BATCH_SIZE;
  const perSecond = (ms: number) => Math.round(events / (ms / 1000)).toLocaleString("en-US");
  console.log(`${events.toLocaleString("en-US")} events per round in batches of ${BATCH_SIZE}, ${ROUNDS} rounds`);
  console.log(
    `no filters:  ${plainMs.map((ms) => ms.toFixed(0)).join(", ")} ms; median ${median(plainMs).toFixed(0)} ms (${perSecond(median(plainMs))} events/s)`,
  );
  console.log(
    `5 filters:   ${meteredMs.map((ms) => ms.toFixed(0)).join(", ")} ms; median ${median(meteredMs).toFixed(0)} ms (${perSecond(median(meteredMs))} events/s)`,
  );
  console.log(`cost of 5 filters: ${(median(meteredMs) / median(plainMs)).toFixed(2)}× the ingest time without`);
  const errors = await store.logMetricFilters.aggregates("Bench", "errors");
  console.log(`aggregate rows for "errors": ${errors.length}; samples ${errors.reduce((n, row) => n + row.count, 0).toLocaleString("en-US")}`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
