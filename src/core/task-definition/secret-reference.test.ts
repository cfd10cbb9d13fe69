import assert from "node:assert/strict";
import { test } from "node:test";
import { INVALID_SECRET_ARN, isEnvironmentName, parseSecretReference } from "./secret-reference.js";

const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

test("a secret ARN alone names the whole value", () => {
  assert.deepEqual(parseSecretReference(SECRET), { source: "secretsmanager", secretId: SECRET });
  // A partial ARN (no random suffix) is passed on as it is: Secrets Manager resolves it.
  const partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db";
  assert.deepEqual(parseSecretReference(partial), { source: "secretsmanager", secretId: partial });
});

test("the three selectors, each of which may be empty", () => {
  const cases: [string, object][] = [
    [`${SECRET}:password::`, { jsonKey: "password" }],
    [`${SECRET}::AWSPREVIOUS:`, { versionStage: "AWSPREVIOUS" }],
    [`${SECRET}:::${"a".repeat(32)}`, { versionId: "a".repeat(32) }],
    [`${SECRET}:password:AWSCURRENT:${"b".repeat(32)}`, { jsonKey: "password", versionStage: "AWSCURRENT", versionId: "b".repeat(32) }],
    [`${SECRET}:::`, {}],
  ];
  for (const [valueFrom, selectors] of cases)
    assert.deepEqual(parseSecretReference(valueFrom), { source: "secretsmanager", secretId: SECRET, ...selectors }, valueFrom);
});

test("any other count of selectors is the ECS agent's invalid-ARN refusal", () => {
  for (const valueFrom of [
    `${SECRET}:password`,
    `${SECRET}:a:b`,
    `${SECRET}:a:b:c:d`,
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
    "arn:aws:secretsmanager:us-east-1:123456789012:other:x",
  ]) {
    assert.deepEqual(parseSecretReference(valueFrom), { source: "invalid", service: "secretsmanager", problem: INVALID_SECRET_ARN }, valueFrom);
  }
});

test("anything that is not a secret ARN is a parameter name or ARN, decided by Parameter Store", () => {
  for (const valueFrom of [
    "/prod/api-key",
    "api-key",
    "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key",
    "arn:aws:s3:::bucket",
    "arn:",
    "not:an:arn",
  ]) {
    assert.deepEqual(parseSecretReference(valueFrom), { source: "ssm", name: valueFrom }, valueFrom);
  }
  // Another account's or region's secret stays a secret reference; the store answers it is not there.
  const elsewhere = "arn:aws-cn:secretsmanager:cn-north-1:999999999999:secret:x";
  assert.deepEqual(parseSecretReference(elsewhere), { source: "secretsmanager", secretId: elsewhere });
});

test("hostile sizes and characters are refused before any store reads them", () => {
  assert.equal(parseSecretReference("").source, "invalid");
  assert.equal(parseSecretReference(`/${"a".repeat(4096)}`).source, "invalid");
  assert.equal(parseSecretReference(`${SECRET}${"x".repeat(4096)}`).source, "invalid");
  assert.equal(parseSecretReference("/a\0b").source, "invalid");
  const long = parseSecretReference(`/${"a".repeat(10_000)}`);
  assert.ok(long.source === "invalid" && long.problem.length < 300, "the refusal does not echo a huge name whole");
});

test("a secret's variable name cannot set another variable", () => {
  for (const name of ["DB_PASSWORD", "a.b-c", "ü"]) assert.equal(isEnvironmentName(name), true, name);
  for (const name of ["", "A=B", "A\0", "x".repeat(256)]) assert.equal(isEnvironmentName(name), false, JSON.stringify(name));
});
