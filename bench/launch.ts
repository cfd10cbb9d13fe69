// Real launches on this host, each next to a same-run baseline:
//   (a) image cached: runTask to every container RUNNING through the real agent (conmon + runc,
//       netns + veth + bridge, ext4 ephemeral storage, overlay) vs the hand-made path for the same
//       busybox image (ip netns + veth into a bridge + overlay + config.json + conmon + runc), and
//       vs `podman run --rm --network none` of the same image;
//   (b) 200 idle single-container tasks at once: agent RSS and per-task host memory, clean teardown;
//   (c) a 100 MB image pulled from docker-registry on loopback by the ImageStore (unpack included)
//       vs `skopeo copy docker://… oci:DIR` of the same image.
// Needs root; run under the shared lock (it makes netns, bridges, mounts, containers):
//   flock /tmp/berth-privileged.lock node --import tsx bench/launch.ts [a] [b] [c] [--launches N] [--idle N] [--pull-mb N]
// Only loopback and the bench's own bridge are used. A benchmark never fails CI.
import { execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { createAgent } from "../src/agent/index.js";
import type { Agent, ImagePort, PulledImageInfo, TaskStateReporter } from "../src/agent/index.js";
import { HostNetworkAdapter } from "../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../src/agent/runtime-adapter.js";
import { systemClock } from "../src/core/clock.js";
import { buildImage, ImageStore, pushImage, writeOciLayout } from "../src/images/index.js";
import { HostFirewall, TaskNetworks } from "../src/network/index.js";
import type { TaskSpec, TaskStatusReport } from "../src/protocol/index.js";
import { TaskRuntime } from "../src/runtime/index.js";
import { makeBusyboxLayer } from "../test/support/busybox-rootfs.js";
import { MemoryLogSink } from "../test/support/agent-fakes.js";
import { findLeaks } from "../test/support/leaks.js";
import { startRegistry } from "../test/support/registry.js";
import { hostTaskSpecs } from "../test/support/host-task-spec.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const parts = new Set(args.filter((arg) => /^[abc]$/.test(arg)));
const wants = (part: string) => parts.size === 0 || parts.has(part);
const LAUNCHES = option("launches", 30);
const IDLE = option("idle", 200);
const PULL_MB = option("pull-mb", 100);

const work = mkdtempSync(join(tmpdir(), "berth-bench-launch-"));
const layerDir = makeBusyboxLayer(join(work, "layer"));
const leaksBefore = new Set(findLeaks());
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const run = (command: string, argv: readonly string[], input?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(command, [...argv], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${argv.join(" ")}: ${stderr || error.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

// --- the agent ---------------------------------------------------------------------------------

class CachedBusybox implements ImagePort {
  async pull(): Promise<PulledImageInfo> {
    return { digest: "sha256:bench-busybox" };
  }
}

/** Resolves a promise per task when it reports RUNNING (no polling in the measured path). */
class RunningReporter implements TaskStateReporter {
  private readonly waiting = new Map<string, () => void>();
  running(taskArn: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(taskArn, resolve));
  }
  async report(status: TaskStatusReport): Promise<void> {
    if (status.lastStatus === "RUNNING" || status.lastStatus === "STOPPED") {
      this.waiting.get(status.taskArn)?.();
      this.waiting.delete(status.taskArn);
    }
  }
}

const subnet = { subnetId: "subnet-0bth0bench0000001", cidr: "10.213.64.0/18" };
const taskSpec = hostTaskSpecs({ family: "bench", idFiller: "be7c", subnet, defaultImage: "busybox" });

const reporter = new RunningReporter();
let agent: Agent | undefined;
let networks: TaskNetworks | undefined;
async function startAgent(): Promise<Agent> {
  const runtime = new TaskRuntime({ stateDir: join(work, "agent", "runtime") });
  // As `berth agent` runs: the host firewall installed first, a set element per task.
  const networkDir = join(work, "agent", "network");
  networks = new TaskNetworks({ stateDir: networkDir, region: "us-east-1", firewall: new HostFirewall({ stateDir: networkDir, ipForward: "off" }) });
  await networks.start();
  agent = createAgent({
    stateDir: join(work, "agent", "tasks"),
    images: new CachedBusybox(),
    runtime: new HostRuntimeAdapter(runtime, () => ({ layerDirs: [layerDir], config: { env: ["PATH=/bin:/sbin:/usr/bin"] } })),
    networks: new HostNetworkAdapter(networks),
    logSink: new MemoryLogSink(),
    reporter,
    clock: systemClock,
    logger: { error: (details, message) => console.error(message, details), info: () => undefined },
  });
  await agent.start();
  return agent;
}

// sh as PID 1 with a TERM trap ends at once on stop (a bare sleep as PID 1 would ignore SIGTERM).
const IDLE_CONTAINER: ContainerDefinition = { name: "app", command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] };

/** Where a launch's time went, from the task's own timestamps (ms since runTask). */
const phases: { network: number[]; storage: number[]; containers: number[] } = { network: [], storage: [], containers: [] };

async function agentLaunch(a: Agent): Promise<{ launchMs: number; spec: TaskSpec }> {
  const spec = taskSpec([IDLE_CONTAINER], { stopTimeoutMs: 10_000 });
  const startedAtMs = Date.now();
  const start = performance.now();
  const running = reporter.running(spec.taskArn);
  await a.runTask(spec);
  await running;
  const launchMs = performance.now() - start;
  const status = a.describe(spec.taskArn)!;
  if (status.lastStatus !== "RUNNING") throw new Error(`task did not run: ${status.stoppedReason}`);
  phases.network.push(status.pullStartedAtMs! - startedAtMs);
  phases.storage.push(status.connectivityAtMs! - status.pullStartedAtMs!);
  phases.containers.push(status.startedAtMs! - status.connectivityAtMs!);
  return { launchMs, spec };
}

async function agentStop(a: Agent, spec: TaskSpec): Promise<void> {
  await a.stopTask(spec.taskArn, "bench", "UserInitiated");
  await a.whenStopped(spec.taskArn);
}

// --- the hand-made path ------------------------------------------------------------------------

const HAND_BRIDGE = "bthbench0";
const HAND_ROOT = "/run/berth-bench-runc";

/** runc's default spec (`runc spec`), made non-interactive, joining `netns`, running sleep. */
function makeHandSpec(): (rootfs: string, netnsPath: string) => string {
  const dir = join(work, "spec-template");
  mkdirSync(dir, { recursive: true });
  execFileSync("runc", ["spec", "--bundle", dir]);
  const template = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly: boolean };
    linux: { namespaces: { type: string; path?: string }[] };
  };
  template.process.terminal = false;
  template.process.args = ["sleep", "3600"];
  template.root.readonly = false;
  return (rootfs, netnsPath) => {
    const spec = structuredClone(template);
    spec.root.path = rootfs;
    spec.linux.namespaces = [...spec.linux.namespaces.filter((ns) => ns.type !== "network"), { type: "network", path: netnsPath }];
    return JSON.stringify(spec);
  };
}

