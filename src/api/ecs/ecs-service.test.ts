import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.js";
import type { Store } from "../../store/index.js";
import { openStore } from "../../store/index.js";
import type { JsonServiceModule, RequestContext } from "../service-module.js";
import { RawJsonOutput } from "../wire-json.js";
import { createEcsService } from "./index.js";

const request: RequestContext = {
  requestId: "r",
  accountId: "123456789012",
  region: "us-east-1",
  partition: "aws",
  accessKeyId: "AKIA",
  principalArn: "arn:aws:iam::123456789012:root",
  caller: { kind: "root", arn: "arn:aws:iam::123456789012:root", account: "123456789012" },
  receivedAt: 0,
};
let store: Store;
let ecs: JsonServiceModule;
const call = async (operation: string, input: Record<string, unknown> = {}) => {
  const output = await ecs.operations[operation]!(input, request);
  // Answers kept in wire form are read back as a client would.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses are checked field by field below
  return (output instanceof RawJsonOutput ? JSON.parse(output.text) : output) as Record<string, any>;
};

beforeEach(async () => {
  store = await openStore({ inMemory: true });
  ecs = createEcsService({ store, clock: systemClock, scope: { partition: "aws", region: "us-east-1", accountId: "123456789012" } });
});
afterEach(() => store.close());

const definition = {
  family: "app",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "web", image: "nginx" }],
};

test("revisions count up per family and are never reused after deletion", async () => {
  const first = await call("RegisterTaskDefinition", definition);
  assert.equal(first.taskDefinition.taskDefinitionArn, "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1");
  assert.equal(first.taskDefinition.registeredBy, request.principalArn);
  await call("DeregisterTaskDefinition", { taskDefinition: "app:1" });
  await call("DeleteTaskDefinitions", { taskDefinitions: ["app:1"] });
  const second = await call("RegisterTaskDefinition", definition);
  assert.equal(second.taskDefinition.revision, 2);
  assert.equal((await call("DescribeTaskDefinition", { taskDefinition: "app" })).taskDefinition.revision, 2);
  await assert.rejects(call("DescribeTaskDefinition", { taskDefinition: "app:1" }), {
    name: "ClientException",
    message: "Unable to describe task definition.",
  });
});

test("an ACTIVE definition cannot be deleted", async () => {
  await call("RegisterTaskDefinition", definition);
  const result = await call("DeleteTaskDefinitions", { taskDefinitions: ["app:1"] });
  assert.equal(result.failures.length, 1);
  assert.match(result.failures[0].reason, /still in ACTIVE status/);
});

test("clusters: idempotent create, MISSING failures, include, pagination and delete", async () => {
  await call("CreateCluster", { clusterName: "a", tags: [{ key: "team", value: "x" }] });
  await call("CreateCluster", { clusterName: "a" });
  await call("CreateCluster", { clusterName: "b" });
  const described = await call("DescribeClusters", { clusters: ["a", "nope"], include: ["TAGS", "SETTINGS"] });
  assert.deepEqual(described.clusters[0].tags, [{ key: "team", value: "x" }]);
  assert.deepEqual(described.clusters[0].settings, [{ name: "containerInsights", value: "disabled" }]);
  assert.deepEqual(described.failures, [{ arn: "arn:aws:ecs:us-east-1:123456789012:cluster/nope", reason: "MISSING" }]);
  const page = await call("ListClusters", { maxResults: 1 });
  const rest = await call("ListClusters", { maxResults: 1, nextToken: page.nextToken });
  assert.deepEqual(
    [...page.clusterArns, ...rest.clusterArns].map((a: string) => a.split("/")[1]),
    ["a", "b"],
  );
  await call("DeleteCluster", { cluster: "a" });
  assert.equal((await call("DescribeClusters", { clusters: ["a"] })).clusters[0].status, "INACTIVE");
  await assert.rejects(call("DeleteCluster", { cluster: "a" }), { name: "ClusterNotFoundException" });
});

test("account settings resolve principal over default over AWS's default", async () => {
  await call("PutAccountSettingDefault", { name: "containerInsights", value: "enabled" });
  const effective = await call("ListAccountSettings", { effectiveSettings: true, name: "containerInsights" });
  assert.equal(effective.settings[0].value, "enabled");
  await assert.rejects(call("PutAccountSetting", { name: "containerInsights", value: "maybe" }), { name: "InvalidParameterException" });
});
