// The execution role's permissions for pulls from the built-in registry and for awslogs delivery,
// against a real `berth server` with one host played over the agent protocol's HTTP link (no
// containers). An IAM user allowed only ECS and iam:PassRole runs tasks with roles made through
// IAM's API: a role without the ECR permissions on the repository gets no pull credential and the
// `secrets` call (which the agent asks before any pull) answers Fargate's ResourceInitializationError;
// a role without logs permissions fails the same way, and its host may not ship a line for it; with
// the permissions the task gets its credential and its lines land. The root's tasks are unchanged.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CloudWatchLogsClient, CreateLogGroupCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import type { ControlPlaneLink, TaskSpec } from "../../src/protocol/index.js";
import { protocolVersion } from "../../src/protocol/index.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { registryHost } from "./registry-fixtures.js";

const HOST = "host-a";
let server: TestServer;
let link: ControlPlaneLink;
let iam: IAMClient;
let asRoot: ECSClient;
let asUser: ECSClient;
let subnetId: string;
const AWSLOGS = { logDriver: "awslogs" as const, options: { "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs", "awslogs-region": "us-east-1" } };

async function role(name: string, statements: object[]): Promise<string> {
  const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] };
  const arn = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!.Arn!;
  if (statements.length > 0) {
    await iam.send(
      new PutRolePolicyCommand({ RoleName: name, PolicyName: "p", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: statements }) }),
    );
  }
  return arn;
}

/** Registers `family` and runs one task of it as `ecs`; its spec as the host's poll hands it over. */
async function launch(ecs: ECSClient, family: string, executionRoleArn: string, container: Partial<ContainerDefinition>): Promise<TaskSpec> {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn,
      containerDefinitions: [{ name: "app", image: `${registryHost(server)}/allowed:v1`, essential: true, ...container }],
    }),
  );
  const run = await ecs.send(
    new RunTaskCommand({ cluster: "c", taskDefinition: family, launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId] } } }),
  );
  const taskArn = run.tasks![0]!.taskArn!;
  const answer = await link.poll(HOST, -1);
  const desired = answer.tasks.find((task) => task.spec.taskArn === taskArn);
  assert.ok(desired, `task ${taskArn} was handed over`);
  return desired.spec;
}

const logBatch = (spec: TaskSpec, message: string) => [
  {
    taskArn: spec.taskArn,
    containerName: "app",
    logGroupName: "/ecs/app",
    logStreamName: `ecs/app/${spec.taskId}`,
    createGroup: false,
    events: [{ timestamp: Date.now(), message }],
  },
];

before(async () => {
  server = await startTestServer();
  iam = new IAMClient(sdkConfig(server));
  asRoot = new ECSClient(sdkConfig(server));
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
  await asRoot.send(new CreateClusterCommand({ clusterName: "c" }));
  const logs = new CloudWatchLogsClient(sdkConfig(server));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/app" }));
  logs.destroy();
  // A user who may run tasks and pass any role, and nothing else: no ECR, no logs.
  await iam.send(new CreateUserCommand({ UserName: "runner" }));
  const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["ecs:*", "iam:PassRole"], Resource: "*" }] };
  await iam.send(new PutUserPolicyCommand({ UserName: "runner", PolicyName: "run", PolicyDocument: JSON.stringify(policy) }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "runner" }))).AccessKey!;
  asUser = new ECSClient({ ...sdkConfig(server), credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } });
  const token = readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();
  link = createHttpControlLink({ serverUrl: server.endpoint, token });
  await link.register({
    protocolVersion,
    hostId: HOST,
    agentVersion: "test",
    availabilityZone: defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.availabilityZone,
    architecture: "X86_64",
    capacity: { cpuUnits: 4096, memoryMiB: 8192, taskSlots: 16, ephemeralGiB: 400 },
    machine: { cpuCount: 64, memoryMiB: 1_048_576 },
    overcommit: false,
    subnetIds: [],
  });
});

after(async () => {
  asRoot.destroy();
  asUser.destroy();
  iam.destroy();
  await server.stop();
  await server.cleanup();
});

