// An API call authorized by an IAM policy of 20 statements against the same call made with the root
// key, same server, same run (issue 14: throughput ≥ 0.9× the root's). DescribeTaskDefinition
// through the full stack (SigV4, key lookup, policy decision, store read, JSON), driven by
// autocannon at 32 connections; the signed requests are built once and replayed (the server still
// verifies each signature and decides each request: decisions are not cached, only the user's
// compiled policies are, for 2 s). The runs alternate root, user, root, user so that the
// neighbours' load on this shared machine falls on both alike.
//   node --import tsx bench/policy-api.ts
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { ECSClient, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreatePolicyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { sdkConfig, startTestServer, testCredentials } from "../test/support/server.js";

const DURATION_S = Number(process.env.DURATION_S ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 4);

const server = await startTestServer();
// A failed run must not leave its server behind.
process.once("uncaughtException", (error) => {
  console.error(error);
  void server
    .kill()
    .then(() => server.cleanup())
    .finally(() => process.exit(1));
});
const account = server.accountId;
const ecs = new ECSClient(sdkConfig(server));
const iam = new IAMClient(sdkConfig(server));
await ecs.send(
  new RegisterTaskDefinitionCommand({
    family: "bench",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    containerDefinitions: [{ name: "app", image: "nginx" }],
  }),
);

// Twenty statements a real least-privilege policy might hold: denies with conditions first, then
// allows on other services and resources, the one that allows this call last (every statement is
// tried before the decision).
const statements = [
  { Effect: "Deny", Action: "*", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"] } } },
  { Effect: "Deny", Action: "*", Resource: "*", Condition: { DateGreaterThan: { "aws:CurrentTime": "2099-01-01T00:00:00Z" } } },
  { Effect: "Deny", Action: ["ecs:DeleteCluster", "ecs:DeleteService"], Resource: `arn:aws:ecs:*:${account}:cluster/prod*` },
  { Effect: "Deny", Action: ["iam:*", "sts:AssumeRole"], Resource: "*" },
  { Effect: "Deny", Action: "ecs:TagResource", Resource: "*", Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["owner", "cost"] } } },
  { Effect: "Deny", Action: "ecs:RunTask", Resource: "*", Condition: { Null: { "aws:RequestTag/team": "true" } } },
  { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `arn:aws:logs:*:${account}:log-group:/ecs/*` },
  { Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: `arn:aws:ecr:*:${account}:repository/web/*` },
  { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: `arn:aws:secretsmanager:*:${account}:secret:prod/*` },
  { Effect: "Allow", Action: "ssm:GetParameters", Resource: `arn:aws:ssm:*:${account}:parameter/prod/*` },
  { Effect: "Allow", Action: ["ecs:CreateService", "ecs:UpdateService"], Resource: `arn:aws:ecs:*:${account}:service/staging/*` },
  { Effect: "Allow", Action: ["ecs:TagResource", "ecs:UntagResource"], Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/team": "web" } } },
  { Effect: "Allow", Action: "ecs:RegisterTaskDefinition", Resource: "*", Condition: { StringLike: { "aws:RequestTag/team": "web*" } } },
  {
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: `arn:aws:iam::${account}:role/app-*`,
    Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
  },
  { Effect: "Allow", Action: "ecs:StopTask", Resource: "*", Condition: { ArnLike: { "ecs:cluster": `arn:aws:ecs:*:${account}:cluster/staging-*` } } },
  { Effect: "Allow", Action: "logs:GetLogEvents", Resource: `arn:aws:logs:*:${account}:log-group:/users/\${aws:username}/*` },
  {
    Effect: "Allow",
    Action: "ecs:RunTask",
    Resource: `arn:aws:ecs:*:${account}:task-definition/web-*`,
    Condition: { StringEquals: { "aws:RequestTag/team": "web" } },
  },
  { Effect: "Allow", Action: ["ecs:ListClusters", "ecs:ListServices"], Resource: "*" },
  { Effect: "Allow", Action: "ecs:DescribeClusters", Resource: `arn:aws:ecs:*:${account}:cluster/*` },
  { Effect: "Allow", Action: "ecs:DescribeTaskDefinition", Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } } },
];
await iam.send(new CreateUserCommand({ UserName: "bench" }));
// A user's inline policies hold 2,048 characters: twenty statements go in a managed policy (6,144), attached.
const managed = await iam.send(
  new CreatePolicyCommand({ PolicyName: "twenty", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: statements }) }),
);
await iam.send(new AttachUserPolicyCommand({ UserName: "bench", PolicyArn: managed.Policy!.Arn! }));
const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "bench" }))).AccessKey!;
const userCredentials = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };

const url = new URL(server.endpoint);
const body = JSON.stringify({ taskDefinition: "bench" });
async function signedHeaders(credentials: { accessKeyId: string; secretAccessKey: string }): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials, region: server.region, service: "ecs", sha256: Hash.bind(null, "sha256") });
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: { host: url.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition" },
    body,
  });
  return signed.headers as Record<string, string>;
}

// The server's CPU per request (user + system, /proc/<pid>/stat) beside the throughput: on this shared
// 2-core machine req/s swing with the neighbours' load, the CPU a request costs much less.
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function measure(credentials: { accessKeyId: string; secretAccessKey: string }) {
  const headers = await signedHeaders(credentials);
  const before = cpuSeconds(server.process.pid!);
  const result = await autocannon({ url: server.endpoint, connections: 32, duration: DURATION_S, method: "POST", headers, body });
  const cpuMicros = ((cpuSeconds(server.process.pid!) - before) * 1e6) / result.requests.total;
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuMicros };
}

const root: number[] = [];
const user: number[] = [];
const rootCpu: number[] = [];
const userCpu: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // The order alternates too: whichever runs second in a round inherits the first's heap and warm caches.
  let asRoot: Awaited<ReturnType<typeof measure>>;
  let asUser: Awaited<ReturnType<typeof measure>>;
  if (round % 2 === 0) {
    asRoot = await measure(testCredentials);
    asUser = await measure(userCredentials);
  } else {
    asUser = await measure(userCredentials);
    asRoot = await measure(testCredentials);
  }
  if (asRoot.errors + asUser.errors > 0) throw new Error(`errors: root ${asRoot.errors}, user ${asUser.errors}`);
  root.push(asRoot.rps);
  user.push(asUser.rps);
  rootCpu.push(asRoot.cpuMicros);
  userCpu.push(asUser.cpuMicros);
  const line = (m: typeof asRoot) => `${m.rps.toFixed(0)} req/s, p99 ${m.p99} ms, ${m.cpuMicros.toFixed(0)} µs CPU/req`;
  console.log(`round ${round + 1}: root ${line(asRoot)}  |  user, 20 statements ${line(asUser)}`);
}
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
console.log(`throughput user/root ${(sum(user) / sum(root)).toFixed(3)} (target ≥ 0.9); CPU per request root/user ${(sum(rootCpu) / sum(userCpu)).toFixed(3)}`);
ecs.destroy();
iam.destroy();
await server.stop();
await server.cleanup();
