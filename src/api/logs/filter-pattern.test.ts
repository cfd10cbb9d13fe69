import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilterPattern } from "./filter-pattern.js";

const lines = ["ERROR bad thing", "WARN slow request", "INFO Exception occurred twice", "ERROR Exiting now", "GET /x 404"];
const matching = (pattern: string) => lines.filter(compileFilterPattern(pattern));

test("an empty pattern matches every event", () => assert.deepEqual(matching(""), lines));
test("a plain term matches events containing it, case-sensitively", () => {
  assert.deepEqual(matching("ERROR"), ["ERROR bad thing", "ERROR Exiting now"]);
  assert.deepEqual(matching("error"), []);
});
test("several terms must all appear", () => assert.deepEqual(matching("ERROR bad"), ["ERROR bad thing"]));
test("a quoted phrase is matched exactly", () => {
  assert.deepEqual(matching('"Exception occurred"'), ["INFO Exception occurred twice"]);
  assert.deepEqual(matching('"occurred Exception"'), []);
});
test("?terms match any of them", () => assert.deepEqual(matching("?WARN ?404"), ["WARN slow request", "GET /x 404"]));
test("-terms exclude events", () => assert.deepEqual(matching("ERROR -Exiting"), ["ERROR bad thing"]));
test("%regex% matches a regular expression", () => assert.deepEqual(matching("%[0-9]{3}%"), ["GET /x 404"]));
test("rejects an unclosed quote and unsupported JSON patterns", () => {
  assert.throws(() => compileFilterPattern('"open'), { name: "InvalidParameterException" });
  assert.throws(() => compileFilterPattern("{ $.level = 1 }"), { name: "InvalidParameterException" });
});
test("%regex% runs in linear time: a catastrophic pattern does not stall the event loop", async () => {
  const matches = compileFilterPattern("%(a+)+$%");
  // 23 a's and a "!" cost a backtracking engine (V8's) about 2 s each, doubling with every "a";
  // (longer ones would never finish, so the test could hang rather than fail). The long events match.
  const long = Array.from({ length: 20 }, () => "a".repeat(30_000));
  const events = [...Array.from({ length: 3 }, () => `${"a".repeat(23)}!`), ...long];
  // A timer due every 10 ms; the lag of its worst tick is how long the loop was blocked.
  let last = performance.now();
  let worstLagMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstLagMs = Math.max(worstLagMs, now - last - 10);
    last = now;
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 30));
  const started = performance.now();
  assert.deepEqual(events.filter(matches), long);
  const tookMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 30));
  clearInterval(ticker);
  assert.ok(tookMs < 500, `the events matched in ${tookMs.toFixed(1)} ms`);
  assert.ok(worstLagMs < 500, `event loop blocked for ${worstLagMs.toFixed(1)} ms`);
});
test("a regex RE2 cannot run (backreference, lookahead) is an invalid pattern", () => {
  assert.throws(() => compileFilterPattern("%(a)\\1%"), { name: "InvalidParameterException", message: "Invalid filter pattern" });
  assert.throws(() => compileFilterPattern("%a(?=b)%"), { name: "InvalidParameterException" });
});
