// CreateService/UpdateService with loadBalancers against a real `berth server`, with two scripted
// hosts standing for agents (test/support/scripted-agent.ts): the checks ECS makes (target group
// found, used by a load balancer, a container and port of the task definition, at most 5, no
// classic load balancer), through the SDK and the AWS CLI; then the scheduler's side: the tasks are
// registered in the group, the deployment completes only once the host running the load balancer's
// node reports them healthy, a target reported unhealthy has its task replaced with ECS's ELB stop
// reason, and a host that does not run the node cannot report health for it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { CreateServiceCommandInput } from "@aws-sdk/client-ecs";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { ScriptedAgent } from "../support/scripted-agent.js";
import { describeService } from "../support/service-waits.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";
import { waitFor } from "../support/wait-for.js";

let server: TestServer;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let hostA: ScriptedAgent;
let hostB: ScriptedAgent;
let subnetId: string;
let loadBalancerArn: string;
let usedGroupArn: string;
let unusedGroupArn: string;

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
  const fixture = await elbv2Fixture(server);
  elb = fixture.elb;
  subnetId = fixture.subnets[0]!.id;
  // Only host-a serves the load balancer's zone: its node is placed there.
  hostA = new ScriptedAgent(server, { hostId: "host-a", availabilityZone: fixture.subnets[0]!.zone });
  hostB = new ScriptedAgent(server, { hostId: "host-b", availabilityZone: fixture.subnets[2]!.zone });
  await hostA.start();
  await hostB.start();
  await ecs.send(new CreateClusterCommand({ clusterName: "lb" }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "web", image: "web:1", portMappings: [{ containerPort: 8080 }] }],
    }),
  );
  loadBalancerArn = (await elb.send(new CreateLoadBalancerCommand({ Name: "front", Subnets: [fixture.subnets[0]!.id, fixture.subnets[1]!.id] })))
    .LoadBalancers![0]!.LoadBalancerArn!;
  const group = async (name: string) =>
    (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: "HTTP",
          Port: 80,
          TargetType: "ip",
          VpcId: fixture.vpcId,
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          HealthyThresholdCount: 2,
        }),
      )
    ).TargetGroups![0]!.TargetGroupArn!;
  usedGroupArn = await group("used");
  unusedGroupArn = await group("unused");
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: usedGroupArn }],
    }),
  );
});

after(async () => {
  await hostA.stop();
  await hostB.stop();
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const create = (input: Partial<CreateServiceCommandInput>) =>
  ecs.send(
    new CreateServiceCommand({
      cluster: "lb",
      serviceName: "checked",
      taskDefinition: "web",
      desiredCount: 0,
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId] } },
      ...input,
    }),
  );
const refused = (message: string | RegExp) => ({ name: "InvalidParameterException", message });

