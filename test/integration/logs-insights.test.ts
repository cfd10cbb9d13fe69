// Logs Insights through the front door: StartQuery → GetQueryResults (SDK v3, the AWS CLI, boto3),
// StopQuery, DescribeQueries, query definitions, and the errors AWS answers with.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteQueryDefinitionCommand,
  DescribeQueriesCommand,
  DescribeQueryDefinitionsCommand,
  GetLogRecordCommand,
  GetQueryResultsCommand,
  MalformedQueryException,
  PutLogEventsCommand,
  PutQueryDefinitionCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { GetQueryResultsResponse, StartQueryRequest } from "@aws-sdk/client-cloudwatch-logs";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { runBoto3 } from "../support/boto3.js";

let server: TestServer;
let logs: CloudWatchLogsClient;
const now = Date.now();
const nowSeconds = Math.floor(now / 1000);
const window = { startTime: nowSeconds - 3600, endTime: nowSeconds + 60 };

before(async () => {
  server = await startTestServer();
  logs = new CloudWatchLogsClient(sdkConfig(server));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/app/api" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "/app/api", logStreamName: "web-1" }));
  const json = (i: number) => JSON.stringify({ level: i % 10 === 0 ? "ERROR" : "INFO", latency: i % 100, path: `/p${i % 3}` });
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: "/app/api",
      logStreamName: "web-1",
      logEvents: [
        ...Array.from({ length: 100 }, (_, i) => ({ timestamp: now - 600_000 + i * 1000, message: json(i) })),
        { timestamp: now - 1000, message: "GET /health 200 12" },
      ],
    }),
  );
});
after(async () => {
  logs.destroy();
  await server.stop();
  await server.cleanup();
});

