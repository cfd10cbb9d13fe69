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
