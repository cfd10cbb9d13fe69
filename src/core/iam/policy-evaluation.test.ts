import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicyDocument } from "./policy-document.js";
import { accessDenied, accessDeniedMessage, evaluate, type AuthorizationRequest, type PolicySet } from "./policy-evaluation.js";
import { conditionContext } from "./policy-variables.js";

const ACCOUNT = "123456789012";
const USER = `arn:aws:iam::${ACCOUNT}:user/ci`;
const CLUSTER = (name: string) => `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/${name}`;

function policy(statements: unknown, kind: "identity" | "trust" | "resource" = "identity", version = "2012-10-17") {
  return parsePolicyDocument(JSON.stringify({ Version: version, Statement: statements }), kind);
}

function request(action: string, resources: string[] = ["*"], context: Record<string, string | string[]> = {}, principalArn = USER): AuthorizationRequest {
  return { principalArn, action, resources, context: conditionContext(context) };
}

const decide = (req: AuthorizationRequest, policies: PolicySet) => evaluate(req, policies).decision;

test("nothing allows: implicit deny", () => {
  assert.equal(decide(request("ecs:ListClusters"), { identity: [] }), "ImplicitDeny");
});

test("an Allow allows; a Deny anywhere wins over it", () => {
  const allow = policy({ Effect: "Allow", Action: "ecs:*", Resource: "*" });
  const deny = policy({ Sid: "NoStop", Effect: "Deny", Action: "ecs:StopTask", Resource: "*" });
  assert.equal(decide(request("ecs:ListClusters"), { identity: [allow, deny] }), "Allow");
  const result = evaluate(request("ecs:StopTask"), { identity: [allow, deny] });
  assert.equal(result.decision, "ExplicitDeny");
  assert.deepEqual(result.statement, { policyType: "identity", policyIndex: 1, statementIndex: 0, sid: "NoStop" });
});

test("action names are case-insensitive", () => {
  const allow = policy({ Effect: "Allow", Action: "ECS:listclusters", Resource: "*" });
  assert.equal(decide(request("ecs:ListClusters"), { identity: [allow] }), "Allow");
  assert.equal(decide(request("ECS:LISTCLUSTERS"), { identity: [allow] }), "Allow");
});

test("one cluster allowed, the others implicitly denied; ARNs are case-sensitive", () => {
  const allow = policy({ Effect: "Allow", Action: "ecs:RunTask", Resource: CLUSTER("prod") });
  assert.equal(decide(request("ecs:RunTask", [CLUSTER("prod")]), { identity: [allow] }), "Allow");
  assert.equal(decide(request("ecs:RunTask", [CLUSTER("dev")]), { identity: [allow] }), "ImplicitDeny");
  assert.equal(decide(request("ecs:RunTask", [CLUSTER("PROD")]), { identity: [allow] }), "ImplicitDeny");
  // An action that takes no resource is checked against "*", which a specific ARN does not cover.
  assert.equal(decide(request("ecs:RunTask", []), { identity: [allow] }), "ImplicitDeny");
});

test("every resource of the request must be allowed, and a deny on any one wins", () => {
  const allow = policy([
    { Effect: "Allow", Action: "ecs:RunTask", Resource: [CLUSTER("prod"), `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/web:*`] },
    { Effect: "Deny", Action: "ecs:RunTask", Resource: `arn:aws:ecs:*:*:task-definition/secret:*` },
  ]);
  const taskDef = (family: string) => `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/${family}:3`;
  assert.equal(decide(request("ecs:RunTask", [CLUSTER("prod"), taskDef("web")]), { identity: [allow] }), "Allow");
  const implicit = evaluate(request("ecs:RunTask", [CLUSTER("prod"), taskDef("api")]), { identity: [allow] });
  assert.equal(implicit.decision, "ImplicitDeny");
  assert.equal(implicit.resource, taskDef("api"));
  const explicit = evaluate(request("ecs:RunTask", [CLUSTER("dev"), taskDef("secret")]), { identity: [allow] });
  assert.equal(explicit.decision, "ExplicitDeny");
  assert.equal(explicit.resource, taskDef("secret"));
});

