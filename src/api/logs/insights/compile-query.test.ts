// The engine end to end, without the store: queries (most from AWS's query syntax pages,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-examples.html) over a
// fixed set of events, with the rows they must answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileQuery } from "./compile-query.js";
import { QueryResourceError } from "./memory-budget.js";
import type { EventContext, EventSource } from "./rows.js";
import { EventRow } from "./rows.js";

const T0 = Date.UTC(2024, 0, 2, 3, 4, 0);
const EVENTS: EventSource[] = [
  { id: 1, streamId: 1, timestamp: T0, ingestionTime: T0 + 5, message: '{"level":"ERROR","latency":120,"user":{"id":"u1"},"path":"/a"}' },
  { id: 2, streamId: 1, timestamp: T0 + 30_000, ingestionTime: T0 + 30_005, message: '{"level":"INFO","latency":80,"user":{"id":"u2"},"path":"/b"}' },
  { id: 3, streamId: 2, timestamp: T0 + 90_000, ingestionTime: T0 + 90_005, message: "GET /index.html 200 512" },
  {
    id: 4,
    streamId: 2,
    timestamp: T0 + 95_000,
    ingestionTime: T0 + 95_005,
    message: '{"level":"INFO","latency":40,"user":{"id":"u1"},"path":"/a","tags":["x","y"]}',
  },
  { id: 5, streamId: 1, timestamp: T0 + 200_000, ingestionTime: T0 + 200_005, message: "POST /login 500 17" },
];
const CONTEXT: EventContext = { log: "123456789012:/app", streamName: (id) => `stream-${id}`, ptr: (id) => `ptr-${id}` };

function run(query: string, options: { limit?: number; memory?: number } = {}) {
  const compiled = compileQuery(query, { limit: options.limit ?? 1000, memoryLimitBytes: options.memory ?? 64 * 1_048_576 });
  for (const event of EVENTS) compiled.push(new EventRow(event, CONTEXT));
  const rows = compiled.finish().map((row) => Object.fromEntries(row.map(({ field, value }) => [field, value])));
  return { rows, matched: compiled.matched };
}

test("fields @timestamp, @message | sort @timestamp desc | limit 2: the newest two, with @ptr", () => {
  const { rows, matched } = run("fields @timestamp, @message | sort @timestamp desc | limit 2");
  assert.deepEqual(rows, [
    { "@timestamp": "2024-01-02 03:07:20.000", "@message": "POST /login 500 17", "@ptr": "ptr-5" },
    { "@timestamp": "2024-01-02 03:05:35.000", "@message": EVENTS[3]!.message, "@ptr": "ptr-4" },
  ]);
  assert.equal(matched, 5);
});

test("stats count(*), avg(latency) by bin(1m): one row per minute, times printed like @timestamp", () => {
  const { rows } = run("stats count(*), avg(latency) by bin(1m)");
  assert.deepEqual(rows, [
    { "bin(1m)": "2024-01-02 03:04:00.000", "count(*)": "2", "avg(latency)": "100" },
    { "bin(1m)": "2024-01-02 03:05:00.000", "count(*)": "2", "avg(latency)": "40" },
    { "bin(1m)": "2024-01-02 03:07:00.000", "count(*)": "1" },
  ]);
});

test("JSON fields are discovered, nested ones flattened with dots, arrays by index", () => {
  assert.deepEqual(run("filter level = 'ERROR' | fields user.id as uid, latency * 2 as double").rows, [{ uid: "u1", double: "240", "@ptr": "ptr-1" }]);
  assert.deepEqual(run("filter tags.1 = 'y' | fields path").rows, [{ path: "/a", "@ptr": "ptr-4" }]);
  const all = run("filter @logStream = 'stream-2' and ispresent(level)").rows;
  assert.deepEqual(all, [
    {
      "@timestamp": "2024-01-02 03:05:35.000",
      "@message": EVENTS[3]!.message,
      "@logStream": "stream-2",
      "@log": "123456789012:/app",
      "@ingestionTime": "2024-01-02 03:05:35.005",
      level: "INFO",
      latency: "40",
      "user.id": "u1",
      path: "/a",
      "tags.0": "x",
      "tags.1": "y",
      "@ptr": "ptr-4",
    },
  ]);
});

