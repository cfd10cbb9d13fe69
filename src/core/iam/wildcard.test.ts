import { test } from "node:test";
import assert from "node:assert/strict";
import { compileGlob, compileWildcard } from "./wildcard.js";

const matches = (pattern: string, text: string, ignoreCase = false) => compileWildcard(pattern, ignoreCase).matches(ignoreCase ? text.toLowerCase() : text);

test("matches exact text, * as any run and ? as one character", () => {
  assert.equal(matches("ecs:RunTask", "ecs:RunTask"), true);
  assert.equal(matches("ecs:RunTask", "ecs:RunTasks"), false);
  assert.equal(matches("*", ""), true);
  assert.equal(matches("", ""), true);
  assert.equal(matches("", "a"), false);
  assert.equal(matches("ecs:*", "ecs:"), true);
  assert.equal(matches("ecs:Describe*", "ecs:DescribeTasks"), true);
  assert.equal(matches("ecs:Describe*", "ecs:ListTasks"), false);
  assert.equal(matches("*Tasks", "ecs:ListTasks"), true);
  assert.equal(matches("*Tasks", "ecs:ListTasksX"), false);
  assert.equal(matches("a?c", "abc"), true);
  assert.equal(matches("a?c", "ac"), false);
  assert.equal(matches("a*b*c", "axxbyyc"), true);
  assert.equal(matches("a*b*c", "axxcyyb"), false);
  assert.equal(matches("a*?", "a"), false);
  assert.equal(matches("a*?", "ab"), true);
  assert.equal(matches("*a*", "bab"), true);
  assert.equal(matches("**", "anything"), true);
  assert.equal(matches("ab*ba", "aba"), false);
  assert.equal(matches("ab*ba", "abba"), true);
  assert.equal(matches("?*?", "ab"), true);
  assert.equal(matches("?*?", "a"), false);
});

test("matches a range of a string without slicing it", () => {
  const glob = compileWildcard("clu*r");
  assert.equal(glob.matches("xx:cluster:yy", 3, 10), true);
  assert.equal(glob.matches("xx:cluster:yy", 3, 11), false);
  assert.equal(compileWildcard("cluster").matches("xx:cluster:yy", 3, 10), true);
});

test("ignores case when asked (action names)", () => {
  assert.equal(matches("ECS:runtask", "ecs:RunTask", true), true);
  assert.equal(matches("ecs:run*", "ECS:RUNTASK", true), true);
  assert.equal(matches("ecs:run*", "ECS:RUNTASK"), false);
});

test("literal parts keep * and ? as characters (substituted variables)", () => {
  const glob = compileGlob([
    { text: "home/", literal: false },
    { text: "a*b?", literal: true },
    { text: "/*", literal: false },
  ]);
  assert.equal(glob.matches("home/a*b?/x"), true);
  assert.equal(glob.matches("home/aXXbY/x"), false);
});

test("stays linear on pathological patterns (a*a*a*…b against a long run of a)", () => {
  const pattern = `${"a*".repeat(500)}b`;
  const text = "a".repeat(100_000);
  const glob = compileWildcard(pattern);
  const started = process.hrtime.bigint();
  assert.equal(glob.matches(text), false);
  assert.equal(glob.matches(`${text}b`), true);
  const questionMarks = compileWildcard(`${"?*".repeat(200)}b`);
  assert.equal(questionMarks.matches(text), false);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(elapsedMs < 1000, `took ${elapsedMs} ms`);
});
