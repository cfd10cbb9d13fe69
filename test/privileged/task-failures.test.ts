// Real tasks (conmon + runc, real networks and storage) in the situations that used to go wrong:
// an OOM kill of one container must not label its sibling's SIGKILL an OOM; a health check that
// times out must not leave its process behind; a failed create must leave nothing; task volumes
// are shared through mountPoints and volumesFrom (read-only where asked).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "../../src/agent/index.js";
import type { Agent } from "../../src/agent/index.js";
import { HostNetworkAdapter } from "../../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../../src/agent/runtime-adapter.js";
import { systemClock } from "../../src/core/clock.js";
import { nativeHelperPath } from "../../src/core/native-helper.js";
import { TaskNetworks } from "../../src/network/index.js";
import type { TaskSpec } from "../../src/protocol/index.js";
import { TaskRuntime, runtimeIdOf } from "../../src/runtime/index.js";
import { mountedPaths } from "../../src/runtime/task-filesystem.js";
import { makeBusyboxLayer } from "../support/busybox-rootfs.js";
import { MemoryReporter } from "../support/agent-fakes.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { hostTaskSpecs, waitUntil } from "../support/host-task-spec.js";
import { LocalBusyboxImages, TaskLogs } from "../support/host-agent-parts.js";

const stateDir = mkdtempSync(join(tmpdir(), "berth-fail-"));
const layerDir = makeBusyboxLayer(mkdtempSync(join(tmpdir(), "berth-layer-")));
const subnet = { subnetId: "subnet-0bth0failures0001", cidr: "10.213.11.0/24" };
const taskSpec = hostTaskSpecs({ family: "tf", idFiller: "dead", subnet, defaultImage: "busybox" });
const image = { layerDirs: [layerDir], config: { env: ["PATH=/bin:/sbin:/usr/bin"] } };

const runtime = new TaskRuntime({ stateDir: join(stateDir, "runtime") });
const logs = new TaskLogs();
const leaksBefore = new Set(findLeaks());
let agent: Agent;

