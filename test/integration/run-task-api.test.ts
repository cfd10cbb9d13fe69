// RunTask, DescribeTasks, ListTasks and StopTask through the SDK and the AWS CLI against a real
// `berth server`, with a host registered through the agent protocol (HTTP, join token) that
// reports task states the way an agent does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
} from "@aws-sdk/client-ecs";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { ControlPlaneLink } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
let ecs: ECSClient;
let link: ControlPlaneLink;
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const subnetA = network.subnets[0]!.subnetId;
const networkConfiguration = { awsvpcConfiguration: { subnets: [subnetA], assignPublicIp: "ENABLED" as const } };

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
  link = createHttpControlLink({ serverUrl: server.endpoint, token: readFileSync(join(server.dataDir, "agent-token"), "utf8").trim() });
  // One host in us-east-1a with room for four 0.25 vCPU tasks.
  await link.register({
    protocolVersion,
    hostId: "host-a",
    agentVersion: "test",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 1024, memoryMiB: 8192, taskSlots: 50, ephemeralGiB: 400 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
  await awsCli(server, ["ecs", "create-cluster", "--cluster-name", "demo"]);
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox" }],
    }),
  );
});
after(async () => {
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

test("RunTask places tasks on the host, which gets their specs and reports them RUNNING", async () => {
  const run = await ecs.send(
    new RunTaskCommand({
      cluster: "demo",
      taskDefinition: "web",
      launchType: "FARGATE",
      count: 2,
      networkConfiguration,
      startedBy: "tests",
      clientToken: "token-1",
    }),
  );
  assert.equal(run.tasks!.length, 2);
  assert.deepEqual(run.failures, []);
  const [first] = run.tasks!;
  assert.equal(first!.lastStatus, "PROVISIONING");
  assert.equal(first!.availabilityZone, "us-east-1a");
  assert.match(first!.taskArn!, /^arn:aws:ecs:us-east-1:123456789012:task\/demo\/[0-9a-f]{32}$/);

  const again = await ecs.send(
    new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", count: 2, networkConfiguration, clientToken: "token-1" }),
  );
  assert.deepEqual(again.tasks!.map((t) => t.taskArn).sort(), run.tasks!.map((t) => t.taskArn).sort(), "same clientToken, same tasks");

  const desired = await link.poll("host-a", -1);
  assert.equal(desired.tasks.length, 2);
  assert.equal(desired.tasks[0]!.spec.network.subnetCidr, "172.31.0.0/20");
  await link.report("host-a", {
    reports: [
      {
        protocolVersion,
        taskArn: first!.taskArn!,
        lastStatus: "RUNNING",
        desiredStatus: "RUNNING",
        sequence: 1,
        health: "UNKNOWN",
        startedAtMs: Date.now(),
        connectivityAtMs: Date.now(),
        attachment: {
          type: "ElasticNetworkInterface",
          status: "ATTACHED",
          subnetId: subnetA,
          networkInterfaceId: "eni-0123456789abcdef0",
          macAddress: "02:00:ac:1f:00:05",
          privateDnsName: "ip-172-31-0-5.ec2.internal",
          privateIPv4Address: "172.31.0.5",
        },
        containers: [
          {
            name: "app",
            lastStatus: "RUNNING",
            health: "UNKNOWN",
            essential: true,
            image: "busybox",
            runtimeId: "rt-1",
            networkInterfaces: [{ attachmentId: "x", privateIpv4Address: "172.31.0.5" }],
          },
        ],
      },
    ],
  });
  const described = await ecs.send(new DescribeTasksCommand({ cluster: "demo", tasks: [first!.taskArn!, "0".repeat(32)] }));
  const task = described.tasks![0]!;
  assert.equal(task.lastStatus, "RUNNING");
  assert.ok(task.startedAt instanceof Date);
  assert.ok(task.attachments![0]!.details!.some((d) => d.name === "privateIPv4Address" && d.value === "172.31.0.5"));
  assert.equal(task.containers![0]!.runtimeId, "rt-1");
  assert.equal(described.failures![0]!.reason, "MISSING");

  const listed = await ecs.send(new ListTasksCommand({ cluster: "demo", startedBy: "tests" }));
  assert.equal(listed.taskArns!.length, 2);
});

test("no room left: the tasks that do not fit come back in failures with AWS's capacity reason", async () => {
  const run = await ecs.send(new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", count: 4, networkConfiguration }));
  assert.equal(run.tasks!.length, 2);
  assert.equal(run.failures!.length, 2);
  assert.equal(run.failures![0]!.reason, "Capacity is unavailable at this time. Please try again later or in a different availability zone");
});

test("StopTask with the AWS CLI sets desired STOPPED with UserInitiated and the host is told", async () => {
  const listed = await ecs.send(new ListTasksCommand({ cluster: "demo" }));
  const taskArn = listed.taskArns![0]!;
  const stopped = await awsCli(server, ["ecs", "stop-task", "--cluster", "demo", "--task", taskArn, "--reason", "done here"]);
  assert.equal(stopped.code, 0, stopped.stderr);
  const task = (stopped.json as { task: { desiredStatus: string; stopCode: string; stoppedReason: string } }).task;
  assert.deepEqual([task.desiredStatus, task.stopCode, task.stoppedReason], ["STOPPED", "UserInitiated", "done here"]);
  const desired = await link.poll("host-a", -1);
  assert.equal(desired.tasks.find((t) => t.spec.taskArn === taskArn)!.desiredStatus, "STOPPED");
  const stillRunning = await ecs.send(new ListTasksCommand({ cluster: "demo" }));
  assert.ok(!stillRunning.taskArns!.includes(taskArn));
  const stoppedList = await ecs.send(new ListTasksCommand({ cluster: "demo", desiredStatus: "STOPPED" }));
  assert.ok(stoppedList.taskArns!.includes(taskArn));
});

test("RunTask refuses bad requests with AWS's errors", async () => {
  const reject = async (input: Record<string, unknown>, name: string, message: RegExp) =>
    assert.rejects(ecs.send(new RunTaskCommand({ cluster: "demo", taskDefinition: "web", networkConfiguration, ...input })), (error: Error) => {
      assert.equal(error.name, name);
      assert.match(error.message, message);
      return true;
    });
  await reject({ networkConfiguration: undefined }, "InvalidParameterException", /Network Configuration must be provided/);
  await reject({ count: 11 }, "InvalidParameterException", /count must be between 1 and 10/);
  await reject(
    { networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-00000000000000000"] } } },
    "InvalidParameterException",
    /subnet ID 'subnet-00000000000000000' does not exist/,
  );
  await reject({ taskDefinition: "nope" }, "ClientException", /TaskDefinition not found/);
  await reject({ overrides: { cpu: "256", memory: "4096" } }, "InvalidParameterException", /No Fargate configuration exists/);
  await reject({ cluster: "missing" }, "ClusterNotFoundException", /Cluster not found/);
});

test("StopTask naming a task of another cluster answers not found and leaves the task running", async () => {
  await awsCli(server, ["ecs", "create-cluster", "--cluster-name", "other"]);
  const taskArn = (await ecs.send(new ListTasksCommand({ cluster: "demo", desiredStatus: "RUNNING" }))).taskArns![0]!;
  await assert.rejects(ecs.send(new StopTaskCommand({ cluster: "other", task: taskArn })), (error: Error) => {
    assert.equal(error.name, "InvalidParameterException");
    assert.match(error.message, /The referenced task was not found/);
    return true;
  });
  const described = await ecs.send(new DescribeTasksCommand({ cluster: "demo", tasks: [taskArn] }));
  assert.equal(described.tasks![0]!.desiredStatus, "RUNNING");
});

test("ListTasks with desiredStatus PENDING matches nothing and has no next page", async () => {
  const listed = await ecs.send(new ListTasksCommand({ cluster: "demo", desiredStatus: "PENDING", maxResults: 1 }));
  assert.deepEqual(listed.taskArns, []);
  assert.equal(listed.nextToken, undefined);
});

test("a clientToken replays a run that placed nothing, failures included", async () => {
  const big = { cpu: "4096", memory: "8192" };
  const first = await ecs.send(
    new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", networkConfiguration, overrides: big, clientToken: "all-failed" }),
  );
  assert.deepEqual([first.tasks!.length, first.failures!.length], [0, 1]);
  // Room appears (a bigger host joins): the same token must still answer the first outcome.
  await link.register({
    protocolVersion,
    hostId: "host-big",
    agentVersion: "test",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 8192, memoryMiB: 16384, taskSlots: 50, ephemeralGiB: 400 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
  const again = await ecs.send(
    new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", networkConfiguration, overrides: big, clientToken: "all-failed" }),
  );
  assert.deepEqual(again.tasks, []);
  assert.deepEqual(again.failures, first.failures);
});

test("RunTask tags are validated like AWS does and merged with propagated definition tags", async () => {
  const reject = async (tags: { key: string; value: string }[], message: RegExp) =>
    assert.rejects(
      ecs.send(new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", networkConfiguration, tags })),
      (error: Error) => {
        assert.equal(error.name, "InvalidParameterException");
        assert.match(error.message, message);
        return true;
      },
    );
  await reject(
    Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" })),
    /exceeds the limit of 50/,
  );
  await reject([{ key: "aws:owner", value: "me" }], /aws:/);
  await reject([{ key: "k".repeat(129), value: "v" }], /between 1 and 128/);
  await reject([{ key: "k", value: "v".repeat(257) }], /at most 256/);
  await ecs.send(
    new TagResourceCommand({
      resourceArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/web:1`,
      tags: [
        { key: "team", value: "definition" },
        { key: "tier", value: "web" },
      ],
    }),
  );
  const run = await ecs.send(
    new RunTaskCommand({
      cluster: "demo",
      taskDefinition: "web",
      launchType: "FARGATE",
      networkConfiguration,
      propagateTags: "TASK_DEFINITION",
      tags: [{ key: "team", value: "request" }],
    }),
  );
  const described = await ecs.send(new DescribeTasksCommand({ cluster: "demo", tasks: [run.tasks![0]!.taskArn!], include: ["TAGS"] }));
  assert.deepEqual(described.tasks![0]!.tags, [
    { key: "team", value: "request" },
    { key: "tier", value: "web" },
  ]);
  await ecs.send(new StopTaskCommand({ cluster: "demo", task: run.tasks![0]!.taskArn! }));
});

test("a capacity provider strategy spreads the whole request across AZs, not each provider's share", async () => {
  await link.register({
    protocolVersion,
    hostId: "host-b",
    agentVersion: "test",
    availabilityZone: "us-east-1b",
    architecture: "X86_64",
    capacity: { cpuUnits: 8192, memoryMiB: 16384, taskSlots: 50, ephemeralGiB: 400 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
  const subnets = [subnetA, network.subnets[1]!.subnetId];
  const run = await ecs.send(
    new RunTaskCommand({
      cluster: "demo",
      taskDefinition: "web",
      count: 2,
      capacityProviderStrategy: [
        { capacityProvider: "FARGATE", base: 1, weight: 0 },
        { capacityProvider: "FARGATE_SPOT", weight: 1 },
      ],
      networkConfiguration: { awsvpcConfiguration: { subnets, assignPublicIp: "ENABLED" } },
    }),
  );
  assert.deepEqual(run.failures, []);
  assert.deepEqual(run.tasks!.map((t) => t.availabilityZone).sort(), ["us-east-1a", "us-east-1b"]);
  for (const task of run.tasks!) await ecs.send(new StopTaskCommand({ cluster: "demo", task: task.taskArn! }));
});
