// JSON and space-delimited filter patterns, with the examples of AWS's "Filter and Pattern
// Syntax" page and the matches it states for each; then hostile patterns and events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilterPattern, eventView, parseFilterPattern } from "./filter-pattern.js";

const trailEvent = JSON.stringify({
  eventType: "UpdateTrail",
  sourceIPAddress: "111.111.111.111",
  arrayKey: ["value", "another value"],
  objectList: [
    { name: "a", id: 1 },
    { name: "b", id: 2 },
  ],
  SomeObject: null,
  ThisFlag: true,
});

test("AWS's JSON examples all match their event", () => {
  for (const pattern of [
    '{ $.eventType = "UpdateTrail" }',
    "{ $.sourceIPAddress != 123.123.* }",
    '{ $.arrayKey[0] = "value" }',
    "{ $.objectList[1].id = 2 }",
    "{ $.SomeObject IS NULL }",
    "{ $.SomeOtherObject NOT EXISTS }",
    "{ $.ThisFlag IS TRUE }",
    "{$.eventType=UpdateTrail}",
  ]) {
    assert.equal(compileFilterPattern(pattern)(trailEvent), true, pattern);
  }
  for (const pattern of [
    '{ $.eventType = "Update" }',
    "{ $.sourceIPAddress != 111.111.* }",
    "{ $.arrayKey[2] = value }",
    "{ $.objectList[1].id = 1 }",
    "{ $.ThisFlag IS NULL }",
    "{ $.ThisFlag IS FALSE }",
    "{ $.eventType NOT EXISTS }",
    "{ $.SomeObject = null }",
  ]) {
    assert.equal(compileFilterPattern(pattern)(trailEvent), false, pattern);
  }
});

const compoundEvent = JSON.stringify({
  user: { id: 1, email: "John.Stiles@example.com" },
  users: [
    { id: 2, email: "John.Doe@example.com" },
    { id: 3, email: "Jane.Doe@example.com" },
  ],
  actions: ["GET", "PUT", "DELETE"],
  coordinates: [
    [0, 1, 2],
    [4, 5, 6],
    [7, 8, 9],
  ],
});

test("AWS's compound JSON examples: && binds tighter than ||, parentheses group", () => {
  const matches = (pattern: string) => compileFilterPattern(pattern)(compoundEvent);
  assert.equal(matches('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }'), true);
  assert.equal(matches('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }'), false);
  assert.equal(matches('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }'), true);
  assert.equal(matches('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }'), false);
  assert.equal(matches("{ $.coordinates[2][0] = 7 }"), true);
});

test("a selector on an array or object matches neither = nor !=; OR patterns as AWS's example", () => {
  const users = JSON.stringify({ users: [1, 2, 3] });
  assert.equal(compileFilterPattern("{$.users = 1}")(users), false);
  assert.equal(compileFilterPattern("{$.users != 1}")(users), false);
  const foo = (pattern: string) => ['{"foo": "bar"}', '{"foo": "baz"}'].filter(compileFilterPattern(pattern));
  assert.deepEqual(foo("{$.foo = bar}"), ['{"foo": "bar"}']);
  assert.deepEqual(foo("{$.foo = baz }"), ['{"foo": "baz"}']);
  assert.deepEqual(foo("{$.foo = bar || $.foo = baz }"), ['{"foo": "bar"}', '{"foo": "baz"}']);
});

