// Task scale-in protection and service deployment history through the SDK and the AWS CLI against
// a real `berth server`, with two scripted hosts (the real agent protocol): protected tasks survive
// a scale-in, standalone and unknown tasks come back as failures in ECS's reasons, a caller of one
// cluster can neither read nor protect tasks of another; deployments and revisions as
// ListServiceDeployments, DescribeServiceDeployments and DescribeServiceRevisions show them
// through a rolling update, a circuit-breaker rollback and StopServiceDeployment's rollback; no
// Cloud Map namespaces (ListServicesByNamespace answers NamespaceNotFoundException).
//
// Debian's AWS CLI 2.9 knows get-task-protection, update-task-protection and
// list-services-by-namespace but none of the service-deployment commands: those go through the SDK.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  ListServicesByNamespaceCommand,
  StopServiceDeploymentCommand,
  ECSClient,
  GetTaskProtectionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  UpdateTaskProtectionCommand,
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
  for (const cluster of ["hist", "other"]) await awsCli(server, ["ecs", "create-cluster", "--cluster-name", cluster]);
  await registerRevisions(ecs, "web", ["web:1", "web:2", "crash", "web:3"]);
});

after(async () => {
  for (const agent of agents) await agent.stop();
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const describe = (name: string) => describeService(ecs, "hist", name);
const waitCompleted = (name: string, revision: number, count: number, timeoutMs?: number) =>
  waitServiceCompleted(ecs, "hist", name, revision, count, timeoutMs);
const runningTasksOf = (name: string) => runningTasksOfService(ecs, "hist", name);

test("protected tasks survive a scale-in until unprotected; the CLI sets protection and the SDK reads it back", async () => {
  await ecs.send(new CreateServiceCommand({ cluster: "hist", serviceName: "prot", taskDefinition: "web:1", desiredCount: 3, networkConfiguration }));
  await waitCompleted("prot", 1, 3);
  const tasks = await runningTasksOf("prot");
  assert.equal(tasks.length, 3);
  const [keep, alsoKept] = tasks as [string, string, string];
  const before = Date.now();
  const set = await awsCli(server, [
    "ecs",
    "update-task-protection",
    "--cluster",
    "hist",
    "--tasks",
    keep,
    alsoKept,
    "--protection-enabled",
    "--expires-in-minutes",
    "60",
  ]);
  assert.equal(set.code, 0, set.stderr);
  const answer = set.json as { protectedTasks: { taskArn: string; protectionEnabled: boolean; expirationDate: string }[]; failures: unknown[] };
  assert.deepEqual(answer.failures, []);
  assert.deepEqual(
    answer.protectedTasks.map((task) => [task.taskArn, task.protectionEnabled]).sort(),
    [
      [keep, true],
      [alsoKept, true],
    ].sort(),
  );
  const expiresMs = new Date(answer.protectedTasks[0]!.expirationDate).getTime();
  assert.ok(expiresMs >= before + 60 * 60_000 - 1_000 && expiresMs <= Date.now() + 60 * 60_000 + 1_000, answer.protectedTasks[0]!.expirationDate);

  const read = await ecs.send(new GetTaskProtectionCommand({ cluster: "hist", tasks: tasks.map((arn) => arn.split("/").at(-1)!) }));
  assert.deepEqual(read.failures, []);
  assert.deepEqual(read.protectedTasks!.map((task) => [task.taskArn, task.protectionEnabled]).sort(), tasks.map((arn) => [arn, arn !== tasks[2]]).sort());
  assert.equal(read.protectedTasks!.find((task) => task.taskArn === keep)!.expirationDate!.getTime(), expiresMs);

  // Scale-in to one may stop only the unprotected task: both protected ones keep running.
  await ecs.send(new UpdateServiceCommand({ cluster: "hist", service: "prot", desiredCount: 1 }));
  await waitFor(async () => !(await runningTasksOf("prot")).includes(tasks[2]!), { what: "the unprotected task stopped" });
  assert.deepEqual((await runningTasksOf("prot")).sort(), [keep, alsoKept].sort());

  const unset = await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [alsoKept], protectionEnabled: false }));
  assert.deepEqual(unset.protectedTasks, [{ taskArn: alsoKept, protectionEnabled: false }]);
  await waitFor(async () => (await runningTasksOf("prot")).length === 1, { what: "the unprotected task scaled in" });
  assert.deepEqual(await runningTasksOf("prot"), [keep], "the protected task is the one left");
  await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [keep], protectionEnabled: false }));
  const after = await ecs.send(new GetTaskProtectionCommand({ cluster: "hist", tasks: [keep] }));
  assert.deepEqual(after.protectedTasks, [{ taskArn: keep, protectionEnabled: false }]);
});

