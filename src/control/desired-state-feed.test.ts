import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { Store } from "../store/index.js";
import { ManualClock, storeWithPlacedTask } from "../../test/support/control-plane.js";
import { DesiredStateFeed } from "./desired-state-feed.js";

let store: Store;
let clock: ManualClock;
let feed: DesiredStateFeed;
let taskArn: string;

beforeEach(async () => {
  clock = new ManualClock();
  ({ store, taskArn } = await storeWithPlacedTask(clock));
  feed = new DesiredStateFeed({ tasks: store.tasks, clock, pollWaitMs: 50 });
});
afterEach(() => store.close());

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test("a poll answers at once with the host's tasks, then waits for a change", async () => {
  const first = await feed.poll("h1", -1);
  assert.deepEqual(
    first.tasks.map((t) => t.spec.taskArn),
    [taskArn],
  );
  const waiting = feed.poll("h1", first.generation);
  assert.equal(await settled(waiting), false, "an up-to-date poller waits");
  feed.notify("h1");
  const second = await waiting;
  assert.notEqual(second.generation, first.generation);
});

test("a waiting poll answers with the unchanged list once the poll wait is up on the clock", async () => {
  const first = await feed.poll("h1", -1);
  const waiting = feed.poll("h1", first.generation);
  clock.advance(49);
  assert.equal(await settled(waiting), false);
  clock.advance(1);
  const answer = await waiting;
  assert.equal(answer.generation, first.generation);
  assert.deepEqual(
    answer.tasks.map((t) => t.spec.taskArn),
    [taskArn],
  );
});

test("closing answers waiting long polls at once and refuses new ones, so shutdown is not held open", async () => {
  const first = await feed.poll("h1", -1);
  const waiting = feed.poll("h1", first.generation);
  feed.close();
  await assert.rejects(waiting, (error: Error & { code?: string; httpStatus?: number }) => error.httpStatus === 503);
  await assert.rejects(feed.poll("h1", -1), /shutting down/);
});

test("a task stopped on its host is handed over as desired STOPPED with its stop reason", async () => {
  const stored = (await store.tasks.get(taskArn))!;
  await store.tasks.update(taskArn, stored.version, {
    desiredStatus: "STOPPED",
    task: { ...stored.task, desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Task stopped by user" },
  });
  const [desired] = (await feed.poll("h1", -1)).tasks;
  assert.deepEqual(
    { status: desired!.desiredStatus, code: desired!.stopCode, reason: desired!.stoppedReason },
    { status: "STOPPED", code: "UserInitiated", reason: "Task stopped by user" },
  );
});