async function finished(queryId: string): Promise<GetQueryResultsResponse> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answer = await logs.send(new GetQueryResultsCommand({ queryId }));
    if (answer.status !== "Scheduled" && answer.status !== "Running") return answer;
    assert.ok(Date.now() < deadline, `query ${queryId} still ${answer.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function query(queryString: string, extra: Partial<StartQueryRequest> = {}): Promise<GetQueryResultsResponse> {
  const { queryId } = await logs.send(new StartQueryCommand({ logGroupName: "/app/api", ...window, queryString, ...extra }));
  assert.match(queryId!, /^[0-9a-f-]{36}$/);
  return finished(queryId!);
}

const asObjects = (answer: GetQueryResultsResponse) => answer.results!.map((row) => Object.fromEntries(row.map((field) => [field.field!, field.value!])));

test("a stats query over JSON events completes with its rows and statistics", async () => {
  const answer = await query("filter ispresent(level) | stats count(*) as n, avg(latency) as mean by level | sort level");
  assert.equal(answer.status, "Complete");
  assert.deepEqual(asObjects(answer), [
    { level: "ERROR", n: "10", mean: "45" },
    { level: "INFO", n: "90", mean: "50" },
  ]);
  assert.equal(answer.statistics!.recordsScanned, 101);
  assert.equal(answer.statistics!.recordsMatched, 100);
  assert.ok(answer.statistics!.bytesScanned! > 3000);
});

test("fields, parse, sort and limit answer event rows with @ptr", async () => {
  const answer = await query("parse @message '* * * *' as verb, route, status, ms | filter ispresent(verb) | fields verb, route, @logStream | limit 5");
  assert.deepEqual(
    asObjects(answer).map(({ ["@ptr"]: ptr, ...rest }) => (assert.ok(ptr), rest)),
    [{ verb: "GET", route: "/health", "@logStream": "web-1" }],
  );
  const newest = await query("fields @timestamp, latency | sort @timestamp desc | limit 2", { limit: 1 });
  assert.equal(newest.results!.length, 1);
  assert.match(asObjects(newest)[0]!["@timestamp"]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
});

test("GetLogRecord answers every field of the event a result's @ptr points at; other pointers are refused", async () => {
  const answer = await query("filter level = 'ERROR' | fields latency | sort latency desc | limit 1");
  const ptr = asObjects(answer)[0]!["@ptr"]!;
  const { logRecord } = await logs.send(new GetLogRecordCommand({ logRecordPointer: ptr }));
  assert.deepEqual(Object.keys(logRecord!).sort(), ["@ingestionTime", "@log", "@logStream", "@message", "@timestamp", "latency", "level", "path"]);
  assert.equal(logRecord!["@message"], JSON.stringify({ level: "ERROR", latency: 90, path: "/p0" }));
  assert.equal(logRecord!["@logStream"], "web-1");
  assert.match(logRecord!["@log"]!, /^\d{12}:\/app\/api$/);
  assert.equal(logRecord!["latency"], "90");
  assert.equal(logRecord!["@timestamp"], String(now - 600_000 + 90_000));
  for (const bad of ["", "not a pointer", Buffer.from("1:0").toString("base64url"), Buffer.from("../1:2").toString("base64url"), "x".repeat(100_000)]) {
    await assert.rejects(logs.send(new GetLogRecordCommand({ logRecordPointer: bad })), { name: "InvalidParameterException" }, bad.slice(0, 20));
  }
  await assert.rejects(logs.send(new GetLogRecordCommand({ logRecordPointer: Buffer.from("1:999999999").toString("base64url") })), {
    name: "ResourceNotFoundException",
  });
});

test("the time range is in seconds and inclusive: events outside it are not scanned", async () => {
  const answer = await query("stats count(*) as n", { startTime: nowSeconds - 600 + 50, endTime: nowSeconds - 600 + 59 });
  // Event i is at second nowSeconds - 600 + i: seconds 50..59, both ends included, are 10 events.
  assert.deepEqual(asObjects(answer), [{ n: "10" }]);
  assert.equal(answer.statistics!.recordsScanned, 10);
});

test("a syntax error is a MalformedQueryException saying where", async () => {
  const error = await logs
    .send(new StartQueryCommand({ logGroupName: "/app/api", ...window, queryString: "fields @message | sort by" }))
    .catch((e: unknown) => e);
  assert.ok(error instanceof MalformedQueryException, String(error));
  assert.match(error.message, /at line 1 and position \d+/);
  assert.equal(typeof error.queryCompileError?.location?.startCharOffset, "number");
  for (const bad of [
    "",
    "stats",
    "filter (((",
    "fields a | bogus x",
    "filter x like 3",
    "stats count(*) by bin(0m)",
    "filter @message =~ /(/",
    "limit 10001",
  ]) {
    await assert.rejects(logs.send(new StartQueryCommand({ logGroupName: "/app/api", ...window, queryString: bad })), { name: "MalformedQueryException" }, bad);
  }
});

test("hostile queries are refused or bounded: deep nesting, 10,000 characters, ReDoS patterns", async () => {
  await assert.rejects(
    logs.send(new StartQueryCommand({ logGroupName: "/app/api", ...window, queryString: `filter ${"(".repeat(4000)}1${")".repeat(4000)}` })),
    { name: "MalformedQueryException" },
  );
  await assert.rejects(logs.send(new StartQueryCommand({ logGroupName: "/app/api", ...window, queryString: `filter ${"-".repeat(5000)}1` })), {
    name: "MalformedQueryException",
  });
  await assert.rejects(logs.send(new StartQueryCommand({ logGroupName: "/app/api", ...window, queryString: "f".repeat(10_001) })), {
    name: "InvalidParameterException",
    message: /queryString.*less than or equal to 10000/,
  });
  const redos = await query("filter @message =~ /(a+)+$/ or @message like /(x|x)*y/ | stats count(*) as n");
  assert.equal(redos.status, "Complete");
});

test("StartQuery's parameters: one of the group members, times, limit, groups that exist", async () => {
  const start = (input: Partial<StartQueryRequest>) => logs.send(new StartQueryCommand({ ...window, queryString: "fields @message", ...input }));
  await assert.rejects(start({}), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupName: "/app/api", logGroupNames: ["/app/api"] }), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupName: "/nope" }), { name: "ResourceNotFoundException" });
  await assert.rejects(start({ logGroupNames: Array.from({ length: 51 }, () => "/app/api") }), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupIdentifiers: [`arn:aws:logs:${server.region}:123456789012:log-group:/app/*`] }), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupName: "/app/api", limit: 10_001 }), { name: "InvalidParameterException", message: /limit/ });
  await assert.rejects(start({ logGroupName: "/app/api", limit: 0 }), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupName: "/app/api", startTime: 100, endTime: 50 }), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupName: "/app/api", startTime: -1 }), { name: "InvalidParameterException" });
  await assert.rejects(start({ logGroupName: "/app/api", queryLanguage: "SQL" }), { name: "InvalidParameterException" });
  const byIdentifier = await start({ logGroupIdentifiers: ["/app/api"] });
  assert.equal((await finished(byIdentifier.queryId!)).status, "Complete");
  await assert.rejects(logs.send(new GetQueryResultsCommand({ queryId: "00000000-0000-0000-0000-000000000000" })), { name: "ResourceNotFoundException" });
  await assert.rejects(logs.send(new GetQueryResultsCommand({ queryId: "../../etc" })), { name: "ResourceNotFoundException" });
});

test("30 concurrent queries, the 31st refused; StopQuery cancels running ones, not finished ones; DescribeQueries lists them", async () => {
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/big" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "/big", logStreamName: "s" }));
  for (let batch = 0; batch < 20; batch++) {
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/big",
        logStreamName: "s",
        logEvents: Array.from({ length: 10_000 }, (_, i) => ({ timestamp: now - 300_000 + batch * 10_000 + i, message: `{"n":${i}}` })),
      }),
    );
  }
  // 30 queries at once share the server's time, so each runs for seconds: the 31st is refused
  // (AWS: up to 30 concurrent queries), and every one of the 30 is still running when stopped.
  const queryString = "stats count_distinct(n) by bin(1s)";
  const started = await Promise.all(Array.from({ length: 30 }, () => logs.send(new StartQueryCommand({ logGroupName: "/big", ...window, queryString }))));
  const ids = started.map((answer) => answer.queryId!);
  await assert.rejects(logs.send(new StartQueryCommand({ logGroupName: "/big", ...window, queryString })), {
    name: "LimitExceededException",
    message: /concurrency limit of \[30\]/,
  });
  const stopped = await Promise.all(ids.map((queryId) => logs.send(new StopQueryCommand({ queryId }))));
  assert.deepEqual(
    stopped.map((answer) => answer.success),
    ids.map(() => true),
  );
  for (const queryId of ids) assert.equal((await finished(queryId)).status, "Cancelled");
  assert.equal((await logs.send(new StopQueryCommand({ queryId: ids[0] }))).success, false);
  // Stopped queries no longer count: a new one starts.
  const after = await logs.send(new StartQueryCommand({ logGroupName: "/big", ...window, queryString: "stats count(*) as n" }));
  const counted = await finished(after.queryId!);
  assert.deepEqual(asObjects(counted), [{ n: "200000" }]);

  const listed = await logs.send(new DescribeQueriesCommand({ logGroupName: "/big" }));
  assert.equal(listed.queries!.length, 31);
  assert.deepEqual(listed.queries![0], {
    queryLanguage: "CWLI",
    queryId: after.queryId,
    queryString: "stats count(*) as n",
    status: "Complete",
    createTime: listed.queries![0]!.createTime,
    logGroupName: "/big",
  });
  assert.ok(listed.queries!.slice(1).every((q) => q.status === "Cancelled" && ids.includes(q.queryId!)));
  const complete = await logs.send(new DescribeQueriesCommand({ status: "Complete", maxResults: 2 }));
  assert.equal(complete.queries!.length, 2);
  assert.ok(complete.nextToken);
  assert.ok(complete.queries!.every((q) => q.status === "Complete" && q.createTime! >= now - 60_000));
  const next = await logs.send(new DescribeQueriesCommand({ status: "Complete", maxResults: 2, nextToken: complete.nextToken }));
  assert.ok(!next.queries!.some((q) => complete.queries!.some((seen) => seen.queryId === q.queryId)));
  await assert.rejects(logs.send(new DescribeQueriesCommand({ nextToken: "garbage" })), { name: "InvalidParameterException" });
});

test("query definitions: put, update, describe by prefix with pages, delete", async () => {
  const { queryDefinitionId } = await logs.send(
    new PutQueryDefinitionCommand({ name: "errors/by-path", queryString: "filter level = 'ERROR'", logGroupNames: ["/app/api"] }),
  );
  assert.match(queryDefinitionId!, /^[0-9a-f-]{36}$/);
  await logs.send(new PutQueryDefinitionCommand({ name: "errors/count", queryString: "stats count(*)" }));
  await logs.send(new PutQueryDefinitionCommand({ name: "other", queryString: "fields @message" }));
  const updated = await logs.send(
    new PutQueryDefinitionCommand({ queryDefinitionId, name: "errors/by-path", queryString: "filter level = 'ERROR' | stats count(*) by path" }),
  );
  assert.equal(updated.queryDefinitionId, queryDefinitionId);
  const first = await logs.send(new DescribeQueryDefinitionsCommand({ queryDefinitionNamePrefix: "errors/", maxResults: 1 }));
  assert.deepEqual(
    first.queryDefinitions!.map((d) => [d.name, d.queryString, d.logGroupNames]),
    // AWS: "No current values are retained from the current query definition": the update named no log groups.
    [["errors/by-path", "filter level = 'ERROR' | stats count(*) by path", []]],
  );
  const second = await logs.send(new DescribeQueryDefinitionsCommand({ queryDefinitionNamePrefix: "errors/", maxResults: 1, nextToken: first.nextToken }));
  assert.deepEqual(
    second.queryDefinitions!.map((d) => d.name),
    ["errors/count"],
  );
  assert.equal((await logs.send(new DeleteQueryDefinitionCommand({ queryDefinitionId }))).success, true);
  await assert.rejects(logs.send(new DeleteQueryDefinitionCommand({ queryDefinitionId })), { name: "ResourceNotFoundException" });
  await assert.rejects(logs.send(new PutQueryDefinitionCommand({ queryDefinitionId, name: "x", queryString: "fields a" })), {
    name: "ResourceNotFoundException",
  });
  await assert.rejects(logs.send(new PutQueryDefinitionCommand({ name: "", queryString: "fields a" })), { name: "InvalidParameterException" });
  await assert.rejects(logs.send(new PutQueryDefinitionCommand({ name: "x".repeat(256), queryString: "fields a" })), { name: "InvalidParameterException" });
  await assert.rejects(logs.send(new PutQueryDefinitionCommand({ name: "x", queryString: "fields a", logGroupNames: ["bad name!"] })), {
    name: "InvalidParameterException",
  });
});

test("aws logs start-query, then get-query-results --query-id", async () => {
  const started = await awsCli(server, [
    "logs",
    "start-query",
    "--log-group-name",
    "/app/api",
    "--start-time",
    String(window.startTime),
    "--end-time",
    String(window.endTime),
    "--query-string",
    "filter level = 'ERROR' | stats count(*) as errors",
  ]);
  assert.equal(started.code, 0, started.stderr);
  const queryId = (started.json as { queryId: string }).queryId;
  await finished(queryId);
  const got = await awsCli(server, ["logs", "get-query-results", "--query-id", queryId]);
  assert.equal(got.code, 0, got.stderr);
  const body = got.json as GetQueryResultsResponse;
  assert.equal(body.status, "Complete");
  assert.deepEqual(body.results, [[{ field: "errors", value: "10" }]]);
  const bad = await awsCli(server, [
    "logs",
    "start-query",
    "--log-group-name",
    "/app/api",
    "--start-time",
    "0",
    "--end-time",
    "1",
    "--query-string",
    "filter |",
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /MalformedQueryException/);
});

test("boto3: start_query, get_query_results and the error codes", async () => {
  const result = await runBoto3(
    server,
    "logs",
    "logs",
    `
import time
q = logs.start_query(logGroupName="/app/api", startTime=${window.startTime}, endTime=${window.endTime}, queryString="filter ispresent(path) | stats max(latency) as top by path | sort path")
while True:
    r = logs.get_query_results(queryId=q["queryId"])
    if r["status"] not in ("Scheduled", "Running"):
        break
    time.sleep(0.05)
codes = []
# A syntax error; then two of logGroupName/logGroupNames at once.
for kwargs in ({"queryString": "sort"}, {"queryString": "fields a", "logGroupNames": ["/app/api"]}):
    try:
        logs.start_query(**{"logGroupName": "/app/api", "startTime": 0, "endTime": 1, **kwargs})
    except botocore.exceptions.ClientError as e:
        codes.append(e.response["Error"]["Code"])
print(json.dumps({"status": r["status"], "results": r["results"], "codes": codes}))
`,
  );
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout) as { status: string; results: { field: string; value: string }[][]; codes: string[] };
  assert.equal(out.status, "Complete");
  assert.deepEqual(out.results, [
    [
      { field: "path", value: "/p0" },
      { field: "top", value: "99" },
    ],
    [
      { field: "path", value: "/p1" },
      { field: "top", value: "97" },
    ],
    [
      { field: "path", value: "/p2" },
      { field: "top", value: "98" },
    ],
  ]);
  assert.deepEqual(out.codes, ["MalformedQueryException", "InvalidParameterException"]);
});