before(async () => {
  agent = createAgent({
    stateDir: join(stateDir, "tasks"),
    images: new LocalBusyboxImages(),
    runtime: new HostRuntimeAdapter(runtime, () => image),
    networks: new HostNetworkAdapter(new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" })),
    logSink: logs,
    reporter: new MemoryReporter(),
    clock: systemClock,
    logger: { error: (details, message) => console.error(message, details), info: () => undefined },
    logPollMs: 100,
  });
  await agent.start();
});

after(async () => {
  await agent.close();
  // The VPC router outlives its last task until the next view or the stop (src/network/task-networks.ts).
  await new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" }).stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(layerDir, { recursive: true, force: true });
  // The machine is shared: only what appeared during this file counts as its leak.
  assertNoNewLeaks(leaksBefore);
});

const container = (spec: TaskSpec, name: string) => agent.describe(spec.taskArn)?.containers.find((c) => c.name === name);

test("an OOM kill of one container does not label its sibling's later SIGKILL an OOM", async () => {
  const spec = taskSpec(
    [
      { name: "hog", essential: false, command: ["sh", "-c", "head -c 400m /dev/zero | tail"] },
      { name: "keeper", command: ["sh", "-c", "sleep 600"], stopTimeout: 2 },
    ],
    { memoryMiB: 128 },
  );
  await agent.runTask(spec);
  await waitUntil(() => container(spec, "hog")?.lastStatus === "STOPPED", "the hog to be killed");
  assert.equal(container(spec, "hog")!.exitCode, 137);
  assert.equal(container(spec, "hog")!.reason, "OutOfMemoryError: Container killed due to memory usage");
  assert.equal(agent.describe(spec.taskArn)!.lastStatus, "RUNNING", "a non-essential container's exit leaves the task running");
  await agent.stopTask(spec.taskArn, "done", "UserInitiated");
  await agent.whenStopped(spec.taskArn);
  const keeper = container(spec, "keeper")!;
  assert.equal(keeper.exitCode, 137, "SIGKILLed after its stop timeout");
  assert.equal(keeper.reason, undefined);
});

test("a health check that times out is killed with everything it started", async () => {
  const spec = taskSpec([
    {
      name: "web",
      linuxParameters: { initProcessEnabled: true },
      command: ["sleep", "600"],
      healthCheck: { command: ["CMD-SHELL", "trap '' TERM; sleep 30; true"], interval: 5, timeout: 2, retries: 10 },
    },
  ]);
  await agent.runTask(spec);
  await waitUntil(() => agent.describe(spec.taskArn)?.lastStatus === "RUNNING", "RUNNING");
  const procs = join("/sys/fs/cgroup/pids/berth", spec.taskId, "web", "cgroup.procs");
  const count = () => readFileSync(procs, "utf8").split("\n").filter(Boolean).length;
  await waitUntil(() => count() > 2, "the health check to run");
  // The first check times out 2 s after it started; the next starts 5 s after that.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.equal(count(), 2, `only init and sleep 600 remain: ${readFileSync(procs, "utf8").trim().replace(/\n/g, " ")}`);
  assert.equal(container(spec, "web")!.health, "UNKNOWN", "one failure of ten retries");
  await agent.stopTask(spec.taskArn, "done", "UserInitiated");
  await agent.whenStopped(spec.taskArn);
});

test("a create that fails leaves no conmon, runtime state, mount or files behind", async () => {
  const broken = new TaskRuntime({ stateDir: join(stateDir, "broken-runtime") });
  const taskId = "ffff0000ffff0000ffff0000ffff0000";
  await broken.prepareTask(taskId, { cpuUnits: 256, memoryMiB: 512 }, 1);
  try {
    const launch = {
      taskId,
      budget: { cpuUnits: 256, memoryMiB: 512 },
      taskDefinition: { family: "tf", containerDefinitions: [{ name: "app", image: "busybox" }] },
      container: { name: "app", image: "busybox", command: ["true"] },
      image: { layerDirs: image.layerDirs, env: image.config.env },
      platformEnv: {},
      // runc refuses to create a container whose network namespace does not exist.
      network: {
        netnsPath: "/var/run/netns/bth-no-such-netns",
        userNamespacePath: "/run/berth/userns/bth-no-such-netns",
        ipv4: "10.213.11.200",
        hostname: "ip-10-213-11-200.ec2.internal",
        nameservers: [],
        searchDomains: [],
      },
    };
    await assert.rejects(broken.createContainer(launch), /failed to create container/);
    const runtimeId = runtimeIdOf(taskId, "app");
    assert.deepEqual(broken.supervisor.list(), [], "no supervision files");
    assert.equal(
      [...mountedPaths()].some((path) => path.includes(taskId) && path.endsWith("/app/rootfs")),
      false,
      "overlay unmounted",
    );
    assert.equal(existsSync(join(stateDir, "broken-runtime", "containers", runtimeId)), false);
    // A second attempt starts from nothing and fails the same way (idempotent cleanup).
    await assert.rejects(broken.createContainer(launch), /failed to create container/);
    assert.deepEqual(broken.supervisor.list(), []);
  } finally {
    await broken.removeTask(taskId);
  }
});

test("a created container whose conmon died is made again, never started unsupervised", async () => {
  const rt = new TaskRuntime({ stateDir: join(stateDir, "orphan-runtime") });
  const taskId = "eeee0000eeee0000eeee0000eeee0000";
  await rt.prepareTask(taskId, { cpuUnits: 256, memoryMiB: 512 }, 1);
  const runtimeId = runtimeIdOf(taskId, "app");
  try {
    const launch = {
      taskId,
      budget: { cpuUnits: 256, memoryMiB: 512 },
      taskDefinition: { family: "tf", containerDefinitions: [{ name: "app", image: "busybox" }] },
      container: { name: "app", image: "busybox", command: ["sleep", "30"] },
      image: { layerDirs: image.layerDirs, env: image.config.env },
      platformEnv: {},
      // An empty namespace of the test's own is enough: the container is created, never started.
      network: {
        netnsPath: "/var/run/netns/bth-orphan-test",
        userNamespacePath: "/run/berth/userns/bth-orphan-test",
        ipv4: "10.213.11.201",
        hostname: "ip-10-213-11-201.ec2.internal",
        nameservers: [],
        searchDomains: [],
      },
    };
    const ids = await rt.idRange(taskId);
    mkdirSync("/run/berth/userns", { recursive: true });
    execFileSync(nativeHelperPath(), ["namespaces", String(ids.base), String(ids.size), launch.network.userNamespacePath, launch.network.netnsPath]);
    await rt.createContainer(launch);
    const conmonPidFile = join(stateDir, "orphan-runtime", "containers", runtimeId, "conmon.pid");
    const firstConmon = Number(readFileSync(conmonPidFile, "utf8").trim());
    assert.equal((await rt.state(runtimeId)).kind, "created");
    // conmon dies before the container starts (as it does writing to a sync pipe nobody reads).
    process.kill(firstConmon, "SIGKILL");
    await waitUntil(() => !existsSync(`/proc/${firstConmon}`) || /\) Z/.test(readFileSync(`/proc/${firstConmon}/stat`, "utf8")), "conmon gone");
    assert.equal((await rt.state(runtimeId)).kind, "missing", "created but unsupervised counts as missing");
    await rt.createContainer(launch);
    const secondConmon = Number(readFileSync(conmonPidFile, "utf8").trim());
    assert.notEqual(secondConmon, firstConmon, "made again under a new conmon");
    assert.equal((await rt.state(runtimeId)).kind, "created");
  } finally {
    await rt.removeContainer(runtimeId).catch(() => undefined);
    await rt.removeTask(taskId);
    execFileSync("ip", ["netns", "del", "bth-orphan-test"]);
    execFileSync("umount", ["/run/berth/userns/bth-orphan-test"]);
    rmSync("/run/berth/userns/bth-orphan-test");
  }
});

test("task volumes are shared through mountPoints and volumesFrom, read-only where asked", async () => {
  const spec = taskSpec(
    [
      {
        name: "writer",
        command: ["sh", "-c", "echo hello-volume > /data/msg; exec sleep 600"],
        mountPoints: [{ sourceVolume: "shared", containerPath: "/data" }],
        linuxParameters: { initProcessEnabled: true },
      },
      {
        name: "reader",
        essential: false,
        dependsOn: [{ containerName: "writer", condition: "START" }],
        volumesFrom: [{ sourceContainer: "writer", readOnly: true }],
        command: ["sh", "-c", "sleep 0.5; cat /data/msg; touch /data/other 2>&1; true"],
      },
    ],
    { volumes: [{ name: "shared" }] },
  );
  await agent.runTask(spec);
  await waitUntil(() => container(spec, "reader")?.lastStatus === "STOPPED", "the reader to finish");
  await waitUntil(() => (logs.byTask.get(spec.taskId) ?? []).length >= 2, "the reader's lines");
  const lines = logs.byTask.get(spec.taskId)!;
  assert.ok(lines.includes("reader: hello-volume"), lines.join("\n"));
  assert.ok(
    lines.some((line) => /^reader: .*Read-only file system/.test(line)),
    lines.join("\n"),
  );
  await agent.stopTask(spec.taskArn, "done", "UserInitiated");
  await agent.whenStopped(spec.taskArn);
});