test("a deployment replaces no protected task of an older one; a steady service is not rewritten; a user's stop in the scheduler's words is no failure", async () => {
  await ecs.send(new CreateServiceCommand({ cluster: "hist", serviceName: "roll", taskDefinition: "web:1", desiredCount: 2, networkConfiguration }));
  await waitCompleted("roll", 1, 2);
  const [kept, replaced] = (await runningTasksOf("roll")) as [string, string];
  await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [kept], protectionEnabled: true }));
  await ecs.send(new UpdateServiceCommand({ cluster: "hist", service: "roll", taskDefinition: "web:2" }));
  // The new deployment runs its two tasks and stops the unprotected old one; the protected one
  // keeps the old deployment (and the rollout) open.
  await waitFor(
    async () => {
      const service = await describe("roll");
      return service.deployments?.[0]?.runningCount === 2 && !(await runningTasksOf("roll")).includes(replaced);
    },
    { what: "web:2 running beside the protected web:1 task" },
  );
  const during = await describe("roll");
  assert.equal(during.deployments!.length, 2);
  assert.equal(during.deployments![0]!.rolloutState, "IN_PROGRESS");
  assert.ok((await runningTasksOf("roll")).includes(kept), "the protected task of the older deployment runs on");
  await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [kept], protectionEnabled: false }));
  const done = await waitCompleted("roll", 2, 2);
  assert.ok(!(await runningTasksOf("roll")).includes(kept));

  // Steady: a pass that changes nothing writes nothing (the interval's pass runs every 2 s).
  const updatedAt = done.deployments![0]!.updatedAt!.getTime();
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  assert.equal((await describe("roll")).deployments![0]!.updatedAt!.getTime(), updatedAt, "an idle pass rewrote the service");

  // A user's StopTask in the words of the scheduler's health-check stop is a user's stop: the task
  // is replaced and counts as no failure of the deployment (the circuit breaker must not hear it).
  const [victim] = await runningTasksOf("roll");
  await ecs.send(new StopTaskCommand({ cluster: "hist", task: victim!, reason: "Task failed container health checks" }));
  await waitFor(async () => !(await runningTasksOf("roll")).includes(victim!) && (await runningTasksOf("roll")).length === 2, {
    what: "the stopped task replaced",
  });
  assert.equal((await describe("roll")).deployments![0]!.failedTasks, 0);

  // Deleting the service stops every task, protected or not; protection of a deleted service's task is answered as none.
  const [last] = await runningTasksOf("roll");
  await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [last!], protectionEnabled: true }));
  await ecs.send(new DeleteServiceCommand({ cluster: "hist", service: "roll", force: true }));
  const late = await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [last!], protectionEnabled: true }));
  assert.deepEqual(late.protectedTasks, [{ taskArn: last, protectionEnabled: false }]);
  await waitFor(async () => (await describe("roll")).status === "INACTIVE", { what: "the deleted service INACTIVE" });
  assert.deepEqual(await runningTasksOf("roll"), []);
});

