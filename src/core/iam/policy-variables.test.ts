import { test } from "node:test";
import assert from "node:assert/strict";
import { conditionContext, parseTemplate, ResolvedTemplateCache, resolveText } from "./policy-variables.js";

test("parses variables, defaults and escapes; a malformed ${ stays text", () => {
  assert.deepEqual(parseTemplate("home/${aws:username}/*", true).parts, [
    { kind: "text", text: "home/" },
    { kind: "variable", key: "aws:username" },
    { kind: "text", text: "/*" },
  ]);
  assert.equal(parseTemplate("${aws:username}", false).dynamic, false);
  assert.equal(parseTemplate("${*}", true).dynamic, false);
  assert.deepEqual(parseTemplate("${aws:username, 'x y'}", true).parts, [{ kind: "variable", key: "aws:username", fallback: "x y" }]);
  const context = conditionContext({ "aws:username": "ci" });
  assert.equal(resolveText(parseTemplate("a${oops", true), context), "a${oops");
  assert.equal(resolveText(parseTemplate("a${}b", true), context), "a${}b");
  assert.equal(resolveText(parseTemplate("${aws:username, unquoted}", true), context), "${aws:username, unquoted}");
  assert.equal(resolveText(parseTemplate("${AWS:UserName}", true), context), "ci");
  assert.equal(resolveText(parseTemplate("${aws:userid}", true), context), undefined);
});

test("the resolution cache cannot confuse two lists of values", () => {
  const cache = new ResolvedTemplateCache(parseTemplate("${a:x}${a:y}", true), (parts) => parts.map((part) => part.text).join("|"));
  assert.equal(cache.get(conditionContext({ "a:x": "1:", "a:y": "2" })), "1:|2");
  assert.equal(cache.get(conditionContext({ "a:x": "1", "a:y": ":2" })), "1|:2");
  assert.equal(cache.get(conditionContext({ "a:x": "1" })), undefined);
  for (let index = 0; index < 200; index++) assert.equal(cache.get(conditionContext({ "a:x": String(index), "a:y": "z" })), `${index}|z`);
});

test("conditionContext lower-cases keys and drops undefined values", () => {
  const context = conditionContext([
    ["AWS:SourceIp", "10.0.0.1"],
    ["aws:TagKeys", ["a", "b"]],
    ["aws:Missing", undefined],
  ]);
  assert.deepEqual([...context.keys()], ["aws:sourceip", "aws:tagkeys"]);
});