test("NotAction and NotResource", () => {
  const allowAllButIam = policy({ Effect: "Allow", NotAction: "iam:*", Resource: "*" });
  assert.equal(decide(request("ecs:ListClusters"), { identity: [allowAllButIam] }), "Allow");
  assert.equal(decide(request("iam:CreateUser"), { identity: [allowAllButIam] }), "ImplicitDeny");
  const denyOutsideProd = policy([
    { Effect: "Allow", Action: "ecs:*", Resource: "*" },
    { Effect: "Deny", Action: "ecs:*", NotResource: CLUSTER("prod") },
  ]);
  assert.equal(decide(request("ecs:DeleteCluster", [CLUSTER("prod")]), { identity: [denyOutsideProd] }), "Allow");
  assert.equal(decide(request("ecs:DeleteCluster", [CLUSTER("dev")]), { identity: [denyOutsideProd] }), "ExplicitDeny");
});

test("conditions: keys AND'ed, values OR'ed, checked against the request context", () => {
  const allow = policy({
    Effect: "Allow",
    Action: "ecs:RunTask",
    Resource: "*",
    Condition: { IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"] }, StringEquals: { "ecs:cluster": CLUSTER("prod") } },
  });
  const ok = { "aws:SourceIp": "10.1.2.3", "ecs:cluster": CLUSTER("prod") };
  assert.equal(decide(request("ecs:RunTask", ["*"], ok), { identity: [allow] }), "Allow");
  assert.equal(decide(request("ecs:RunTask", ["*"], { ...ok, "aws:SourceIp": "8.8.8.8" }), { identity: [allow] }), "ImplicitDeny");
  assert.equal(decide(request("ecs:RunTask", ["*"], { "aws:SourceIp": "10.1.2.3" }), { identity: [allow] }), "ImplicitDeny");
});

test("a Deny conditioned on tags, with aws:ResourceTag and aws:RequestTag", () => {
  const policies = {
    identity: [
      policy([
        { Effect: "Allow", Action: "ecs:*", Resource: "*" },
        { Effect: "Deny", Action: "ecs:*", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/env": "prod" } } },
        { Effect: "Deny", Action: "ecs:TagResource", Resource: "*", Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["env"] } } },
      ]),
    ],
  };
  assert.equal(decide(request("ecs:StopTask", ["*"], { "aws:ResourceTag/env": "dev" }), policies), "Allow");
  assert.equal(decide(request("ecs:StopTask", ["*"], { "aws:ResourceTag/env": "prod" }), policies), "ExplicitDeny");
  assert.equal(decide(request("ecs:TagResource", ["*"], { "aws:TagKeys": ["team", "env"] }), policies), "ExplicitDeny");
  assert.equal(decide(request("ecs:TagResource", ["*"], { "aws:TagKeys": ["team"] }), policies), "Allow");
});

test("policy variables in Resource: ${aws:username} in 2012-10-17, literal text in 2008-10-17", () => {
  const statement = { Effect: "Allow", Action: "logs:*", Resource: "arn:aws:logs:*:*:log-group:/users/${aws:username}/*" };
  const own = "arn:aws:logs:eu-west-1:1:log-group:/users/ci/app";
  const other = "arn:aws:logs:eu-west-1:1:log-group:/users/bob/app";
  const modern = { identity: [policy(statement)] };
  assert.equal(decide(request("logs:PutLogEvents", [own], { "aws:username": "ci" }), modern), "Allow");
  assert.equal(decide(request("logs:PutLogEvents", [other], { "aws:username": "ci" }), modern), "ImplicitDeny");
  assert.equal(decide(request("logs:PutLogEvents", [own]), modern), "ImplicitDeny");
  // A wildcard in the variable's value is a plain character.
  assert.equal(decide(request("logs:PutLogEvents", [own], { "aws:username": "*" }), modern), "ImplicitDeny");
  const legacy = { identity: [policy(statement, "identity", "2008-10-17")] };
  assert.equal(decide(request("logs:PutLogEvents", [own], { "aws:username": "ci" }), legacy), "ImplicitDeny");
  const literal = "arn:aws:logs:eu-west-1:1:log-group:/users/${aws:username}/app";
  assert.equal(decide(request("logs:PutLogEvents", [literal], { "aws:username": "ci" }), legacy), "Allow");
});

