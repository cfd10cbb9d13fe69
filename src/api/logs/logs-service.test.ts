import { describe, test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../core/clock.js";
import type { Store } from "../../store/index.js";
import { openStore } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { createLogsService } from "./index.js";

const DAY_MS = 86_400_000;

class FakeClock implements Clock {
  constructor(public time: number) {}
  now() {
    return this.time;
  }
  async sleep() {}
}

const request = {} as RequestContext;
let store: Store;
let clock: FakeClock;
let call: (operation: string, input: Record<string, unknown>) => Promise<Record<string, unknown>>;
let purge: () => Promise<number>;

beforeEach(async () => {
  store = await openStore({ inMemory: true });
  clock = new FakeClock(Date.UTC(2026, 10, 1));
  const logs = store.logs;
  purge = () => logs.purgeExpired(clock.now());
  const service = createLogsService({ logs, clock, scope: { partition: "aws", region: "us-east-1", accountId: "123456789012" } });
  call = async (operation, input) => (await service.operations[operation]!(input, request)) as Record<string, unknown>;
});
afterEach(() => store.close());

async function seed(count: number, stream = "s1") {
  await call("CreateLogGroup", { logGroupName: "/ecs/app" }).catch(() => undefined);
  await call("CreateLogStream", { logGroupName: "/ecs/app", logStreamName: stream });
  const logEvents = Array.from({ length: count }, (_, i) => ({ timestamp: clock.now() - count + i, message: `line ${i}` }));
  await call("PutLogEvents", { logGroupName: "/ecs/app", logStreamName: stream, logEvents });
}
const messages = (result: Record<string, unknown>) => (result.events as { message: string }[]).map((e) => e.message);

describe("CloudWatch Logs service", () => {
  test("refuses a duplicate log group and an unknown one with AWS's errors", async () => {
    await call("CreateLogGroup", { logGroupName: "/ecs/app" });
    await assert.rejects(call("CreateLogGroup", { logGroupName: "/ecs/app" }), {
      name: "ResourceAlreadyExistsException",
      message: "The specified log group already exists",
    });
    await assert.rejects(call("CreateLogStream", { logGroupName: "/nope", logStreamName: "x" }), {
      name: "ResourceNotFoundException",
      message: "The specified log group does not exist.",
    });
    await assert.rejects(call("CreateLogGroup", { logGroupName: "bad name!" }), { name: "InvalidParameterException" });
  });

  test("GetLogEvents returns the newest events by default and pages backward and forward", async () => {
    await seed(25);
    const tail = await call("GetLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", limit: 10 });
    assert.deepEqual(
      messages(tail),
      Array.from({ length: 10 }, (_, i) => `line ${15 + i}`),
    );
    const older = await call("GetLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", limit: 10, nextToken: tail.nextBackwardToken });
    assert.deepEqual(
      messages(older),
      Array.from({ length: 10 }, (_, i) => `line ${5 + i}`),
    );
    const head = await call("GetLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", limit: 10, startFromHead: true });
    assert.deepEqual(messages(head)[0], "line 0");
    const end = await call("GetLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", nextToken: tail.nextForwardToken });
    assert.deepEqual(messages(end), []);
    assert.equal(end.nextForwardToken, tail.nextForwardToken, "at the end the same token comes back");
  });

  test("PutLogEvents refuses events out of chronological order", async () => {
    await seed(1);
    await assert.rejects(
      call("PutLogEvents", {
        logGroupName: "/ecs/app",
        logStreamName: "s1",
        logEvents: [
          { timestamp: clock.now(), message: "b" },
          { timestamp: clock.now() - 1, message: "a" },
        ],
      }),
      { name: "InvalidParameterException", message: "Log events in a single PutLogEvents request must be in chronological order." },
    );
  });

  test("PutLogEvents skips events too old or too new and says which", async () => {
    await seed(1);
    const put = (logEvents: { timestamp: number; message: string }[]) => call("PutLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", logEvents });
    const old = await put([{ timestamp: clock.now() - 15 * DAY_MS, message: "old" }]);
    assert.deepEqual(old.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 0 });
    const recent = await put([
      { timestamp: clock.now(), message: "ok" },
      { timestamp: clock.now() + 3 * 3_600_000, message: "future" },
    ]);
    assert.deepEqual(recent.rejectedLogEventsInfo, { tooNewLogEventStartIndex: 1 });
    const all = await call("GetLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", startFromHead: true });
    assert.deepEqual(messages(all), ["line 0", "ok"]);
  });

  test("FilterLogEvents matches terms across streams and pages with nextToken", async () => {
    await seed(30, "a");
    await seed(30, "b");
    const found = await call("FilterLogEvents", { logGroupName: "/ecs/app", filterPattern: '"line 2"', limit: 5 });
    assert.equal((found.events as unknown[]).length, 5);
    assert.ok(found.nextToken);
    const rest = await call("FilterLogEvents", { logGroupName: "/ecs/app", filterPattern: '"line 2"', nextToken: found.nextToken });
    // "line 2" and "line 20".."line 29" in each of two streams.
    assert.equal((found.events as unknown[]).length + (rest.events as unknown[]).length, 22);
    const streams = new Set((rest.events as { logStreamName: string }[]).map((e) => e.logStreamName));
    assert.deepEqual([...streams].sort(), ["a", "b"]);
  });

  test("DescribeLogStreams pages by name and refuses a prefix with LastEventTime ordering", async () => {
    await call("CreateLogGroup", { logGroupName: "/ecs/app" });
    for (const name of ["p/1", "p/2", "p/3", "q/1"]) await call("CreateLogStream", { logGroupName: "/ecs/app", logStreamName: name });
    const first = await call("DescribeLogStreams", { logGroupName: "/ecs/app", logStreamNamePrefix: "p/", limit: 2 });
    const second = await call("DescribeLogStreams", { logGroupName: "/ecs/app", logStreamNamePrefix: "p/", limit: 2, nextToken: first.nextToken });
    const names = [...(first.logStreams as { logStreamName: string }[]), ...(second.logStreams as { logStreamName: string }[])].map((s) => s.logStreamName);
    assert.deepEqual(names, ["p/1", "p/2", "p/3"]);
    assert.equal(second.nextToken, undefined);
    await assert.rejects(call("DescribeLogStreams", { logGroupName: "/ecs/app", logStreamNamePrefix: "p/", orderBy: "LastEventTime" }), {
      message: "Cannot order by LastEventTime with a logStreamNamePrefix.",
    });
  });

  test("retention is enforced: events older than the policy are purged", async () => {
    await seed(1);
    await call("PutRetentionPolicy", { logGroupName: "/ecs/app", retentionInDays: 1 });
    await assert.rejects(call("PutRetentionPolicy", { logGroupName: "/ecs/app", retentionInDays: 2 }), { name: "InvalidParameterException" });
    clock.time += 2 * DAY_MS;
    assert.equal(await purge(), 1);
    const all = await call("GetLogEvents", { logGroupName: "/ecs/app", logStreamName: "s1", startFromHead: true });
    assert.deepEqual(messages(all), []);
    const groups = await call("DescribeLogGroups", { logGroupNamePrefix: "/ecs" });
    assert.equal((groups.logGroups as { retentionInDays: number }[])[0]!.retentionInDays, 1);
  });

  test("tags a log group by ARN", async () => {
    await call("CreateLogGroup", { logGroupName: "/ecs/app", tags: { team: "a" } });
    const arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app";
    await call("TagResource", { resourceArn: arn, tags: { env: "prod" } });
    await call("UntagResource", { resourceArn: arn, tagKeys: ["team"] });
    assert.deepEqual((await call("ListTagsForResource", { resourceArn: arn })).tags, { env: "prod" });
  });
});
