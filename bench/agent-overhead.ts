// The task runner's own overhead, with in-memory ports (no containers): how long the agent spends
// driving one task from runTask to RUNNING (state machine + durable SQLite state + reports), and
// the agent's RSS with 200 idle single-container tasks. The real-container launch figure (next
// to the netns + veth + overlay + conmon + runc baseline) needs src/runtime and src/network.
// Run: node --import tsx bench/agent-overhead.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/core/clock.js";
import { createAgent } from "../src/agent/index.js";
import { protocolVersion } from "../src/protocol/index.js";
import type { TaskSpec } from "../src/protocol/index.js";
import { FakeImages, FakeNetworks, FakeRuntime, MemoryLogSink, MemoryReporter } from "../test/support/agent-fakes.js";

const spec = (id: string): TaskSpec => ({
  protocolVersion,
  taskArn: `arn:aws:ecs:us-east-1:000000000000:task/bench/${id}`,
  taskId: id,
  clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/bench",
  family: "idle",
  revision: 1,
  taskDefinition: { family: "idle", revision: 1, containerDefinitions: [{ name: "app", image: "busybox", command: ["sleep", "3600"] }] },
  cpuUnits: 256,
  memoryMiB: 512,
  ephemeralStorageGiB: 20,
  platform: { os: "linux", architecture: "amd64" },
  network: { subnetId: "subnet-1", subnetCidr: "10.0.0.0/16", securityGroups: [], assignPublicIp: "DISABLED" },
  region: "us-east-1",
  availabilityZone: "us-east-1a",
  desiredStatus: "RUNNING",
  stopTimeoutMs: 30_000,
  pullPolicy: "if-not-present",
  logConfigurations: {},
  credentials: {},
  createdAtMs: Date.now(),
});

const dir = mkdtempSync(join(tmpdir(), "bth-bench-agent-"));
const agent = createAgent({
  stateDir: dir,
  images: new FakeImages(),
  runtime: new FakeRuntime(),
  networks: new FakeNetworks(),
  logSink: new MemoryLogSink(),
  reporter: new MemoryReporter(),
  clock: systemClock,
  logger: { error: (d, m) => console.error(m, d), info: () => undefined },
  logPollMs: 1000,
});
await agent.start();
const running = async (arn: string) => {
  while (agent.describe(arn)?.lastStatus !== "RUNNING") await new Promise((r) => setImmediate(r));
};
const launchesMs: number[] = [];
for (let i = 0; i < 40; i++) {
  const t = performance.now();
  const s = spec(`seq${i}`);
  await agent.runTask(s);
  await running(s.taskArn);
  launchesMs.push(performance.now() - t);
}
launchesMs.sort((a, b) => a - b);
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
for (let i = 0; i < 200; i++) await agent.runTask(spec(`idle${i}`));
for (let i = 0; i < 200; i++) await running(spec(`idle${i}`).taskArn);
await new Promise((r) => setTimeout(r, 3000));
globalThis.gc?.();
const rssAfter = process.memoryUsage().rss;
console.log(
  JSON.stringify({
    runnerOverheadMedianMs: launchesMs[20]?.toFixed(2),
    rssWith200IdleTasksMiB: (rssAfter / 2 ** 20).toFixed(1),
    agentRssPerIdleTaskKiB: ((rssAfter - rssBefore) / 200 / 1024).toFixed(1),
  }),
);
await agent.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
