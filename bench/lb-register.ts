// RegisterTargets to the first request served by the new target (issue 15's figure: with AWS's
// fastest health check settings, interval 5 s and healthy threshold 2, the new target serves within
// 1 s of its second passing check, median). Namespaces as bench/lb-throughput.ts; an src/lb
// HaproxyNode with one HTTP listener to a target group of targets 1 and 2 (interval 5 s, timeout
// 2 s, healthy threshold 2). A client in the client namespace sends BENCH_RATE requests a second
// throughout (keep-alive, open loop). Target 3's backend records, on its own clock line by line,
// each health check it receives and the first other request it serves. Each round:
//   register   target 3 added to the model, `apply` (the runtime API: added in maintenance, readied
//              with its health down, so it takes traffic only after 2 passing checks, as on AWS)
//   measure    first served − second passing check (both stamped by the backend as the requests
//              arrive; the checks all pass, the backend answers 200), and register → first served
//   deregister target 3 drained, then removed; its recorder re-armed
// Median over BENCH_ROUNDS rounds.
//   flock /tmp/berth-privileged.lock node --import tsx bench/lb-register.ts
//   (BENCH_ROUNDS default 6, BENCH_RATE default 200)
// Traffic: only inside the namespaces this bench creates and removes. Root. Never fails CI.
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { HaproxyNode } from "../src/lb/haproxy-node.js";
import { exec } from "../test/support/dataplane.js";
import { benchTeardown, buildLbBenchNetwork, cleanupOnSignals, lbBenchModel, median, startRateClient } from "../test/support/lb-bench-network.js";
import type { LbBenchNetwork } from "../test/support/lb-bench-network.js";
import { waitFor } from "../test/support/wait-for.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const HEALTH = { intervalSeconds: 5, timeoutSeconds: 2, healthyThreshold: 2 };

const workDir = mkdtempSync(join(tmpdir(), "berth-bench-lbg-"));
let network: LbBenchNetwork | undefined;
let node: HaproxyNode | undefined;
const now = () => performance.timeOrigin + performance.now();

const cleanup = benchTeardown({ node: () => node, network: () => network, workDir });

async function main(): Promise<void> {
  cleanupOnSignals(cleanup);
  network = await buildLbBenchNetwork("bthlbg", 3);
  await network.startBackend(0);
  await network.startBackend(1);
  const recorder = await network.startBackend(2, true);
  const events: { kind: "H" | "R"; at: number }[] = [];
  let buffered = "";
  recorder.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const [kind, at] = line.split(" ");
      if (kind === "H" || kind === "R") events.push({ kind, at: Number(at) });
    }
  });
  const [first, second, third] = [0, 1, 2].map((index) => network!.backendAddress(index)) as [string, string, string];
  node = new HaproxyNode({ netnsPath: network.lbNetnsPath, stateDir: join(workDir, "haproxy"), run: exec });
  await node.start(lbBenchModel([first, second], HEALTH));
  const healthy = (count: number) =>
    waitFor(async () => (await node!.health()).filter((report) => report.health.State === "healthy").length === count, {
      what: `${count} healthy targets`,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
  await healthy(2);
  const client = await startRateClient(network, `http://${network.vip}/`, RATE, 8);
  console.log(
    `lb-register: health checks every ${HEALTH.intervalSeconds} s, timeout ${HEALTH.timeoutSeconds} s, healthy threshold ${HEALTH.healthyThreshold}; client ${RATE} req/s (keep-alive, open loop); ${ROUNDS} rounds`,
  );
  console.log("\n| round | register → 1st check | 1st → 2nd check | 2nd check → first served | register → first served | load |\n|---|---|---|---|---|---|");
  const afterSecond: number[] = [];
  const total: number[] = [];
  const loads: number[] = [];
  let result;
  try {
    await sleep(2_000);
    for (let round = 0; round < ROUNDS; round += 1) {
      events.length = 0;
      recorder.stdin.write("reset\n");
      await sleep(200);
      events.length = 0;
      const registered = now();
      const mode = await node.apply(lbBenchModel([first, second, third], HEALTH));
      if (mode !== "runtime") throw new Error(`registering applied by ${mode}`);
      await waitFor(() => events.some((event) => event.kind === "R"), { what: "the new target's first request", timeoutMs: 60_000, intervalMs: 20 });
      const checks = events.filter((event) => event.kind === "H").map((event) => event.at);
      const served = events.find((event) => event.kind === "R")!.at;
      const load = loadavg()[0]!;
      loads.push(load);
      if (checks.length < 2) {
        console.log(
          `| ${round + 1} | served after ${checks.length} check(s)?! (${(served - registered).toFixed(0)} ms after registering) | | | | ${load.toFixed(2)} |`,
        );
        afterSecond.push(served - (checks[1] ?? served));
      } else {
        afterSecond.push(served - checks[1]!);
        total.push(served - registered);
        console.log(
          `| ${round + 1} | ${(checks[0]! - registered).toFixed(0)} ms | ${(checks[1]! - checks[0]!).toFixed(0)} ms | ${(served - checks[1]!).toFixed(1)} ms | ${(served - registered).toFixed(0)} ms | ${load.toFixed(2)} |`,
        );
      }
      // Deregistered as ELBv2 does: draining, then removed once it holds no connection.
      const model = lbBenchModel([first, second, third], HEALTH);
      const group = model.targetGroups[0]!;
      await node.apply({
        ...model,
        targetGroups: [{ ...group, targets: group.targets.map((target) => (target.ip === third ? { ...target, draining: true } : target)) }],
      });
      await waitFor(async () => (await node!.health()).find((report) => report.ip === third)?.activeConnections === 0, { what: "drained", intervalMs: 50 });
      await node.apply(lbBenchModel([first, second], HEALTH));
    }
  } finally {
    result = await client.stop();
  }
  const failed = result.records.filter(([, , status]) => status !== 200).length;
  const medianAfterSecond = median(afterSecond);
  console.log(
    `\nmedian 2nd passing check → first served: ${medianAfterSecond.toFixed(1)} ms (rounds: ${afterSecond.map((value) => value.toFixed(1)).join(", ")}): ${medianAfterSecond <= 1000 ? "met" : "NOT met"} (≤ 1 s)`,
  );
  console.log(
    `median register → first served: ${median(total).toFixed(0)} ms (HAProxy's first check of a new server comes one interval after it is enabled, the second one interval later: ~2 × ${HEALTH.intervalSeconds} s)`,
  );
  console.log(`client: ${result.records.length} requests, ${failed} failed; load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`);
}

try {
  await main();
} finally {
  await cleanup();
}
