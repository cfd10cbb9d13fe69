// What deciding one API call costs (issue 14: an API call authorized by a policy of 20 statements
// must keep ≥ 0.9× the throughput of the same call with the root key). Measures evaluate() of
// src/core/iam against the same-run baseline of a trivial one-statement policy ("ecs:*" on "*"),
// on the requests a gateway would make: an ECS RunTask on a cluster and task definition with
// aws:SourceIp, aws:CurrentTime, tags and ecs:cluster in the context.
//   node --import tsx bench/policy-evaluation.ts
// Cases on the 20-statement policy: allowed by its last statement (every Deny and most Allows are
// tried), implicitly denied (every statement tried for the first resource), explicitly denied, and
// allowed through a ${aws:username} Resource (the one path that allocates per request).
import { conditionContext, evaluate, parsePolicyDocument, type AuthorizationRequest, type PolicySet } from "../src/core/iam/index.js";

const ACCOUNT = "123456789012";
const cluster = (name: string) => `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/${name}`;
const taskDefinition = (family: string) => `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/${family}:7`;

const trivial = parsePolicyDocument(JSON.stringify({ Version: "2012-10-17", Statement: { Effect: "Allow", Action: "ecs:*", Resource: "*" } }), "identity");

const twentyStatements = [
  { Sid: "DenyOutsideOffice", Effect: "Deny", Action: "*", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"] } } },
  { Sid: "DenyAfterExpiry", Effect: "Deny", Action: "*", Resource: "*", Condition: { DateGreaterThan: { "aws:CurrentTime": "2030-01-01T00:00:00Z" } } },
  { Sid: "DenyProdDelete", Effect: "Deny", Action: ["ecs:DeleteCluster", "ecs:DeleteService"], Resource: cluster("prod*") },
  { Sid: "DenyIam", Effect: "Deny", Action: ["iam:*", "sts:AssumeRole"], Resource: "*" },
  {
    Sid: "DenySecretTags",
    Effect: "Deny",
    Action: "ecs:TagResource",
    Resource: "*",
    Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["owner", "cost"] } },
  },
  { Sid: "DenyUntaggedRun", Effect: "Deny", Action: "ecs:RunTask", Resource: "*", Condition: { Null: { "aws:RequestTag/team": "true" } } },
  { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `arn:aws:logs:*:${ACCOUNT}:log-group:/ecs/*` },
  { Sid: "Read", Effect: "Allow", Action: ["ecs:Describe*", "ecs:List*"], Resource: "*" },
  { Sid: "Ecr", Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: `arn:aws:ecr:*:${ACCOUNT}:repository/web/*` },
  { Sid: "Secrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: `arn:aws:secretsmanager:*:${ACCOUNT}:secret:prod/*` },
  { Sid: "Params", Effect: "Allow", Action: "ssm:GetParameters", Resource: `arn:aws:ssm:*:${ACCOUNT}:parameter/prod/*` },
  { Sid: "Services", Effect: "Allow", Action: ["ecs:CreateService", "ecs:UpdateService"], Resource: `arn:aws:ecs:*:${ACCOUNT}:service/staging/*` },
  {
    Sid: "Tags",
    Effect: "Allow",
    Action: ["ecs:TagResource", "ecs:UntagResource"],
    Resource: "*",
    Condition: { StringEquals: { "aws:ResourceTag/team": "web" } },
  },
  { Sid: "Register", Effect: "Allow", Action: "ecs:RegisterTaskDefinition", Resource: "*", Condition: { StringLike: { "aws:RequestTag/team": "web*" } } },
  {
    Sid: "PassRole",
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: `arn:aws:iam::${ACCOUNT}:role/app-*`,
    Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
  },
  {
    Sid: "StopOwn",
    Effect: "Allow",
    Action: "ecs:StopTask",
    Resource: "*",
    Condition: { ArnLike: { "ecs:cluster": `arn:aws:ecs:*:${ACCOUNT}:cluster/staging-*` } },
  },
  { Sid: "Exec", Effect: "Allow", Action: "ecs:ExecuteCommand", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "true" } } },
  { Sid: "OwnLogs", Effect: "Allow", Action: "logs:GetLogEvents", Resource: `arn:aws:logs:*:${ACCOUNT}:log-group:/users/\${aws:username}/*` },
  {
    Sid: "Metrics",
    Effect: "Allow",
    Action: "cloudwatch:PutMetricData",
    Resource: "*",
    Condition: { NumericLessThanEquals: { "aws:MultiFactorAuthAge": "3600" } },
  },
  {
    Sid: "RunWeb",
    Effect: "Allow",
    Action: "ecs:RunTask",
    Resource: [cluster("web-*"), `arn:aws:ecs:*:${ACCOUNT}:task-definition/web-*:*`],
    Condition: { StringEquals: { "aws:RequestTag/team": ["web", "platform"] }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
  },
];
const policyText = JSON.stringify({ Version: "2012-10-17", Statement: twentyStatements });
const twenty = parsePolicyDocument(policyText, "identity");
if (twenty.statements.length !== 20) throw new Error("the policy must have 20 statements");