test("${aws:PrincipalTag/team} in a Resource", () => {
  const policies = { identity: [policy({ Effect: "Allow", Action: "ecs:*", Resource: "arn:aws:ecs:*:*:cluster/${aws:PrincipalTag/team}-*" })] };
  assert.equal(decide(request("ecs:RunTask", [CLUSTER("web-prod")], { "aws:PrincipalTag/team": "web" }), policies), "Allow");
  assert.equal(decide(request("ecs:RunTask", [CLUSTER("db-prod")], { "aws:PrincipalTag/team": "web" }), policies), "ImplicitDeny");
});

const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
const assume = (principalArn: string, context: Record<string, string> = {}) => request("sts:AssumeRole", [ROLE], context, principalArn);

test("trust policy: the ECS tasks service principal may assume the role", () => {
  const trust = policy({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }, "trust");
  assert.equal(decide(assume("ecs-tasks.amazonaws.com"), { identity: [], resource: trust }), "Allow");
  assert.equal(decide(assume("lambda.amazonaws.com"), { identity: [], resource: trust }), "ImplicitDeny");
  assert.equal(decide(assume(USER), { identity: [policy({ Effect: "Allow", Action: "*", Resource: "*" })], resource: trust }), "ImplicitDeny");
});

test("trust policy naming the user allows on its own; naming the account needs the identity policy too", () => {
  const byUser = policy({ Effect: "Allow", Principal: { AWS: USER }, Action: "sts:AssumeRole" }, "trust");
  const byAccount = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }, "trust");
  const byAccountId = policy({ Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "sts:AssumeRole" }, "trust");
  const mayAssume = policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: ROLE });
  assert.equal(decide(assume(USER), { identity: [], resource: byUser }), "Allow");
  assert.equal(decide(assume(USER), { identity: [], resource: byAccount }), "ImplicitDeny");
  assert.equal(evaluate(assume(USER), { identity: [], resource: byAccount }).missing, "identity");
  assert.equal(decide(assume(USER), { identity: [mayAssume], resource: byAccount }), "Allow");
  assert.equal(decide(assume(USER), { identity: [mayAssume], resource: byAccountId }), "Allow");
  assert.equal(decide(assume(`arn:aws:iam::999999999999:user/ci`), { identity: [mayAssume], resource: byAccount }), "ImplicitDeny");
  const noTrust = evaluate(assume(`arn:aws:iam::${ACCOUNT}:user/other`), { identity: [mayAssume], resource: byUser });
  assert.equal(noTrust.decision, "ImplicitDeny");
  assert.equal(noTrust.missing, "resource");
});

