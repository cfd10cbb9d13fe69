// The agent protocol's `secrets` call over HTTP against a real `berth server`, played by two hosts
// that register with the join token (no containers): the host a task is placed on gets its
// secrets, read with the execution role; the other host, a host naming the owner with its own
// secret, a malformed body and a stopped task are refused; a role without the permission gets the
// ResourceInitializationError text instead of values. Roles through IAM's API (AWS CLI), secrets
// and parameters through the SDK.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, CreateClusterCommand, DescribeTasksCommand } from "@aws-sdk/client-ecs";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import type { ControlPlaneLink } from "../../src/protocol/index.js";
import { AGENT_ROUTE_PREFIX, ControlLinkError, protocolVersion } from "../../src/protocol/index.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";

const PASSWORD = "pw-5b8c2e7f1a";
const API_KEY = "key-0d9e3c6b4a";
let server: TestServer;
let ecs: ECSClient;
let secretArn: string;
let subnetId: string;
const hosts = new Map<string, { link: ControlPlaneLink; secret: string }>();

async function host(hostId: string): Promise<void> {
  const token = readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();
  const link = createHttpControlLink({ serverUrl: server.endpoint, token });
  const answer = await link.register({
    protocolVersion,
    hostId,
    agentVersion: "test",
    availabilityZone: defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.availabilityZone,
    architecture: "X86_64",
    capacity: { cpuUnits: 4096, memoryMiB: 8192, taskSlots: 16, ephemeralGiB: 400 },
    machine: { cpuCount: 64, memoryMiB: 1_048_576 },
    overcommit: false,
    subnetIds: [],
  });
  hosts.set(hostId, { link, secret: answer.hostSecret });
}

async function role(name: string, statements: object[]): Promise<string> {
  const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] };
  const created = await awsCli(server, ["iam", "create-role", "--role-name", name, "--assume-role-policy-document", JSON.stringify(trust)]);
  assert.equal(created.code, 0, created.stderr);
  const policy = JSON.stringify({ Version: "2012-10-17", Statement: statements });
  const put = await awsCli(server, ["iam", "put-role-policy", "--role-name", name, "--policy-name", "p", "--policy-document", policy]);
  assert.equal(put.code, 0, put.stderr);
  return (created.json as { Role: { Arn: string } }).Role.Arn;
}

/** Runs a task of `family` and finds which host it was placed on (its first poll answer lists it). */
async function placed(family: string, executionRoleArn: string): Promise<{ taskArn: string; owner: string; other: string }> {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn,
      containerDefinitions: [
        {
          name: "app",
          image: "busybox",
          secrets: [
            { name: "DB_PASSWORD", valueFrom: `${secretArn}:password::` },
            { name: "API_KEY", valueFrom: "/prod/api-key" },
          ],
        },
      ],
    }),
  );
  const run = await ecs.send(
    new RunTaskCommand({
      cluster: "c",
      taskDefinition: family,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId] } },
    }),
  );
  const taskArn = run.tasks![0]!.taskArn!;
  for (const [hostId, { link }] of hosts) {
    const answer = await link.poll(hostId, -1);
    if (answer.tasks.some((task) => task.spec.taskArn === taskArn)) return { taskArn, owner: hostId, other: hostId === "host-a" ? "host-b" : "host-a" };
  }
  throw new Error(`task ${taskArn} is on neither host`);
}

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
  await ecs.send(new CreateClusterCommand({ clusterName: "c" }));
  const sm = new SecretsManagerClient(sdkConfig(server));
  secretArn = (await sm.send(new CreateSecretCommand({ Name: "prod/db", SecretString: JSON.stringify({ password: PASSWORD }) }))).ARN!;
  sm.destroy();
  const ssm = new SSMClient(sdkConfig(server));
  await ssm.send(new PutParameterCommand({ Name: "/prod/api-key", Type: "SecureString", Value: API_KEY }));
  ssm.destroy();
  await host("host-a");
  await host("host-b");
});

after(async () => {
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

test("the task's own host gets its secrets; the other host, a borrowed host id and a stopped task are refused", async () => {
  const exec = await role("exec", [
    { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
    { Effect: "Allow", Action: "ssm:GetParameters", Resource: "arn:aws:ssm:us-east-1:123456789012:parameter/prod/*" },
  ]);
  const { taskArn, owner, other } = await placed("granted", exec);
  const answer = await hosts.get(owner)!.link.taskSecrets!(owner, taskArn);
  assert.deepEqual(answer, {
    containers: [
      {
        containerName: "app",
        env: [
          { name: "DB_PASSWORD", value: PASSWORD },
          { name: "API_KEY", value: API_KEY },
        ],
      },
    ],
  });

  await assert.rejects(hosts.get(other)!.link.taskSecrets!(other, taskArn), (error: unknown) => {
    assert.ok(error instanceof ControlLinkError);
    assert.equal(error.status, 403);
    assert.equal(error.code, "AccessDeniedException");
    assert.ok(!error.message.includes(PASSWORD));
    return true;
  });
  // The other host's secret with the owner's id: not authenticated as the owner.
  const borrowed = await fetch(`${server.endpoint}${AGENT_ROUTE_PREFIX}secrets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${hosts.get(other)!.secret}`, "x-berth-host-id": owner },
    body: JSON.stringify({ hostId: owner, taskArn }),
  });
  assert.equal(borrowed.status, 401);
  assert.ok(!(await borrowed.text()).includes(PASSWORD));

  for (const body of [{ hostId: owner }, { hostId: owner, taskArn: 7 }, { hostId: owner, taskArn: "a".repeat(5000) }]) {
    const response = await fetch(`${server.endpoint}${AGENT_ROUTE_PREFIX}secrets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${hosts.get(owner)!.secret}`, "x-berth-host-id": owner },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 400, JSON.stringify(body).slice(0, 60));
    assert.match(((await response.json()) as { message: string }).message, /^The secrets body is malformed: /);
  }

  const described = JSON.stringify(await ecs.send(new DescribeTasksCommand({ cluster: "c", tasks: [taskArn] })));
  assert.ok(!described.includes(PASSWORD) && !described.includes(API_KEY));

  await ecs.send(new StopTaskCommand({ cluster: "c", task: taskArn }));
  await assert.rejects(hosts.get(owner)!.link.taskSecrets!(owner, taskArn), { status: 403 });
});

test("an execution role without the permission gets the task's ResourceInitializationError, no value", async () => {
  const weak = await role("weak", [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn }]);
  const { taskArn, owner } = await placed("denied", weak);
  const answer = await hosts.get(owner)!.link.taskSecrets!(owner, taskArn);
  assert.deepEqual(answer.containers, []);
  const session = `arn:aws:sts::123456789012:assumed-role/weak/${taskArn.slice(taskArn.lastIndexOf("/") + 1)}`;
  assert.equal(
    answer.failure,
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: " +
      `AccessDeniedException: User: ${session} is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key because no identity-based policy allows the ssm:GetParameters action`,
  );
  assert.ok(!JSON.stringify(answer).includes(PASSWORD));
});