test("parse with a glob and with a regex's named groups; unmatched events pass without the fields", () => {
  assert.deepEqual(run("parse @message '* * * *' as method, path, status, bytes | filter ispresent(method) | display method, status").rows, [
    { method: "GET", status: "200", "@ptr": "ptr-3" },
    { method: "POST", status: "500", "@ptr": "ptr-5" },
  ]);
  assert.deepEqual(run("parse @message /(?<verb>[A-Z]{3,4}) (?<route>\\S+)/ | filter verb like /OS/ | fields route").rows, [
    { route: "/login", "@ptr": "ptr-5" },
  ]);
  assert.equal(run("parse @message '* * * *' as a, b, c, d").matched, 5);
});

test("filter: comparisons, and/or/not, like, =~, in, arithmetic and string functions", () => {
  const ids = (query: string) => run(`${query} | fields @ptr`).rows.map((row) => row["@ptr"]);
  assert.deepEqual(ids("filter latency > 50 and latency <= 120"), ["ptr-1", "ptr-2"]);
  assert.deepEqual(ids("filter latency < 50 or @message like 'POST'"), ["ptr-4", "ptr-5"]);
  assert.deepEqual(ids("filter not ispresent(latency)"), ["ptr-3", "ptr-5"]);
  assert.deepEqual(ids("filter @message =~ /^(GET|POST) /"), ["ptr-3", "ptr-5"]);
  assert.deepEqual(ids("filter @message not like /GET|POST/"), ["ptr-1", "ptr-2", "ptr-4"]);
  assert.deepEqual(ids("filter level in ['ERROR', 'WARN']"), ["ptr-1"]);
  assert.deepEqual(ids("filter level not in ['ERROR']"), ["ptr-2", "ptr-4"]);
  assert.deepEqual(ids("filter (latency + 20) * 2 = 200"), ["ptr-2"]);
  assert.deepEqual(ids("filter strlen(@message) < 20"), ["ptr-5"]);
  assert.deepEqual(ids("filter tolower(level) = 'error'"), ["ptr-1"]);
  assert.deepEqual(ids("filter concat(level, '-', path) = 'INFO-/a'"), ["ptr-4"]);
  assert.deepEqual(ids("filter latency != 80"), ["ptr-1", "ptr-4"]);
});

test("stats: count(field), sum, min, max, pct, count_distinct, stddev and expressions over aggregates, by a field", () => {
  const { rows } = run(
    "filter ispresent(level) | stats count(latency) as n, sum(latency) as total, min(latency) as low, max(latency) as high, pct(latency, 50) as p50, count_distinct(path) as paths, sum(latency) / count(*) as mean by user.id | sort n desc",
  );
  assert.deepEqual(rows, [
    { "user.id": "u1", n: "2", total: "160", low: "40", high: "120", p50: "40", paths: "1", mean: "80" },
    { "user.id": "u2", n: "1", total: "80", low: "80", high: "80", p50: "80", paths: "1", mean: "80" },
  ]);
  assert.deepEqual(run("stats stddev(latency) as sd, earliest(path) as first, latest(path) as last").rows, [{ sd: "40", first: "/a", last: "/a" }]);
  assert.deepEqual(run("stats min(@timestamp) as since, max(@timestamp) as until").rows, [
    { since: "2024-01-02 03:04:00.000", until: "2024-01-02 03:07:20.000" },
  ]);
});

test("stats by several keys, then a second stats over the first's rows", () => {
  assert.deepEqual(run("filter ispresent(level) | stats count(*) as n by level, path | stats sum(n) as total by level | sort total desc, level").rows, [
    { level: "INFO", total: "2" },
    { level: "ERROR", total: "1" },
  ]);
});

test("sort with several keys and directions; missing values sort last; limit; dedup keeps the first of each", () => {
  const streams = run("sort @logStream desc, @timestamp asc | fields @logStream, @timestamp | limit 3").rows.map((row) => row["@ptr"]);
  assert.deepEqual(streams, ["ptr-3", "ptr-4", "ptr-1"]);
  assert.deepEqual(
    run("sort latency | fields latency").rows.map((row) => row["@ptr"]),
    ["ptr-4", "ptr-2", "ptr-1", "ptr-3", "ptr-5"],
  );
  assert.deepEqual(
    run("dedup @logStream | fields @logStream").rows.map((row) => row["@logStream"]),
    ["stream-1", "stream-2"],
  );
  // Rows without the field are never duplicates.
  assert.equal(run("dedup level").rows.length, 4);
  assert.equal(run("fields @message", { limit: 2 }).rows.length, 2);
});

test("a sort followed only by a limit keeps the best rows, not every row", () => {
  const compiled = compileQuery("sort @timestamp desc | limit 1", { limit: 1000, memoryLimitBytes: 1 });
  // A budget of one byte would fail any query that held its rows.
  for (let index = 0; index < 10_000; index++) compiled.push(new EventRow({ ...EVENTS[0]!, id: index, timestamp: index }, CONTEXT));
  assert.deepEqual(compiled.finish()[0]!.at(-1), { field: "@ptr", value: "ptr-9999" });
});

