import { test } from "node:test";
import assert from "node:assert/strict";
import { compileCondition, ConditionGrammarError, parseDate, parseOperator } from "./condition-operators.js";
import { conditionContext, type ContextValue } from "./policy-variables.js";

function check(
  operator: string,
  key: string,
  values: unknown,
  requestValue: ContextValue,
  extra: Record<string, ContextValue> = {},
  variables = true,
): boolean {
  const condition = compileCondition(operator, key, values, variables);
  const context = conditionContext({ [key]: requestValue, ...extra });
  return condition.test(context.get(condition.key), context);
}

test("parses set operators and IfExists, and rejects unknown operators", () => {
  assert.deepEqual(parseOperator("ForAllValues:StringLikeIfExists")?.set, "all");
  assert.equal(parseOperator("ForAllValues:StringLikeIfExists")?.ifExists, true);
  assert.equal(parseOperator("StringEqualz"), undefined);
  assert.equal(parseOperator("stringequals"), undefined);
  assert.equal(parseOperator("IfExists"), undefined);
  assert.equal(parseOperator("NullIfExists"), undefined);
  assert.equal(parseOperator("ForAnyValue:Null"), undefined);
  assert.throws(() => compileCondition("aws:SourceIp", "x:y", "1", true), ConditionGrammarError);
});

test("StringEquals is exact and case-sensitive; several values are OR'ed", () => {
  assert.equal(check("StringEquals", "ecs:cluster", ["a", "b"], "b"), true);
  assert.equal(check("StringEquals", "ecs:cluster", "a", "A"), false);
  assert.equal(check("StringEqualsIgnoreCase", "ecs:cluster", "a", "A"), true);
  assert.equal(check("StringNotEqualsIgnoreCase", "ecs:cluster", "a", "A"), false);
  assert.equal(check("StringNotEquals", "ecs:cluster", ["a", "b"], "c"), true);
  assert.equal(check("StringNotEquals", "ecs:cluster", ["a", "b"], "a"), false);
});

test("StringLike takes * and ?", () => {
  assert.equal(check("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:role/ci-?", "arn:aws:iam::1:role/ci-1"), true);
  assert.equal(check("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:role/ci-?", "arn:aws:iam::1:role/ci-12"), false);
  assert.equal(check("StringNotLike", "aws:PrincipalArn", "*admin*", "arn:aws:iam::1:user/bob"), true);
});

test("a missing key fails the condition, except negated operators, IfExists and Null", () => {
  assert.equal(check("StringEquals", "aws:RequestTag/env", "prod", undefined), false);
  assert.equal(check("StringNotEquals", "aws:RequestTag/env", "prod", undefined), true);
  assert.equal(check("StringEqualsIfExists", "aws:RequestTag/env", "prod", undefined), true);
  assert.equal(check("StringEqualsIfExists", "aws:RequestTag/env", "prod", "dev"), false);
  assert.equal(check("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", undefined), true);
  assert.equal(check("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:root", undefined), true);
  assert.equal(check("Null", "aws:RequestTag/env", "true", undefined), true);
  assert.equal(check("Null", "aws:RequestTag/env", "true", "x"), false);
  assert.equal(check("Null", "aws:RequestTag/env", false, "x"), true);
  assert.throws(() => compileCondition("Null", "k:k", "maybe", true), ConditionGrammarError);
});

test("condition keys are case-insensitive", () => {
  const condition = compileCondition("StringEquals", "AWS:RequestTag/Env", "prod", true);
  const context = conditionContext({ "aws:requesttag/env": "prod" });
  assert.equal(condition.test(context.get(condition.key), context), true);
});

test("Numeric operators compare numbers and reject values that are not numbers", () => {
  assert.equal(check("NumericLessThan", "s3:max-keys", 10, "9"), true);
  assert.equal(check("NumericLessThan", "s3:max-keys", "10", "10"), false);
  assert.equal(check("NumericLessThanEquals", "s3:max-keys", "10", "10.0"), true);
  assert.equal(check("NumericGreaterThan", "s3:max-keys", "1e2", "101"), true);
  assert.equal(check("NumericGreaterThanEquals", "s3:max-keys", "-1", "-1"), true);
  assert.equal(check("NumericEquals", "s3:max-keys", "5", "five"), false);
  assert.equal(check("NumericEquals", "s3:max-keys", "0", ""), false);
  assert.equal(check("NumericNotEquals", "s3:max-keys", "5", "6"), true);
  assert.throws(() => compileCondition("NumericEquals", "s3:max-keys", "five", true), ConditionGrammarError);
  assert.throws(() => compileCondition("NumericEquals", "s3:max-keys", "", true), ConditionGrammarError);
});

