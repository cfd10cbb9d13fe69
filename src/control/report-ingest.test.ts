import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { protocolVersion } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { ManualClock, placedTask, storeWithPlacedTask, taskArnOf } from "../../test/support/control-plane.js";
import { ReportIngest } from "./report-ingest.js";

let store: Store;
let reports: ReportIngest;
let taskArn: string;

beforeEach(async () => {
  const clock = new ManualClock();
  ({ store, taskArn } = await storeWithPlacedTask(clock));
  reports = new ReportIngest({ tasks: store.tasks, clock });
});
afterEach(() => store.close());

const report = (arn: string, sequence: number, lastStatus: "PENDING" | "RUNNING") => ({
  protocolVersion,
  taskArn: arn,
  lastStatus,
  desiredStatus: "RUNNING" as const,
  sequence,
  health: "UNKNOWN" as const,
  containers: [],
});

test("reports are folded once, in sequence order", async () => {
  await reports.report("h1", { reports: [report(taskArn, 2, "RUNNING")] });
  await reports.report("h1", { reports: [report(taskArn, 1, "PENDING")] });
  const stored = await store.tasks.get(taskArn);
  assert.equal(stored!.lastStatus, "RUNNING");
  assert.equal(stored!.reportSequence, 2);
});

test("a batch applies every task's report in one go, two reports of one task in order, and ignores other hosts' tasks", async () => {
  const second = taskArnOf("t2");
  const stranger = taskArnOf("t3");
  await store.tasks.insert([
    placedTask("t2", { task: { taskArn: second, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [] } }),
    placedTask("t3", { hostId: "h2" }),
  ]);
  await reports.report("h1", {
    reports: [report(taskArn, 1, "PENDING"), report(second, 3, "RUNNING"), report(taskArn, 2, "RUNNING"), report(stranger, 1, "RUNNING")],
  });
  assert.equal((await store.tasks.get(taskArn))!.lastStatus, "RUNNING");
  assert.equal((await store.tasks.get(taskArn))!.reportSequence, 2);
  assert.equal((await store.tasks.get(second))!.lastStatus, "RUNNING");
  assert.equal((await store.tasks.get(stranger))!.lastStatus, "PROVISIONING", "a task of another host is not this host's to report");
});

test("a report that loses the race to another writer is read again and applied over that write", async () => {
  const racing = { ...store.tasks };
  let raced = false;
  // StopTask commits between the report's read and its write, once.
  racing.updateMany = async (updates) => {
    if (!raced) {
      raced = true;
      const stored = (await store.tasks.get(taskArn))!;
      await store.tasks.update(taskArn, stored.version, {
        desiredStatus: "STOPPED",
        task: { ...stored.task, desiredStatus: "STOPPED", stoppedReason: "Task stopped by user" },
      });
    }
    return store.tasks.updateMany(updates);
  };
  await new ReportIngest({ tasks: racing, clock: new ManualClock() }).report("h1", { reports: [report(taskArn, 1, "RUNNING")] });
  const stored = (await store.tasks.get(taskArn))!;
  assert.equal(stored.lastStatus, "RUNNING");
  assert.equal(stored.desiredStatus, "STOPPED", "the other writer's change is kept");
  assert.equal(stored.task.stoppedReason, "Task stopped by user");
});

test("a batch that loses every race is answered 503, not acknowledged, and applies once when sent again", async () => {
  const racing = { ...store.tasks };
  let races = 0;
  let racingOn = true;
  // Another server's writer commits between every read and write of this batch (heartbeat-like
  // touches of the task), as long as racingOn holds.
  racing.updateMany = async (updates) => {
    if (racingOn) {
      races++;
      const stored = (await store.tasks.get(taskArn))!;
      await store.tasks.update(taskArn, stored.version, { task: { ...stored.task } });
    }
    return store.tasks.updateMany(updates);
  };
  const ingest = new ReportIngest({ tasks: racing, clock: new ManualClock() });
  const batch = { reports: [report(taskArn, 1, "RUNNING")] };
  await assert.rejects(
    ingest.report("h1", batch),
    (error: { code?: string; httpStatus?: number }) => error.code === "ServiceUnavailable" && error.httpStatus === 503,
  );
  assert.equal(races, 5, "the store's attempts, then the refusal");
  assert.equal((await store.tasks.get(taskArn))!.reportSequence, 0, "nothing applied, so nothing may be acknowledged");
  racingOn = false;
  await ingest.report("h1", batch);
  await ingest.report("h1", batch);
  const stored = (await store.tasks.get(taskArn))!;
  assert.equal(stored.lastStatus, "RUNNING");
  assert.equal(stored.reportSequence, 1);
  assert.equal(stored.task.version, 2, "the report was folded once although it was delivered twice");
});
