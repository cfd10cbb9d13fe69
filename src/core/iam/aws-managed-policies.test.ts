// The built-in AWS managed policies: each document is one IAM accepts (grammar, managed size quota),
// each ARN is AWS's form for its path and name, ids are unique and of IAM's form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AWS_MANAGED_POLICIES, awsManagedPolicy } from "./aws-managed-policies.js";
import { assertPolicySize, parsePolicyDocument } from "./index.js";

test("every AWS managed policy parses as an identity policy within the managed quota", () => {
  for (const policy of AWS_MANAGED_POLICIES) {
    assert.equal(parsePolicyDocument(policy.document, "identity").version, "2012-10-17", policy.name);
    assertPolicySize(policy.document, { kind: "managed" });
    assert.equal(policy.arn, `arn:aws:iam::aws:policy${policy.path}${policy.name}`);
    assert.match(policy.policyId, /^ANPA[A-Z0-9]{17}$/);
    assert.ok(policy.createDate <= policy.updateDate, policy.name);
    assert.equal(awsManagedPolicy(policy.arn), policy);
  }
  assert.equal(new Set(AWS_MANAGED_POLICIES.map((policy) => policy.policyId)).size, AWS_MANAGED_POLICIES.length);
  assert.equal(awsManagedPolicy("arn:aws:iam::aws:policy/administratoraccess"), undefined, "ARNs exactly as AWS spells them");
});
