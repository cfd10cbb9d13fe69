// Logs Insights (issue 16): `stats count(*), avg(latency) by bin(1m)` over 1,000,000 JSON events,
// StartQuery to GetQueryResults' Complete through the Logs service module on a SQLite store file
// (the server's code path minus HTTP), against the same aggregation by jq over the same events
// exported to a file (one JSON object per line: the message's fields and the event's timestamp).
// Targets: ≤ 2 s, and ≥ 0.5× jq's speed. Also printed: the CPU time this process used during each
// query (on a shared machine the wall time includes waiting for a core).
//   node --import tsx bench/logs-insights.ts        (BENCH_EVENTS=… to change the count)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogsService } from "../src/api/logs/index.js";
import { systemClock } from "../src/core/clock.js";
import { openStore } from "../src/store/index.js";

const EVENTS = Number(process.env["BENCH_EVENTS"] ?? 1_000_000);
const QUERY = "stats count(*), avg(latency) by bin(1m)";
const JQ = "reduce inputs as $e ({}; (($e.timestamp / 60000 | floor) * 60000 | tostring) as $k | .[$k].count += 1 | .[$k].sum += $e.latency)";
const ROUNDS = 3;

const dir = mkdtempSync(join(tmpdir(), "berth-bench-insights-"));
const store = await openStore({ path: join(dir, "berth.db") });
try {
  const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
  const now = Date.now();
  const group = (await store.logs.createGroup({ name: "/bench", createdAt: now, logGroupClass: "STANDARD", tags: {} }))!;
  const stream = (await store.logs.createStream(group.id, "s", now))!;
  // One event every 40 ms, ending now: 1,000,000 events span about 11 hours (667 one-minute bins).
  const first = now - EVENTS * 40;
  const lines: string[] = [];
  const started = performance.now();
  for (let offset = 0; offset < EVENTS; offset += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, EVENTS - offset) }, (_, k) => {
      const i = offset + k;
      const message = JSON.stringify({
        level: i % 50 === 0 ? "ERROR" : "INFO",
        latency: (i * 7919) % 1000,
        path: `/api/v1/items/${i % 97}`,
        status: 200,
        requestId: `req-${i}`,
      });
      const timestamp = first + i * 40;
      lines.push(`{"timestamp":${timestamp},${message.slice(1)}`);
      return { timestamp, message };
    });
    await store.logs.appendEvents(stream, batch, now);
  }
  const exportFile = join(dir, "events.jsonl");
  writeFileSync(exportFile, lines.join("\n") + "\n");
  lines.length = 0;
  console.log(`${EVENTS.toLocaleString()} events stored and exported in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const service = createLogsService({ logs: store.logs, clock: systemClock, scope, insights: store.logsInsights });
  const call = (operation: string, input: object) => service.operations[operation]!(input as never, {} as never) as Promise<Record<string, unknown>>;
  const berth: number[] = [];
  const berthCpu: number[] = [];
  const jq: number[] = [];
  let berthRows = 0;
  let jqBins = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const { queryId } = await call("StartQuery", {
      logGroupName: "/bench",
      startTime: Math.floor(first / 1000),
      endTime: Math.ceil(now / 1000),
      queryString: QUERY,
      limit: 10_000,
    });
    let answer: Record<string, unknown>;
    for (;;) {
      answer = await call("GetQueryResults", { queryId });
      if (answer["status"] !== "Running" && answer["status"] !== "Scheduled") break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    berth.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    berthCpu.push((cpu.user + cpu.system) / 1000);
    if (answer["status"] !== "Complete") throw new Error(`query ended ${String(answer["status"])}`);
    berthRows = (answer["results"] as unknown[]).length;
    const statistics = answer["statistics"] as { recordsScanned: number };
    if (statistics.recordsScanned !== EVENTS) throw new Error(`scanned ${statistics.recordsScanned}`);

    const t1 = performance.now();
    const out = execFileSync("/usr/bin/jq", ["-n", "-c", JQ, exportFile], { maxBuffer: 64 * 1024 * 1024 }).toString();
    jq.push(performance.now() - t1);
    jqBins = Object.keys(JSON.parse(out) as object).length;
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`query: ${QUERY}`);
  console.log(`berth StartQuery → Complete (ms): ${berth.map((ms) => ms.toFixed(0)).join(", ")}; median ${median(berth).toFixed(0)} ms; ${berthRows} rows`);
  console.log(`berth process CPU during the query (ms): ${berthCpu.map((ms) => ms.toFixed(0)).join(", ")}; median ${median(berthCpu).toFixed(0)} ms`);
  console.log(`jq -n 'reduce inputs …' (ms):     ${jq.map((ms) => ms.toFixed(0)).join(", ")}; median ${median(jq).toFixed(0)} ms; ${jqBins} bins`);
  console.log(
    `berth speed / jq speed: ${(median(jq) / median(berth)).toFixed(2)} (target ≥ 0.5); berth median ≤ 2,000 ms: ${median(berth) <= 2000 ? "met" : "NOT met"}`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
