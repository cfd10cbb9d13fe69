import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicyDocument, type PolicyKind } from "./policy-document.js";
import { assertPolicySize, policySize } from "./policy-errors.js";

const identity = (statement: unknown, version: string | undefined = "2012-10-17") => JSON.stringify({ Version: version, Statement: statement });
const allowAll = { Effect: "Allow", Action: "*", Resource: "*" };
const trustEcsTasks = { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" };

function rejects(text: string, kind: PolicyKind, message: string | RegExp): void {
  assert.throws(
    () => parsePolicyDocument(text, kind),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "MalformedPolicyDocument");
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    },
  );
}

test("parses an identity policy with one statement or a list", () => {
  const one = parsePolicyDocument(identity(allowAll), "identity");
  assert.equal(one.version, "2012-10-17");
  assert.equal(one.statements.length, 1);
  const list = parsePolicyDocument(
    identity([allowAll, { Sid: "Two", Effect: "Deny", NotAction: ["ecs:*"], NotResource: "arn:aws:ecs:*:*:cluster/x" }]),
    "identity",
  );
  assert.equal(list.statements[1]?.sid, "Two");
  assert.equal(list.statements[1]?.notAction, true);
  assert.equal(list.statements[1]?.notResource, true);
});

test("a missing Version is 2008-10-17; other versions are rejected", () => {
  assert.equal(parsePolicyDocument(JSON.stringify({ Statement: allowAll }), "identity").version, "2008-10-17");
  rejects(identity(allowAll, "2012-10-18"), "identity", "Syntax errors in policy.");
  rejects(JSON.stringify({ Version: 2012, Statement: allowAll }), "identity", "Syntax errors in policy.");
});

test("identity policies may not name a principal and must have actions and resources", () => {
  rejects(identity({ ...allowAll, Principal: "*" }), "identity", "Policy document should not specify a principal.");
  rejects(identity({ ...allowAll, NotPrincipal: { AWS: "123456789012" } }), "identity", "Policy document should not specify a principal.");
  rejects(identity({ Effect: "Allow", Resource: "*" }), "identity", "Policy statement must contain actions.");
  rejects(identity({ Effect: "Allow", Action: [], Resource: "*" }), "identity", "Policy statement must contain actions.");
  rejects(identity({ Effect: "Allow", Action: "*" }), "identity", "Policy statement must contain resources.");
  rejects(identity({ Effect: "Allow", Action: "*", Resource: [] }), "identity", "Policy statement must contain resources.");
});

test("trust policies need a principal and may not name resources", () => {
  const trust = parsePolicyDocument(identity(trustEcsTasks), "trust");
  assert.equal(trust.kind, "trust");
  rejects(identity({ ...trustEcsTasks, Resource: "*" }), "trust", "Has prohibited field Resource");
  rejects(identity({ ...trustEcsTasks, NotResource: "*" }), "trust", "Has prohibited field NotResource");
  rejects(identity({ Effect: "Allow", Action: "sts:AssumeRole" }), "trust", /^Invalid principal in policy: .*no principals!$/);
  rejects(identity({ ...trustEcsTasks, Principal: { Service: "amazonaws.com" } }), "trust", 'Invalid principal in policy: "SERVICE":"amazonaws.com"');
  rejects(
    identity({ ...trustEcsTasks, Principal: { AWS: "arn:aws:iam::123456789012:role/*" } }),
    "trust",
    'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*"',
  );
  rejects(identity({ ...trustEcsTasks, Principal: { AWS: "12345" } }), "trust", 'Invalid principal in policy: "AWS":"12345"');
  rejects(identity({ ...trustEcsTasks, Principal: { Robot: "x" } }), "trust", "Syntax errors in policy.");
  rejects(identity({ ...trustEcsTasks, Principal: { AWS: [] } }), "trust", "Syntax errors in policy.");
  rejects(identity({ ...trustEcsTasks, Principal: "someone" }), "trust", "Syntax errors in policy.");
  for (const aws of [
    "*",
    "123456789012",
    "arn:aws:iam::123456789012:root",
    "arn:aws:iam::123456789012:user/path/ci",
    "arn:aws:sts::123456789012:assumed-role/app/s1",
  ]) {
    parsePolicyDocument(identity({ ...trustEcsTasks, Principal: { AWS: aws } }), "trust");
  }
});

