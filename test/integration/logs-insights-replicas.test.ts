// Logs Insights across two `berth server --no-agent` replicas on one PostgreSQL store: a query
// started on A is answered by B's GetQueryResults and listed by B's DescribeQueries, and B's
// StopQuery stops A's running queries (A's runner sees the Cancelled status in the store).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeQueriesCommand,
  GetQueryResultsCommand,
  PutLogEventsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { GetQueryResultsResponse } from "@aws-sdk/client-cloudwatch-logs";
import type { PostgresDatabase } from "../support/postgres.js";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../support/postgres.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";

let database: PostgresDatabase;
let shared: string;
let a: TestServer;
let b: TestServer;
let logsA: CloudWatchLogsClient;
let logsB: CloudWatchLogsClient;
const now = Date.now();
const window = { startTime: Math.floor(now / 1000) - 3600, endTime: Math.floor(now / 1000) + 60 };

before(async () => {
  database = await freshPostgresDatabase();
  shared = mkdtempSync(join(tmpdir(), "berth-insights-replicas-"));
  const keyFile = join(shared, "store.key");
  writeFileSync(keyFile, randomBytes(32).toString("base64"), { mode: 0o600 });
  const replica = () =>
    startTestServer({ store: { url: database.url }, generatedKey: true, args: ["--store-key-file", keyFile, "--blob-dir", join(shared, "blobs")] });
  [a, b] = await Promise.all([replica(), replica()]);
  logsA = new CloudWatchLogsClient(sdkConfig(a));
  logsB = new CloudWatchLogsClient(sdkConfig(b));
  await logsA.send(new CreateLogGroupCommand({ logGroupName: "/shared" }));
  await logsA.send(new CreateLogStreamCommand({ logGroupName: "/shared", logStreamName: "s" }));
  for (let batch = 0; batch < 10; batch++) {
    await logsA.send(
      new PutLogEventsCommand({
        logGroupName: "/shared",
        logStreamName: "s",
        logEvents: Array.from({ length: 10_000 }, (_, i) => ({ timestamp: now - 200_000 + batch * 10_000 + i, message: `{"n":${i},"batch":${batch}}` })),
      }),
    );
  }
});

after(async () => {
  logsA?.destroy();
  logsB?.destroy();
  for (const server of [a, b]) {
    if (!server) continue;
    await server.stop();
    await server.cleanup();
  }
  await database?.drop();
  rmSync(shared, { recursive: true, force: true });
  await stopOwnPostgresCluster();
});

async function finished(client: CloudWatchLogsClient, queryId: string): Promise<GetQueryResultsResponse> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await client.send(new GetQueryResultsCommand({ queryId }));
    if (answer.status !== "Scheduled" && answer.status !== "Running") return answer;
    assert.ok(Date.now() < deadline, `query ${queryId} still ${answer.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a query started on A is answered and listed by B", async () => {
  const { queryId } = await logsA.send(new StartQueryCommand({ logGroupName: "/shared", ...window, queryString: "stats count(*) as n, max(batch) as last" }));
  const answer = await finished(logsB, queryId!);
  assert.equal(answer.status, "Complete");
  assert.deepEqual(answer.results, [
    [
      { field: "n", value: "100000" },
      { field: "last", value: "9" },
    ],
  ]);
  assert.equal(answer.statistics!.recordsScanned, 100_000);
  const listed = await logsB.send(new DescribeQueriesCommand({ logGroupName: "/shared" }));
  assert.ok(listed.queries!.some((q) => q.queryId === queryId && q.status === "Complete"));
});

test("StopQuery on B cancels queries running on A", async () => {
  // Ten at once share A's time, so each runs for a while; B's stops land while they run.
  const started = await Promise.all(
    Array.from({ length: 10 }, () =>
      logsA.send(new StartQueryCommand({ logGroupName: "/shared", ...window, queryString: "stats count_distinct(n) by bin(1s)" })),
    ),
  );
  const ids = started.map((answer) => answer.queryId!);
  const stopped = await Promise.all(ids.map((queryId) => logsB.send(new StopQueryCommand({ queryId }))));
  assert.deepEqual(
    stopped.map((answer) => answer.success),
    ids.map(() => true),
  );
  for (const queryId of ids) {
    const onA = await finished(logsA, queryId);
    assert.equal(onA.status, "Cancelled");
    assert.deepEqual(onA.results, []);
  }
  // A's runners have ended: a new query on A runs alone and completes.
  const { queryId } = await logsA.send(new StartQueryCommand({ logGroupName: "/shared", ...window, queryString: "stats count(*) as n" }));
  assert.equal((await finished(logsB, queryId!)).status, "Complete");
});