test("a query that needs more memory than its budget fails with QueryResourceError", () => {
  const compiled = compileQuery("stats count(*) by @message", { limit: 1000, memoryLimitBytes: 100_000 });
  assert.throws(() => {
    for (let index = 0; index < 10_000; index++) compiled.push(new EventRow({ ...EVENTS[2]!, message: `line ${index}` }, CONTEXT));
  }, QueryResourceError);
});

test("count_distinct stays within a few percent past its exact range", () => {
  const compiled = compileQuery("stats count_distinct(@message) as n", { limit: 1000, memoryLimitBytes: 64 * 1_048_576 });
  for (let index = 0; index < 50_000; index++) compiled.push(new EventRow({ ...EVENTS[2]!, message: `m${index}` }, CONTEXT));
  const n = Number(compiled.finish()[0]![0]!.value);
  assert.ok(Math.abs(n - 50_000) / 50_000 < 0.05, `estimate ${n}`);
});

test("a catastrophic-backtracking regex runs in linear time (RE2)", () => {
  const compiled = compileQuery("filter @message =~ /(a+)+$/", { limit: 10, memoryLimitBytes: 1_048_576 });
  const started = performance.now();
  compiled.push(new EventRow({ ...EVENTS[2]!, message: `${"a".repeat(50_000)}!` }, CONTEXT));
  assert.ok(performance.now() - started < 1000);
  assert.equal(compiled.matched, 0);
});

test("the result rows a query keeps are bounded: large events with a high limit fail rather than be stored", () => {
  const compiled = compileQuery("fields @message", { limit: 10_000, memoryLimitBytes: 64 * 1_048_576 });
  const big = "x".repeat(200_000);
  assert.throws(() => {
    for (let index = 0; index < 10_000; index++) compiled.push(new EventRow({ ...EVENTS[2]!, id: index, message: big }, CONTEXT));
  }, QueryResourceError);
});

test("sort orders as AWS's sort page shows: non-numbers first (chunked, digit runs by length), then numbers", () => {
  // The ascending example of https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Sort.html
  const expected = ["!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@", "@_", "A", "A9876fghj", "a12345hfh", "0", "01", "1", "2", "3"];
  const shuffled = [...expected].reverse().sort((a, b) => ((a.length * 7 + a.charCodeAt(0)) % 5) - ((b.length * 7 + b.charCodeAt(0)) % 5));
  const compiled = compileQuery("sort v | fields v", { limit: 100, memoryLimitBytes: 1_048_576 });
  shuffled.forEach((v, index) => compiled.push(new EventRow({ ...EVENTS[0]!, id: index, message: JSON.stringify({ v }) }, CONTEXT)));
  assert.deepEqual(
    compiled.finish().map((row) => row[0]!.value),
    expected,
  );
  const descending = compileQuery("sort v desc | fields v", { limit: 100, memoryLimitBytes: 1_048_576 });
  shuffled.forEach((v, index) => descending.push(new EventRow({ ...EVENTS[0]!, id: index, message: JSON.stringify({ v }) }, CONTEXT)));
  assert.deepEqual(
    descending.finish().map((row) => row[0]!.value),
    [...expected].reverse(),
  );
});

test("bin() takes AWS's time units, plurals of the longer ones, and calendar months, quarters and years", () => {
  const binOf = (period: string) => run(`stats count(*) as n by bin(${period}) | limit 1`).rows[0]![`bin(${period})`];
  assert.equal(binOf("30s"), "2024-01-02 03:04:00.000");
  assert.equal(binOf("2mins"), "2024-01-02 03:04:00.000");
  assert.equal(binOf("1hrs"), "2024-01-02 03:00:00.000");
  assert.equal(binOf("1day"), "2024-01-02 00:00:00.000");
  assert.equal(binOf("500msec"), "2024-01-02 03:04:00.000");
  assert.equal(binOf("1mo"), "2024-01-01 00:00:00.000");
  assert.equal(binOf("2months"), "2024-01-01 00:00:00.000");
  assert.equal(binOf("1q"), "2024-01-01 00:00:00.000");
  assert.equal(binOf("1y"), "2024-01-01 00:00:00.000");
  for (const bad of ["5x", "1hs", "0m", "0mo"]) assert.throws(() => run(`stats count(*) by bin(${bad})`), /unexpected symbol|bin\(\) takes/, bad);
});
