// Configuration changes under load (issue 15's figure: a configuration change never drops an
// established connection, counted under load). Namespaces as bench/lb-throughput.ts (an LB
// namespace, 3 backend namespaces, a client namespace); an src/lb HaproxyNode with one HTTP
// listener to a target group of the 3 targets (health checks every 1 s, threshold 2, so a
// re-registered target is back within seconds). A fixed-rate open-loop client in the client
// namespace (BENCH_RATE req/s over BENCH_CONNECTIONS keep-alive connections used in turn; latency
// counted from each request's scheduled time) runs throughout:
//   quiet          BENCH_QUIET_SECONDS with no change
//   reloads        BENCH_CHANGES applies that force a reload (a path rule added, then removed, …),
//                  BENCH_GAP_MS apart
//   quiet again
//   target changes BENCH_CHANGES applies through the runtime API: target 3 deregistered as ELBv2
//                  does (draining, then removed once it has no connection left), registered again
//                  (added, then waited for until healthy), …
//   quiet again
// Counted: failed requests (an error or any status but 200) and connection errors, which must be 0;
// the connections the client had to open again (the LB closed one cleanly after a response);
// latency of requests scheduled within a change (from its apply to 1 s after) against the rest.
//   flock /tmp/berth-privileged.lock node --import tsx bench/lb-reload.ts
//   (BENCH_RATE 500, BENCH_CONNECTIONS 32, BENCH_CHANGES 10, BENCH_GAP_MS 1000, BENCH_QUIET_SECONDS 8)
// Traffic: only inside the namespaces this bench creates and removes. Root. Never fails CI.
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { HaproxyNode } from "../src/lb/haproxy-node.js";
import type { ApplyMode } from "../src/lb/haproxy-node.js";
import type { LoadBalancerModel } from "../src/lb/load-balancer-model.js";
import { exec } from "../test/support/dataplane.js";
import { benchTeardown, buildLbBenchNetwork, cleanupOnSignals, lbBenchModel, quantile, startRateClient } from "../test/support/lb-bench-network.js";
import type { LbBenchNetwork } from "../test/support/lb-bench-network.js";
import { waitFor } from "../test/support/wait-for.js";

const RATE = Number(process.env.BENCH_RATE ?? 500);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 10);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 1_000);
const QUIET_SECONDS = Number(process.env.BENCH_QUIET_SECONDS ?? 8);
/** How long after an apply returns its window lasts (an old worker finishing, a target being drained). */
const AFTER_MS = 1_000;
const WARM_UP_MS = 3_000;

const workDir = mkdtempSync(join(tmpdir(), "berth-bench-lbr-"));
let network: LbBenchNetwork | undefined;
let node: HaproxyNode | undefined;
const now = () => performance.timeOrigin + performance.now();

const cleanup = benchTeardown({ node: () => node, network: () => network, workDir });

interface Change {
  kind: "reload" | "target";
  what: string;
  start: number;
  end: number;
  mode: ApplyMode;
}

