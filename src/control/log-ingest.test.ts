import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { protocolVersion } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { ManualClock, storeWithPlacedTask } from "../../test/support/control-plane.js";
import { LOGS_AFTER_STOP_GRACE_MS, LogIngest } from "./log-ingest.js";
import { ReportIngest } from "./report-ingest.js";

let store: Store;
let clock: ManualClock;
let ingest: LogIngest;
let taskArn: string;

beforeEach(async () => {
  clock = new ManualClock();
  ({ store, taskArn } = await storeWithPlacedTask(clock));
  ingest = new LogIngest({ tasks: store.tasks, logs: store.logs, clock });
});
afterEach(() => store.close());

const batch = (events: { timestamp: number; message: string; offset?: number }[]) => [
  { taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events },
];
async function storedMessages(): Promise<string[]> {
  const group = await store.logs.getGroup("/ecs/app");
  const stream = await store.logs.getStream(group!.id, "ecs/app/t1");
  return (await store.logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 })).map((e) => e.message);
}

test("log batches create the group when asked and append events in time order", async () => {
  await ingest.putLogs(
    "h1",
    batch([
      { timestamp: 2, message: "b" },
      { timestamp: 1, message: "a" },
    ]),
  );
  assert.deepEqual(await storedMessages(), ["a", "b"]);
  await assert.rejects(
    ingest.putLogs("h1", [
      {
        taskArn,
        containerName: "nogroup",
        logGroupName: "/missing",
        logStreamName: "ecs/nogroup/t1",
        createGroup: false,
        events: [{ timestamp: 1, message: "x" }],
      },
    ]),
    /does not exist/,
  );
});

test("log lines sent again with offsets already stored are dropped (agent restarted before saving its offset)", async () => {
  await ingest.putLogs(
    "h1",
    batch([
      { timestamp: 10, message: "one", offset: 40 },
      { timestamp: 11, message: "two", offset: 80 },
    ]),
  );
  // The agent crashed after this was stored, restarted from its saved offset, and read one more line.
  await ingest.putLogs(
    "h1",
    batch([
      { timestamp: 10, message: "one", offset: 40 },
      { timestamp: 11, message: "two", offset: 80 },
      { timestamp: 12, message: "three", offset: 120 },
    ]),
  );
  await ingest.putLogs("h1", batch([{ timestamp: 12, message: "three", offset: 120 }]));
  assert.deepEqual(await storedMessages(), ["one", "two", "three"]);
});

test("the stored offset survives a control-plane restart: lines re-sent to a new instance are not stored twice", async () => {
  await ingest.putLogs(
    "h1",
    batch([
      { timestamp: 10, message: "one", offset: 40 },
      { timestamp: 11, message: "two", offset: 80 },
    ]),
  );
  // A new control plane over the same store: nothing of the first one's memory is left.
  const restarted = new LogIngest({ tasks: store.tasks, logs: store.logs, clock });
  await restarted.putLogs(
    "h1",
    batch([
      { timestamp: 11, message: "two", offset: 80 },
      { timestamp: 12, message: "three", offset: 120 },
    ]),
  );
  assert.deepEqual(await storedMessages(), ["one", "two", "three"]);
  const group = await store.logs.getGroup("/ecs/app");
  assert.equal((await store.logs.getStream(group!.id, "ecs/app/t1"))!.sourceOffset, 120);
});

test("two deliveries of overlapping batches at once store each line once, and the stored offset never moves back", async () => {
  await ingest.putLogs("h1", batch([{ timestamp: 1, message: "zero", offset: 10 }]));
  const older = batch([
    { timestamp: 2, message: "one", offset: 40 },
    { timestamp: 3, message: "two", offset: 80 },
  ]);
  const newer = batch([
    { timestamp: 2, message: "one", offset: 40 },
    { timestamp: 3, message: "two", offset: 80 },
    { timestamp: 4, message: "three", offset: 120 },
  ]);
  // A retry racing the original delivery, committing in either order.
  await Promise.all([ingest.putLogs("h1", newer), ingest.putLogs("h1", older)]);
  assert.deepEqual(await storedMessages(), ["zero", "one", "two", "three"]);
  const group = await store.logs.getGroup("/ecs/app");
  assert.equal((await store.logs.getStream(group!.id, "ecs/app/t1"))!.sourceOffset, 120);
  await ingest.putLogs("h1", batch([{ timestamp: 4, message: "three", offset: 120 }]));
  assert.equal((await storedMessages()).length, 4);
});