test("Date operators read ISO 8601 and epoch seconds", () => {
  assert.equal(parseDate("1970-01-01T00:01:00Z"), 60_000);
  assert.equal(parseDate("60"), 60_000);
  assert.ok(Number.isNaN(parseDate("yesterday")));
  assert.equal(check("DateLessThan", "aws:CurrentTime", "2026-12-31T00:00:00Z", "2026-12-06T04:00:00Z"), true);
  assert.equal(check("DateGreaterThan", "aws:CurrentTime", "2026-12-31T00:00:00Z", "2026-12-06T04:00:00Z"), false);
  assert.equal(check("DateGreaterThanEquals", "aws:EpochTime", "1700000000", "1700000000"), true);
  assert.equal(check("DateEquals", "aws:CurrentTime", "2026-01-01T00:00:00Z", "not a date"), false);
  assert.throws(() => compileCondition("DateLessThan", "aws:CurrentTime", "next week", true), ConditionGrammarError);
});

test("Bool compares true and false, from strings or JSON booleans", () => {
  assert.equal(check("Bool", "aws:SecureTransport", true, "true"), true);
  assert.equal(check("Bool", "aws:SecureTransport", "false", "true"), false);
  assert.equal(check("Bool", "aws:MultiFactorAuthPresent", "TRUE", "true"), true);
  assert.equal(check("BoolIfExists", "aws:MultiFactorAuthPresent", "false", undefined), true);
  assert.throws(() => compileCondition("Bool", "aws:SecureTransport", "yes", true), ConditionGrammarError);
});

test("BinaryEquals compares base64 bytes", () => {
  assert.equal(check("BinaryEquals", "k:bin", "QmluYXJ5", "QmluYXJ5"), true);
  assert.equal(check("BinaryEquals", "k:bin", "QmluYXJ5", "QmluYXJ6"), false);
  assert.equal(check("BinaryEquals", "k:bin", "QmluYXJ5", "%%%"), false);
  assert.throws(() => compileCondition("BinaryEquals", "k:bin", "not base64!", true), ConditionGrammarError);
});

test("IpAddress and NotIpAddress take IPv4 and IPv6 addresses and CIDRs", () => {
  assert.equal(check("IpAddress", "aws:SourceIp", ["203.0.113.0/24", "2001:db8::/32"], "203.0.113.9"), true);
  assert.equal(check("IpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.114.9"), false);
  assert.equal(check("IpAddress", "aws:SourceIp", "2001:db8::/32", "2001:db8::1"), true);
  assert.equal(check("IpAddress", "aws:SourceIp", "203.0.113.7", "203.0.113.7"), true);
  assert.equal(check("IpAddress", "aws:SourceIp", "0.0.0.0/0", "198.51.100.1"), true);
  assert.equal(check("IpAddress", "aws:SourceIp", "10.0.0.0/8", "not-an-ip"), false);
  assert.equal(check("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", "192.168.1.1"), true);
  assert.equal(check("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", "10.1.1.1"), false);
});

test("rejects invalid addresses and CIDRs at validation", () => {
  for (const bad of [
    "10.0.0.0/33",
    "10.0.0.256/8",
    "10.0.0/8",
    "10.0.0.0/",
    "10.0.0.0/-1",
    "10.0.0.0/8/8",
    "2001:db8::/129",
    "::g",
    "",
    "10.0.0.0/ 8",
    "10.0.0.0/1e1",
  ]) {
    assert.throws(() => compileCondition("IpAddress", "aws:SourceIp", bad, true), ConditionGrammarError, bad);
  }
});

