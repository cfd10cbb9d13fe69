// Real tasks on this host: the agent's task runner driving real containers (conmon + runc), real
// task networks, cgroups and ephemeral storage. The image is a busybox root made on the spot and
// served by a test ImagePort (the registry path has its own tests); everything else is the product.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "../../src/agent/index.js";
import type { Agent } from "../../src/agent/index.js";
import { HostNetworkAdapter } from "../../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../../src/agent/runtime-adapter.js";
import { systemClock } from "../../src/core/clock.js";
import { TaskNetworks } from "../../src/network/index.js";
import type { TaskSpec } from "../../src/protocol/index.js";
import { TaskRuntime } from "../../src/runtime/index.js";
import { makeBusyboxLayer } from "../support/busybox-rootfs.js";
import { MemoryReporter } from "../support/agent-fakes.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { hostTaskSpecs, waitUntil } from "../support/host-task-spec.js";
import { BUSYBOX_TEST_DIGEST, LocalBusyboxImages, TaskLogs, runTaskToCompletion } from "../support/host-agent-parts.js";

const stateDir = mkdtempSync(join(tmpdir(), "berth-rt-"));
const layerDir = makeBusyboxLayer(mkdtempSync(join(tmpdir(), "berth-layer-")));
const subnet = { subnetId: "subnet-0bth0runtime00001", cidr: "10.213.8.0/24" };
const taskSpec = hostTaskSpecs({ family: "rt", idFiller: "c0ffee", subnet, defaultImage: "busybox", securityGroups: ["sg-0c0ffee"] });
// The machine is shared: only what appeared during this file counts as its leak.
const leaksBefore = new Set(findLeaks());

const runtime = new TaskRuntime({ stateDir: join(stateDir, "runtime") });
const networks = new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" });
const logs = new TaskLogs();
let agent: Agent;

before(async () => {
  agent = createAgent({
    stateDir: join(stateDir, "tasks"),
    images: new LocalBusyboxImages(),
    runtime: new HostRuntimeAdapter(runtime, (digest) =>
      digest === BUSYBOX_TEST_DIGEST ? { layerDirs: [layerDir], config: { env: ["PATH=/bin:/sbin:/usr/bin"] } } : undefined,
    ),
    networks: new HostNetworkAdapter(networks),
    logSink: logs,
    reporter: new MemoryReporter(),
    clock: systemClock,
    logger: { error: (details, message) => console.error(message, details), info: () => undefined },
    logPollMs: 100,
  });
  await agent.start();
  // The tasks' group lets the subnet in (the routers enforce security groups; with no rule known they allow nothing).
  const all = { protocol: "all", fromPort: -1, toPort: -1, groupIds: [] } as const;
  await networks.applyView({
    vpcs: [],
    interfaces: [],
    securityGroups: [{ groupId: "sg-0c0ffee", vpcId: "vpc-c0ffee", ingress: [{ ...all, cidrs: [subnet.cidr] }], egress: [{ ...all, cidrs: ["0.0.0.0/0"] }] }],
    groupMembers: [],
    peers: [],
  });
});

after(async () => {
  await agent.close();
  // The VPC router outlives its last task until the next view or the stop (src/network/task-networks.ts).
  await networks.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(layerDir, { recursive: true, force: true });
  assertNoNewLeaks(leaksBefore);
});

const runToCompletion = (spec: TaskSpec) => runTaskToCompletion(agent, logs, spec);

test("a sidecar that depends on HEALTHY starts only once the health check passes", async () => {
  const spec = taskSpec([
    {
      name: "web",
      linuxParameters: { initProcessEnabled: true },
      command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"],
      healthCheck: { command: ["CMD-SHELL", "test -f /tmp/ready"], interval: 1, retries: 10, timeout: 2 },
    },
    {
      name: "sidecar",
      essential: false,
      linuxParameters: { initProcessEnabled: true },
      command: ["sleep", "600"],
      dependsOn: [{ containerName: "web", condition: "HEALTHY" }],
    },
  ]);
  await agent.runTask(spec);
  await waitUntil(() => agent.describe(spec.taskArn)?.lastStatus === "RUNNING", "RUNNING");
  const running = agent.describe(spec.taskArn)!;
  assert.equal(running.containers.find((c) => c.name === "web")?.health, "HEALTHY");
  assert.equal(running.containers.find((c) => c.name === "sidecar")?.lastStatus, "RUNNING");
  await agent.stopTask(spec.taskArn, "done", "UserInitiated");
  await agent.whenStopped(spec.taskArn);
  assert.equal(agent.describe(spec.taskArn)?.lastStatus, "STOPPED");
});

