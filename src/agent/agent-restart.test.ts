// Agent behaviour around restarts and failures, with fake runtime/network and a fake clock: log
// shipping (no line lost or duplicated), stopped-record cleanup, and dependency startTimeout.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, LogDeliveryRefusedError } from "./index.js";
import type { Agent, LogEvent, LogSink } from "./index.js";
import { protocolVersion } from "../protocol/index.js";
import type { TaskSpec } from "../protocol/index.js";
import { FakeClock, FakeImages, FakeNetworks, FakeRuntime, MemoryReporter, fakeTaskSpec, settle, until } from "../../test/support/agent-fakes.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const arn = "arn:aws:ecs:us-east-1:000000000000:task/c/t1";
const spec: TaskSpec = fakeTaskSpec([{ name: "app", image: "x" }]);

/** Stores each (container, offset) once, like the control plane; counts every write attempt. */
class DedupingSink implements LogSink {
  readonly stored: string[] = [];
  readonly seen = new Set<string>();
  writes = 0;
  failures = 0;
  refuse = false;
  /** Runs after a write was stored, before it is acknowledged (to crash the agent right there). */
  afterStore: (() => Promise<void>) | undefined;
  async write(_taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void> {
    this.writes += 1;
    if (this.refuse) throw new LogDeliveryRefusedError("The specified log group does not exist: /missing");
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("control plane unreachable");
    }
    for (const event of events) {
      const key = `${containerName}@${event.offset}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.stored.push(event.message);
    }
    const hook = this.afterStore;
    this.afterStore = undefined;
    await hook?.();
  }
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "bth-logs-"));
  dirs.push(dir);
  const clock = new FakeClock();
  const runtime = new FakeRuntime();
  const networks = new FakeNetworks();
  const sink = new DedupingSink();
  const errors: string[] = [];
  const make = (): Agent =>
    createAgent({
      stateDir: dir,
      images: new FakeImages(),
      runtime,
      networks,
      logSink: sink,
      reporter: new MemoryReporter(),
      clock,
      logger: { error: (details, message) => errors.push(`${message} ${String((details as { err?: Error }).err?.message ?? "")}`), info: () => undefined },
      logPollMs: 1000,
    });
  return { clock, runtime, networks, sink, errors, make };
}

async function runningAgent(s: ReturnType<typeof setup>): Promise<Agent> {
  const agent = s.make();
  await agent.start();
  await agent.runTask(spec);
  await until(() => agent.describe(arn)?.lastStatus === "RUNNING", "RUNNING");
  return agent;
}

test("lines written while the agent was down, by a container that exited meanwhile, are all shipped on restart", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  s.runtime.log("t1-app", "a");
  s.runtime.log("t1-app", "b");
  await s.clock.advance(1000);
  await until(() => s.sink.stored.length === 2, "a and b shipped");
  await agent.close();
  s.runtime.dropWaiters();
  s.runtime.log("t1-app", "c");
  s.runtime.log("t1-app", "d");
  s.runtime.log("t1-app", "e");
  s.runtime.exitContainer("t1-app", { exitCode: 4, oomKilled: false });
  const restarted = s.make();
  await restarted.start();
  await restarted.whenStopped(arn);
  assert.deepEqual(s.sink.stored, ["a", "b", "c", "d", "e"]);
  assert.equal(restarted.describe(arn)?.containers[0]?.exitCode, 4);
  assert.equal(s.runtime.containers.size, 0, "the container (and its log) removed once shipped");
  assert.deepEqual(s.errors, []);
});

test("a crash after the sink stored a batch but before the offset was saved re-sends it, and nothing is stored twice", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  for (const m of ["a", "b", "c"]) s.runtime.log("t1-app", m);
  s.sink.afterStore = () => agent.close();
  s.runtime.dropWaiters();
  await s.clock.advance(1000);
  await until(() => s.sink.writes === 1, "first batch stored");
  await settle();
  const writesBefore = s.sink.writes;
  s.runtime.log("t1-app", "d");
  s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
  const restarted = s.make();
  await restarted.start();
  await restarted.whenStopped(arn);
  assert.deepEqual(s.sink.stored, ["a", "b", "c", "d"]);
  // The fake runtime hands out two lines per read: a and b were sent again after the restart.
  assert.ok(s.sink.writes > writesBefore + 1, `re-sent after the restart (${s.sink.writes} writes)`);
});

test("the final pass retries until the sink accepts; the container is removed only after", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  s.runtime.log("t1-app", "last words");
  s.sink.failures = 5;
  s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
  await until(() => s.sink.writes === 1, "first attempt");
  await s.clock.advance(3_000, 100);
  assert.equal(agent.describe(arn)?.lastStatus, "DEPROVISIONING");
  assert.equal(s.runtime.containers.size, 1, "log kept while lines are unacknowledged");
  await s.clock.advance(10_000, 250);
  await agent.whenStopped(arn);
  assert.deepEqual(s.sink.stored, ["last words"]);
  assert.equal(s.sink.writes, 6);
  assert.equal(s.runtime.containers.size, 0);
});

test("a sink that refuses (missing log group) is retried with backoff, not every poll, and the lines are dropped with an error after the exit", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  s.sink.refuse = true;
  s.runtime.log("t1-app", "nobody hears this");
  await s.clock.advance(30_000, 250);
  // Attempts at 0, 1, 3, 7, 15 s (doubling from 1 s) instead of one per 1 s poll.
  assert.ok(s.sink.writes <= 6, `${s.sink.writes} attempts in 30 s`);
  assert.ok(
    s.errors.some((line) => /does not exist/.test(line)),
    s.errors.join("\n"),
  );
  s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
  for (let i = 0; i < 20 && agent.describe(arn)?.lastStatus !== "STOPPED"; i++) await s.clock.advance(10_000, 1000);
  await agent.whenStopped(arn);
  assert.ok(
    s.errors.some((line) => /1 log line\(s\) of container app were dropped/.test(line)),
    s.errors.join("\n"),
  );
  assert.equal(s.runtime.containers.size, 0);
});

test("the awslogs sink turns a missing log group (client fault) into a refusal and keeps transient failures retryable", async () => {
  const { AwslogsSink } = await import("./host-agent.js");
  const { invalidParameterException } = await import("../core/errors.js");
  const { ControlLinkError } = await import("./control-link-http.js");
  const withLogs: TaskSpec = {
    ...spec,
    logConfigurations: { app: { logDriver: "awslogs", options: { "awslogs-group": "/missing", "awslogs-stream-prefix": "ecs" } } },
  };
  let failure: Error = invalidParameterException("The specified log group does not exist: /missing");
  const link = {
    putLogs: async () => {
      throw failure;
    },
  } as unknown as ConstructorParameters<typeof AwslogsSink>[0];
  const sink = new AwslogsSink(link, () => withLogs);
  sink.hostId = "h1";
  const events = [{ timestamp: 1, message: "x", stream: "stdout" as const, offset: 10 }];
  await assert.rejects(sink.write("t1", "app", events), (error: Error) => error instanceof LogDeliveryRefusedError && /does not exist/.test(error.message));
  failure = new ControlLinkError("agent protocol logs: HTTP 400: The specified log group does not exist", 400);
  await assert.rejects(sink.write("t1", "app", events), LogDeliveryRefusedError);
  failure = new ControlLinkError("agent protocol logs: HTTP 503: unavailable", 503);
  await assert.rejects(sink.write("t1", "app", events), (error: Error) => !(error instanceof LogDeliveryRefusedError));
});

test("a stopped task's record is deleted once forgotten, and a restarted agent does not bring it back", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  assert.equal(await agent.forget(arn), false, "a running task is kept");
  s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
  await agent.whenStopped(arn);
  assert.equal(await agent.forget(arn), true);
  assert.equal(agent.describe(arn), undefined);
  await agent.close();
  const restarted = s.make();
  await restarted.start();
  assert.deepEqual(restarted.list(), []);
  await restarted.close();
});

test("a dependency that misses its startTimeout stops the task instead of waiting forever (ContainerDefinition.startTimeout)", async () => {
  const s = setup();
  s.runtime.behaviours.db = { healthy: false };
  const agent = s.make();
  await agent.start();
  const withDependency: TaskSpec = {
    ...spec,
    taskDefinition: {
      family: "f",
      revision: 1,
      containerDefinitions: [
        { name: "app", image: "x", dependsOn: [{ containerName: "db", condition: "HEALTHY" }] },
        { name: "db", image: "y", startTimeout: 10, healthCheck: { command: ["CMD", "false"], interval: 5, retries: 10 } },
      ],
    },
  };
  await agent.runTask(withDependency);
  await until(() => s.runtime.startOrder.includes("db"), "db started");
  await settle();
  await s.clock.advance(9_000);
  assert.equal(agent.describe(arn)?.lastStatus, "ACTIVATING", "still within db's startTimeout");
  await s.clock.advance(2_000);
  await agent.whenStopped(arn);
  const stopped = agent.describe(arn)!;
  assert.equal(stopped.stopCode, "TaskFailedToStart");
  assert.match(
    stopped.stoppedReason ?? "",
    /^CannotStartContainerError: dependency db of container app did not reach condition HEALTHY within its startTimeout of 10 s/,
  );
  assert.deepEqual(s.runtime.startOrder, ["db"], "app never started");
});

test("closing the agent ends its waits on running containers, so nothing holds the process open (berth server SIGTERM)", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  assert.equal(s.runtime.pendingWaits, 1);
  await agent.close();
  await settle();
  assert.equal(s.runtime.pendingWaits, 0);
  assert.equal(s.runtime.containers.get("t1-app")?.running, true, "the container keeps running");
  assert.deepEqual(s.errors, []);
});

test("a closed report forwarder stops retrying against a control plane that is gone", async () => {
  const { ReportForwarder } = await import("./host-agent.js");
  const { systemClock } = await import("../core/clock.js");
  let attempts = 0;
  const link = {
    report: async () => {
      attempts += 1;
      throw new Error("store closed");
    },
  } as unknown as ConstructorParameters<typeof ReportForwarder>[0];
  const forwarder = new ReportForwarder(link, systemClock, { error: () => undefined, info: () => undefined });
  forwarder.hostId = "h1";
  await forwarder.report({ protocolVersion, taskArn: arn, lastStatus: "RUNNING", desiredStatus: "RUNNING", sequence: 1, health: "UNKNOWN", containers: [] });
  await until(() => attempts >= 2, "a retry");
  forwarder.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const after = attempts;
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.equal(attempts, after, "no attempt after close");
});

test("a cleanup step that fails is retried with backoff until it succeeds, instead of leaving DEPROVISIONING forever", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  s.runtime.failRemoves = 3;
  s.runtime.exitContainer("t1-app", { exitCode: 0, oomKilled: false });
  await until(() => s.runtime.failRemoves === 2, "first removal attempt");
  assert.equal(agent.describe(arn)?.lastStatus, "DEPROVISIONING");
  await s.clock.advance(2_000, 50);
  await agent.whenStopped(arn);
  assert.equal(s.runtime.failRemoves, 0);
  assert.equal(s.runtime.containers.size, 0);
  assert.equal(s.networks.live.size, 0);
  assert.ok(
    s.errors.some((line) => /removing container app failed \(attempt 1\)/.test(line)),
    s.errors.join("\n"),
  );
});

test("an agent that stops while the network is being plugged in connects it on restart and runs the created container", async () => {
  const s = setup();
  let connect!: () => void;
  s.networks.connectGate = new Promise((resolve) => (connect = resolve));
  const agent = s.make();
  await agent.start();
  await agent.runTask(spec);
  await until(() => s.runtime.containers.has("t1-app"), "container created");
  await agent.close();
  assert.equal(s.networks.connected.has("t1"), false);
  s.networks.connectGate = Promise.resolve();
  const restarted = s.make();
  await restarted.start();
  await until(() => restarted.describe(arn)?.lastStatus === "RUNNING", "RUNNING after restart");
  assert.ok(s.networks.connected.has("t1"), "connected by the restarted agent");
  assert.deepEqual(s.runtime.startOrder, ["app"], "the same container, started once");
  connect();
  await restarted.close();
  assert.deepEqual(s.errors, []);
});

test("closing the agent waits for a log read in progress, and the closed agent sends none of its lines", async () => {
  const s = setup();
  const agent = await runningAgent(s);
  s.runtime.log("t1-app", "a");
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const read = s.runtime.readLogs.bind(s.runtime);
  let reading = false;
  s.runtime.readLogs = async (runtimeId: string, offset: number, options?: { final?: boolean }) => {
    reading = true;
    await gate;
    return read(runtimeId, offset, options);
  };
  await s.clock.advance(1000);
  await until(() => reading, "a log read in progress");
  let closed = false;
  const closing = agent.close().then(() => {
    closed = true;
  });
  await settle();
  assert.equal(closed, false, "close() waits for the read it started");
  release();
  await closing;
  await settle();
  assert.deepEqual(s.sink.stored, [], "the lines read while closing are left for the next agent");
});