test("loadBalancers are checked as ECS checks them", async () => {
  const entry = { targetGroupArn: usedGroupArn, containerName: "web", containerPort: 8080 };
  await assert.rejects(
    create({ loadBalancers: [{ ...entry, targetGroupArn: unusedGroupArn }] }),
    refused(`The target group with targetGroupArn ${unusedGroupArn} does not have an associated load balancer.`),
  );
  await assert.rejects(create({ loadBalancers: [{ ...entry, containerPort: 80 }] }), refused("The container web did not have a container port 80 defined."));
  await assert.rejects(
    create({ loadBalancers: [{ ...entry, containerName: "other" }] }),
    refused("The container other does not exist in the task definition."),
  );
  await assert.rejects(create({ loadBalancers: [{ ...entry, containerName: undefined }] }), refused("Container Name can not be blank."));
  await assert.rejects(
    create({ loadBalancers: [{ loadBalancerName: "classic", containerName: "web", containerPort: 8080 }] }),
    refused(/classic load balancers/),
  );
  await assert.rejects(create({ loadBalancers: [{ ...entry, targetGroupArn: `${usedGroupArn}0` }] }), refused(/Unable to find target group/));
  await assert.rejects(create({ loadBalancers: [{ ...entry, targetGroupArn: "x".repeat(100_000) }] }), /./, "a huge ARN is refused, not looked up");
  await assert.rejects(create({ loadBalancers: Array.from({ length: 6 }, () => entry) }), refused(/at most 5/));
  // The CLI's shorthand, as the README shows it.
  const cli = await awsCli(server, [
    "ecs",
    "create-service",
    "--cluster",
    "lb",
    "--service-name",
    "from-cli",
    "--task-definition",
    "web",
    "--desired-count",
    "0",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnetId}]}`,
    "--load-balancers",
    `targetGroupArn=${usedGroupArn},containerName=web,containerPort=8080`,
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual((cli.json as { service: { loadBalancers: unknown } }).service.loadBalancers, [entry]);
  assert.deepEqual((await describeService(ecs, "lb", "from-cli")).loadBalancers, [entry]);
});

test("tasks are registered, count as healthy only once their node reports them so, and an unhealthy target's task is replaced", async () => {
  await create({
    serviceName: "web",
    desiredCount: 2,
    healthCheckGracePeriodSeconds: 0,
    loadBalancers: [{ targetGroupArn: usedGroupArn, containerName: "web", containerPort: 8080 }],
  });
  const targets = async () =>
    new Map(
      ((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: usedGroupArn }))).TargetHealthDescriptions ?? []).map((entry) => [
        `${entry.Target!.Id}:${entry.Target!.Port}`,
        entry.TargetHealth!.State!,
      ]),
    );
  await waitFor(async () => (await targets()).size === 2, { what: "both tasks registered", timeoutMs: 20_000 });
  assert.deepEqual([...(await targets()).values()], ["initial", "initial"]);
  for (const key of (await targets()).keys()) assert.match(key, /:8080$/, "registered on the container port");
  await waitFor(
    async () => (await describeService(ecs, "lb", "web")).events!.some((event) => event.message!.includes("registered 2 targets in (target-group")),
    {
      what: "the registration event",
    },
  );
  assert.equal((await describeService(ecs, "lb", "web")).deployments![0]!.rolloutState, "IN_PROGRESS", "not complete before the targets are healthy");

  // host-b does not run the node: what it says is dropped.
  await waitFor(async () => hostA.loadBalancers.length === 1, { what: "host-a to be given the load balancer's node" });
  assert.equal(hostB.loadBalancers.length, 0);
  const report = async (host: ScriptedAgent, state: "healthy" | "unhealthy") => {
    const results = [...(await targets()).keys()].map((key) => {
      const [ip, port] = key.split(":") as [string, string];
      return { loadBalancerArn, targetGroupArn: usedGroupArn, ip, port: Number(port), state, ...(state === "unhealthy" ? { reason: "Target.Timeout" } : {}) };
    });
    await host.reportTargetHealth(results);
  };
  await report(hostB, "healthy");
  assert.deepEqual([...(await targets()).values()], ["initial", "initial"], "a host without the node cannot report health");
  await report(hostA, "healthy");
  await waitFor(async () => (await describeService(ecs, "lb", "web")).deployments![0]!.rolloutState === "COMPLETED", {
    what: "the deployment to complete once its targets are healthy",
    timeoutMs: 20_000,
  });

  // One target reported unhealthy: its task is deregistered, drained and replaced (ECS's stop reason).
  const [firstKey] = [...(await targets()).keys()];
  const [ip, port] = firstKey!.split(":") as [string, string];
  await hostA.reportTargetHealth([{ loadBalancerArn, targetGroupArn: usedGroupArn, ip, port: Number(port), state: "unhealthy", reason: "Target.Timeout" }]);
  await ecs.send(new UpdateServiceCommand({ cluster: "lb", service: "web" })); // wakes the scheduler (any replica)
  const stoppedReason = `Task failed ELB health checks in (target-group ${usedGroupArn})`;
  let stopped: string | undefined;
  await waitFor(
    async () => {
      const arns = hostA.runningTasks();
      const described = arns.length ? ((await ecs.send(new DescribeTasksCommand({ cluster: "lb", tasks: arns }))).tasks ?? []) : [];
      stopped = described.find((task) => task.stoppedReason === stoppedReason)?.taskArn;
      return stopped !== undefined || (await describeService(ecs, "lb", "web")).events!.some((event) => event.message!.includes("failed ELB health checks"));
    },
    // The group's deregistration delay (300 s by default) is not waited for here: the event says the task was taken out.
    { what: "the unhealthy target's task to be taken out", timeoutMs: 20_000 },
  );
  const states = await targets();
  assert.equal(states.get(firstKey!), "draining", "its target drains before the task stops");
  const events = (await describeService(ecs, "lb", "web")).events!.map((event) => event.message!);
  assert.ok(
    events.some((message) => message.includes(`(port 8080) is unhealthy in (target-group ${usedGroupArn}) due to (reason Request timed out).`)),
    `the turn to unhealthy is an event, in AWS's words for the reason: ${events.join(" | ")}`,
  );
});
