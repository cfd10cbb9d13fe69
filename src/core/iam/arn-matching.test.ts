import { test } from "node:test";
import assert from "node:assert/strict";
import { compileArnPattern, isArnOrStar, parseArn } from "./arn-matching.js";
import { compileWildcard } from "./wildcard.js";

const arn = (pattern: string) => compileArnPattern([{ text: pattern, literal: false }]);

test("reads ARNs; the resource part keeps its colons", () => {
  assert.deepEqual(parseArn("arn:aws:logs:eu-west-1:1:log-group:/a:log-stream:b"), {
    partition: "aws",
    service: "logs",
    region: "eu-west-1",
    account: "1",
    resource: "log-group:/a:log-stream:b",
  });
  assert.equal(parseArn("arn:aws:ecs"), undefined);
  assert.equal(parseArn("*"), undefined);
});

test("a Resource is an ARN of six components or *", () => {
  assert.equal(isArnOrStar("*"), true);
  assert.equal(isArnOrStar("arn:aws:s3:::bucket/*"), true);
  assert.equal(isArnOrStar("arn:aws:ecs:*:*:cluster/x"), true);
  assert.equal(isArnOrStar("arn:aws:ecs:*:cluster/x"), false);
  assert.equal(isArnOrStar("ARN:aws:ecs:*:*:cluster/x"), false);
  assert.equal(isArnOrStar("**"), false);
});

test("each component is matched alone, so * never spans a colon before the resource", () => {
  assert.equal(arn("*").matches("anything at all"), true);
  assert.equal(arn("arn:aws:ecs:*:*:*").matches("arn:aws:ecs:eu-west-1:1:cluster/a"), true);
  assert.equal(arn("arn:aws:ecs:*:*:*").matches("arn:aws:ecr:eu-west-1:1:repository/a"), false);
  assert.equal(arn("arn:aws:logs:*:*:log-group:/app:*").matches("arn:aws:logs:r:1:log-group:/app:log-stream:x"), true);
  assert.equal(arn("arn:aws:s3:::bucket/*").matches("arn:aws:s3:::bucket/key"), true);
  assert.equal(arn("arn:aws:s3:::bucket/*").matches("arn:aws:s3:r::bucket/key"), false);
  assert.equal(arn("arn:aws:ecs:*:1:cluster/x").matches("arn:aws:ecs:a:b:1:cluster/x"), false);
  assert.equal(arn("arn:aws:ecs:*:*:cluster/x").matches("*"), false);
  assert.equal(arn("arn:aws:ecs:?:*:cluster/x").matches("arn:aws:ecs:ab:1:cluster/x"), false);
  // A * in a leading component would have spanned colons as a whole-string glob.
  assert.equal(compileWildcard("arn:aws:*:1:cluster/x").matches("arn:aws:ecs:r:1:cluster/x"), true);
  assert.equal(arn("arn:aws:*:1:cluster/x").matches("arn:aws:ecs:r:1:cluster/x"), false);
});

test("a substituted variable's colon is a character, not a separator", () => {
  const pattern = compileArnPattern([
    { text: "arn:aws:logs:*:*:log-group:", literal: false },
    { text: "a:b", literal: true },
  ]);
  assert.equal(pattern.matches("arn:aws:logs:r:1:log-group:a:b"), true);
  assert.equal(pattern.matches("arn:aws:logs:r:1:log-group:a:c"), false);
});