const PULL = (account: string, repository: string) => [
  { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
  { Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: `arn:aws:ecr:us-east-1:${account}:repository/${repository}` },
];

test("a user's task whose execution role may not pull from the repository: no pull credential, and Fargate's ResourceInitializationError before any pull", async () => {
  const powerless = await role("powerless", []);
  const spec = await launch(asUser, "powerless", powerless, {});
  assert.equal(spec.credentials.checkExecutionRole, true);
  assert.equal(spec.credentials.registryAuth, undefined, "no pull credential for a role that may not pull");
  const answer = await link.taskSecrets!(HOST, spec.taskArn);
  assert.deepEqual(answer.containers, []);
  assert.equal(
    answer.failure,
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: " +
      `AccessDeniedException: User: arn:aws:sts::${server.accountId}:assumed-role/powerless/${spec.taskId} is not authorized to perform: ecr:GetAuthorizationToken on resource: * ` +
      "because no identity-based policy allows the ecr:GetAuthorizationToken action",
  );
  // Allowed another repository only: this one is still refused, by name.
  const elsewhere = await role("elsewhere", PULL(server.accountId, "other"));
  const other = await launch(asUser, "elsewhere", elsewhere, {});
  assert.equal(other.credentials.registryAuth, undefined);
  assert.match(
    (await link.taskSecrets!(HOST, other.taskArn)).failure ?? "",
    new RegExp(
      `assumed-role/elsewhere/${other.taskId} is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:${server.accountId}:repository/allowed `,
    ),
  );
});

test("with the ECR permissions on the repository the task gets its pull credential and may start", async () => {
  const puller = await role("puller", PULL(server.accountId, "allowed"));
  const spec = await launch(asUser, "puller", puller, {});
  assert.equal(spec.credentials.registryAuth?.length, 1);
  assert.equal(spec.credentials.registryAuth![0]!.registry, registryHost(server));
  const answer = await link.taskSecrets!(HOST, spec.taskArn);
  assert.equal(answer.failure, undefined);
});

test("awslogs: a role without logs:CreateLogStream fails the task, and its host may not write a line for it; with it the lines land", async () => {
  const noLogs = await role("nologs", PULL(server.accountId, "allowed"));
  const denied = await launch(asUser, "nologs", noLogs, { logConfiguration: AWSLOGS });
  const stream = `arn:aws:logs:us-east-1:${server.accountId}:log-group:/ecs/app:log-stream:ecs/app/${denied.taskId}`;
  assert.equal(
    (await link.taskSecrets!(HOST, denied.taskArn)).failure,
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: " +
      `AccessDeniedException: User: arn:aws:sts::${server.accountId}:assumed-role/nologs/${denied.taskId} is not authorized to perform: logs:CreateLogStream on resource: ${stream} ` +
      "because no identity-based policy allows the logs:CreateLogStream action",
  );
  assert.equal(denied.credentials.registryAuth, undefined);
  await assert.rejects(link.putLogs(HOST, logBatch(denied, "forged")), /AccessDenied|execution role/);
  const logger = await role("logger", [
    ...PULL(server.accountId, "allowed"),
    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `arn:aws:logs:us-east-1:${server.accountId}:log-group:/ecs/app:*` },
  ]);
  const allowed = await launch(asUser, "logger", logger, { logConfiguration: AWSLOGS });
  assert.equal((await link.taskSecrets!(HOST, allowed.taskArn)).failure, undefined);
  await link.putLogs(HOST, logBatch(allowed, "hello"));
  // The grant is the task's own stream: a batch naming the denied task's stream under this task is refused.
  await assert.rejects(link.putLogs(HOST, [{ ...logBatch(allowed, "x")[0]!, logStreamName: `ecs/app/${denied.taskId}` }]));
  const logs = new CloudWatchLogsClient(sdkConfig(server));
  const events = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/app", logStreamName: `ecs/app/${allowed.taskId}` }));
  logs.destroy();
  assert.deepEqual(
    events.events!.map((event) => event.message),
    ["hello"],
  );
});

test("the root's tasks are not held to their execution role: a role that does not exist still gets the pull credential", async () => {
  const spec = await launch(asRoot, "root-task", `arn:aws:iam::${server.accountId}:role/ecsTaskExecutionRole`, { logConfiguration: AWSLOGS });
  assert.equal(spec.credentials.checkExecutionRole, undefined);
  assert.equal(spec.credentials.registryAuth?.length, 1);
  assert.equal((await link.taskSecrets!(HOST, spec.taskArn)).failure, undefined);
  await link.putLogs(HOST, logBatch(spec, "root's line"));
});
