import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "./index.js";
import type { Agent } from "./index.js";
import {
  FakeClock,
  FakeImages,
  FakeNetworks,
  FakeRuntime,
  MemoryLogSink,
  MemoryReporter,
  fakeTaskSpec,
  settle,
  until,
} from "../../test/support/agent-fakes.js";
import type { FakeBehaviour } from "../../test/support/agent-fakes.js";

const dirs: string[] = [];
// Agents a test left open still wait on their containers' exits (as real waiters do, those hold
// the event loop), so each is closed after its test; closing twice is harmless.
const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const spec = fakeTaskSpec;

function setup(behaviours: Record<string, FakeBehaviour> = {}, stateDir?: string) {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), "bth-agent-"));
  if (!stateDir) dirs.push(dir);
  const clock = new FakeClock();
  const runtime = new FakeRuntime(behaviours);
  const images = new FakeImages();
  const networks = new FakeNetworks();
  const logSink = new MemoryLogSink();
  const reporter = new MemoryReporter();
  const errors: string[] = [];
  const make = (rt = runtime, net = networks): Agent => {
    const agent = createAgent({
      stateDir: dir,
      images,
      runtime: rt,
      networks: net,
      logSink,
      reporter,
      clock,
      logger: { error: (_d, m) => errors.push(m), info: () => undefined },
      logPollMs: 1000,
    });
    agents.push(agent);
    return agent;
  };
  return { errors, dir, clock, runtime, images, networks, logSink, reporter, make, agent: make() };
}

const arn = (id = "t1") => `arn:aws:ecs:us-east-1:000000000000:task/c/${id}`;