test("a memory hog is killed with the OOM reason and exit 137", async () => {
  const { report } = await runToCompletion(taskSpec([{ name: "hog", command: ["sh", "-c", "head -c 400m /dev/zero | tail"] }], { memoryMiB: 128 }));
  const hog = report.containers.find((c) => c.name === "hog")!;
  assert.equal(hog.exitCode, 137);
  assert.equal(hog.reason, "OutOfMemoryError: Container killed due to memory usage");
  assert.equal(report.stopCode, "EssentialContainerExited");
});

test("a CPU-bound task is held to its quota (256 units = a quarter of a CPU, within 10 %)", async () => {
  const spec = taskSpec([{ name: "spin", linuxParameters: { initProcessEnabled: true }, command: ["sh", "-c", "while :; do :; done"] }], { cpuUnits: 256 });
  await agent.runTask(spec);
  await waitUntil(() => agent.describe(spec.taskArn)?.lastStatus === "RUNNING", "RUNNING");
  const usage = () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/berth/${spec.taskId}/cpuacct.usage`, "utf8"));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const [startNs, startAt] = [usage(), process.hrtime.bigint()];
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const share = (usage() - startNs) / Number(process.hrtime.bigint() - startAt);
  await agent.stopTask(spec.taskArn, "done", "UserInitiated");
  await agent.whenStopped(spec.taskArn);
  assert.ok(share > 0.225 && share < 0.275, `measured ${share.toFixed(3)} CPUs`);
});

test("a write past the ephemeral storage fails with ENOSPC inside the task only", async () => {
  const { report, lines } = await runToCompletion(
    taskSpec([{ name: "fill", command: ["sh", "-c", "dd if=/dev/zero of=/big bs=1M count=1300 2>&1; echo status=$?"] }], { ephemeralStorageGiB: 1 }),
  );
  assert.ok(
    lines.some((line) => /No space left on device/.test(line)),
    lines.join("\n"),
  );
  assert.ok(lines.includes("fill: status=1"), lines.join("\n"));
  assert.equal(report.containers[0]!.exitCode, 0);
});

test("a read-only root refuses writes; a non-root user runs without capabilities", async () => {
  const readOnly = await runToCompletion(taskSpec([{ name: "ro", readonlyRootFilesystem: true, command: ["sh", "-c", "touch /x 2>&1; exit 3"] }]));
  assert.ok(
    readOnly.lines.some((line) => /Read-only file system/.test(line)),
    readOnly.lines.join("\n"),
  );
  assert.equal(readOnly.report.containers[0]!.exitCode, 3);
  const nonRoot = await runToCompletion(
    taskSpec([{ name: "user", user: "app", command: ["sh", "-c", "id -u; id -G; grep CapEff /proc/self/status; echo HOME=$HOME; ls /root 2>&1 | head -1"] }]),
  );
  assert.deepEqual(nonRoot.lines.slice(0, 4), ["user: 1000", "user: 1000 2000", "user: CapEff:\t0000000000000000", "user: HOME=/home/app"]);
});

test("the stop timeout escalates to SIGKILL when the stop signal is ignored", async () => {
  // sh as PID 1 of its namespace has no SIGTERM handler, so the kernel drops SIGTERM.
  const spec = taskSpec([{ name: "stubborn", command: ["sh", "-c", "sleep 600"], stopTimeout: 2 }]);
  await agent.runTask(spec);
  await waitUntil(() => agent.describe(spec.taskArn)?.lastStatus === "RUNNING", "RUNNING");
  const startedStop = Date.now();
  await agent.stopTask(spec.taskArn, "stop it", "UserInitiated");
  await agent.whenStopped(spec.taskArn);
  const tookMs = Date.now() - startedStop;
  assert.ok(tookMs >= 2_000 && tookMs < 10_000, `stop took ${tookMs} ms`);
  assert.equal(agent.describe(spec.taskArn)!.containers[0]!.exitCode, 137);
});

test("two tasks on one subnet talk over TCP", async () => {
  const server = taskSpec([
    { name: "server", linuxParameters: { initProcessEnabled: true }, command: ["sh", "-c", "while :; do echo hello-from-server | nc -l -p 8080; done"] },
  ]);
  await agent.runTask(server);
  await waitUntil(() => agent.describe(server.taskArn)?.lastStatus === "RUNNING", "server RUNNING");
  const address = agent.describe(server.taskArn)!.containers[0]!.networkInterfaces[0]!.privateIpv4Address;
  const client = await runToCompletion(taskSpec([{ name: "client", command: ["sh", "-c", `sleep 0.3; nc -w 3 ${address} 8080 </dev/null`] }]));
  assert.ok(client.lines.includes("client: hello-from-server"), client.lines.join("\n"));
  await agent.stopTask(server.taskArn, "done", "UserInitiated");
  await agent.whenStopped(server.taskArn);
});

test("user namespaces: uid 0 inside is an unprivileged host uid of the task's own range; image files read as root's; writes land as the range's; no nested user namespace, no NET_ADMIN, no way in for other host uids", async () => {
  const command = [
    "id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; touch /made-by-root && echo wrote",
    // What container root must not be able to do: a nested user namespace (every capability over
    // namespaces of its own), or anything needing CAP_NET_ADMIN over its network namespace.
    "unshare -U -r true 2>/dev/null && echo nested-userns-made || echo nested-userns-refused",
    "ip link add bthdummy0 type dummy 2>/dev/null && echo netadmin || echo no-netadmin",
    "exec sleep 600",
  ].join("; ");
  // An init, so the stop's SIGTERM ends the task at once (sh as PID 1 would ignore it).
  const container = (name: string) => ({ name, linuxParameters: { initProcessEnabled: true }, command: ["sh", "-c", command] });
  const specs = [taskSpec([container("first")]), taskSpec([container("second")])];
  for (const spec of specs) await agent.runTask(spec);
  for (const spec of specs) await waitUntil(() => agent.describe(spec.taskArn)?.lastStatus === "RUNNING", "RUNNING");
  const bases: number[] = [];
  for (const spec of specs) {
    const name = spec.taskDefinition.containerDefinitions![0]!.name!;
    await waitUntil(() => (logs.byTask.get(spec.taskId) ?? []).includes(`${name}: wrote`), "the container's first lines");
    await waitUntil(() => (logs.byTask.get(spec.taskId) ?? []).length >= 6, "the container's checks");
    const [uid, uidMap, owner, , nested, netAdmin] = (logs.byTask.get(spec.taskId) ?? []).map((line) => line.slice(name.length + 2));
    assert.equal(nested, "nested-userns-refused");
    assert.equal(netAdmin, "no-netadmin");
    assert.equal(uid, "0", "root inside");
    const [inside, base, size] = uidMap!.trim().split(/\s+/).map(Number);
    assert.equal(inside, 0);
    assert.equal(size, 65_536);
    assert.ok(base! >= 2 ** 30, `host range starts at ${base}`);
    assert.equal(owner, "0:0", "image files read as owned by container root");
    // From the host, the container's processes run as the range's base uid, not as root.
    const procs = readFileSync(join("/sys/fs/cgroup/pids/berth", spec.taskId, name, "cgroup.procs"), "utf8")
      .split("\n")
      .filter(Boolean);
    assert.ok(procs.length > 0);
    for (const pid of procs) {
      const uids = readFileSync(`/proc/${pid}/status`, "utf8")
        .match(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m)!
        .slice(1)
        .map(Number);
      assert.deepEqual(uids, [base, base, base, base], `pid ${pid} runs as the unprivileged host uid`);
    }
    // What container root wrote is owned by the range on the host, not by host root.
    const upper = join(runtime.filesystems.exposedDir(spec.taskId), "ephemeral", "containers", name, "upper", "made-by-root");
    assert.equal(statSync(upper).uid, base);
    // Another unprivileged host uid cannot walk to the task's root filesystem (only its own range can).
    const rootfs = join(runtime.filesystems.exposedDir(spec.taskId), "containers", name, "rootfs");
    const stranger = spawnSync("setpriv", ["--reuid", "12345", "--regid", "12345", "--clear-groups", "stat", rootfs], { encoding: "utf8" });
    assert.notEqual(stranger.status, 0);
    assert.match(stranger.stderr, /Permission denied/);
    bases.push(base!);
  }
  assert.notEqual(bases[0], bases[1], "each task has a range of its own");
  for (const spec of specs) await agent.stopTask(spec.taskArn, "done", "UserInitiated");
  for (const spec of specs) await agent.whenStopped(spec.taskArn);
});
