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
test("rejects an unclosed quote, and a JSON or space-delimited pattern left open", () => {
  assert.throws(() => compileFilterPattern('"open'), { name: "InvalidParameterException", message: "Invalid filter pattern" });
  assert.throws(() => compileFilterPattern("{ $.level = 1"), { name: "InvalidParameterException", message: /must end with '}'/ });
  assert.throws(() => compileFilterPattern("[a, b"), { name: "InvalidParameterException", message: /must end with ']'/ });
});

test("a term with characters other than letters, digits and _ must be quoted (AWS's words)", () => {
  for (const term of ["email@domain.com", "(x)", "ERROR:", "\u201cquoted\u201d"]) {
    assert.throws(() => compileFilterPattern(`ERROR ${term}`), {
      name: "InvalidParameterException",
      message: `Invalid filter pattern: Invalid character(s) in term '${term}'`,
    });
    assert.equal(compileFilterPattern(`ERROR "${term}"`)(`ERROR ${term}`), true);
  }
  assert.throws(() => compileFilterPattern('ERROR ""'), { message: `Invalid filter pattern: Invalid character(s) in term '""'` });
  assert.deepEqual(lines.filter(compileFilterPattern("?WARN ?_x ?404")), ["WARN slow request", "GET /x 404"]);
});
test("%regex% runs in linear time: a catastrophic pattern does not stall the event loop", async () => {
  // AWS refuses "(" and ")", so the classic (a+)+$ cannot be written; a+a+a+…$ is the same trap
  // for a backtracking engine (polynomial) and still linear on RE2.
  const matches = compileFilterPattern(`%${"a+".repeat(12)}$%`);
  // 23 a's and a "!" cost a backtracking engine (V8's) about 2 s each, doubling with every "a";
  // (longer ones would never finish, so the test could hang rather than fail). The long events match.
  const long = Array.from({ length: 20 }, () => "a".repeat(30_000));
  const events = [...Array.from({ length: 3 }, () => `${"a".repeat(3000)}!`), ...long];
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
test("a regex outside AWS's syntax (parentheses, other symbols, multi-byte characters) or one RE2 cannot compile is an invalid pattern", () => {
  for (const pattern of ["%(a)\\1%", "%a(?=b)%", "%something!%", "%é%", "%a b%", "%[a%", "%a{2,1}%"]) {
    assert.throws(() => compileFilterPattern(pattern), { name: "InvalidParameterException", message: "Invalid filter pattern" }, pattern);
  }
  // Every character AWS lists is accepted.
  assert.equal(compileFilterPattern("%^[a-z0-9:_#=@/;,-]+\\.?|x*$%")("ab:_#=@/;,-"), true);
});

test("a filterPattern over AWS's 1024 characters is refused with AWS's validation message; 1024 is fine", () => {
  const long = `%${"a".repeat(1023)}%`;
  assert.throws(() => compileFilterPattern(long), {
    name: "InvalidParameterException",
    message: `1 validation error detected: Value '${long}' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024`,
  });
  assert.equal(compileFilterPattern(`%${"a".repeat(1022)}%`)("a".repeat(1022)), true);
});

test("a regex whose counted repeats add up to more than 100 is refused", () => {
  // The security review's pattern: 23.6 s for 9 events of 100 KB.
  assert.throws(() => compileFilterPattern(`%${"[\\s\\S]{1000}".repeat(4)}z%`), {
    name: "InvalidParameterException",
    message: "Invalid filter pattern: the counted repetitions ({n}, {n,}, {n,m}) of a regular expression may add up to at most 100; this one adds up to 4000",
  });
  assert.throws(() => compileFilterPattern("%a{101}%"), { name: "InvalidParameterException", message: /adds up to 101$/ });
  assert.throws(() => compileFilterPattern("%a{2,101}%"), { name: "InvalidParameterException", message: /adds up to 101$/ });
  assert.throws(() => compileFilterPattern("%x{60}y{41}%"), { name: "InvalidParameterException" });
  // Within the limit, and braces that are no repeat, still work.
  assert.equal(compileFilterPattern("%[\\s\\S]{100}z%")(`${"é".repeat(100)}z`), true);
  assert.equal(compileFilterPattern("%a{99,}%")("a".repeat(99)), true);
  assert.equal(compileFilterPattern("%a{99,}%")("a".repeat(98)), false);
  assert.equal(compileFilterPattern("%\\x{41}{3}[{}]{2}%")("AAA{}"), true);
  assert.equal(compileFilterPattern("%\\{5000\\}%")("{5000}"), true);
});

test("a regex of too many wildcards or Unicode classes is refused; literals do not count", () => {
  assert.throws(() => compileFilterPattern(`%${".".repeat(257)}%`), { name: "InvalidParameterException", message: /too complex \(it matches 257 / });
  assert.throws(() => compileFilterPattern(`%${"\\pL".repeat(11)}%`), { name: "InvalidParameterException", message: /too complex/ });
  assert.throws(() => compileFilterPattern("%[\\p{Greek}x]{11}%"), { name: "InvalidParameterException", message: /too complex/ });
  assert.throws(() => compileFilterPattern(`%${"\\w\\d\\s".repeat(90)}%`), { name: "InvalidParameterException", message: /too complex/ });
  assert.equal(compileFilterPattern(`%${".".repeat(256)}%`)("a".repeat(256)), true);
  assert.equal(compileFilterPattern("%\\pL{10}%")("é".repeat(10)), true);
  assert.equal(compileFilterPattern(`%${"ab".repeat(500)}%`)("ab".repeat(500)), true);
});

test("allowed patterns stay cheap on a 1 MiB event", () => {
  // The most expensive shapes the limits let through; each measured at about 2-10 ms per MiB.
  const event = "é".repeat(1 << 19);
  for (const pattern of ["%\\pL{10}z%", `%${".".repeat(256)}z%`, "%[\\s\\S]{100}z%", `%\\pL{9}${".".repeat(31)}z%`]) {
    const matches = compileFilterPattern(pattern);
    const started = performance.now();
    assert.equal(matches(event), false);
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 200, `${pattern} took ${tookMs.toFixed(1)} ms on 1 MiB`);
  }
});
