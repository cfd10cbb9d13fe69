// CloudWatch Logs filter patterns (JSON, space-delimited), metric filters (stored, tested, and
// applied on ingest) and resource policies, through the SDK, the AWS CLI and boto3.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteMetricFilterCommand,
  DeleteResourcePolicyCommand,
  DescribeResourcePoliciesCommand,
  DescribeMetricFiltersCommand,
  FilterLogEventsCommand,
  PutLogEventsCommand,
  PutMetricFilterCommand,
  PutResourcePolicyCommand,
  TestMetricFilterCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { Store } from "../../src/store/index.js";
import { openStore } from "../../src/store/index.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import { runBoto3 } from "../support/boto3.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer, testServerStore } from "../support/server.js";

let server: TestServer;
let logs: CloudWatchLogsClient;
let store: Store;
before(async () => {
  server = await startTestServer();
  logs = new CloudWatchLogsClient(sdkConfig(server));
  store = await openStore(testServerStore(server.dataDir).location);
});
after(async () => {
  logs.destroy();
  await store.close();
  await server.stop();
  await server.cleanup();
});

const rejects = rejectsWithAwsError;
const boto3 = (script: string) => runBoto3(server, "logs", "logs", script);

async function groupWithEvents(group: string, messages: string[], timestamp = Date.now()): Promise<void> {
  await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "s" }));
  await putEvents(group, messages, timestamp);
}

async function putEvents(group: string, messages: string[], timestamp: number): Promise<void> {
  await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: "s", logEvents: messages.map((message) => ({ timestamp, message })) }));
}

const transformation = (metricName: string, extra: object = {}) => [{ metricName, metricNamespace: "App", metricValue: "1", ...extra }];