test("task protection: standalone and unknown tasks are failures, expiresInMinutes is 1..2880 and 120 by default", async () => {
  const standalone = await ecs.send(new RunTaskCommand({ cluster: "hist", taskDefinition: "web:1", launchType: "FARGATE", networkConfiguration }));
  const standaloneArn = standalone.tasks![0]!.taskArn!;
  const [serviceTask] = await runningTasksOf("prot");
  const missingArn = "arn:aws:ecs:us-east-1:123456789012:task/hist/0123456789abcdef0123456789abcdef";
  const before = Date.now();
  const answer = await ecs.send(
    new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [standaloneArn, "0123456789abcdef0123456789abcdef", serviceTask!], protectionEnabled: true }),
  );
  assert.deepEqual(answer.failures, [
    { arn: standaloneArn, reason: "TASK_NOT_VALID" },
    { arn: missingArn, reason: "MISSING" },
  ]);
  assert.equal(answer.protectedTasks!.length, 1);
  const expiresMs = answer.protectedTasks![0]!.expirationDate!.getTime();
  assert.ok(expiresMs >= before + 120 * 60_000 - 1_000 && expiresMs <= Date.now() + 120 * 60_000 + 1_000, "two hours by default");

  const read = await awsCli(server, ["ecs", "get-task-protection", "--cluster", "hist", "--tasks", standaloneArn]);
  assert.equal(read.code, 0, read.stderr);
  assert.deepEqual((read.json as { failures: unknown[] }).failures, [{ arn: standaloneArn, reason: "TASK_NOT_VALID" }]);

  for (const expiresInMinutes of [0, 2881]) {
    await assert.rejects(ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [serviceTask!], protectionEnabled: true, expiresInMinutes })), {
      name: "InvalidParameterException",
    });
  }
  await assert.rejects(ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: Array(11).fill(serviceTask!), protectionEnabled: true })), {
    name: "InvalidParameterException",
  });
  await assert.rejects(ecs.send(new GetTaskProtectionCommand({ cluster: "nowhere", tasks: [serviceTask!] })), { name: "ClusterNotFoundException" });
  const max = await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [serviceTask!], protectionEnabled: false, expiresInMinutes: 2880 }));
  assert.equal(max.protectedTasks![0]!.protectionEnabled, false);
});

test("a caller naming another cluster can neither read nor protect its tasks", async () => {
  const [victim] = await runningTasksOf("prot");
  await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [victim!], protectionEnabled: true, expiresInMinutes: 5 }));
  const read = await ecs.send(new GetTaskProtectionCommand({ cluster: "other", tasks: [victim!] }));
  assert.deepEqual(read.protectedTasks, []);
  assert.deepEqual(read.failures, [{ arn: victim, reason: "MISSING" }]);
  const write = await ecs.send(new UpdateTaskProtectionCommand({ cluster: "other", tasks: [victim!], protectionEnabled: false }));
  assert.deepEqual(write.failures, [{ arn: victim, reason: "MISSING" }]);
  // An id resolves within the named cluster only.
  const byId = await ecs.send(new GetTaskProtectionCommand({ cluster: "other", tasks: [victim!.split("/").at(-1)!] }));
  assert.equal(byId.failures![0]!.reason, "MISSING");
  const still = await ecs.send(new GetTaskProtectionCommand({ cluster: "hist", tasks: [victim!] }));
  assert.equal(still.protectedTasks![0]!.protectionEnabled, true, "untouched by the other cluster's caller");
  await ecs.send(new UpdateTaskProtectionCommand({ cluster: "hist", tasks: [victim!], protectionEnabled: false }));
});

async function deploymentsOf(name: string) {
  return (await ecs.send(new ListServiceDeploymentsCommand({ cluster: "hist", service: name }))).serviceDeployments!;
}

async function waitNewest(name: string, status: string, count: number) {
  await waitFor(
    async () => {
      const listed = await deploymentsOf(name);
      return listed.length === count && listed[0]!.status === status;
    },
    { what: `${name}'s newest of ${count} deployments ${status}`, timeoutMs: 60_000 },
  );
  return deploymentsOf(name);
}

const breaker = (enable: boolean) => ({ deploymentCircuitBreaker: { enable, rollback: enable }, maximumPercent: 200, minimumHealthyPercent: 100 });