test("resource policies need a principal; Resource is optional", () => {
  parsePolicyDocument(identity({ Effect: "Allow", Principal: { AWS: "123456789012" }, Action: "ecr:BatchGetImage" }), "resource");
  rejects(identity({ Effect: "Allow", Action: "ecr:BatchGetImage" }), "resource", "Missing required field Principal");
});

test("actions need a vendor prefix and one colon, without wildcards in the vendor", () => {
  rejects(identity({ ...allowAll, Action: "RunTask" }), "identity", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  rejects(identity({ ...allowAll, Action: ":RunTask" }), "identity", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  rejects(identity({ ...allowAll, Action: "ec2:ec2:CreateNetworkInterface" }), "identity", "Actions/Condition can contain only one colon.");
  rejects(identity({ ...allowAll, Action: "*:Untag*" }), "identity", "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards");
});

test("resources must be ARNs or *, and IAM ARNs carry no region", () => {
  rejects(identity({ ...allowAll, Resource: "my-bucket" }), "identity", 'Resource my-bucket must be in ARN format or "*".');
  rejects(identity({ ...allowAll, Resource: "arn:aws:ecs:cluster" }), "identity", 'Resource arn:aws:ecs:cluster must be in ARN format or "*".');
  rejects(
    identity({ ...allowAll, Resource: "arn:aws:iam:us-east-1:123456789012:role/x" }),
    "identity",
    "IAM resource arn:aws:iam:us-east-1:123456789012:role/x cannot contain region information.",
  );
  parsePolicyDocument(identity({ ...allowAll, Resource: "arn:aws:iam::123456789012:role/x" }), "identity");
});

test("Sids are alphanumeric and unique", () => {
  rejects(
    identity([
      { ...allowAll, Sid: "a" },
      { ...allowAll, Sid: "a" },
    ]),
    "identity",
    "Statement IDs (SID) in a single policy must be unique.",
  );
  rejects(
    identity({ ...allowAll, Sid: "autogenerated-id" }),
    "identity",
    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
  );
  parsePolicyDocument(
    identity([
      { ...allowAll, Sid: "" },
      { ...allowAll, Sid: "" },
    ]),
    "identity",
  );
});

test("unknown fields, wrong types, both X and NotX, and bad Effect are syntax errors", () => {
  const syntax = "Syntax errors in policy.";
  rejects(identity({ ...allowAll, Extra: 1 }), "identity", syntax);
  rejects(JSON.stringify({ Version: "2012-10-17", Statement: allowAll, Condition: {} }), "identity", syntax);
  rejects(identity({ ...allowAll, Effect: "allow" }), "identity", syntax);
  rejects(identity({ ...allowAll, Effect: true }), "identity", syntax);
  rejects(identity({ ...allowAll, NotAction: "ecs:*" }), "identity", syntax);
  rejects(identity({ ...allowAll, NotResource: "*" }), "identity", syntax);
  rejects(identity({ ...allowAll, Action: 5 }), "identity", syntax);
  rejects(identity({ ...allowAll, Action: ["ecs:RunTask", { a: 1 }] }), "identity", syntax);
  rejects(identity({ ...allowAll, Resource: null }), "identity", syntax);
  rejects(identity({ ...allowAll, Sid: 7 }), "identity", syntax);
  rejects(identity([]), "identity", syntax);
  rejects(identity("Allow"), "identity", syntax);
  rejects(JSON.stringify({ Version: "2012-10-17" }), "identity", syntax);
  rejects(JSON.stringify([allowAll]), "identity", syntax);
  rejects(JSON.stringify({ Version: "2012-10-17", Id: 5, Statement: allowAll }), "identity", syntax);
  rejects("not json", "identity", syntax);
  rejects('{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}', "identity", syntax);
});

test("conditions: unknown operators, keys used as operators and bad values are syntax errors", () => {
  const syntax = "Syntax errors in policy.";
  rejects(identity({ ...allowAll, Condition: { StringEqualz: { "aws:username": "a" } } }), "identity", syntax);
  rejects(identity({ ...allowAll, Condition: { "servicecatalog:accountLevel": "self" } }), "identity", syntax);
  rejects(identity({ ...allowAll, Condition: { IpAddress: { "aws:SourceIp": "300.0.0.0/8" } } }), "identity", syntax);
  rejects(identity({ ...allowAll, Condition: { IpAddress: "10.0.0.0/8" } }), "identity", syntax);
  rejects(identity({ ...allowAll, Condition: [] }), "identity", syntax);
  const parsed = parsePolicyDocument(
    identity({ ...allowAll, Condition: { StringEquals: { "ECS:Cluster": "a" }, Bool: { "aws:SecureTransport": true } } }),
    "identity",
  );
  assert.deepEqual(
    parsed.statements[0]?.conditions.map((condition) => condition.key),
    ["ecs:cluster", "aws:securetransport"],
  );
});

test("hostile documents: characters outside IAM's set, deep nesting, huge text, many statements", () => {
  rejects(identity({ ...allowAll, Sid: "caf\u00e9" }), "identity", /alpha-numeric/);
  rejects(identity({ ...allowAll, Resource: "arn:aws:s3:::b/\u4e00" }), "identity", "Syntax errors in policy.");
  rejects(identity({ ...allowAll, Resource: "arn:aws:s3:::b/XX" }).replace("XX", "\u0001"), "identity", "Syntax errors in policy.");
  // Escaped in JSON, the same characters are IAM's to judge as values (here a valid resource).
  parsePolicyDocument(identity({ ...allowAll, Resource: "arn:aws:s3:::b/\u4e00" }).replace("\u4e00", "\\u4e00"), "identity");
  rejects(`{"Version":"2012-10-17","Statement":${"[".repeat(50_000)}${"]".repeat(50_000)}}`, "identity", "Syntax errors in policy.");
  rejects(identity({ ...allowAll, Resource: "*" + " ".repeat(140_000) }), "identity", "Syntax errors in policy.");
  const many = Array.from({ length: 1000 }, (_, index) => ({ Sid: `S${index}`, Effect: "Allow", Action: `ecs:Action${index}*`, Resource: "*" }));
  assert.equal(parsePolicyDocument(identity(many), "identity").statements.length, 1000);
});

test("policy size counts characters without whitespace; LimitExceeded in IAM's words", () => {
  assert.equal(policySize(' { "a" :\n\t1 } '), 7);
  const big = identity({ ...allowAll, Resource: Array.from({ length: 300 }, (_, index) => `arn:aws:ecs:*:*:cluster/c${index}`) });
  const check = (quota: Parameters<typeof assertPolicySize>[1]) => () => assertPolicySize(big, quota);
  assert.throws(check({ kind: "managed" }), { code: "LimitExceeded", httpStatus: 409, message: "Cannot exceed quota for PolicySize: 6144" });
  assert.throws(check({ kind: "user-inline", userName: "ci" }), { message: "Maximum policy size of 2048 bytes exceeded for user ci" });
  assert.doesNotThrow(check({ kind: "role-inline", roleName: "app" }));
  const bigger = identity({ ...allowAll, Resource: Array.from({ length: 400 }, (_, index) => `arn:aws:ecs:*:*:cluster/c${index}`) });
  assert.throws(() => assertPolicySize(bigger, { kind: "role-inline", roleName: "app" }), {
    message: "Maximum policy size of 10240 bytes exceeded for role app",
  });
  assert.doesNotThrow(() => assertPolicySize(" ".repeat(50_000) + "{}", { kind: "trust", roleName: "app" }));
});

test("a trust policy naming a user or role that does not exist is rejected when the store says so", () => {
  const known = new Set(["arn:aws:iam::123456789012:role/ci"]);
  const options = { principalExists: (arn: string) => known.has(arn) };
  const named = (aws: string) => identity({ ...trustEcsTasks, Principal: { AWS: aws } });
  parsePolicyDocument(named("arn:aws:iam::123456789012:role/ci"), "trust", options);
  parsePolicyDocument(named("arn:aws:iam::123456789012:root"), "trust", options);
  parsePolicyDocument(named("123456789012"), "trust", options);
  assert.throws(() => parsePolicyDocument(named("arn:aws:iam::123456789012:role/gone"), "trust", options), {
    message: 'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/gone"',
  });
});
