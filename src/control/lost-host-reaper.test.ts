import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { protocolVersion } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { ManualClock, storeWithPlacedTask } from "../../test/support/control-plane.js";
import { LOST_HOST_REASON, LostHostReaper } from "./lost-host-reaper.js";
import { ReportIngest } from "./report-ingest.js";

const lostAfterMs = 20_000;
let store: Store;
let clock: ManualClock;
let reaper: LostHostReaper;
let taskArn: string;

beforeEach(async () => {
  clock = new ManualClock();
  ({ store, taskArn } = await storeWithPlacedTask(clock));
  reaper = new LostHostReaper({ hosts: store.hosts, tasks: store.tasks, clock, lostAfterMs });
});
afterEach(() => store.close());

test("a host that stops heartbeating is lost and its tasks are stopped with an infrastructure reason", async () => {
  clock.time += lostAfterMs + 1;
  assert.deepEqual(await reaper.reapLostHosts(), ["h1"]);
  const stored = await store.tasks.get(taskArn);
  assert.equal(stored!.task.lastStatus, "STOPPED");
  assert.equal(stored!.task.stoppedReason, LOST_HOST_REASON);
  assert.deepEqual(await store.tasks.reservations(), [], "its reservation is released");
});

test("the reaper is level-triggered: a task left active on an already LOST host is stopped on the next pass", async () => {
  // The host went LOST in an earlier pass whose task update never landed.
  clock.time += lostAfterMs + 1;
  await store.hosts.markLost(clock.now() - lostAfterMs);
  assert.equal((await store.tasks.get(taskArn))!.lastStatus, "PROVISIONING");
  assert.deepEqual(await reaper.reapLostHosts(), [], "no host is newly lost");
  assert.equal((await store.tasks.get(taskArn))!.lastStatus, "STOPPED");
});

test("after a server start, hosts get a full grace period before they can be lost", async () => {
  clock.time += 10 * lostAfterMs; // h1's last heartbeat is long before this "restart"
  const restarted = new LostHostReaper({ hosts: store.hosts, tasks: store.tasks, clock, lostAfterMs });
  assert.deepEqual(await restarted.reapLostHosts(), []);
  assert.equal((await store.tasks.get(taskArn))!.lastStatus, "PROVISIONING");
  clock.time += lostAfterMs;
  assert.deepEqual(await restarted.reapLostHosts(), ["h1"]);
});

test("a report from a reaped host cannot bring its task back to RUNNING", async () => {
  clock.time += lostAfterMs + 1;
  await reaper.reapLostHosts();
  const stoppedAtMs = (await store.tasks.get(taskArn))!.stoppedAtMs;
  const report = {
    protocolVersion,
    taskArn,
    lastStatus: "RUNNING" as const,
    desiredStatus: "RUNNING" as const,
    sequence: 7,
    health: "UNKNOWN" as const,
    containers: [],
  };
  await new ReportIngest({ tasks: store.tasks, clock }).report("h1", { reports: [report] });
  const stored = (await store.tasks.get(taskArn))!;
  assert.equal(stored.lastStatus, "STOPPED");
  assert.equal(stored.stoppedAtMs, stoppedAtMs);
});