test("FilterLogEvents takes JSON and space-delimited patterns, through the SDK and the CLI", async () => {
  await groupWithEvents("/patterns", [
    JSON.stringify({ level: "error", latency: 900, user: { id: 7 } }),
    JSON.stringify({ level: "info", latency: 20, user: { id: 8 } }),
    '10.0.0.1 - bob [07/Dec/2026:01:00:00 +0000] "GET /index.html HTTP/1.1" 404 2048',
    '10.0.0.2 - amy [07/Dec/2026:01:00:01 +0000] "GET /ok HTTP/1.1" 200 10',
  ]);
  const messages = async (filterPattern: string) =>
    ((await logs.send(new FilterLogEventsCommand({ logGroupName: "/patterns", filterPattern }))).events ?? []).map((e) => e.message);
  assert.deepEqual(await messages('{ $.level = "error" && $.latency > 500 }'), [JSON.stringify({ level: "error", latency: 900, user: { id: 7 } })]);
  // NOT EXISTS needs a JSON event: the space-delimited lines match no JSON pattern.
  assert.deepEqual(await messages("{ $.user.id = 8 || $.user.id NOT EXISTS }"), [JSON.stringify({ level: "info", latency: 20, user: { id: 8 } })]);
  assert.deepEqual(await messages("[ip, user, name, timestamp, request = *html*, status_code = 4*, bytes > 1000]"), [
    '10.0.0.1 - bob [07/Dec/2026:01:00:00 +0000] "GET /index.html HTTP/1.1" 404 2048',
  ]);
  const cli = await awsCli(server, ["logs", "filter-log-events", "--log-group-name", "/patterns", "--filter-pattern", "[..., status_code = 200, bytes]"]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(
    (cli.json as { events: { message: string }[] }).events.map((e) => e.message),
    ['10.0.0.2 - amy [07/Dec/2026:01:00:01 +0000] "GET /ok HTTP/1.1" 200 10'],
  );
  for (const bad of ["{ $.level = }", "[a b]", "%(x)%", "{ $.a = %x% && $.b = %y% && $.c = %z% }"]) {
    await rejects(
      logs.send(new FilterLogEventsCommand({ logGroupName: "/patterns", filterPattern: bad })),
      "InvalidParameterException",
      "Invalid filter pattern",
    );
  }
  await rejects(
    logs.send(new FilterLogEventsCommand({ logGroupName: "/patterns", filterPattern: "ERROR email@domain.com" })),
    "InvalidParameterException",
    "Invalid filter pattern: Invalid character(s) in term 'email@domain.com'",
  );
  const badCli = await awsCli(server, ["logs", "filter-log-events", "--log-group-name", "/patterns", "--filter-pattern", "{ $.a IS MAYBE }"]);
  assert.notEqual(badCli.code, 0);
  assert.match(badCli.stderr, /InvalidParameterException.*Invalid filter pattern/);
});

test("metric filters: put, describe (filters and pages), test and delete with the CLI and the SDK; AWS's errors", async () => {
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/mf" }));
  const put = await awsCli(server, [
    "logs",
    "put-metric-filter",
    "--log-group-name",
    "/mf",
    "--filter-name",
    "errors",
    "--filter-pattern",
    '{ $.level = "error" }',
    "--metric-transformations",
    "metricName=Errors,metricNamespace=App,metricValue=1,defaultValue=0",
  ]);
  assert.equal(put.code, 0, put.stderr);
  for (let i = 0; i < 3; i++) {
    await logs.send(
      new PutMetricFilterCommand({
        logGroupName: "/mf",
        filterName: `latency-${i}`,
        filterPattern: "{ $.latency = * }",
        metricTransformations: transformation(`Latency${i}`, { metricValue: "$.latency", unit: "Milliseconds" }),
      }),
    );
  }
  const all = await logs.send(new DescribeMetricFiltersCommand({ logGroupName: "/mf" }));
  assert.deepEqual(
    all.metricFilters?.map((f) => f.filterName),
    ["errors", "latency-0", "latency-1", "latency-2"],
  );
  assert.deepEqual(all.metricFilters?.[0]?.metricTransformations, [{ metricName: "Errors", metricNamespace: "App", metricValue: "1", defaultValue: 0 }]);
  assert.equal(all.metricFilters?.[0]?.logGroupName, "/mf");
  assert.equal(typeof all.metricFilters?.[0]?.creationTime, "number");
  const prefixed = await logs.send(new DescribeMetricFiltersCommand({ logGroupName: "/mf", filterNamePrefix: "lat", limit: 2 }));
  assert.deepEqual(
    prefixed.metricFilters?.map((f) => f.filterName),
    ["latency-0", "latency-1"],
  );
  const next = await logs.send(new DescribeMetricFiltersCommand({ logGroupName: "/mf", filterNamePrefix: "lat", limit: 2, nextToken: prefixed.nextToken }));
  assert.deepEqual(
    next.metricFilters?.map((f) => f.filterName),
    ["latency-2"],
  );
  assert.equal(next.nextToken, undefined);
  const byMetric = await logs.send(new DescribeMetricFiltersCommand({ metricName: "Latency1", metricNamespace: "App" }));
  assert.deepEqual(
    byMetric.metricFilters?.map((f) => f.filterName),
    ["latency-1"],
  );
  await rejects(logs.send(new DescribeMetricFiltersCommand({ metricName: "Latency1" })), "InvalidParameterException");
  await rejects(logs.send(new DescribeMetricFiltersCommand({ nextToken: "garbage" })), "InvalidParameterException", "The specified nextToken is invalid.");

  const tested = await awsCli(server, [
    "logs",
    "test-metric-filter",
    "--filter-pattern",
    "[ip, user, username, timestamp, request, status_code = 4*, bytes]",
    "--log-event-messages",
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    "no match here",
  ]);
  assert.equal(tested.code, 0, tested.stderr);
  const matches = (tested.json as { matches: { eventNumber: number; extractedValues: Record<string, string> }[] }).matches;
  assert.equal(matches.length, 1);
  assert.equal(matches[0]!.eventNumber, 1);
  assert.equal(matches[0]!.extractedValues.$status_code, "404");
  assert.equal(matches[0]!.extractedValues.$4, "10/Oct/2000:13:25:15 -0700");
  const testedSdk = await logs.send(new TestMetricFilterCommand({ filterPattern: "{ $.a > 1 }", logEventMessages: ['{"a": 2}', '{"a": 1}', "not json"] }));
  assert.deepEqual(
    testedSdk.matches?.map((m) => m.eventNumber),
    [1],
  );
  await rejects(
    logs.send(new TestMetricFilterCommand({ filterPattern: "{ $.a > }", logEventMessages: ["x"] })),
    "InvalidParameterException",
    "Invalid filter pattern",
  );

  await logs.send(new DeleteMetricFilterCommand({ logGroupName: "/mf", filterName: "latency-2" }));
  await rejects(logs.send(new DeleteMetricFilterCommand({ logGroupName: "/mf", filterName: "latency-2" })), "ResourceNotFoundException");
  await rejects(
    logs.send(new DeleteMetricFilterCommand({ logGroupName: "/nope", filterName: "x" })),
    "ResourceNotFoundException",
    "The specified log group does not exist.",
  );
  await rejects(
    logs.send(new PutMetricFilterCommand({ logGroupName: "/nope", filterName: "x", filterPattern: "", metricTransformations: transformation("M") })),
    "ResourceNotFoundException",
    "The specified log group does not exist.",
  );
});

test("metric filter inputs that AWS refuses", async () => {
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/mf-bad" }));
  const putWith = (filterPattern: string, metricTransformations: object[], filterName = "f") =>
    logs.send(new PutMetricFilterCommand({ logGroupName: "/mf-bad", filterName, filterPattern, metricTransformations: metricTransformations as never }));
  // PutMetricFilter's words differ from FilterLogEvents' (AWS's answers to CloudFormation and Terraform).
  await rejects(putWith("{ $.a = }", transformation("M")), "InvalidParameterException", "Invalid metric filter pattern");
  await rejects(putWith("{ $.a = 1", transformation("M")), "InvalidParameterException", "If a filter pattern starts with '{' it must end with '}'");
  await rejects(putWith("ERROR (x)", transformation("M")), "InvalidParameterException", "Invalid character(s) in term '(x)'");
  await rejects(
    putWith("?ERROR ?WARN", transformation("M", { dimensions: { A: "$a" } })),
    "InvalidParameterException",
    "The specified filter pattern does not support dimensions",
  );
  await rejects(putWith("ERROR", transformation("M", { metricValue: "$.latency" })), "InvalidParameterException"); // a selector needs a JSON pattern
  await rejects(putWith("{ $.a = 1 }", transformation("M", { metricValue: "lots" })), "InvalidParameterException");
  await rejects(putWith("[a, b]", transformation("M", { dimensions: { A: "$a", B: "$b", C: "$a", D: "$b" } })), "InvalidParameterException");
  await rejects(putWith("[a, b]", transformation("M", { dimensions: { A: "$a" }, defaultValue: 0 })), "InvalidParameterException");
  await rejects(putWith("[a, b]", [...transformation("M"), ...transformation("N")]), "InvalidParameterException");
  await rejects(putWith("x".repeat(1025), transformation("M")), "InvalidParameterException");
  // The model's lengths and patterns, which the gateway's type check does not apply.
  await rejects(
    putWith("", transformation("M"), "x".repeat(513)),
    "InvalidParameterException",
    /at 'filterName' failed to satisfy constraint: Member must have length less than or equal to 512$/,
  );
  await rejects(
    putWith("", transformation("M"), "a*b"),
    "InvalidParameterException",
    /at 'filterName' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\^:\*\]\*$/,
  );
  await rejects(
    putWith("", transformation("M$")),
    "InvalidParameterException",
    /metricName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
  );
  await rejects(
    putWith("", transformation("M".repeat(256))),
    "InvalidParameterException",
    /metricName' failed to satisfy constraint: Member must have length less than or equal to 255$/,
  );
  await rejects(
    putWith("[a, b]", transformation("M", { dimensions: { ["k".repeat(256)]: "$a" } })),
    "InvalidParameterException",
    /dimensions' failed to satisfy constraint/,
  );
  await rejects(putWith("", transformation("M", { metricValue: "1".repeat(101) })), "InvalidParameterException", /metricValue' failed to satisfy constraint/);
  await rejects(
    logs.send(
      new PutMetricFilterCommand({ logGroupName: "g".repeat(100_000), filterName: "f", filterPattern: "", metricTransformations: transformation("M") }),
    ),
    "InvalidParameterException",
    /at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512$/,
  );
  await rejects(
    logs.send(new DescribeMetricFiltersCommand({ logGroupName: "/mf-bad", filterNamePrefix: "p*" })),
    "InvalidParameterException",
    /filterNamePrefix/,
  );
  // A quoted term with a "%" is no regex: it does not count against the five regex filters.
  await putWith('"100%"', transformation("M"), "percent");
  // Five regex filters per group, then LimitExceededException; a sixth without a regex is fine.
  for (let i = 0; i < 5; i++) await putWith(`%ERR${i}%`, transformation("M"), `re-${i}`);
  await rejects(putWith("%ERR5%", transformation("M"), "re-5"), "LimitExceededException");
  await putWith("ERR5", transformation("M"), "plain");
  // 100 filters per group.
  for (let i = 0; i < 93; i++) await putWith("", transformation("M"), `n-${String(i).padStart(3, "0")}`);
  await rejects(putWith("", transformation("M"), "one-too-many"), "LimitExceededException");
  await putWith("changed", transformation("M"), "n-000"); // replacing one is no new filter
  const boto = await boto3(`
try:
    logs.put_metric_filter(logGroupName="/mf-bad", filterName="b", filterPattern="[a, b > x]", metricTransformations=[{"metricName": "M", "metricNamespace": "App", "metricValue": "1"}])
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"])
r = logs.test_metric_filter(filterPattern="{ $.ok IS TRUE }", logEventMessages=['{"ok": true}', '{"ok": false}'])
print(json.dumps([m["eventNumber"] for m in r["matches"]]))
`);
  assert.equal(boto.code, 0, boto.stderr);
  assert.deepEqual(boto.stdout.trim().split("\n"), ["InvalidParameterException Invalid metric filter pattern", "[1]"]);
});

test("events ingested are matched against the group's metric filters and aggregated per minute", async () => {
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/ingest" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "/ingest", logStreamName: "s" }));
  const filter = (filterName: string, filterPattern: string, metricName: string, extra: object = {}) =>
    logs.send(
      new PutMetricFilterCommand({
        logGroupName: "/ingest",
        filterName,
        filterPattern,
        metricTransformations: [{ metricName, metricNamespace: "Ingest", metricValue: "1", ...extra }],
      }),
    );
  await filter("errors", '{ $.level = "error" }', "Errors", { defaultValue: 0 });
  await filter("latency", "{ $.latency = * }", "Latency", { metricValue: "$.latency", unit: "Milliseconds" });
  await filter("bytes", "[ip, method, status = 4*, bytes]", "Bytes", { metricValue: "$bytes", dimensions: { Status: "$status" } });
  await filter("regex", "%^GET%", "Gets");
  await filter("terms", "timeout -retry", "Timeouts", { metricValue: "2.5" });
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  await putEvents(
    "/ingest",
    [
      JSON.stringify({ level: "error", latency: 30 }),
      JSON.stringify({ level: "info", latency: 10 }),
      "10.0.0.1 GET 404 100",
      "10.0.0.2 GET 404 300",
      "10.0.0.3 GET 403 50",
      "10.0.0.4 GET 200 70",
      "upstream timeout",
      "upstream timeout, retry",
    ],
    minute + 5_000,
  );
  const of = async (name: string) =>
    (await store.logMetricFilters.aggregates("Ingest", name)).map(({ dimensions, minute: m, sum, count, min, max, unit }) => ({
      dimensions,
      m,
      sum,
      count,
      min,
      max,
      unit,
    }));
  // The default value counts every event that does not match (AWS's "Default Value" example).
  assert.deepEqual(await of("Errors"), [{ dimensions: {}, m: minute, sum: 1, count: 8, min: 0, max: 1, unit: undefined }]);
  assert.deepEqual(await of("Latency"), [{ dimensions: {}, m: minute, sum: 40, count: 2, min: 10, max: 30, unit: "Milliseconds" }]);
  assert.deepEqual(await of("Bytes"), [
    { dimensions: { Status: "403" }, m: minute, sum: 50, count: 1, min: 50, max: 50, unit: undefined },
    { dimensions: { Status: "404" }, m: minute, sum: 400, count: 2, min: 100, max: 300, unit: undefined },
  ]);
  assert.deepEqual(await of("Timeouts"), [{ dimensions: {}, m: minute, sum: 2.5, count: 1, min: 2.5, max: 2.5, unit: undefined }]);
  assert.deepEqual(await of("Gets"), []); // no event starts with GET

  // A second batch in the same minute adds to the same rows; a deleted filter stops at once.
  await logs.send(new DeleteMetricFilterCommand({ logGroupName: "/ingest", filterName: "latency" }));
  await putEvents("/ingest", [JSON.stringify({ level: "error", latency: 5 }), "GET /x"], minute + 30_000);
  assert.deepEqual(await of("Errors"), [{ dimensions: {}, m: minute, sum: 2, count: 10, min: 0, max: 1, unit: undefined }]);
  assert.deepEqual(await of("Latency"), [{ dimensions: {}, m: minute, sum: 40, count: 2, min: 10, max: 30, unit: "Milliseconds" }]);
  assert.equal((await of("Gets"))[0]?.count, 1);
  // Hostile events (deep JSON, long dimension values, huge numbers) are recorded or skipped, never fail the put.
  await putEvents(
    "/ingest",
    [`${'{"a":['.repeat(2000)}1${"]}".repeat(2000)}`, `10.0.0.5 GET 404 ${"9".repeat(400)}`, `10.0.0.6 GET 4${"0".repeat(2000)} 1`],
    minute + 40_000,
  );
  // A number past a double's range is no value, and a 2,001-character status is over CloudWatch's
  // 1,024 for a dimension value: neither is recorded.
  assert.deepEqual(
    (await of("Bytes")).map((row) => [row.dimensions, row.sum]),
    [
      [{ Status: "403" }, 50],
      [{ Status: "404" }, 400],
    ],
  );
});

test("resource policies: put, describe, delete with boto3 and the SDK's errors; 10 per region, 5120 characters, JSON only", async () => {
  const document = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "route53.amazonaws.com" }, Action: ["logs:PutLogEvents"], Resource: "*" }],
  });
  const result = await boto3(`
doc = ${JSON.stringify(document)}
r = logs.put_resource_policy(policyName="route53", policyDocument=doc)
print(r["resourcePolicy"]["policyName"], r["resourcePolicy"]["policyDocument"] == doc)
for i in range(9):
    logs.put_resource_policy(policyName="p%d" % i, policyDocument=doc)
for name, document in [("p9", doc), ("route53", "not json"), ("route53", "[1]"), ("big", "{" + " " * 5120 + "}")]:
    try:
        logs.put_resource_policy(policyName=name, policyDocument=document)
        print("accepted", name)
    except botocore.exceptions.ClientError as e:
        print(e.response["Error"]["Code"])
logs.put_resource_policy(policyName="route53", policyDocument=doc)
page = logs.describe_resource_policies(limit=4)
names = [p["policyName"] for p in page["resourcePolicies"]]
while "nextToken" in page:
    page = logs.describe_resource_policies(limit=4, nextToken=page["nextToken"])
    names += [p["policyName"] for p in page["resourcePolicies"]]
print(json.dumps(names, separators=(",", ":")))
logs.delete_resource_policy(policyName="p0")
try:
    logs.delete_resource_policy(policyName="p0")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
print(len(logs.describe_resource_policies()["resourcePolicies"]))
`);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split("\n"), [
    "route53 True",
    "LimitExceededException",
    "InvalidParameterException",
    "InvalidParameterException",
    "InvalidParameterException",
    JSON.stringify(["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "route53"]),
    "ResourceNotFoundException",
    "9",
  ]);
  // Debian's botocore predates policyScope; the SDK reads it.
  const described = await logs.send(new DescribeResourcePoliciesCommand({ limit: 1 }));
  assert.deepEqual(
    described.resourcePolicies?.map((p) => [p.policyName, p.policyScope, typeof p.lastUpdatedTime]),
    [["p1", "ACCOUNT", "number"]],
  );
  await rejects(
    logs.send(new PutResourcePolicyCommand({ policyName: "p".repeat(10_000), policyDocument: "{}" })),
    "InvalidParameterException",
    /at 'policyName' failed/,
  );
  await rejects(
    logs.send(new DeleteResourcePolicyCommand({ policyName: "p1", resourceArn: "arn:aws:logs:us-east-1:123456789012:log-group:x" })),
    "InvalidParameterException",
  );
  await rejects(logs.send(new PutResourcePolicyCommand({ policyName: "p1", policyDocument: "{}", expectedRevisionId: "1" })), "InvalidParameterException");
});