test("Arn operators match the six components separately", () => {
  assert.equal(check("ArnLike", "aws:SourceArn", "arn:aws:ecs:*:123456789012:cluster/*", "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"), true);
  assert.equal(check("ArnLike", "aws:SourceArn", "arn:aws:ecs:*:123456789012:cluster/*", "arn:aws:ecs:eu-west-1:999999999999:cluster/prod"), false);
  // A * in the region does not reach across colons into the account.
  assert.equal(check("ArnLike", "aws:SourceArn", "arn:aws:ecs:*:cluster/*", "arn:aws:ecs:eu-west-1:1:cluster/x"), false);
  assert.equal(check("ArnEquals", "aws:SourceArn", "arn:aws:ecs:eu-west-1:1:cluster/x", "arn:aws:ecs:eu-west-1:1:cluster/x"), true);
  assert.equal(check("ArnEquals", "aws:SourceArn", "arn:aws:ecs:eu-west-1:1:cluster/x", "arn:aws:ecs:eu-west-1:1:cluster/X"), false);
  assert.equal(check("ArnNotLike", "aws:SourceArn", "arn:aws:ecs:*:*:cluster/prod", "arn:aws:ecs:r:1:cluster/dev"), true);
  // The User Guide's own example: StringLike matches, ArnLike does not.
  const pattern = "arn:aws:someservice:*:111122223333:finance/*";
  const value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
  assert.equal(check("StringLike", "aws:SourceArn", pattern, value), true);
  assert.equal(check("ArnLike", "aws:SourceArn", pattern, value), false);
});

test("ForAnyValue and ForAllValues on multi-valued keys (aws:TagKeys)", () => {
  assert.equal(check("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"], ["team", "cost"]), true);
  assert.equal(check("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], ["team", "cost"]), false);
  assert.equal(check("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], undefined), false);
  assert.equal(check("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], ["team", "env"]), true);
  assert.equal(check("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], ["team", "cost"]), false);
  assert.equal(check("ForAllValues:StringEquals", "aws:TagKeys", ["env"], undefined), true);
  assert.equal(check("ForAllValues:StringEquals", "aws:TagKeys", ["env"], []), true);
  assert.equal(check("ForAllValues:StringEquals", "aws:TagKeys", ["env"], ""), true);
  assert.equal(check("ForAnyValue:StringEquals", "aws:TagKeys", [""], ""), false);
  assert.equal(check("StringEquals", "aws:TagKeys", [""], ""), true);
  assert.equal(check("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"], ["env", "team"]), true);
  assert.equal(check("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"], ["env", "secret"]), false);
  assert.equal(check("ForAnyValue:StringNotEquals", "aws:TagKeys", ["secret"], ["secret", "env"]), true);
  assert.equal(check("ForAnyValue:StringLikeIfExists", "aws:TagKeys", ["x*"], undefined), true);
  // Without a set operator, a multi-valued key matches when any value does; negated when none does.
  assert.equal(check("StringEquals", "aws:TagKeys", "env", ["team", "env"]), true);
  assert.equal(check("StringNotEquals", "aws:TagKeys", "env", ["team", "env"]), false);
});

test("policy variables in String values, with defaults and escapes; none in Version 2008-10-17", () => {
  const extra = { "aws:username": "ci" };
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:username}", "ci", extra), true);
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:username}", "other", extra), false);
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:username}", "ci"), false);
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:username, 'nobody'}", "nobody"), true);
  assert.equal(check("StringLike", "aws:RequestTag/owner", "team-${aws:username}-*", "team-ci-1", extra), true);
  assert.equal(check("StringLike", "aws:RequestTag/owner", "${aws:username}", "c?", { "aws:username": "c?" }), true);
  assert.equal(check("StringLike", "aws:RequestTag/owner", "${aws:username}", "cx", { "aws:username": "c?" }), false);
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "a${*}b${$}", "a*b$"), true);
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:username}", "${aws:username}", extra, false), true);
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:PrincipalTag/team}", "web", { "aws:principaltag/team": "web" }), true);
  // A multi-valued key cannot be substituted.
  assert.equal(check("StringEquals", "aws:RequestTag/owner", "${aws:TagKeys}", "a", { "aws:TagKeys": ["a"] }), false);
});

test("type confusion in values is rejected; numbers and booleans are read as text", () => {
  assert.equal(check("StringEquals", "k:n", 5, "5"), true);
  assert.throws(() => compileCondition("StringEquals", "k:n", { a: 1 }, true), ConditionGrammarError);
  assert.throws(() => compileCondition("StringEquals", "k:n", [["a"]], true), ConditionGrammarError);
  assert.throws(() => compileCondition("StringEquals", "k:n", null, true), ConditionGrammarError);
  assert.throws(() => compileCondition("StringEquals", "", "a", true), ConditionGrammarError);
});