test("deployments and revisions: create, a rolling update, a circuit-breaker rollback, each listed, described and paged", async () => {
  await ecs.send(
    new CreateServiceCommand({
      cluster: "hist",
      serviceName: "dep",
      taskDefinition: "web:1",
      desiredCount: 2,
      networkConfiguration,
      deploymentConfiguration: breaker(true),
    }),
  );
  await waitCompleted("dep", 1, 2);
  const [first] = await waitNewest("dep", "SUCCESSFUL", 1);
  assert.match(first!.serviceDeploymentArn!, /^arn:aws:ecs:us-east-1:123456789012:service-deployment\/hist\/dep\/[A-Za-z0-9_-]{21}$/);
  assert.match(first!.targetServiceRevisionArn!, /^arn:aws:ecs:us-east-1:123456789012:service-revision\/hist\/dep\/\d{19}$/);
  assert.ok(first!.finishedAt instanceof Date && first!.startedAt instanceof Date);
  assert.equal((await describe("dep")).currentServiceDeployment, first!.serviceDeploymentArn);
  assert.deepEqual((await describe("dep")).currentServiceRevisions, [
    { arn: first!.targetServiceRevisionArn, requestedTaskCount: 2, runningTaskCount: 2, pendingTaskCount: 0 },
  ]);
  const [revision] = (await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [first!.targetServiceRevisionArn!] }))).serviceRevisions!;
  assert.equal(revision!.taskDefinition, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1");
  assert.equal(revision!.launchType, "FARGATE");
  assert.deepEqual(revision!.networkConfiguration!.awsvpcConfiguration!.subnets, subnets);
  assert.deepEqual(revision!.containerImages, [{ containerName: "app", image: "web:1" }]);

  await ecs.send(new UpdateServiceCommand({ cluster: "hist", service: "dep", taskDefinition: "web:2" }));
  await waitCompleted("dep", 2, 2);
  const [second] = await waitNewest("dep", "SUCCESSFUL", 2);
  const [described] = (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [second!.serviceDeploymentArn!] }))).serviceDeployments!;
  assert.deepEqual(
    described!.sourceServiceRevisions!.map((source) => source.arn),
    [first!.targetServiceRevisionArn],
  );
  assert.deepEqual(described!.targetServiceRevision, {
    arn: second!.targetServiceRevisionArn,
    requestedTaskCount: 2,
    runningTaskCount: 2,
    pendingTaskCount: 0,
  });
  assert.equal(described!.deploymentCircuitBreaker!.status, "MONITORING_COMPLETE");

  await ecs.send(new UpdateServiceCommand({ cluster: "hist", service: "dep", taskDefinition: "web:3" }));
  const [failed] = await waitNewest("dep", "ROLLBACK_SUCCESSFUL", 3);
  await waitCompleted("dep", 2, 2, 60_000);
  const [rolledBack] = (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [failed!.serviceDeploymentArn!] }))).serviceDeployments!;
  assert.equal(rolledBack!.rollback!.serviceRevisionArn, second!.targetServiceRevisionArn, "back to the last completed revision");
  assert.equal(rolledBack!.deploymentCircuitBreaker!.status, "TRIGGERED");
  assert.ok(rolledBack!.deploymentCircuitBreaker!.failureCount! >= 3);

  const page1 = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "hist", service: "dep", maxResults: 2 }));
  const page2 = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "hist", service: "dep", maxResults: 2, nextToken: page1.nextToken! }));
  assert.deepEqual(
    [...page1.serviceDeployments!, ...page2.serviceDeployments!].map((deployment) => deployment.serviceDeploymentArn),
    [failed, second, first].map((deployment) => deployment!.serviceDeploymentArn),
  );
  assert.equal(page2.nextToken, undefined);
  const successful = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "hist", service: "dep", status: ["SUCCESSFUL"] }));
  assert.equal(successful.serviceDeployments!.length, 2);
});

