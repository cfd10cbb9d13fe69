import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultNetwork } from "../core/default-network.js";
import { protocolVersion } from "../protocol/index.js";
import { ManualClock, storeWithPlacedTask } from "../../test/support/control-plane.js";
import { Fleet } from "./fleet.js";

// Each concern is tested with its owner (host-registry, desired-state-feed, report-ingest,
// log-ingest, lost-host-reaper); this checks the assembly the agent route and the server use.
test("the fleet serves a host end to end: register, poll, report, ship logs, heartbeat, be reaped", async () => {
  const clock = new ManualClock();
  const { store, taskArn } = await storeWithPlacedTask(clock);
  const fleet = new Fleet({
    hosts: store.hosts,
    tasks: store.tasks,
    logs: store.logs,
    network: defaultNetwork({ accountId: "123456789012", region: "us-east-1" }),
    clock,
    pollWaitMs: 50,
    heartbeatIntervalMs: 1_000,
  });
  try {
    assert.equal(fleet.lostAfterMs, 4_000, "lost after four heartbeat intervals by default");
    const registered = await fleet.register({
      protocolVersion,
      hostId: "h1",
      agentVersion: "t",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 50, ephemeralGiB: 400 },
      machine: { cpuCount: 8, memoryMiB: 16384 },
      overcommit: false,
      subnetIds: [],
    });
    assert.equal(registered.heartbeatIntervalMs, 1_000);
    assert.equal(await fleet.authenticateHost("h1", registered.hostSecret), true);
    assert.equal(await fleet.mayRegister("h1", undefined), false);
    const polled = await fleet.poll("h1", -1);
    assert.deepEqual(
      polled.tasks.map((task) => task.spec.taskArn),
      [taskArn],
    );
    const waiting = fleet.poll("h1", polled.generation);
    fleet.notify("h1");
    assert.notEqual((await waiting).generation, polled.generation);
    await fleet.report("h1", {
      reports: [{ protocolVersion, taskArn, lastStatus: "RUNNING", desiredStatus: "RUNNING", sequence: 1, health: "UNKNOWN", containers: [] }],
    });
    assert.equal((await store.tasks.get(taskArn))!.lastStatus, "RUNNING");
    await fleet.putLogs("h1", [
      { taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events: [{ timestamp: 1, message: "hello" }] },
    ]);
    assert.ok(await store.logs.getGroup("/ecs/app"));
    clock.time += 3_000;
    await fleet.heartbeat("h1");
    clock.time += 3_000;
    assert.deepEqual(await fleet.reapLostHosts(), [], "a heartbeat keeps the host");
    clock.time += 4_001;
    assert.deepEqual(await fleet.reapLostHosts(), ["h1"]);
    assert.equal((await store.tasks.get(taskArn))!.lastStatus, "STOPPED");
    fleet.close();
    await assert.rejects(fleet.poll("h1", -1), /shutting down/);
  } finally {
    await store.close();
  }
});