/** The hand-made path's network: a namespace, a veth into the bench bridge, an address and a route. */
async function plugHandNetwork(id: string, n: number): Promise<void> {
  await run(
    "ip",
    ["-batch", "-"],
    [
      `netns add ${id}`,
      `link add bthhv${n} type veth peer name bthhp${n}`,
      `link set bthhp${n} netns ${id}`,
      `link set bthhv${n} master ${HAND_BRIDGE}`,
      `link set bthhv${n} up`,
      "",
    ].join("\n"),
  );
  await run(
    "ip",
    ["-n", id, "-batch", "-"],
    [
      "link set lo up",
      `link set bthhp${n} name eth0`,
      `addr add 10.213.128.${(n % 250) + 2}/24 dev eth0`,
      "link set eth0 up",
      "route add default via 10.213.128.1 dev eth0",
      "",
    ].join("\n"),
  );
}

/** conmon as Berth's runtime runs it: runc under the bench's own root, a k8s-file log, an exit dir. */
function handConmonArgs(id: string, dir: string, pidFile: string): string[] {
  return [
    "--api-version",
    "1",
    "-c",
    id,
    "-u",
    id,
    "-n",
    id,
    "-r",
    "/usr/sbin/runc",
    "--runtime-arg",
    "--root",
    "--runtime-arg",
    HAND_ROOT,
    "-b",
    dir,
    "-p",
    pidFile,
    "-P",
    join(dir, "conmon.pid"),
    "-l",
    `k8s-file:${join(dir, "ctr.log")}`,
    "--exit-dir",
    join(dir, "exits"),
    "-0",
    join(dir, "persist"),
    "--socket-dir-path",
    join(dir, "sockets"),
    "--syslog=false",
    "--log-level",
    "error",
  ];
}

