import { test } from "node:test";
import assert from "node:assert/strict";
import { isValidLabel, parameterArn, parseSelector, validateName, validatePath } from "./parameter-names.js";

const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };

test("names: plain or fully qualified hierarchies of letters, digits and .-_", () => {
  for (const good of ["simple", "/prod/api-key", "/a/b_c/d.e", `/${Array.from({ length: 15 }, (_, i) => `l${i}`).join("/")}`])
    assert.equal(validateName(scope, good), good);
  for (const bad of ["prod/db", "/a//b", "/a/", "sp ace", "/a/../b\u0000", "tab\t", "/ssm/x", "/AWS/x", "awsome", "SSMthing", "a:b", ""]) {
    assert.throws(() => validateName(scope, bad), { name: "ValidationException" }, bad);
  }
  assert.throws(() => validateName(scope, `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`), { name: "HierarchyLevelLimitExceededException" });
  assert.throws(() => validateName(scope, `/${"x".repeat(1000)}`), { name: "ValidationException" });
});

test("the ARN does not double the leading slash", () => {
  assert.equal(parameterArn(scope, "/prod/db"), "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db");
  assert.equal(parameterArn(scope, "plain"), "arn:aws:ssm:us-east-1:123456789012:parameter/plain");
});

test("selectors: name:version, name:label, and ARNs of this account and region only", () => {
  assert.deepEqual(parseSelector(scope, "/a/b:3"), { names: ["/a/b"], version: 3, selector: ":3" });
  assert.deepEqual(parseSelector(scope, "/a/b:prod"), { names: ["/a/b"], label: "prod", selector: ":prod" });
  assert.deepEqual(parseSelector(scope, "arn:aws:ssm:us-east-1:123456789012:parameter/a/b"), { names: ["/a/b"] });
  assert.deepEqual(parseSelector(scope, "arn:aws:ssm:us-east-1:123456789012:parameter/plain"), { names: ["plain", "/plain"] });
  assert.equal(parseSelector(scope, "arn:aws:ssm:us-east-1:999999999999:parameter/a"), undefined);
  assert.equal(parseSelector(scope, "arn:aws:ssm:eu-west-1:123456789012:parameter/a"), undefined);
});

test("paths and labels", () => {
  assert.equal(validatePath("/"), "/");
  assert.equal(validatePath("/a/b/"), "/a/b");
  for (const bad of ["a", "/a//b", "/aws/x", "/a b"]) assert.throws(() => validatePath(bad), { name: "ValidationException" });
  assert.ok(isValidLabel("prod-1.x_y"));
  for (const bad of ["1st", "aws-x", "SSMy", "a b", "x".repeat(101), ""]) assert.ok(!isValidLabel(bad), bad);
});