test("StopServiceDeployment rolls an ongoing deployment back to the last completed revision", async () => {
  // Without the circuit breaker a revision that cannot start stays IN_PROGRESS until stopped.
  await ecs.send(new UpdateServiceCommand({ cluster: "hist", service: "dep", taskDefinition: "web:3", deploymentConfiguration: breaker(false) }));
  const [ongoing] = await waitNewest("dep", "IN_PROGRESS", 4);
  const [previous] = (await deploymentsOf("dep")).slice(1);
  const stopped = await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: ongoing!.serviceDeploymentArn! }));
  assert.equal(stopped.serviceDeploymentArn, ongoing!.serviceDeploymentArn);
  await waitNewest("dep", "ROLLBACK_SUCCESSFUL", 4);
  const service = await waitCompleted("dep", 2, 2, 60_000);
  assert.equal(service.currentServiceDeployment, ongoing!.serviceDeploymentArn, "the rollback is part of the stopped deployment");
  const [document] = (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [ongoing!.serviceDeploymentArn!] }))).serviceDeployments!;
  assert.equal(document!.rollback!.serviceRevisionArn, (await deploymentsOf("dep"))[2]!.targetServiceRevisionArn);
  assert.equal(previous!.status, "ROLLBACK_SUCCESSFUL");
  assert.ok(service.events!.some((event) => /^\(service dep\) rolling back to deployment ecs-svc\/\d{19}\.$/.test(event.message!)));

  await assert.rejects(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: ongoing!.serviceDeploymentArn!, stopType: "ROLLBACK" })), {
    name: "ConflictException",
  });
});

test("deployment history failure paths, a first deployment with nothing to roll back to, and no Cloud Map namespaces", async () => {
  const [completed] = await deploymentsOf("prot");
  assert.equal(completed!.status, "SUCCESSFUL");
  await assert.rejects(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: completed!.serviceDeploymentArn! })), { name: "ConflictException" });
  await assert.rejects(
    ecs.send(
      new StopServiceDeploymentCommand({ serviceDeploymentArn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/hist/dep/AAAAAAAAAAAAAAAAAAAAA" }),
    ),
    { name: "ServiceDeploymentNotFoundException" },
  );
  await assert.rejects(ecs.send(new ListServiceDeploymentsCommand({ cluster: "hist", service: "nothing" })), {
    name: "ServiceNotFoundException",
    message: "Service not found.",
  });
  await assert.rejects(ecs.send(new ListServiceDeploymentsCommand({ cluster: "other", service: "dep" })), { name: "ServiceNotFoundException" });
  const missing = "arn:aws:ecs:us-east-1:123456789012:service-revision/hist/dep/1111111111111111111";
  const revisions = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [missing] }));
  assert.deepEqual(revisions.failures, [{ arn: missing, reason: "MISSING" }]);
  await assert.rejects(ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: Array.from({ length: 21 }, (_, i) => `${missing}${i}`) })), {
    name: "InvalidParameterException",
  });

  await ecs.send(
    new CreateServiceCommand({
      cluster: "hist",
      serviceName: "first",
      taskDefinition: "web:3",
      desiredCount: 1,
      networkConfiguration,
      deploymentConfiguration: breaker(false),
    }),
  );
  const [first] = await deploymentsOf("first");
  assert.equal(first!.status, "IN_PROGRESS");
  await assert.rejects(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: first!.serviceDeploymentArn! })), { name: "ConflictException" });
  await ecs.send(new DeleteServiceCommand({ cluster: "hist", service: "first", force: true }));
  // ECS deletes a service's deployments with it.
  assert.deepEqual(await deploymentsOf("first"), []);

  await assert.rejects(ecs.send(new ListServicesByNamespaceCommand({ namespace: "example" })), {
    name: "NamespaceNotFoundException",
    message: "Failed to retrieve namespace for example",
  });
  const cli = await awsCli(server, ["ecs", "list-services-by-namespace", "--namespace", "example"]);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /NamespaceNotFoundException/);
});