test("log batches for another host's task, or another group or stream than the task's, are refused and nothing is written", async () => {
  const [one] = batch([{ timestamp: 1, message: "x" }]);
  await assert.rejects(
    ingest.putLogs("h2", [one!]),
    (error: Error & { code?: string }) => error.code === "AccessDeniedException" && /not placed on host h2/.test(error.message),
  );
  await assert.rejects(ingest.putLogs("h1", [{ ...one!, logGroupName: "/elsewhere" }]), /names another group or stream/);
  await assert.rejects(
    ingest.putLogs("h1", [{ ...one!, containerName: "nogroup", logGroupName: "/missing", logStreamName: "ecs/nogroup/t1" }]),
    /does not create its group/,
  );
  await assert.rejects(ingest.putLogs("h1", [{ ...one!, containerName: "__proto__" }]), /no awslogs log configuration/);
  // One bad batch refuses the whole call, before the good one is written.
  await assert.rejects(ingest.putLogs("h1", [one!, { ...one!, taskArn: taskArn.replace("/t1", "/other") }]), /not placed on host h1/);
  assert.equal(await store.logs.getGroup("/ecs/app"), undefined);
  assert.equal(await store.logs.getGroup("/elsewhere"), undefined);
});

test("a stopped task's lines are taken for a grace period after its stop, then refused and not written", async () => {
  const stoppedAtMs = clock.now();
  await new ReportIngest({ tasks: store.tasks, clock }).report("h1", {
    reports: [{ protocolVersion, taskArn, lastStatus: "STOPPED", desiredStatus: "STOPPED", sequence: 1, health: "UNKNOWN", stoppedAtMs, containers: [] }],
  });
  assert.equal((await store.tasks.get(taskArn))!.stoppedAtMs, stoppedAtMs);
  const lines = (message: string) => batch([{ timestamp: stoppedAtMs, message }]);
  clock.time = stoppedAtMs + LOGS_AFTER_STOP_GRACE_MS;
  await ingest.putLogs("h1", lines("last line, shipped after the exit"));
  clock.time += 1;
  await assert.rejects(
    ingest.putLogs("h1", lines("too late")),
    (error: Error & { code?: string }) => error.code === "AccessDeniedException" && /stopped more than 10 minutes ago/.test(error.message),
  );
  assert.deepEqual(await storedMessages(), ["last line, shipped after the exit"]);
});

test("a task held to its execution role writes only the streams, and creates only the groups, the role was found to allow at its start", async () => {
  const grant = { unrestricted: false, logStreams: new Set(["/ecs/app\0ecs/app/t1"]), logGroupsToCreate: new Set<string>() };
  let asked = 0;
  const held = new LogIngest({
    tasks: store.tasks,
    logs: store.logs,
    clock,
    grants: {
      grantFor: async () => {
        asked += 1;
        return grant;
      },
    },
  });
  // The batch asks to create its group, which the role may not: refused, nothing written.
  await assert.rejects(held.putLogs("h1", batch([{ timestamp: 1, message: "forged" }])), /execution role may not create this group/);
  assert.equal(await store.logs.getGroup("/ecs/app"), undefined);
  grant.logGroupsToCreate.add("/ecs/app");
  await held.putLogs("h1", batch([{ timestamp: 1, message: "a" }]));
  assert.deepEqual(await storedMessages(), ["a"]);
  grant.logStreams.clear();
  await assert.rejects(held.putLogs("h1", batch([{ timestamp: 2, message: "b" }])), /execution role may not write this stream/);
  const failed = new LogIngest({
    tasks: store.tasks,
    logs: store.logs,
    clock,
    grants: { grantFor: async () => ({ ...grant, failure: "ResourceInitializationError: x" }) },
  });
  await assert.rejects(failed.putLogs("h1", batch([{ timestamp: 3, message: "c" }])), /does not allow it to start/);
  assert.deepEqual(await storedMessages(), ["a"]);
  assert.equal(asked, 3, "asked once per batch; the owner of the grants keeps the decision");
});
