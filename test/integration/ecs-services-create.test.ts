// CreateService's rules of creation against a real `berth server` started with
// --services-per-cluster 3, with one scripted host: the clientToken answers a retry of the same
// request and refuses the same token with other parameters; tags are written with the service; a
// cluster holds at most its quota of ACTIVE and DRAINING services, concurrent creates take only
// the free slots, and a deleted service frees its slot once INACTIVE (not while DRAINING).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { CreateServiceCommandInput } from "@aws-sdk/client-ecs";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServicesCommand,
  ListTagsForResourceCommand,
} from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../../src/core/default-network.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { ScriptedAgent } from "../support/scripted-agent.js";
import { describeService, registerRevisions } from "../support/service-waits.js";
import { waitFor } from "../support/wait-for.js";

let server: TestServer;
let ecs: ECSClient;
let agent: ScriptedAgent;
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const networkConfiguration = { awsvpcConfiguration: { subnets: [network.subnets[0]!.subnetId], assignPublicIp: "DISABLED" as const } };
const NOT_IDEMPOTENT = { name: "InvalidParameterException", message: "Creation of service was not idempotent." };
const QUOTA = { name: "LimitExceededException", message: "The cluster has reached its limit of 3 services." };

before(async () => {
  server = await startTestServer({ args: ["--services-per-cluster", "3"] });
  ecs = new ECSClient(sdkConfig(server));
  agent = new ScriptedAgent(server, { hostId: "host-a", availabilityZone: network.subnets[0]!.availabilityZone });
  await agent.start();
  for (const cluster of ["idem", "quota"]) await awsCli(server, ["ecs", "create-cluster", "--cluster-name", cluster]);
  await registerRevisions(ecs, "web", ["web:1", "web:2"]);
});

after(async () => {
  await agent.stop();
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const create = (input: Partial<CreateServiceCommandInput>) =>
  ecs.send(new CreateServiceCommand({ serviceName: "api", taskDefinition: "web:1", desiredCount: 0, networkConfiguration, ...input }));

test("a clientToken retried with the same request answers the service it created; with any other parameter it is refused", async () => {
  const request = { cluster: "idem", clientToken: "token-1", tags: [{ key: "team", value: "a" }] };
  const first = (await create(request)).service!;
  // The same request, its cluster named by ARN this time (the same cluster).
  const again = (await create({ ...request, cluster: first.clusterArn })).service!;
  assert.equal(again.serviceArn, first.serviceArn);
  assert.equal(again.deployments![0]!.id, first.deployments![0]!.id, "no second deployment");
  assert.equal(again.createdAt!.getTime(), first.createdAt!.getTime());

  await assert.rejects(create({ ...request, taskDefinition: "web:2" }), NOT_IDEMPOTENT, "another task definition");
  await assert.rejects(create({ ...request, desiredCount: 1 }), NOT_IDEMPOTENT, "another desired count");
  await assert.rejects(create({ ...request, tags: [{ key: "team", value: "b" }] }), NOT_IDEMPOTENT, "other tags");
  await assert.rejects(create({ ...request, propagateTags: "SERVICE" }), NOT_IDEMPOTENT, "another propagateTags");
  await assert.rejects(create({ ...request, clientToken: "token-2" }), NOT_IDEMPOTENT, "another token");
  await assert.rejects(create({ ...request, clientToken: undefined }), NOT_IDEMPOTENT, "no token");

  const service = await describeService(ecs, "idem", "api");
  assert.equal(service.taskDefinition, first.taskDefinition, "the refused requests changed nothing");
  assert.equal(service.desiredCount, 0);
  assert.deepEqual((await ecs.send(new ListServicesCommand({ cluster: "idem" }))).serviceArns, [first.serviceArn]);
  // The tags were written with the service (one transaction), and the refused retries added none.
  assert.deepEqual((await ecs.send(new ListTagsForResourceCommand({ resourceArn: first.serviceArn }))).tags, [{ key: "team", value: "a" }]);
  const described = await ecs.send(new DescribeServicesCommand({ cluster: "idem", services: ["api"], include: ["TAGS"] }));
  assert.deepEqual(described.services![0]!.tags, [{ key: "team", value: "a" }]);
});

test("concurrent retries of one request with one clientToken create one service and all answer it", async () => {
  const answers = await Promise.all(Array.from({ length: 6 }, () => create({ cluster: "idem", serviceName: "burst", clientToken: "token-burst" })));
  assert.equal(new Set(answers.map((answer) => answer.service!.serviceArn)).size, 1);
  assert.equal(new Set(answers.map((answer) => answer.service!.deployments![0]!.id)).size, 1);
});

test("a cluster holds at most its quota of ACTIVE and DRAINING services: concurrent creates take only the free slots; a deleted service frees its slot once INACTIVE", async () => {
  const q1 = (await create({ cluster: "quota", serviceName: "q1", desiredCount: 1 })).service!;
  await waitFor(async () => (await describeService(ecs, "quota", "q1")).runningCount === 1, { what: "q1's task RUNNING" });

  const raced = await Promise.allSettled(["q2", "q3", "q4", "q5", "q6"].map((serviceName) => create({ cluster: "quota", serviceName })));
  assert.equal(raced.filter((outcome) => outcome.status === "fulfilled").length, 2, "two slots were free");
  for (const outcome of raced.filter((one) => one.status === "rejected")) {
    assert.equal(outcome.reason.name, QUOTA.name);
    assert.equal(outcome.reason.message, QUOTA.message);
  }
  assert.equal((await ecs.send(new ListServicesCommand({ cluster: "quota" }))).serviceArns!.length, 3);
  // A retry of a service that exists is answered as such, quota or not; the quota is per cluster.
  await assert.rejects(create({ cluster: "quota", serviceName: "q1", desiredCount: 1 }), NOT_IDEMPOTENT);
  await create({ cluster: "idem", serviceName: "elsewhere" });

  // The host goes silent, so q1's task cannot be stopped: deleted, q1 stays DRAINING until the host
  // is declared lost. DRAINING, it is not listed but still holds its slot.
  await agent.stop();
  assert.equal((await ecs.send(new DeleteServiceCommand({ cluster: "quota", service: "q1", force: true }))).service!.status, "DRAINING");
  assert.equal((await ecs.send(new ListServicesCommand({ cluster: "quota" }))).serviceArns!.length, 2, "a DRAINING service is not listed");
  await assert.rejects(create({ cluster: "quota", serviceName: "extra" }), QUOTA);
  assert.equal((await describeService(ecs, "quota", "q1")).status, "DRAINING", "the refusal was made while q1 was DRAINING");

  await waitFor(async () => (await describeService(ecs, "quota", "q1")).status === "INACTIVE", { what: "q1 INACTIVE", timeoutMs: 60_000 });
  const extra = (await create({ cluster: "quota", serviceName: "extra" })).service!;
  assert.equal(extra.status, "ACTIVE");
  await assert.rejects(create({ cluster: "quota", serviceName: "q1" }), QUOTA, "the quota is full again");
  // An INACTIVE service's name is free: once a slot is, q1 is created anew over it.
  await ecs.send(new DeleteServiceCommand({ cluster: "quota", service: "extra" }));
  await waitFor(async () => (await describeService(ecs, "quota", "extra")).status === "INACTIVE", { what: "extra INACTIVE" });
  const recreated = (await create({ cluster: "quota", serviceName: "q1" })).service!;
  assert.equal(recreated.status, "ACTIVE");
  assert.ok(recreated.createdAt!.getTime() > q1.createdAt!.getTime());
});
