// ECS services through the SDK and the AWS CLI against a real `berth server`, with two scripted
// hosts (the real agent protocol; tasks reported RUNNING or crashing by script): create to a steady
// state (the CLI's services-stable waiter), a rolling deployment sampled against its bounds, a task
// killed and replaced, the circuit breaker's rollback, scale to zero and delete (services-inactive),
// and the failure paths in ECS's words.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Service } from "@aws-sdk/client-ecs";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServicesCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../../src/core/default-network.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { ScriptedAgent } from "../support/scripted-agent.js";
import { describeService, registerRevisions, runningTasksOfService, waitServiceCompleted } from "../support/service-waits.js";
import { waitFor } from "../support/wait-for.js";

let server: TestServer;
let ecs: ECSClient;
const agents: ScriptedAgent[] = [];
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const subnets = network.subnets.slice(0, 2).map((subnet) => subnet.subnetId);
const networkConfiguration = { awsvpcConfiguration: { subnets, assignPublicIp: "DISABLED" as const } };

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
  for (const [hostId, zone] of [
    ["host-a", network.subnets[0]!.availabilityZone],
    ["host-b", network.subnets[1]!.availabilityZone],
  ] as const) {
    const agent = new ScriptedAgent(server, { hostId, availabilityZone: zone, crashingImages: ["crash"] });
    await agent.start();
    agents.push(agent);
  }
  await awsCli(server, ["ecs", "create-cluster", "--cluster-name", "demo"]);
  await registerRevisions(ecs, "web", ["web:1", "web:2", "crash"]);
});