test("trust policy naming a role matches that role's sessions; external id as a condition", () => {
  const trust = policy(
    {
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/ci-runner` },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": "xyz" } },
    },
    "trust",
  );
  const session = `arn:aws:sts::${ACCOUNT}:assumed-role/ci-runner/build-42`;
  assert.equal(decide(assume(session, { "sts:ExternalId": "xyz" }), { identity: [], resource: trust }), "Allow");
  assert.equal(decide(assume(session, { "sts:ExternalId": "nope" }), { identity: [], resource: trust }), "ImplicitDeny");
  assert.equal(
    decide(assume(`arn:aws:sts::${ACCOUNT}:assumed-role/other/build-42`, { "sts:ExternalId": "xyz" }), { identity: [], resource: trust }),
    "ImplicitDeny",
  );
});

test("a Deny in the trust policy or the identity policy wins", () => {
  const trust = policy(
    [
      { Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" },
      { Effect: "Deny", NotPrincipal: { AWS: USER }, Action: "sts:AssumeRole" },
    ],
    "trust",
  );
  assert.equal(decide(assume(USER), { identity: [], resource: trust }), "Allow");
  const other = evaluate(assume(`arn:aws:iam::${ACCOUNT}:user/other`), { identity: [], resource: trust });
  assert.equal(other.decision, "ExplicitDeny");
  assert.equal(other.statement?.policyType, "resource");
  const identityDeny = policy({ Effect: "Deny", Action: "sts:*", Resource: "*" });
  assert.equal(decide(assume(USER), { identity: [identityDeny], resource: trust }), "ExplicitDeny");
});

test("resource policies: naming the caller allows alone; naming the account needs an identity Allow", () => {
  const repo = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/web`;
  const byUser = policy({ Effect: "Allow", Principal: { AWS: USER }, Action: "ecr:BatchGetImage" }, "resource");
  const byAccount = policy({ Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "ecr:BatchGetImage" }, "resource");
  const identityAllow = policy({ Effect: "Allow", Action: "ecr:*", Resource: "*" });
  assert.equal(decide(request("ecr:BatchGetImage", [repo]), { identity: [], resource: byUser }), "Allow");
  assert.equal(decide(request("ecr:BatchGetImage", [repo]), { identity: [], resource: byAccount }), "ImplicitDeny");
  assert.equal(decide(request("ecr:BatchGetImage", [repo]), { identity: [identityAllow], resource: byAccount }), "Allow");
  assert.equal(decide(request("ecr:BatchGetImage", [repo]), { identity: [identityAllow] }), "Allow");
  const denyAll = policy({ Effect: "Deny", Principal: "*", Action: "ecr:*" }, "resource");
  const denied = evaluate(request("ecr:BatchGetImage", [repo]), { identity: [identityAllow], resource: denyAll });
  assert.equal(denied.decision, "ExplicitDeny");
  assert.match(accessDeniedMessage(request("ecr:BatchGetImage"), denied), / with an explicit deny in a resource-based policy$/);
});

test("AccessDenied messages in AWS's words", () => {
  const implicit = evaluate(request("ecs:ListClusters"), { identity: [] });
  assert.equal(
    accessDeniedMessage({ principalArn: USER, action: "ecs:ListClusters" }, implicit),
    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:ListClusters on resource: * because no identity-based policy allows the ecs:ListClusters action",
  );
  const explicit = evaluate(request("ecs:DeleteCluster", [CLUSTER("prod")]), { identity: [policy({ Effect: "Deny", Action: "ecs:*", Resource: "*" })] });
  const error = accessDenied({ principalArn: USER, action: "ecs:DeleteCluster" }, explicit);
  assert.equal(error.code, "AccessDeniedException");
  assert.equal(error.httpStatus, 403);
  assert.equal(
    error.message,
    `User: ${USER} is not authorized to perform: ecs:DeleteCluster on resource: ${CLUSTER("prod")} with an explicit deny in an identity-based policy`,
  );
});

test("evaluation of a 20-statement policy takes microseconds", () => {
  const statements = Array.from({ length: 20 }, (_, index) => ({
    Effect: index === 19 ? "Allow" : index % 2 ? "Allow" : "Deny",
    Action: [`ecs:Describe${index}*`, `logs:Put${index}`],
    Resource: [`arn:aws:ecs:*:${ACCOUNT}:cluster/team-${index}-*`],
    Condition: { StringEquals: { "aws:RequestTag/env": ["prod", "dev"] }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
  }));
  statements.push({
    Effect: "Allow",
    Action: ["ecs:RunTask"],
    Resource: [CLUSTER("*")],
    Condition: { StringEquals: { "aws:RequestTag/env": ["prod"] }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
  });
  const policies = { identity: [policy(statements)] };
  const req = request("ecs:RunTask", [CLUSTER("prod")], { "aws:RequestTag/env": "prod", "aws:SourceIp": "10.0.0.1" });
  assert.equal(decide(req, policies), "Allow");
  const started = process.hrtime.bigint();
  for (let index = 0; index < 20_000; index++) evaluate(req, policies);
  const perCallUs = Number(process.hrtime.bigint() - started) / 1e3 / 20_000;
  assert.ok(perCallUs < 50, `${perCallUs} µs per evaluation`);
});
