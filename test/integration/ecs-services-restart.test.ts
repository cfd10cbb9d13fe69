// A service deployment survives a crash of the server: `berth server` is killed (SIGKILL) in the
// middle of a rolling deployment and started again on the same data dir (and store) and port;
// the deployment goes on from the stored state to COMPLETED with exactly the desired tasks of the
// new revision — none lost, none doubled, none orphaned on the host. A scripted host (the real agent
// protocol; tasks PENDING for a while before RUNNING) keeps polling through the outage.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Service } from "@aws-sdk/client-ecs";
import { CreateServiceCommand, DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { CreateClusterCommand } from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../../src/core/default-network.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import { ScriptedAgent } from "../support/scripted-agent.js";
import { registerRevisions } from "../support/service-waits.js";
import { waitFor } from "../support/wait-for.js";

let server: TestServer;
let agent: ScriptedAgent;
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const networkConfiguration = { awsvpcConfiguration: { subnets: [network.subnets[0]!.subnetId] } };
const DESIRED = 6;

before(async () => {
  server = await startTestServer();
  agent = new ScriptedAgent(server, { hostId: "host-a", availabilityZone: network.subnets[0]!.availabilityZone, runningDelayMs: 400 });
  await agent.start();
  const ecs = new ECSClient(sdkConfig(server));
  await ecs.send(new CreateClusterCommand({ clusterName: "demo" }));
  await registerRevisions(ecs, "web", ["web:1", "web:2"]);
  ecs.destroy();
});

after(async () => {
  await agent.stop();
  await server.stop();
  await server.cleanup();
});

async function describe(ecs: ECSClient): Promise<Service> {
  return (await ecs.send(new DescribeServicesCommand({ cluster: "demo", services: ["web"] }))).services![0]!;
}

test("kill -9 of the server mid-deployment: after the restart the deployment completes with no task lost, doubled or orphaned", async () => {
  let ecs = new ECSClient(sdkConfig(server));
  await ecs.send(new CreateServiceCommand({ cluster: "demo", serviceName: "web", taskDefinition: "web:1", desiredCount: DESIRED, networkConfiguration }));
  await waitFor(async () => (await describe(ecs)).deployments?.[0]?.rolloutState === "COMPLETED", { what: "the first deployment", timeoutMs: 30_000 });

  await ecs.send(new UpdateServiceCommand({ cluster: "demo", service: "web", taskDefinition: "web:2" }));
  let deploymentId = "";
  await waitFor(
    async () => {
      const service = await describe(ecs);
      deploymentId = service.deployments![0]!.id!;
      const primary = service.deployments![0]!;
      return service.deployments!.length === 2 && (primary.pendingCount ?? 0) + (primary.runningCount ?? 0) > 0;
    },
    { what: "the deployment under way" },
  );
  const port = new URL(server.endpoint).port;
  await server.kill();
  ecs.destroy();
  server = await startTestServer({ dataDir: server.dataDir, args: ["--listen", `127.0.0.1:${port}`] });
  ecs = new ECSClient(sdkConfig(server));

  await waitFor(
    async () => {
      const service = await describe(ecs);
      return service.deployments!.length === 1 && service.deployments![0]!.rolloutState === "COMPLETED" && service.runningCount === DESIRED;
    },
    { what: "the deployment completed after the restart", timeoutMs: 60_000 },
  );
  const service = await describe(ecs);
  assert.equal(service.deployments![0]!.id, deploymentId, "the same deployment went on");
  assert.ok(service.deployments![0]!.taskDefinition!.endsWith(":2"));

  const live = (await ecs.send(new ListTasksCommand({ cluster: "demo", serviceName: "web" }))).taskArns!;
  assert.equal(live.length, DESIRED, "exactly the desired tasks are meant to run");
  const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: "demo", tasks: live }))).tasks!;
  assert.ok(
    tasks.every((task) => task.startedBy === deploymentId && task.taskDefinitionArn!.endsWith(":2") && task.lastStatus === "RUNNING"),
    "all of the new revision",
  );
  const started = [
    ...(await ecs.send(new ListTasksCommand({ cluster: "demo", startedBy: deploymentId }))).taskArns!,
    ...(await ecs.send(new ListTasksCommand({ cluster: "demo", startedBy: deploymentId, desiredStatus: "STOPPED" }))).taskArns!,
  ];
  assert.equal(started.length, DESIRED, "the deployment started no task twice");
  await waitFor(async () => agent.runningTasks().length === DESIRED, { what: "the host runs only the service's tasks" });
  assert.deepEqual(agent.runningTasks().sort(), [...live].sort(), "nothing orphaned on the host");
  ecs.destroy();
});