async function handLaunch(specFor: (rootfs: string, netns: string) => string, n: number): Promise<{ launchMs: number; teardown: () => Promise<number> }> {
  const id = `bthhand${n}`;
  const dir = join(work, "hand", id);
  const start = performance.now();
  await plugHandNetwork(id, n);
  for (const sub of ["upper", "work", "rootfs", "exits", "persist", "sockets"]) mkdirSync(join(dir, sub), { recursive: true });
  await run("mount", [
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${layerDir},upperdir=${join(dir, "upper")},workdir=${join(dir, "work")}`,
    join(dir, "rootfs"),
  ]);
  writeFileSync(join(dir, "config.json"), specFor(join(dir, "rootfs"), `/var/run/netns/${id}`));
  const pidFile = join(dir, "container.pid");
  const conmon = spawn("conmon", handConmonArgs(id, dir, pidFile), { cwd: dir, detached: true, stdio: "ignore" });
  conmon.unref();
  for (let delay = 1; !existsSync(pidFile) || readFileSync(pidFile, "utf8").trim() === ""; delay = Math.min(delay * 2, 20)) await sleep(delay);
  await run("runc", ["--root", HAND_ROOT, "start", id]);
  const launchMs = performance.now() - start;
  return {
    launchMs,
    teardown: async () => {
      const begin = performance.now();
      await run("runc", ["--root", HAND_ROOT, "kill", id, "KILL"]);
      for (let delay = 1; !existsSync(join(dir, "exits", id)); delay = Math.min(delay * 2, 20)) await sleep(delay);
      await run("runc", ["--root", HAND_ROOT, "delete", "--force", id]);
      await run("umount", [join(dir, "rootfs")]);
      await run("ip", ["link", "del", `bthhv${n}`]);
      await run("ip", ["netns", "del", id]);
      rmSync(dir, { recursive: true, force: true });
      return performance.now() - begin;
    },
  };
}

// --- (a) ---------------------------------------------------------------------------------------

async function partA(): Promise<void> {
  const a = agent ?? (await startAgent());
  await run(
    "ip",
    ["-batch", "-"],
    [`link add ${HAND_BRIDGE} type bridge`, `addr add 10.213.128.1/24 dev ${HAND_BRIDGE}`, `link set ${HAND_BRIDGE} up`, ""].join("\n"),
  );
  const agentMs: number[] = [];
  const handMs: number[] = [];
  const handWithTeardownMs: number[] = [];
  try {
    const specFor = makeHandSpec();
    // Interleaved, one of each per round, so both paths see the same background load (the
    // machine is shared); the first 3 rounds warm caches (first mkfs, runc/conmon pages).
    for (let i = 0; i < LAUNCHES + 3; i++) {
      if (i === 3) for (const list of Object.values(phases)) list.length = 0;
      const { launchMs, spec } = await agentLaunch(a);
      await agentStop(a, spec);
      const hand = await handLaunch(specFor, i);
      const teardownMs = await hand.teardown();
      if (i < 3) continue;
      agentMs.push(launchMs);
      handMs.push(hand.launchMs);
      handWithTeardownMs.push(hand.launchMs + teardownMs);
    }
  } finally {
    await run("ip", ["link", "del", HAND_BRIDGE]).catch(() => undefined);
  }

  // podman: the same busybox root as an OCI image, imported into containers-storage.
  const podmanMs: number[] = [];
  const ociDir = join(work, "oci");
  const built = await buildImage({ busybox: true, directories: [], architecture: "amd64", cmd: ["true"] });
  writeOciLayout(ociDir, built, "latest");
  const podmanImage = "localhost/berth-bench-busybox:latest";
  try {
    await run("skopeo", ["copy", "--quiet", `oci:${ociDir}:latest`, `containers-storage:${podmanImage}`]);
    // podman's defaults ask for more open files and processes than this host lets even root set
    // (HOST-NOTES: no CAP_SYS_RESOURCE): ask for modest limits instead; runc, as crun refuses this
    // host's hybrid cgroup layout.
    const ulimits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"];
    for (let i = 0; i < LAUNCHES + 3; i++) {
      const start = performance.now();
      await run("podman", ["run", "--rm", "--runtime", "runc", "--network", "none", ...ulimits, podmanImage, "true"]);
      if (i >= 3) podmanMs.push(performance.now() - start);
    }
  } catch (error) {
    console.error(`podman baseline failed: ${(error as Error).message}`);
  } finally {
    await run("podman", ["rmi", "--force", podmanImage]).catch(() => undefined);
  }

  const berth = median(agentMs);
  const hand = median(handMs);
  console.log(`(a) image cached, runTask → all containers RUNNING, median of ${LAUNCHES}:`);
  console.log(
    `    berth agent:                                        ${ms(berth)}  (p10 ${ms([...agentMs].sort((x, y) => x - y)[Math.floor(LAUNCHES / 10)]!)}, p90 ${ms([...agentMs].sort((x, y) => x - y)[Math.floor((LAUNCHES * 9) / 10)]!)})`,
  );
  console.log(
    `      of which: network ${ms(median(phases.network))}, pull + waiting for storage ${ms(median(phases.storage))}, containers created and started ${ms(median(phases.containers))}`,
  );
  console.log(`    hand-made netns+veth+overlay+conmon+runc, to running: ${ms(hand)}  → berth is ${(berth / hand).toFixed(2)}× (target ≤ 1.5×)`);
  console.log(`    hand-made including teardown:                         ${ms(median(handWithTeardownMs))}`);
  if (podmanMs.length > 0)
    console.log(
      `    podman run --rm --network none … true (whole run):    ${ms(median(podmanMs))}  → berth is ${(berth / median(podmanMs)).toFixed(2)}× podman`,
    );
}

// --- (b) ---------------------------------------------------------------------------------------

const memAvailableKiB = () => Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
/** RSS (KiB) of each conmon supervising one of this bench's containers (other work shares the host). */
const benchConmonsKiB = () =>
  execFileSync("ps", ["-eo", "rss=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes("conmon") && line.includes(work))
    .map((line) => Number(line.trim().split(" ")[0]));

async function partB(): Promise<void> {
  const a = agent ?? (await startAgent());
  globalThis.gc?.();
  await sleep(500);
  const rssBefore = process.memoryUsage().rss;
  const availableBefore = memAvailableKiB();
  const specs: TaskSpec[] = [];
  const started = performance.now();
  // Four launches in flight at a time (a 2-core host).
  const queue = Array.from({ length: IDLE }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (queue.shift() !== undefined) specs.push((await agentLaunch(a)).spec);
    }),
  );
  const launchedS = (performance.now() - started) / 1000;
  const running = specs.filter((spec) => a.describe(spec.taskArn)?.lastStatus === "RUNNING").length;
  await sleep(3_000);
  globalThis.gc?.();
  const rssAfter = process.memoryUsage().rss;
  const availableAfter = memAvailableKiB();
  const conmonRss = benchConmonsKiB();
  const conmons = conmonRss.length;
  const conmonKiB = conmonRss.reduce((sum, kib) => sum + kib, 0);
  const stopStarted = performance.now();
  const stopQueue = [...specs];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let spec = stopQueue.shift(); spec; spec = stopQueue.shift()) await agentStop(a, spec);
    }),
  );
  const stoppedS = (performance.now() - stopStarted) / 1000;
  console.log(
    `(b) ${IDLE} idle single-container tasks at once: ${running} RUNNING (${conmons} conmon), launched in ${launchedS.toFixed(1)} s, all stopped and cleaned in ${stoppedS.toFixed(1)} s`,
  );
  console.log(
    `    agent RSS ${(rssAfter / 2 ** 20).toFixed(1)} MiB (${((rssAfter - rssBefore) / IDLE / 1024).toFixed(1)} KiB per task over ${(rssBefore / 2 ** 20).toFixed(1)} MiB idle)`,
  );
  console.log(
    `    host memory used per task (MemAvailable drop / ${IDLE}): ${((availableBefore - availableAfter) / IDLE / 1024).toFixed(2)} MiB; conmon RSS ${(conmonKiB / Math.max(conmons, 1) / 1024).toFixed(2)} MiB each`,
  );
}

// --- (c) ---------------------------------------------------------------------------------------

async function partC(): Promise<void> {
  const content = join(work, "big-content");
  mkdirSync(content, { recursive: true });
  // Incompressible bytes: the compressed layer is as big as the content (a worst case for gzip).
  writeFileSync(join(content, "blob.bin"), randomBytes(PULL_MB * 1024 * 1024));
  const image = await buildImage({ busybox: true, directories: [{ source: content, destination: "/data" }], architecture: "amd64", cmd: ["true"] });
  const bytes = image.layers.reduce((sum, layer) => sum + layer.bytes.length, 0) + image.config.bytes.length;
  const registry = await startRegistry();
  try {
    const reference = `${registry.address}/bench/big:v1`;
    await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, reference, {});
    const ours: number[] = [];
    const skopeo: number[] = [];
    for (let i = 0; i < 5; i++) {
      const root = join(work, `store-${i}`);
      const store = new ImageStore({ root });
      let start = performance.now();
      await store.pull(reference, { platform: { os: "linux", architecture: "amd64" }, policy: "always" });
      ours.push(performance.now() - start);
      rmSync(root, { recursive: true, force: true });
      const dest = join(work, `skopeo-${i}`);
      start = performance.now();
      await run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${reference}`, `oci:${dest}:big`]);
      skopeo.push(performance.now() - start);
      rmSync(dest, { recursive: true, force: true });
    }
    const mbps = (msTaken: number) => bytes / 2 ** 20 / (msTaken / 1000);
    console.log(`(c) ${(bytes / 2 ** 20).toFixed(1)} MiB image from docker-registry on loopback, median of 5:`);
    console.log(`    berth ImageStore pull (verify + gunzip + untar):  ${ms(median(ours))} = ${mbps(median(ours)).toFixed(1)} MiB/s`);
    console.log(
      `    skopeo copy docker:// → oci: (no unpack):          ${ms(median(skopeo))} = ${mbps(median(skopeo)).toFixed(1)} MiB/s → berth at ${(median(skopeo) / median(ours)).toFixed(2)}× skopeo throughput (target ≥ 0.8×)`,
    );
  } finally {
    await registry.stop();
  }
}

try {
  console.log(`bench/launch — ${new Date().toISOString()} — shared 2-core VM, numbers are noisy`);
  if (wants("a")) await partA();
  if (wants("b")) await partB();
  if (wants("c")) await partC();
} finally {
  await agent?.close();
  await networks?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(HAND_ROOT, { recursive: true, force: true });
  const leaks = findLeaks().filter((leak) => !leaksBefore.has(leak));
  if (leaks.length > 0) console.error(`LEAKED:\n${leaks.join("\n")}`);
}
process.exit(0);