describe("agent task runner", () => {
  test("walks the Fargate lifecycle to RUNNING with every start timestamp and the ENI attachment", async () => {
    const s = setup();
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "busybox" }]));
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING reported");
    const d = s.agent.describe(arn());
    assert.equal(d?.lastStatus, "RUNNING");
    assert.deepEqual(s.reporter.statuses, ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"]);
    assert.ok(d?.pullStartedAtMs && d.pullStoppedAtMs && d.connectivityAtMs && d.startedAtMs);
    assert.equal(d?.attachment?.networkInterfaceId, "eni-t1");
    assert.equal(d?.containers[0]?.lastStatus, "RUNNING");
    assert.match(d?.containers[0]?.imageDigest ?? "", /^sha256:/);
  });

  test("creates the containers while the network is plugged in, and starts none before it is", async () => {
    const s = setup();
    let connect!: () => void;
    s.networks.connectGate = new Promise((resolve) => (connect = resolve));
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "busybox" }]));
    await until(() => s.runtime.containers.has("t1-app"), "container created");
    await settle();
    assert.deepEqual(s.runtime.startOrder, [], "not started before the network is connected");
    assert.equal(s.agent.describe(arn())?.connectivityAtMs, undefined);
    connect();
    await until(() => s.agent.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    assert.ok(s.networks.connected.has("t1"));
    assert.deepEqual(s.runtime.startOrder, ["app"]);
    assert.ok(s.agent.describe(arn())?.connectivityAtMs);
  });

  test("a network that cannot be plugged in stops the task (ResourceInitializationError) and releases everything", async () => {
    const s = setup();
    s.networks.connectError = new Error("RTNETLINK answers: No buffer space available");
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "busybox" }]));
    await until(() => s.agent.describe(arn())?.lastStatus === "STOPPED", "STOPPED");
    const d = s.agent.describe(arn())!;
    assert.equal(d.stopCode, "TaskFailedToStart");
    assert.match(d.stoppedReason ?? "", /^ResourceInitializationError: failed to set up the task network: RTNETLINK answers: No buffer space available/);
    assert.deepEqual(s.runtime.startOrder, []);
    assert.equal(s.runtime.containers.size, 0, "the container created meanwhile is removed");
    assert.equal(s.networks.live.size, 0, "the network is torn down");
    assert.equal(s.runtime.rootfs.size, 0);
  });

  test("a network that fails while images are pulling stops the start before the next pull, with the network's error", async () => {
    const s = setup();
    s.networks.connectError = new Error("RTNETLINK answers: File exists");
    let failConnect!: () => void;
    s.networks.connectGate = new Promise((resolve) => (failConnect = resolve));
    let release!: () => void;
    s.images.gate = new Promise((resolve) => (release = resolve));
    await s.agent.start();
    await s.agent.runTask(
      spec([
        { name: "a", image: "first" },
        { name: "b", image: "second" },
      ]),
    );
    await until(() => s.images.pulls.length === 1, "first pull under way");
    failConnect(); // the network fails while the first image is still coming
    await settle();
    release();
    await until(() => s.agent.describe(arn())?.lastStatus === "STOPPED", "STOPPED");
    assert.deepEqual(
      s.images.pulls.map((pull) => pull.image),
      ["first"],
      "the second image is not pulled",
    );
    assert.match(
      s.agent.describe(arn())?.stoppedReason ?? "",
      /^ResourceInitializationError: failed to set up the task network: RTNETLINK answers: File exists/,
    );
  });

  test("starts containers in dependsOn order and holds a HEALTHY dependant until the health check passes", async () => {
    const s = setup({ db: { healthy: false } });
    await s.agent.start();
    await s.agent.runTask(
      spec([
        {
          name: "app",
          image: "app",
          dependsOn: [
            { containerName: "db", condition: "HEALTHY" },
            { containerName: "init", condition: "SUCCESS" },
          ],
        },
        { name: "db", image: "db", healthCheck: { command: ["CMD-SHELL", "true"], interval: 5, retries: 3 } },
        { name: "init", image: "init", essential: false },
      ]),
    );
    await until(() => s.runtime.startOrder.length === 2, "db and init started");
    await settle();
    assert.deepEqual(s.runtime.startOrder, ["db", "init"]);
    s.runtime.exitContainer("t1-init", { exitCode: 0, oomKilled: false });
    await s.clock.advance(6000);
    assert.deepEqual(s.runtime.startOrder, ["db", "init"], "db is not healthy yet");
    s.runtime.behaviours.db = {};
    s.runtime.containers.get("t1-db")!.behaviour = {};
    await s.clock.advance(6000);
    await until(() => s.agent.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    assert.deepEqual(s.runtime.startOrder, ["db", "init", "app"]);
    assert.equal(s.agent.describe(arn())?.lastStatus, "RUNNING");
    assert.equal(s.agent.describe(arn())?.health, "HEALTHY");
  });

  test("an essential container exiting stops the task in reverse dependency order", async () => {
    const s = setup();
    await s.agent.start();
    await s.agent.runTask(
      spec([
        { name: "app", image: "app", dependsOn: [{ containerName: "proxy", condition: "START" }] },
        { name: "proxy", image: "proxy" },
        { name: "worker", image: "w", dependsOn: [{ containerName: "app", condition: "START" }] },
      ]),
    );
    await until(() => s.agent.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    s.runtime.exitContainer("t1-proxy", { exitCode: 3, oomKilled: false });
    await s.agent.whenStopped(arn());
    const d = s.agent.describe(arn());
    assert.equal(d?.lastStatus, "STOPPED");
    assert.equal(d?.stopCode, "EssentialContainerExited");
    assert.equal(d?.stoppedReason, "Essential container in task exited");
    assert.deepEqual(s.runtime.exitOrder, ["proxy", "worker", "app"]);
    assert.deepEqual(
      d?.containers.map((c) => c.exitCode),
      [143, 3, 143],
    );
    assert.ok(d?.stoppingAtMs && d.executionStoppedAtMs && d.stoppedAtMs);
    assert.equal(s.networks.live.size, 0);
    assert.equal(s.runtime.rootfs.size, 0);
    assert.equal(s.runtime.containers.size, 0);
  });

  test("a user stop escalates to SIGKILL after the container's stopTimeout", async () => {
    const s = setup({ stubborn: { trapsTerm: true } });
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "stubborn", image: "x", stopTimeout: 10 }]));
    await until(() => s.agent.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    await s.agent.stopTask(arn(), "Task stopped by user", "UserInitiated");
    await until(() => s.runtime.signals.length === 1, "SIGTERM sent");
    await settle();
    await s.clock.advance(9000);
    assert.equal(s.agent.describe(arn())?.lastStatus, "STOPPING");
    assert.deepEqual(s.runtime.signals, ["stubborn:SIGTERM"]);
    await s.clock.advance(2000);
    await s.agent.whenStopped(arn());
    const d = s.agent.describe(arn());
    assert.deepEqual(s.runtime.signals, ["stubborn:SIGTERM", "stubborn:SIGKILL"]);
    assert.equal(d?.containers[0]?.exitCode, 137);
    assert.equal(d?.stopCode, "UserInitiated");
    assert.equal(d?.stoppedReason, "Task stopped by user");
  });

  test("a failing image pull stops the task with CannotPullContainerError and TaskFailedToStart", async () => {
    const s = setup();
    s.images.missing.add("nope:latest");
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "nope:latest" }]));
    await s.agent.whenStopped(arn());
    const d = s.agent.describe(arn());
    assert.equal(d?.stopCode, "TaskFailedToStart");
    assert.match(d?.stoppedReason ?? "", /^CannotPullContainerError: /);
    assert.match(d?.containers[0]?.reason ?? "", /^CannotPullContainerError: /);
    assert.equal(s.networks.live.size, 0);
  });

  test("a container that cannot start fails the task with CannotStartContainerError", async () => {
    const s = setup({ app: { failStart: true } });
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "x" }]));
    await s.agent.whenStopped(arn());
    assert.match(s.agent.describe(arn())?.stoppedReason ?? "", /^CannotStartContainerError: /);
    assert.equal(s.runtime.containers.size, 0);
  });

  test("an OOM kill is reported as exit 137 with the OutOfMemoryError reason", async () => {
    const s = setup();
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "x" }]));
    await until(() => s.agent.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    s.runtime.exitContainer("t1-app", { exitCode: 137, oomKilled: true });
    await s.agent.whenStopped(arn());
    const c = s.agent.describe(arn())?.containers[0];
    assert.equal(c?.exitCode, 137);
    assert.equal(c?.reason, "OutOfMemoryError: Container killed due to memory usage");
  });

  test("after a restart the agent collects exits that happened while it was down and finishes the task", async () => {
    const s = setup();
    await s.agent.start();
    await s.agent.runTask(
      spec([
        { name: "app", image: "x" },
        { name: "side", image: "y" },
      ]),
    );
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING reported");
    await s.agent.close();
    s.runtime.dropWaiters();
    s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
    const restarted = s.make();
    await restarted.start();
    await restarted.whenStopped(arn());
    const d = restarted.describe(arn());
    assert.deepEqual(s.errors, []);
    assert.equal(d?.stopCode, "EssentialContainerExited");
    assert.deepEqual(
      d?.containers.map((c) => c.exitCode),
      [0, 143],
    );
    assert.equal(s.networks.live.size, 0);
  });

  test("after a restart a still-running task stays RUNNING and is re-attached", async () => {
    const s = setup();
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "x" }]));
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING reported");
    await s.agent.close();
    s.runtime.dropWaiters();
    const restarted = s.make();
    await restarted.start();
    await settle();
    await until(() => restarted.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    assert.equal(restarted.describe(arn())?.lastStatus, "RUNNING");
    assert.deepEqual(s.runtime.startOrder, ["app"], "not started twice");
    s.runtime.exitContainer("t1-app", { exitCode: 1, oomKilled: false });
    await restarted.whenStopped(arn());
    assert.equal(restarted.describe(arn())?.containers[0]?.exitCode, 1);
  });

  test("log offsets advance only after the sink acknowledged, so no line is lost or duplicated", async () => {
    const s = setup();
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "x" }]));
    await until(() => s.agent.describe(arn())?.lastStatus === "RUNNING", "RUNNING");
    for (const m of ["a", "b", "c"]) s.runtime.log("t1-app", m);
    s.logSink.failNext = 1;
    await s.clock.advance(1000);
    assert.deepEqual(s.logSink.lines, []);
    await s.clock.advance(1000);
    await until(() => s.logSink.lines.length === 3, "three lines shipped");
    assert.deepEqual(s.logSink.lines, ["app: a", "app: b", "app: c"]);
    s.runtime.log("t1-app", "d");
    await s.agent.close();
    s.runtime.dropWaiters();
    const restarted = s.make();
    await restarted.start();
    s.runtime.log("t1-app", "e");
    s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
    await restarted.whenStopped(arn());
    assert.deepEqual(s.logSink.lines, ["app: a", "app: b", "app: c", "app: d", "app: e"]);
  });
  test("an agent restarted in the middle of a stop finishes it and releases every resource", async () => {
    const s = setup({ stubborn: { trapsTerm: true } });
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "stubborn", image: "x", stopTimeout: 5 }]));
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING reported");
    await s.agent.stopTask(arn(), "Task stopped by user", "UserInitiated");
    await until(() => s.reporter.last?.lastStatus === "STOPPING", "STOPPING reported");
    await s.agent.close();
    s.runtime.dropWaiters();
    const restarted = s.make();
    await restarted.start();
    await until(() => s.runtime.signals.length === 2, "stop signal sent again after restart");
    await settle();
    await s.clock.advance(6000);
    await restarted.whenStopped(arn());
    const d = restarted.describe(arn());
    assert.equal(d?.stopCode, "UserInitiated");
    assert.equal(d?.containers[0]?.exitCode, 137);
    assert.equal(s.runtime.containers.size, 0);
    assert.equal(s.networks.live.size, 0);
    assert.equal(s.runtime.rootfs.size, 0);
  });

  test("a failing health check marks the container UNHEALTHY without stopping the task", async () => {
    const s = setup({ app: { healthy: false } });
    await s.agent.start();
    await s.agent.runTask(spec([{ name: "app", image: "x", healthCheck: { command: ["CMD", "false"], interval: 5, retries: 2 } }]));
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING reported");
    await settle();
    await s.clock.advance(6000);
    await until(() => s.agent.describe(arn())?.health === "UNHEALTHY", "UNHEALTHY");
    assert.equal(s.agent.describe(arn())?.lastStatus, "RUNNING");
  });
});