const context = conditionContext({
  "aws:SourceIp": "10.1.2.3",
  "aws:CurrentTime": "2026-12-06T04:00:00Z",
  "aws:RequestTag/team": "web",
  "aws:TagKeys": ["team"],
  "aws:username": "ci",
  "ecs:cluster": cluster("web-prod"),
  "aws:SecureTransport": "true",
});
const principalArn = `arn:aws:iam::${ACCOUNT}:user/ci`;
const runTask: AuthorizationRequest = { principalArn, action: "ecs:RunTask", resources: [cluster("web-prod"), taskDefinition("web-api")], context };

const cases: { name: string; request: AuthorizationRequest; policies: PolicySet; expect: string }[] = [
  { name: "trivial policy, RunTask (baseline)", request: runTask, policies: { identity: [trivial] }, expect: "Allow" },
  { name: "20 statements, RunTask allowed by the last", request: runTask, policies: { identity: [twenty] }, expect: "Allow" },
  {
    name: "20 statements, RunTask implicitly denied",
    request: { ...runTask, resources: [cluster("db-prod")] },
    policies: { identity: [twenty] },
    expect: "ImplicitDeny",
  },
  {
    name: "20 statements, DeleteCluster denied",
    request: { ...runTask, action: "ecs:DeleteCluster", resources: [cluster("prod-1")] },
    policies: { identity: [twenty] },
    expect: "ExplicitDeny",
  },
  {
    name: "20 statements, ${aws:username} Resource",
    request: { ...runTask, action: "logs:GetLogEvents", resources: [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/users/ci/app`] },
    policies: { identity: [twenty] },
    expect: "Allow",
  },
];

function opsPerSecond(run: () => void, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) run();
  return iterations / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);

for (const { name, request, policies, expect } of cases) {
  const decision = evaluate(request, policies).decision;
  if (decision !== expect) throw new Error(`${name}: ${decision}, expected ${expect}`);
  opsPerSecond(() => evaluate(request, policies), ITERATIONS / 4);
}

const results = new Map<string, number[]>(cases.map(({ name }) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved rounds, so load on the machine falls on every case alike.
  for (const { name, request, policies } of cases) results.get(name)?.push(opsPerSecond(() => evaluate(request, policies), ITERATIONS));
}
const baseline = median(results.get(cases[0]?.name as string) ?? []);
console.log(`node ${process.version}, ${ROUNDS} rounds of ${ITERATIONS.toLocaleString("en")} calls, median per case`);
for (const { name } of cases) {
  const ops = median(results.get(name) ?? []);
  console.log(
    `${name.padEnd(46)} ${Math.round(ops).toLocaleString("en").padStart(11)} ops/s  ${(1e6 / ops).toFixed(2).padStart(6)} µs/call  ${(ops / baseline).toFixed(2)}× baseline`,
  );
}
const parses = opsPerSecond(() => parsePolicyDocument(policyText, "identity"), 2_000);
console.log(`parsePolicyDocument of the 20-statement policy (${policyText.length} characters): ${(1e6 / parses).toFixed(1)} µs`);
