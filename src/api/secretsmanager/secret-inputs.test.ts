import { test } from "node:test";
import assert from "node:assert/strict";
import { mergeTags, requestValue, secretReference, validateName, validateTags, validateToken } from "./secret-inputs.js";

const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };

test("a SecretId is a name, a full ARN or a partial ARN; ARNs of elsewhere name nothing", () => {
  assert.deepEqual(secretReference(scope, "prod/db"), { name: "prod/db" });
  const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123";
  assert.deepEqual(secretReference(scope, arn), { arn });
  assert.deepEqual(secretReference(scope, "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"), { partialArn: "prod/db" });
  assert.equal(secretReference(scope, arn.replace("123456789012", "999999999999")), undefined);
  assert.equal(secretReference(scope, arn.replace("us-east-1", "us-west-2")), undefined);
  assert.equal(secretReference(scope, "arn:aws:ssm:us-east-1:123456789012:parameter/x"), undefined);
  assert.throws(() => secretReference(scope, "x".repeat(2049)), { name: "ValidationException" });
});

test("names: AWS's characters, 1 to 512 of them", () => {
  assert.equal(validateName("a/b_c+d=e.f@g-h"), "a/b_c+d=e.f@g-h");
  for (const bad of ["", "x".repeat(513), "a b", "a\nb", "é"]) assert.throws(() => validateName(bad), { name: "ValidationException" });
});

test("tokens: 32 to 64 printable characters", () => {
  assert.equal(validateToken("a".repeat(32)), "a".repeat(32));
  for (const bad of ["a".repeat(31), "a".repeat(65), `${"a".repeat(32)}\u0000`]) assert.throws(() => validateToken(bad), { name: "ValidationException" });
});

test("values: one of string or binary, at most 65,536", () => {
  assert.equal(requestValue({}), undefined);
  assert.deepEqual(requestValue({ SecretString: "x" })?.kind, "string");
  assert.deepEqual(requestValue({ SecretBinary: Buffer.from([1, 2]).toString("base64") })?.bytes, Buffer.from([1, 2]));
  assert.throws(() => requestValue({ SecretString: "x", SecretBinary: "AA==" }), { name: "InvalidParameterException" });
  assert.throws(() => requestValue({ SecretString: "x".repeat(65_537) }), { name: "ValidationException" });
});

test("tags: a key given twice keeps the last value; aws: keys and more than 50 are refused", () => {
  assert.deepEqual(
    validateTags([
      { Key: "a", Value: "1" },
      { Key: "a", Value: "2" },
    ]),
    [{ Key: "a", Value: "2" }],
  );
  assert.throws(() => validateTags([{ Key: "aws:x", Value: "1" }]), { name: "InvalidParameterException" });
  const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
  assert.equal(mergeTags(fifty, [{ Key: "k0", Value: "new" }]).length, 50);
  assert.throws(() => mergeTags(fifty, [{ Key: "k50", Value: "v" }]), { name: "InvalidParameterException" });
});

test("CreateSecret's tags: at most 50; a repeated key keeps its last value", () => {
  const many = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
  assert.equal(validateTags(many.slice(0, 50)).length, 50);
  assert.throws(() => validateTags(many), { name: "InvalidParameterException" });
  assert.deepEqual(
    validateTags([
      { Key: "a", Value: "1" },
      { Key: "b", Value: "2" },
      { Key: "a", Value: "3" },
    ]),
    [
      { Key: "b", Value: "2" },
      { Key: "a", Value: "3" },
    ],
  );
});