test("wildcards only at either end of a string; numeric comparisons of AWS's examples", () => {
  const event = (body: object) => JSON.stringify(body);
  assert.equal(compileFilterPattern("{ $.e = *Event }")(event({ e: "PutEvent" })), true);
  assert.equal(compileFilterPattern("{ $.e = Event* }")(event({ e: "EventId" })), true);
  assert.equal(compileFilterPattern("{ $.e = Ev*ent }")(event({ e: "Evxent" })), false);
  assert.equal(compileFilterPattern('{ $.e = "Ev*ent" }')(event({ e: "Ev*ent" })), true);
  const numbers = event({ latency: 500, numbers: [9], processes: [0, 0, 0, 0, { averageRuntime: 55.5 }], errorCode: 400 });
  for (const pattern of [
    "{ $.latency >= 500 }",
    "{ $.numbers[0] < 10e3 }",
    "{ $.processes[4].averageRuntime <= 55.5 }",
    "{ $.errorCode = 400 }",
    "{ $.errorCode != 500 }",
    "{ $.latency > +499 }",
  ]) {
    assert.equal(compileFilterPattern(pattern)(numbers), true, pattern);
  }
  assert.equal(compileFilterPattern("{ $.numbers[0] < 10e-3 }")(numbers), false);
  assert.equal(compileFilterPattern("{ $.latency > 500 }")(numbers), false);
  assert.equal(compileFilterPattern("{ $.latency = * }")(numbers), true);
  assert.equal(compileFilterPattern("{ $.missing = * }")(numbers), false);
});

test("a regex in a JSON pattern; events that are not JSON objects match no JSON pattern", () => {
  assert.throws(() => compileFilterPattern("{ $.message = %bind: address% }"), { message: "Invalid filter pattern" }); // a space is no regex character
  assert.equal(compileFilterPattern("{ $.message = %^bind:.*use$% }")('{"message":"bind: address already in use"}'), true);
  for (const message of ["not json", "[1,2]", '"x"', "{broken", "{}"]) assert.equal(compileFilterPattern("{ $.a NOT EXISTS }")(message), message === "{}");
});

const apache = [
  '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
  '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
  '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355',
];

test("AWS's space-delimited examples", () => {
  const matching = (pattern: string) => apache.filter(compileFilterPattern(pattern)).map((line) => line.split(" ").at(-2));
  assert.deepEqual(matching("[ip, user, username, timestamp, request, status_code, bytes]"), ["200", "500", "404"]);
  assert.deepEqual(matching("[..., status_code, bytes]"), ["200", "500", "404"]);
  assert.deepEqual(matching("[ip, user, ..., status_code, bytes]"), ["200", "500", "404"]);
  assert.deepEqual(matching("[ip, user, ...]"), ["200", "500", "404"]);
  assert.deepEqual(matching("[ip, user, username, timestamp, request, status_code, bytes > 5000]"), ["500"]);
  assert.deepEqual(matching("[ip, user, username, timestamp, request, status_code = 200, bytes]"), ["200"]);
  assert.deepEqual(matching("[ip, user, username, timestamp, request, status_code = 4*, bytes]"), ["404"]);
  assert.deepEqual(matching("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]"), ["404"]);
  assert.deepEqual(matching("[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000, bytes]"), ["404"]);
  assert.deepEqual(matching("[ip, user, username, timestamp, request, status_code = 4* && status_code != 404, bytes]"), []);
  assert.deepEqual(matching("[..., request=*.html*, status_code=4*,]"), ["404"]);
  assert.deepEqual(matching("[ip, user]"), []); // too few names and no "..."
});

test("AWS's OR examples on space-delimited events", () => {
  const lines = ["ERROR WARN message", "ERROR message", "WARN message"];
  const matching = (pattern: string) => lines.filter(compileFilterPattern(pattern));
  assert.deepEqual(matching("[w1=ERROR, w2]"), ["ERROR message"]);
  assert.deepEqual(matching("[w1=ERROR || w1=WARN, w2]"), ["ERROR message", "WARN message"]);
  assert.deepEqual(matching("[w1, w2, w3=%^mess%]"), ["ERROR WARN message"]);
});

test("a space-delimited match offers its fields to a metric value by name and position", () => {
  const match = parseFilterPattern("[ip, user, username, timestamp, request, status_code, bytes]").evaluate(eventView(apache[0]!));
  assert.equal(match?.numberAt("$bytes"), 1534);
  assert.equal(match?.numberAt("$7"), 1534);
  assert.equal(match?.numberAt("$request"), undefined);
  const json = parseFilterPattern("{ $.latency = * }").evaluate(eventView('{"latency": 12.5}'));
  assert.equal(json?.numberAt("$.latency"), 12.5);
});

