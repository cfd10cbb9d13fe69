// CloudWatch Logs through the AWS CLI and the SDK against a real `berth server`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { CloudWatchLogsClient, GetLogEventsCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
  await server.cleanup();
});

test("create, put, get, filter and tail with the AWS CLI", async () => {
  const ok = async (args: string[]) => {
    const result = await awsCli(server, args);
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  await ok(["logs", "create-log-group", "--log-group-name", "/ecs/app"]);
  await ok(["logs", "create-log-stream", "--log-group-name", "/ecs/app", "--log-stream-name", "ecs/web/abc"]);
  const now = Date.now();
  const events = JSON.stringify([
    { timestamp: now - 2, message: "GET / 200" },
    { timestamp: now - 1, message: "ERROR upstream timed out" },
    { timestamp: now, message: "GET /health 200" },
  ]);
  await ok(["logs", "put-log-events", "--log-group-name", "/ecs/app", "--log-stream-name", "ecs/web/abc", "--log-events", events]);
  const got = await ok(["logs", "get-log-events", "--log-group-name", "/ecs/app", "--log-stream-name", "ecs/web/abc", "--start-from-head"]);
  assert.deepEqual(
    (got.json as { events: { message: string }[] }).events.map((e) => e.message),
    ["GET / 200", "ERROR upstream timed out", "GET /health 200"],
  );
  const filtered = await ok(["logs", "filter-log-events", "--log-group-name", "/ecs/app", "--filter-pattern", "ERROR"]);
  assert.deepEqual(
    (filtered.json as { events: { message: string }[] }).events.map((e) => e.message),
    ["ERROR upstream timed out"],
  );
  const tail = await awsCli(server, ["logs", "tail", "/ecs/app", "--since", "1h", "--format", "short"]);
  assert.equal(tail.code, 0, tail.stderr);
  assert.match(tail.stdout, /ERROR upstream timed out/);
  const duplicate = await awsCli(server, ["logs", "create-log-group", "--log-group-name", "/ecs/app"]);
  assert.match(duplicate.stderr, /ResourceAlreadyExistsException/);
});

test("10,000 events in one PutLogEvents, then the last page with GetLogEvents through the SDK", async () => {
  const logs = new CloudWatchLogsClient(sdkConfig(server));
  try {
    await awsCli(server, ["logs", "create-log-group", "--log-group-name", "/bulk"]);
    await awsCli(server, ["logs", "create-log-stream", "--log-group-name", "/bulk", "--log-stream-name", "s"]);
    const now = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/bulk",
        logStreamName: "s",
        logEvents: Array.from({ length: 10_000 }, (_, i) => ({ timestamp: now - 10_000 + i, message: `line ${i}` })),
      }),
    );
    const page = await logs.send(new GetLogEventsCommand({ logGroupName: "/bulk", logStreamName: "s" }));
    assert.equal(page.events!.length, 10_000);
    assert.equal(page.events!.at(-1)!.message, "line 9999");
    assert.match(page.nextForwardToken!, /^f\//);
  } finally {
    logs.destroy();
  }
});

test("aws logs tail --follow prints events put while it runs", async () => {
  await awsCli(server, ["logs", "create-log-group", "--log-group-name", "/follow"]);
  await awsCli(server, ["logs", "create-log-stream", "--log-group-name", "/follow", "--log-stream-name", "ecs/app/1"]);
  const tail = spawn("/usr/bin/aws", ["--endpoint-url", server.endpoint, "logs", "tail", "/follow", "--follow", "--format", "short"], {
    env: {
      PATH: "/usr/bin:/bin",
      HOME: tmpdir(),
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: server.region,
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      // Python block-buffers a pipe: without this the lines sit in the CLI until it exits.
      PYTHONUNBUFFERED: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  tail.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  tail.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const until = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(out)) {
      if (Date.now() > deadline || tail.exitCode !== null) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  };
  try {
    const put = (message: string) =>
      awsCli(server, [
        "logs",
        "put-log-events",
        "--log-group-name",
        "/follow",
        "--log-stream-name",
        "ecs/app/1",
        "--log-events",
        JSON.stringify([{ timestamp: Date.now(), message }]),
      ]);
    assert.equal((await put("first line while following")).code, 0);
    assert.ok(await until(/first line while following/, 20_000), `tail printed: ${out} / ${err}`);
    // A line put after the follower caught up arrives on a later poll of the same process.
    assert.equal((await put("second line, later")).code, 0);
    assert.ok(await until(/second line, later/, 20_000), `tail printed: ${out} / ${err}`);
    assert.equal(out.match(/first line while following/g)!.length, 1, "no event is printed twice");
  } finally {
    tail.kill("SIGTERM");
  }
});

test("filter-log-events refuses a pattern over 1024 characters and the review's counted-repeat pattern", async () => {
  await awsCli(server, ["logs", "create-log-group", "--log-group-name", "/limits"]);
  const tooLong = await awsCli(server, ["logs", "filter-log-events", "--log-group-name", "/limits", "--filter-pattern", "a".repeat(1025)]);
  assert.notEqual(tooLong.code, 0);
  assert.match(tooLong.stderr, /InvalidParameterException/);
  assert.match(tooLong.stderr, /at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024/);
  const repeats = await awsCli(server, ["logs", "filter-log-events", "--log-group-name", "/limits", "--filter-pattern", `%${"[\\s\\S]{1000}".repeat(4)}z%`]);
  assert.notEqual(repeats.code, 0);
  assert.match(repeats.stderr, /InvalidParameterException.*counted repetitions/);
});