async function main(): Promise<void> {
  cleanupOnSignals(cleanup);
  network = await buildLbBenchNetwork("bthlbr", 3);
  for (let index = 0; index < 3; index += 1) await network.startBackend(index);
  const health = { intervalSeconds: 1, timeoutSeconds: 1, healthyThreshold: 2 };
  const all = [0, 1, 2].map((index) => network!.backendAddress(index));
  const rule = {
    id: "api",
    conditions: [{ field: "path-pattern" as const, values: ["/api/*"] }],
    action: { type: "forward" as const, targetGroups: [{ targetGroupId: "web", weight: 1 }] },
  };
  node = new HaproxyNode({ netnsPath: network.lbNetnsPath, stateDir: join(workDir, "haproxy"), run: exec });
  await node.start(lbBenchModel(all, health));
  const allHealthy = () =>
    waitFor(async () => (await node!.health()).every((report) => report.health.State === "healthy"), {
      what: "healthy targets",
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  await allHealthy();

  console.log(
    `lb-reload: ${RATE} req/s open loop over ${CONNECTIONS} keep-alive connections; ${CHANGES} reloads and ${CHANGES} target changes, ${GAP_MS} ms apart; quiet ${QUIET_SECONDS} s before, between and after`,
  );
  const changes: Change[] = [];
  const change = async (kind: Change["kind"], what: string, model: LoadBalancerModel) => {
    const start = now();
    const mode = await node!.apply(model);
    changes.push({ kind, what, start, end: now(), mode });
  };
  const client = await startRateClient(network, `http://${network.vip}/`, RATE, CONNECTIONS);
  const loadBefore = loadavg()[0]!;
  let result;
  let measureFrom = Infinity;
  try {
    // The client's own warm-up (its first connections, JIT): its requests are counted as failed or not, but not in the latencies.
    await sleep(WARM_UP_MS);
    measureFrom = now();
    await sleep(QUIET_SECONDS * 1000);
    let withRule = false;
    for (let index = 0; index < CHANGES; index += 1) {
      withRule = !withRule;
      await change("reload", withRule ? "rule added" : "rule removed", lbBenchModel(all, health, withRule ? [rule] : []));
      await sleep(GAP_MS);
    }
    // Back to no rule (the last change may have left it in).
    if (withRule) await node.apply(lbBenchModel(all, health));
    await sleep(QUIET_SECONDS * 1000);
    let registered = true;
    for (let index = 0; index < CHANGES; index += 1) {
      if (registered) {
        await change("target", "target 3 draining", drained(all, health));
        await waitFor(async () => (await node!.health()).find((report) => report.ip === all[2])!.activeConnections === 0, {
          what: "target 3 drained",
          timeoutMs: 30_000,
          intervalMs: 50,
        });
        await change("target", "target 3 removed", lbBenchModel(all.slice(0, 2), health));
      } else {
        await change("target", "target 3 added", lbBenchModel(all, health));
        await allHealthy();
      }
      registered = !registered;
      await sleep(GAP_MS);
    }
    if (!registered) {
      await node.apply(lbBenchModel(all, health));
      await allHealthy();
    }
    await sleep(QUIET_SECONDS * 1000);
  } finally {
    result = await client.stop();
  }
  const loadAfter = loadavg()[0]!;

  const windowOf = (scheduled: number) => changes.find((entry) => scheduled >= entry.start && scheduled <= entry.end + AFTER_MS);
  const groups: Record<"quiet" | "reload" | "target", number[]> = { quiet: [], reload: [], target: [] };
  let failed = 0;
  for (const [scheduled, latency, status] of result.records) {
    if (status !== 200) failed += 1;
    if (scheduled < measureFrom) continue;
    groups[windowOf(scheduled)?.kind ?? "quiet"].push(latency);
  }
  const errorCounts = result.errors.reduce<Record<string, number>>((counts, error) => ({ ...counts, [error]: (counts[error] ?? 0) + 1 }), {});
  const statusCounts = result.records
    .filter(([, , status]) => status !== 200 && status !== 0)
    .reduce<Record<string, number>>((counts, [, , status]) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});
  console.log("\nchanges (apply → mode, how long the apply took):");
  for (const entry of changes)
    console.log(`  ${entry.kind.padEnd(6)} ${entry.what.padEnd(18)} ${entry.mode.padEnd(7)} ${(entry.end - entry.start).toFixed(0)} ms`);
  console.log(`\n| requests scheduled | count | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|`);
  for (const [name, label] of [
    ["quiet", "with no change"],
    ["reload", "during a reload (apply → 1 s after)"],
    ["target", "during a target change (apply → 1 s after)"],
  ] as const) {
    const sorted = groups[name].sort((a, b) => a - b);
    const ms = (q: number) => `${quantile(sorted, q).toFixed(2)} ms`;
    console.log(`| ${label} | ${sorted.length} | ${ms(0.5)} | ${ms(0.9)} | ${ms(0.99)} | ${(sorted[sorted.length - 1] ?? NaN).toFixed(2)} ms |`);
  }
  const reloads = changes.filter((entry) => entry.kind === "reload");
  const targets = changes.filter((entry) => entry.kind === "target");
  console.log(
    `\n${result.records.length} requests; failed ${failed} (connection errors ${result.errors.length}: ${JSON.stringify(errorCounts)}; other statuses ${JSON.stringify(statusCounts)})`,
  );
  console.log(
    `${reloads.length} changes applied by ${reloads.filter((entry) => entry.mode === "reload").length} reloads; ${CHANGES} target changes ` +
      `(${targets.filter((entry) => entry.what.endsWith("draining")).length} deregistrations, each a drain then a removal, and ${targets.filter((entry) => entry.what.endsWith("added")).length} registrations): ` +
      `${targets.length} applies, ${targets.filter((entry) => entry.mode === "runtime").length} through the runtime API`,
  );
  const reopened = result.openedAt.filter((at) => at >= measureFrom);
  const reopenedInChanges = reopened.filter((at) => windowOf(at) !== undefined).length;
  console.log(
    `connections the client opened after its warm-up: ${reopened.length} (${reopenedInChanges} within a change's window, ${reopened.length - reopenedInChanges} outside); ` +
      `answers with Connection: close (the LB closing a connection cleanly after a response): ${result.closeAnswers}`,
  );
  console.log(`figure (0 failed requests and 0 connection errors): ${failed === 0 && result.errors.length === 0 ? "met" : "NOT met"}`);
  console.log(`load average: ${loadBefore.toFixed(2)} at the start, ${loadAfter.toFixed(2)} at the end`);
}

function drained(all: string[], health: Parameters<typeof lbBenchModel>[1]): LoadBalancerModel {
  const model = lbBenchModel(all, health);
  const group = model.targetGroups[0]!;
  return { ...model, targetGroups: [{ ...group, targets: group.targets.map((target) => (target.ip === all[2] ? { ...target, draining: true } : target)) }] };
}

try {
  await main();
} finally {
  await cleanup();
}
