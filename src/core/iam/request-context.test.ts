import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicyDocument } from "./policy-document.js";
import { evaluate } from "./policy-evaluation.js";
import { requestContext } from "./request-context.js";

const now = new Date("2026-12-06T04:10:00.123Z");

test("a role session's aws:PrincipalArn is the role's ARN; users get aws:username", () => {
  const session = requestContext({
    principal: {
      type: "AssumedRole",
      arn: "arn:aws:sts::1:assumed-role/app/task-1",
      account: "1",
      roleArn: "arn:aws:iam::1:role/svc/app",
      userId: "AROAX:task-1",
    },
    now,
    sourceIp: "10.0.0.9",
    secureTransport: true,
  });
  assert.equal(session.get("aws:principalarn"), "arn:aws:iam::1:role/svc/app");
  assert.equal(session.get("aws:principaltype"), "AssumedRole");
  assert.equal(session.get("aws:username"), undefined);
  assert.equal(session.get("aws:userid"), "AROAX:task-1");
  assert.equal(session.get("aws:currenttime"), "2026-12-06T04:10:00Z");
  assert.equal(session.get("aws:epochtime"), "1796530200");
  assert.equal(session.get("aws:securetransport"), "true");
  const user = requestContext({
    principal: { type: "User", arn: "arn:aws:iam::1:user/ci", account: "1", userName: "ci", tags: new Map([["team", "web"]]) },
    now,
    requestTags: new Map([["env", "prod"]]),
    resourceTags: new Map([["Owner", "ci"]]),
    extra: { "ecs:cluster": "arn:aws:ecs:r:1:cluster/a" },
  });
  assert.equal(user.get("aws:username"), "ci");
  assert.equal(user.get("aws:principaltag/team"), "web");
  assert.equal(user.get("aws:requesttag/env"), "prod");
  assert.deepEqual(user.get("aws:tagkeys"), ["env"]);
  assert.equal(user.get("aws:resourcetag/owner"), "ci");
  assert.equal(user.get("ecs:cluster"), "arn:aws:ecs:r:1:cluster/a");
});

test("drives a policy with time, address, owner tag and transport conditions", () => {
  const policy = parsePolicyDocument(
    JSON.stringify({
      Version: "2012-10-17",
      Statement: {
        Effect: "Allow",
        Action: "ecs:StopTask",
        Resource: "*",
        Condition: {
          DateLessThan: { "aws:CurrentTime": "2027-01-01T00:00:00Z" },
          IpAddress: { "aws:SourceIp": "10.0.0.0/8" },
          StringEquals: { "aws:ResourceTag/Owner": "${aws:username}" },
          Bool: { "aws:SecureTransport": "true" },
        },
      },
    }),
    "identity",
  );
  const context = (owner: string, sourceIp: string) =>
    requestContext({
      principal: { type: "User", arn: "arn:aws:iam::1:user/ci", account: "1", userName: "ci" },
      now,
      sourceIp,
      secureTransport: true,
      resourceTags: new Map([["Owner", owner]]),
    });
  const decide = (owner: string, ip: string) =>
    evaluate({ principalArn: "arn:aws:iam::1:user/ci", action: "ecs:StopTask", resources: ["*"], context: context(owner, ip) }, { identity: [policy] })
      .decision;
  assert.equal(decide("ci", "10.2.3.4"), "Allow");
  assert.equal(decide("bob", "10.2.3.4"), "ImplicitDeny");
  assert.equal(decide("ci", "172.16.0.1"), "ImplicitDeny");
});