after(async () => {
  for (const agent of agents) await agent.stop();
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const describe = (name: string) => describeService(ecs, "demo", name);
const waitCompleted = (name: string, revision: number, count: number, timeoutMs?: number) =>
  waitServiceCompleted(ecs, "demo", name, revision, count, timeoutMs);
const runningTasksOf = (name: string) => runningTasksOfService(ecs, "demo", name);

test("create-service reaches a steady state: tasks spread over the AZs, grouped and started by the deployment; the CLI waiter and the events agree", async () => {
  const created = await awsCli(server, [
    "ecs",
    "create-service",
    "--cluster",
    "demo",
    "--service-name",
    "web",
    "--task-definition",
    "web:1",
    "--desired-count",
    "4",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnets.join(",")}],assignPublicIp=DISABLED}`,
    "--deployment-configuration",
    "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}",
  ]);
  assert.equal(created.code, 0, created.stderr);
  const service = (created.json as { service: Service }).service;
  assert.equal(service.status, "ACTIVE");
  assert.equal(service.desiredCount, 4);
  assert.match(service.deployments![0]!.id!, /^ecs-svc\/\d{19}$/);
  assert.equal(service.deployments![0]!.rolloutState, "IN_PROGRESS");
  assert.deepEqual(service.deploymentConfiguration!.deploymentCircuitBreaker, { enable: true, rollback: true });

  const steady = await waitCompleted("web", 1, 4);
  const waited = await awsCli(server, ["ecs", "wait", "services-stable", "--cluster", "demo", "--services", "web"]);
  assert.equal(waited.code, 0, waited.stderr);
  const messages = steady.events!.map((event) => event.message);
  assert.ok(
    messages.some((message) => /^\(service web\) has started \d tasks: (\(task [0-9a-f]{32}\) ?)+\.$/.test(message!)),
    messages.join("\n"),
  );
  assert.ok(messages.includes("(service web) has reached a steady state."), messages.join("\n"));
  assert.ok(messages.includes(`(service web) (deployment ${steady.deployments![0]!.id}) deployment completed.`));

  const tasks = await ecs.send(new DescribeTasksCommand({ cluster: "demo", tasks: await runningTasksOf("web") }));
  assert.equal(tasks.tasks!.length, 4);
  for (const task of tasks.tasks!) {
    assert.equal(task.group, "service:web");
    assert.equal(task.startedBy, steady.deployments![0]!.id);
  }
  const zones = new Map<string, number>();
  for (const task of tasks.tasks!) zones.set(task.availabilityZone!, (zones.get(task.availabilityZone!) ?? 0) + 1);
  assert.deepEqual([...zones.values()], [2, 2], "two per AZ");

  const cluster = await ecs.send(new DescribeClustersCommand({ clusters: ["demo"] }));
  assert.equal(cluster.clusters![0]!.activeServicesCount, 1);
  const listed = await ecs.send(new ListServicesCommand({ cluster: "demo" }));
  assert.deepEqual(listed.serviceArns, [steady.serviceArn]);
});

test("a task killed on its host is replaced and the service is steady again", async () => {
  const before = await runningTasksOf("web");
  const victim = before[0]!;
  const owner = agents.find((agent) => agent.runningTasks().includes(victim))!;
  await owner.kill(victim);
  await waitFor(async () => (await runningTasksOf("web")).filter((arn) => arn !== victim).length === 4, { what: "a replacement RUNNING" });
  const service = await waitCompleted("web", 1, 4);
  assert.ok(!(await runningTasksOf("web")).includes(victim));
  assert.equal(service.deployments![0]!.failedTasks, 1, "the kill counts as a failed task of the deployment");
});

test("a rolling deployment to a new revision never drops below minimumHealthyPercent and never exceeds maximumPercent", async () => {
  await ecs.send(new UpdateServiceCommand({ cluster: "demo", service: "web", taskDefinition: "web:2" }));
  let low = Infinity;
  let high = 0;
  const sampling = (async () => {
    for (;;) {
      const service = await describe("web");
      low = Math.min(low, service.runningCount!);
      high = Math.max(high, service.runningCount! + service.pendingCount!);
      const primary = service.deployments![0]!;
      if (service.deployments!.length === 1 && primary.rolloutState === "COMPLETED" && primary.taskDefinition!.endsWith(":2")) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await sampling;
  assert.ok(low >= 4, `never fewer than 4 running (saw ${low})`);
  assert.ok(high <= 8, `never more than 8 running or pending (saw ${high})`);
  await waitCompleted("web", 2, 4);
});

test("a revision whose container exits at once trips the circuit breaker and rolls back to the last completed deployment", async () => {
  const before = await describe("web");
  const completedId = before.deployments![0]!.id!;
  await ecs.send(new UpdateServiceCommand({ cluster: "demo", service: "web", taskDefinition: "web:3" }));
  let failed: Service | undefined;
  await waitFor(
    async () => {
      failed = await describe("web");
      return failed.events!.some((event) => / deployment failed: tasks failed to start\.$/.test(event.message!));
    },
    { what: "the circuit breaker", timeoutMs: 60_000 },
  );
  const service = await waitCompleted("web", 2, 4, 60_000);
  assert.notEqual(service.deployments![0]!.id, completedId, "the rollback is a new deployment");
  assert.equal(failed!.deployments![0]!.rolloutStateReason, `ECS deployment circuit breaker: rolling back to deploymentId ${completedId}.`);
  // The failed deployment leaves the service once its last task stopped (all of them crashed), which
  // may be before this sample; while it is listed it is FAILED.
  const failedDeployment = failed!.deployments!.find((deployment) => deployment.taskDefinition!.endsWith(":3"));
  if (failedDeployment) assert.equal(failedDeployment.rolloutState, "FAILED");
  assert.ok(failed!.events!.some((event) => event.message === `(service web) rolling back to deployment ${completedId}.`));
});

test("scale to zero and delete: the service drains to INACTIVE (services-inactive) and the cluster counts none", async () => {
  await assert.rejects(ecs.send(new DeleteServiceCommand({ cluster: "demo", service: "web" })), {
    name: "InvalidParameterException",
    message: "The service cannot be stopped while it is scaled above 0.",
  });
  const scaled = await awsCli(server, ["ecs", "update-service", "--cluster", "demo", "--service", "web", "--desired-count", "0"]);
  assert.equal(scaled.code, 0, scaled.stderr);
  await waitFor(async () => (await runningTasksOf("web")).length === 0, { what: "every task stopped" });
  const deleted = await awsCli(server, ["ecs", "delete-service", "--cluster", "demo", "--service", "web"]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal((deleted.json as { service: Service }).service.status, "DRAINING");
  await assert.rejects(ecs.send(new UpdateServiceCommand({ cluster: "demo", service: "web", desiredCount: 1 })), { name: "ServiceNotActiveException" });
  await waitFor(async () => (await describe("web")).status === "INACTIVE", { what: "INACTIVE" });
  const waited = await awsCli(server, ["ecs", "wait", "services-inactive", "--cluster", "demo", "--services", "web"]);
  assert.equal(waited.code, 0, waited.stderr);
  const cluster = await ecs.send(new DescribeClustersCommand({ clusters: ["demo"] }));
  assert.equal(cluster.clusters![0]!.activeServicesCount, 0);
  assert.deepEqual((await ecs.send(new ListServicesCommand({ cluster: "demo" }))).serviceArns, []);
});

test("the SDK's ServicesStable waiter and a force-deleted service with tasks", async () => {
  await ecs.send(new CreateServiceCommand({ cluster: "demo", serviceName: "api", taskDefinition: "web:2", desiredCount: 2, networkConfiguration }));
  await waitUntilServicesStable({ client: ecs, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { cluster: "demo", services: ["api"] });
  const deleted = await ecs.send(new DeleteServiceCommand({ cluster: "demo", service: "api", force: true }));
  assert.equal(deleted.service!.status, "DRAINING");
  await waitFor(async () => (await describe("api")).status === "INACTIVE", { what: "api INACTIVE" });
  assert.deepEqual(await runningTasksOf("api"), []);
});

test("bad requests get ECS's errors", async () => {
  const create = (input: Record<string, unknown>) =>
    ecs.send(new CreateServiceCommand({ cluster: "demo", serviceName: "bad", taskDefinition: "web:2", desiredCount: 1, networkConfiguration, ...input }));
  await assert.rejects(create({ cluster: "nope" }), { name: "ClusterNotFoundException" });
  await assert.rejects(create({ taskDefinition: "missing:1" }), { name: "ClientException", message: "TaskDefinition not found." });
  await assert.rejects(create({ deploymentConfiguration: { minimumHealthyPercent: 150 } }), { name: "InvalidParameterException" });
  await assert.rejects(create({ deploymentConfiguration: { maximumPercent: 50 } }), { name: "InvalidParameterException" });
  await assert.rejects(create({ desiredCount: 5001 }), { name: "InvalidParameterException" });
  await assert.rejects(create({ desiredCount: -1 }), { name: "InvalidParameterException" });
  await assert.rejects(create({ serviceName: "../etc" }), { name: "InvalidParameterException" });
  await assert.rejects(create({ loadBalancers: [{ targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1" }] }), {
    name: "InvalidParameterException",
  });
  await assert.rejects(create({ networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-00000000000000000"] } } }), {
    name: "InvalidParameterException",
  });
  await assert.rejects(create({ networkConfiguration: undefined }), { name: "InvalidParameterException" });
  await create({ serviceName: "twice", desiredCount: 0 });
  await assert.rejects(create({ serviceName: "twice", desiredCount: 0 }), {
    name: "InvalidParameterException",
    message: "Creation of service was not idempotent.",
  });
  await assert.rejects(ecs.send(new UpdateServiceCommand({ cluster: "demo", service: "nothing", desiredCount: 1 })), {
    name: "ServiceNotFoundException",
    message: "Service not found.",
  });
  await assert.rejects(
    ecs.send(new UpdateServiceCommand({ cluster: "demo", service: "arn:aws:ecs:us-east-1:999999999999:service/demo/twice", desiredCount: 0 })),
    { name: "ServiceNotFoundException" },
    "another account's ARN names no service here",
  );
  await assert.rejects(create({ serviceName: "tags", propagateTags: "EVERYTHING" }), { name: "InvalidParameterException" });
  const described = await ecs.send(new DescribeServicesCommand({ cluster: "demo", services: ["nothing", "twice"] }));
  assert.equal(described.services!.length, 1);
  assert.deepEqual(described.failures, [{ arn: "arn:aws:ecs:us-east-1:123456789012:service/demo/nothing", reason: "MISSING" }]);
  assert.equal((await ecs.send(new DeleteServiceCommand({ cluster: "demo", service: "twice" }))).service!.status, "DRAINING");
});