test("a pattern that opens with { or [ must close with it (AWS's words for {)", () => {
  assert.throws(() => compileFilterPattern("{ $.a = 1 } x"), {
    name: "InvalidParameterException",
    message: "If a filter pattern starts with '{' it must end with '}'",
  });
  assert.throws(() => compileFilterPattern("[a, b"), {
    name: "InvalidParameterException",
    message: "If a filter pattern starts with '[' it must end with ']'",
  });
});

test("malformed structured patterns are refused as AWS refuses them", () => {
  for (const pattern of [
    "{ }",
    "{ $.a = }",
    "{ a = 1 }",
    "{ $.a < abc }",
    "{ $.a = 1 && }",
    "{ ($.a = 1 }",
    "{ $.a IS MAYBE }",
    "{ $[0] = 1 }",
    "{ $.a = %x% || $.b = %y% || $.c = %z% }",
    "[]",
    "[a b]",
    "[a, a]",
    "[a = 1, b = %x% && a = %y% && b = %z%]",
    "[a, b > x]",
    "[a, c = 1 && d = 2]",
    "[1a]",
    "[a ! b]",
    "{ $.a = %(x)% }",
  ]) {
    assert.throws(() => compileFilterPattern(pattern), { name: "InvalidParameterException", message: "Invalid filter pattern" }, pattern);
  }
});

/** The median time of `run` over a few rounds, in ms. */
function timeOf(run: () => void): number {
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

test("hostile patterns compile and match in time linear in their size (against a same-run baseline)", () => {
  // Baseline: a plain pattern of the same length on the same events.
  const events = Array.from({ length: 200 }, (_, index) => JSON.stringify({ a: index, b: "x".repeat(2000), c: [[[[index]]]] }));
  const baselinePattern = `{ $.a = 1 ${"|| $.a = 1 ".repeat(60)}}`.slice(0, 1024);
  const nested = `{ ${"(".repeat(32)}$.a = 1${")".repeat(32)} ${"&& $.b = *x ".repeat(40)}}`.slice(0, 1024);
  const longAnd = `{ $.a = * ${"&& $.c[0][0][0][0] >= 0 ".repeat(40)}}`;
  const baseline = timeOf(() => events.filter(compileFilterPattern(baselinePattern)));
  for (const hostile of [nested.endsWith("}") ? nested : `${nested.slice(0, 1000)}}`, longAnd.slice(0, 1023) + "}"]) {
    let matcher: ((message: string) => boolean) | undefined;
    try {
      matcher = compileFilterPattern(hostile);
    } catch {
      continue; // a cut-off pattern may be malformed: refusing it is fine, hanging is not
    }
    const took = timeOf(() => events.filter(matcher!));
    assert.ok(took < baseline * 20 + 20, `${hostile.slice(0, 40)}… took ${took.toFixed(1)} ms against a baseline of ${baseline.toFixed(1)} ms`);
  }
  // Deeper nesting than MAX_NESTING is refused rather than recursed into.
  assert.throws(() => compileFilterPattern(`{ ${"(".repeat(400)}$.a = 1${")".repeat(400)} }`), { name: "InvalidParameterException" });
});

test("hostile events cost time linear in their size", () => {
  const patterns = ["[a, ..., b, ..., c = 1*, ..., d]", "{ $.a[0][0][0] = *x* }", "[a, b = *x*, ...]"];
  const small = Array.from({ length: 50 }, () => `${"x ".repeat(1_000)}`);
  const large = Array.from({ length: 50 }, () => `${"x ".repeat(10_000)}`);
  const deepJson = `${'{"a":['.repeat(5000)}1${"]}".repeat(5000)}`;
  for (const pattern of patterns) {
    const matches = compileFilterPattern(pattern);
    const baseline = timeOf(() => small.filter(matches));
    const took = timeOf(() => large.filter(matches));
    // 10 times the text: allow 30 times the time (and some slack for timer noise and other sessions' load).
    assert.ok(took < baseline * 30 + 50, `${pattern}: ${took.toFixed(1)} ms on large events against ${baseline.toFixed(1)} ms on small ones`);
    assert.equal(typeof matches(deepJson), "boolean");
  }
});
