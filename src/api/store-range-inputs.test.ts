// Numbers from API callers that reach the store's integer columns: a task definition revision (a
// 32-bit column) and log times and page positions (bigint). SQLite compares whatever it is given;
// PostgreSQL refuses a fraction or an out-of-range value for the whole statement, which reached
// the caller as a 500 on PostgreSQL only. Every such input must get the same client error (or the
// same "nothing there") on both stores.
import assert from "node:assert/strict";
import { beforeEach, afterEach, test } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { Clock } from "../core/clock.js";
import { AwsError } from "../core/errors.js";
import type { Store } from "../store/index.js";
import type { EcsContext } from "./ecs/ecs-context.js";
import { deleteTaskDefinitions, deregisterTaskDefinition, describeTaskDefinition, listTaskDefinitions, resolveTaskDefinition } from "./ecs/task-definitions.js";
import { filterLogEvents, getLogEvents, putLogEvents } from "./logs/log-events.js";
import type { LogsContext } from "./logs/log-groups.js";
import { createLogGroup, createLogStream } from "./logs/log-groups.js";

const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
const now = Date.UTC(2026, 10, 1);
const clock: Clock = { now: () => now, sleep: async () => {} };
const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Rejects with a client fault (4xx AwsError) whose message matches `message`. */
async function refusedAsClient(work: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof AwsError && error.isClientFault, `a client error, not ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

eachStoreBackend((backend) => {
  let store: Store;
  let ecs: EcsContext;
  let logs: LogsContext;
  beforeEach(async () => {
    store = await backend.open();
    ecs = { store, clock, scope };
    logs = { logs: store.logs, clock, scope };
    await createLogGroup(logs, { logGroupName: "g" });
    await createLogStream(logs, { logGroupName: "g", logStreamName: "s" });
  });
  afterEach(() => store.close());

  test("a revision past the 32-bit column names no task definition", async () => {
    for (const revision of ["2147483648", "99999999999999999999", `1${"0".repeat(400)}`]) {
      const reference = `web:${revision}`;
      await refusedAsClient(describeTaskDefinition(ecs, { taskDefinition: reference }), /Unable to describe task definition/);
      await refusedAsClient(deregisterTaskDefinition(ecs, { taskDefinition: reference }), /does not exist/);
      assert.equal(await resolveTaskDefinition(ecs, reference), undefined);
      const deleted = await deleteTaskDefinitions(ecs, { taskDefinitions: [reference] });
      assert.equal(deleted.failures?.length, 1, "one failure, not a 500");
    }
  });

  test("a ListTaskDefinitions token whose revision is not a stored one is refused", async () => {
    for (const r of [1e300, 1.5, 2147483648, -1, "3"]) {
      await refusedAsClient(listTaskDefinitions(ecs, { nextToken: token({ f: "web", r }) }), /Invalid nextToken/);
    }
    assert.deepEqual((await listTaskDefinitions(ecs, { nextToken: token({ f: "web", r: 2147483647 }) })).taskDefinitionArns, []);
  });

  test("log times must be whole milliseconds from 0 to 2^53 - 1", async () => {
    for (const [startTime, endTime, message] of [
      [1e20, undefined, /at 'startTime' failed to satisfy constraint: Member must have value less than or equal to/],
      [0, 1e20, /at 'endTime'/],
      [-1, undefined, /at 'startTime' failed to satisfy constraint: Member must have value greater than or equal to 0/],
      [1.5, undefined, /Value '1.5' at 'startTime' failed to satisfy constraint: Member must be a whole number/],
    ] as const) {
      await refusedAsClient(getLogEvents(logs, { logGroupName: "g", logStreamName: "s", startTime, endTime }), message);
      await refusedAsClient(filterLogEvents(logs, { logGroupName: "g", startTime, endTime }), message);
    }
    assert.deepEqual((await getLogEvents(logs, { logGroupName: "g", logStreamName: "s", startTime: 0, endTime: Number.MAX_SAFE_INTEGER })).events, []);
  });

  test("a FilterLogEvents token whose position is not two whole numbers is refused", async () => {
    for (const page of [
      { t: 1e300, i: 1 },
      { t: 1, i: 1e300 },
      { t: 1.5, i: 0 },
    ]) {
      await refusedAsClient(filterLogEvents(logs, { logGroupName: "g", nextToken: token(page) }), /nextToken is invalid/);
    }
  });

  test("a log event's timestamp with a fraction is refused, and nothing of its batch is stored", async () => {
    const events = [
      { timestamp: now - 10, message: "whole" },
      { timestamp: now + 0.5, message: "fraction" },
    ];
    await refusedAsClient(putLogEvents(logs, { logGroupName: "g", logStreamName: "s", logEvents: events }), /logEvents\.2\.member\.timestamp/);
    assert.deepEqual((await getLogEvents(logs, { logGroupName: "g", logStreamName: "s" })).events, []);
  });
});
