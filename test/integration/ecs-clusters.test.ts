// Clusters, capacity providers, tags, account settings and the task definition lifecycle operations
// through the real AWS SDK v3 client and the real AWS CLI. Tasks for the cluster statistics are
// placed on a host registered through the agent protocol (no containers: the "agent" is this test).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateClusterCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeCapacityProvidersCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListAccountSettingsCommand,
  ListClustersCommand,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  paginateListClusters,
  PutAccountSettingCommand,
  PutAccountSettingDefaultCommand,
  PutClusterCapacityProvidersCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateClusterCommand,
  UpdateClusterSettingsCommand,
} from "@aws-sdk/client-ecs";
import type { RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
let ecs: ECSClient;
const fargate: RegisterTaskDefinitionRequest = {
  family: "app",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "web", image: "busybox" }],
};
const NOT_ASSOCIATED =
  "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.";
const statistic = (cluster: { statistics?: { name?: string; value?: string }[] }, name: string) =>
  cluster.statistics?.find((entry) => entry.name === name)?.value;

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
});
after(async () => {
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

describe("DescribeClusters", () => {
  test("include SETTINGS, STATISTICS, CONFIGURATIONS, ATTACHMENTS and TAGS, with task counts from the store", async () => {
    await ecs.send(
      new CreateClusterCommand({
        clusterName: "stats",
        tags: [{ key: "team", value: "core" }],
        settings: [{ name: "containerInsights", value: "enabled" }],
        configuration: { executeCommandConfiguration: { logging: "DEFAULT" } },
        capacityProviders: ["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }],
      }),
    );
    await ecs.send(new RegisterTaskDefinitionCommand(fargate));
    const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
    const link = createHttpControlLink({ serverUrl: server.endpoint, token: readFileSync(join(server.dataDir, "agent-token"), "utf8").trim() });
    await link.register({
      protocolVersion,
      hostId: "host-stats",
      agentVersion: "test",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 4096, memoryMiB: 8192, taskSlots: 50, ephemeralGiB: 400 },
      machine: { cpuCount: 8, memoryMiB: 16384 },
      overcommit: false,
      subnetIds: [],
    });
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: "stats",
        taskDefinition: "app",
        launchType: "FARGATE",
        count: 3,
        networkConfiguration: { awsvpcConfiguration: { subnets: [network.subnets[0]!.subnetId] } },
      }),
    );
    assert.equal(run.tasks!.length, 3);
    const running = run.tasks![0]!;
    await link.report("host-stats", {
      reports: [
        {
          protocolVersion,
          taskArn: running.taskArn!,
          lastStatus: "RUNNING",
          desiredStatus: "RUNNING",
          sequence: 1,
          health: "UNKNOWN",
          startedAtMs: Date.now(),
          containers: [],
        },
      ],
    });

    const { clusters } = await ecs.send(
      new DescribeClustersCommand({ clusters: ["stats"], include: ["SETTINGS", "STATISTICS", "CONFIGURATIONS", "ATTACHMENTS", "TAGS"] }),
    );
    const cluster = clusters![0]!;
    assert.equal(cluster.runningTasksCount, 1);
    assert.equal(cluster.pendingTasksCount, 2);
    assert.deepEqual(
      cluster.statistics!.map((entry) => entry.name),
      [
        "runningEC2TasksCount",
        "runningFargateTasksCount",
        "pendingFargateTasksCount",
        "pendingEC2TasksCount",
        "activeEC2ServiceCount",
        "activeFargateServiceCount",
        "drainingFargateServiceCount",
        "drainingEC2ServiceCount",
      ],
    );
    assert.equal(statistic(cluster, "runningFargateTasksCount"), "1");
    assert.equal(statistic(cluster, "pendingFargateTasksCount"), "2");
    assert.equal(statistic(cluster, "runningEC2TasksCount"), "0");
    assert.deepEqual(cluster.settings, [{ name: "containerInsights", value: "enabled" }]);
    assert.deepEqual(cluster.configuration, { executeCommandConfiguration: { logging: "DEFAULT" } });
    assert.deepEqual(cluster.attachments, []);
    assert.equal(cluster.attachmentsStatus, "UPDATE_COMPLETE");
    assert.deepEqual(cluster.tags, [{ key: "team", value: "core" }]);
    assert.deepEqual(cluster.capacityProviders, ["FARGATE", "FARGATE_SPOT"]);

    const plain = (await ecs.send(new DescribeClustersCommand({ clusters: ["stats"] }))).clusters![0]!;
    assert.deepEqual(plain.statistics, []);
    assert.deepEqual(plain.tags, []);
    assert.equal(plain.settings, undefined);

    const cli = await awsCli(server, ["ecs", "describe-clusters", "--clusters", "stats", "--include", "STATISTICS"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(statistic((cli.json as { clusters: { statistics: { name: string; value: string }[] }[] }).clusters[0]!, "pendingFargateTasksCount"), "2");
  });
});

describe("cluster operations", () => {
  test("ListClusters pages with the SDK paginator and the CLI", async () => {
    for (let i = 0; i < 23; i++) await ecs.send(new CreateClusterCommand({ clusterName: `paged-${String(i).padStart(2, "0")}` }));
    const arns: string[] = [];
    for await (const page of paginateListClusters({ client: ecs, pageSize: 5 }, {})) {
      assert.ok(page.clusterArns!.length <= 5);
      arns.push(...page.clusterArns!);
    }
    const paged = arns.filter((arn) => arn.includes("cluster/paged-"));
    assert.equal(paged.length, 23);
    assert.equal(new Set(arns).size, arns.length);
    const cli = await awsCli(server, ["ecs", "list-clusters", "--page-size", "4"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual((cli.json as { clusterArns: string[] }).clusterArns, arns);
    await assert.rejects(ecs.send(new ListClustersCommand({ maxResults: 101 })), {
      name: "InvalidParameterException",
      message: "maxResults must be between 1 and 100.",
    });
    await assert.rejects(ecs.send(new ListClustersCommand({ nextToken: "not-a-token" })), { name: "InvalidParameterException" });
  });

  test("UpdateCluster and UpdateClusterSettings change what DescribeClusters shows", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "updated" }));
    const updated = await ecs.send(new UpdateClusterCommand({ cluster: "updated", configuration: { executeCommandConfiguration: { logging: "NONE" } } }));
    assert.deepEqual(updated.cluster!.configuration, { executeCommandConfiguration: { logging: "NONE" } });
    const settings = await ecs.send(new UpdateClusterSettingsCommand({ cluster: "updated", settings: [{ name: "containerInsights", value: "enhanced" }] }));
    assert.deepEqual(settings.cluster!.settings, [{ name: "containerInsights", value: "enhanced" }]);
    const described = (await ecs.send(new DescribeClustersCommand({ clusters: ["updated"], include: ["SETTINGS", "CONFIGURATIONS"] }))).clusters![0]!;
    assert.deepEqual(described.settings, [{ name: "containerInsights", value: "enhanced" }]);
    assert.deepEqual(described.configuration, { executeCommandConfiguration: { logging: "NONE" } });
    await assert.rejects(
      ecs.send(new UpdateClusterSettingsCommand({ cluster: "updated", settings: [{ name: "containerInsights", value: "maybe" as never }] })),
      { name: "InvalidParameterException" },
    );
    await assert.rejects(ecs.send(new UpdateClusterCommand({ cluster: "nowhere" })), { name: "ClusterNotFoundException" });
    const cli = await awsCli(server, ["ecs", "update-cluster-settings", "--cluster", "updated", "--settings", "name=containerInsights,value=disabled"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual((cli.json as { cluster: { settings: unknown } }).cluster.settings, [{ name: "containerInsights", value: "disabled" }]);
  });

  test("PutClusterCapacityProviders sets the providers and a default strategy naming only them", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "providers" }));
    const put = await ecs.send(
      new PutClusterCapacityProvidersCommand({
        cluster: "providers",
        capacityProviders: ["FARGATE_SPOT"],
        defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 2, base: 1 }],
      }),
    );
    assert.deepEqual(put.cluster!.capacityProviders, ["FARGATE_SPOT"]);
    assert.deepEqual(put.cluster!.defaultCapacityProviderStrategy, [{ capacityProvider: "FARGATE_SPOT", weight: 2, base: 1 }]);
    await assert.rejects(
      ecs.send(
        new PutClusterCapacityProvidersCommand({
          cluster: "providers",
          capacityProviders: ["FARGATE_SPOT"],
          defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }],
        }),
      ),
      { name: "InvalidParameterException", message: NOT_ASSOCIATED },
    );
    await assert.rejects(
      ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "providers", capacityProviders: ["MINE"], defaultCapacityProviderStrategy: [] })),
      {
        name: "InvalidParameterException",
        message: "The specified capacity provider 'MINE' does not exist.",
      },
    );
  });

  test("CreateCluster refuses a default strategy naming a provider the cluster does not have", async () => {
    await assert.rejects(
      ecs.send(
        new CreateClusterCommand({
          clusterName: "unassociated",
          capacityProviders: ["FARGATE"],
          defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
        }),
      ),
      { name: "InvalidParameterException", message: NOT_ASSOCIATED },
    );
    assert.equal((await ecs.send(new DescribeClustersCommand({ clusters: ["unassociated"] }))).failures![0]!.reason, "MISSING");
  });

  test("DescribeCapacityProviders lists FARGATE and FARGATE_SPOT, pages with maxResults/nextToken and includes TAGS on request", async () => {
    const all = await ecs.send(new DescribeCapacityProvidersCommand({}));
    assert.deepEqual(
      all.capacityProviders!.map((provider) => provider.name),
      ["FARGATE", "FARGATE_SPOT"],
    );
    assert.equal(all.capacityProviders![0]!.capacityProviderArn, "arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE");
    assert.equal(all.capacityProviders![0]!.tags, undefined);
    const first = await ecs.send(new DescribeCapacityProvidersCommand({ maxResults: 1 }));
    assert.deepEqual(
      first.capacityProviders!.map((provider) => provider.name),
      ["FARGATE"],
    );
    assert.ok(first.nextToken);
    const second = await ecs.send(new DescribeCapacityProvidersCommand({ maxResults: 1, nextToken: first.nextToken }));
    assert.deepEqual(
      second.capacityProviders!.map((provider) => provider.name),
      ["FARGATE_SPOT"],
    );
    assert.equal(second.nextToken, undefined);
    await assert.rejects(ecs.send(new DescribeCapacityProvidersCommand({ maxResults: 11 })), { name: "InvalidParameterException" });

    const arn = "arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE_SPOT";
    await ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: "cost", value: "low" }] }));
    const tagged = await ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: ["FARGATE_SPOT", "MINE"], include: ["TAGS"] }));
    assert.deepEqual(tagged.capacityProviders![0]!.tags, [{ key: "cost", value: "low" }]);
    assert.deepEqual(tagged.failures, [{ arn: "MINE", reason: "MISSING" }]);
    const cli = await awsCli(server, ["ecs", "describe-capacity-providers", "--capacity-providers", "FARGATE"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((cli.json as { capacityProviders: { status: string }[] }).capacityProviders[0]!.status, "ACTIVE");
  });
});

describe("tags and account settings", () => {
  test("TagResource, UntagResource and ListTagsForResource on a cluster and a task definition", async () => {
    const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: "tags" }));
    await ecs.send(
      new TagResourceCommand({
        resourceArn: cluster!.clusterArn,
        tags: [
          { key: "a", value: "1" },
          { key: "b", value: "2" },
        ],
      }),
    );
    await ecs.send(new TagResourceCommand({ resourceArn: cluster!.clusterArn, tags: [{ key: "a", value: "3" }] }));
    await ecs.send(new UntagResourceCommand({ resourceArn: cluster!.clusterArn, tagKeys: ["b"] }));
    assert.deepEqual((await ecs.send(new ListTagsForResourceCommand({ resourceArn: cluster!.clusterArn }))).tags, [{ key: "a", value: "3" }]);
    const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "tagged-def", tags: [{ key: "v", value: "1" }] }));
    const cli = await awsCli(server, ["ecs", "list-tags-for-resource", "--resource-arn", taskDefinition!.taskDefinitionArn!]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual((cli.json as { tags: unknown }).tags, [{ key: "v", value: "1" }]);
    await assert.rejects(ecs.send(new TagResourceCommand({ resourceArn: cluster!.clusterArn, tags: [{ key: "aws:x", value: "1" }] })), {
      name: "InvalidParameterException",
    });
    await assert.rejects(ecs.send(new ListTagsForResourceCommand({ resourceArn: "arn:aws:ecs:us-east-1:123456789012:cluster/absent" })), {
      name: "ResourceNotFoundException",
    });
  });

  test("PutAccountSetting, PutAccountSettingDefault and ListAccountSettings (effective settings too)", async () => {
    const put = await ecs.send(new PutAccountSettingCommand({ name: "containerInsights", value: "enabled" }));
    assert.deepEqual(put.setting, { name: "containerInsights", value: "enabled", principalArn: "arn:aws:iam::123456789012:root", type: "user" });
    await ecs.send(new PutAccountSettingDefaultCommand({ name: "awsvpcTrunking", value: "enabled" }));
    const listed = await ecs.send(new ListAccountSettingsCommand({}));
    assert.deepEqual(listed.settings!.map((s) => `${s.name}=${s.value}`).sort(), ["awsvpcTrunking=enabled", "containerInsights=enabled"]);
    const effective = await ecs.send(new ListAccountSettingsCommand({ effectiveSettings: true, name: "taskLongArnFormat" }));
    assert.deepEqual(effective.settings, [
      { name: "taskLongArnFormat", value: "enabled", principalArn: "arn:aws:iam::123456789012:root", type: "aws_managed" },
    ]);
    await assert.rejects(ecs.send(new PutAccountSettingCommand({ name: "containerInsights", value: "sometimes" })), { name: "InvalidParameterException" });
    const cli = await awsCli(server, ["ecs", "list-account-settings", "--name", "containerInsights"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((cli.json as { settings: { value: string }[] }).settings[0]!.value, "enabled");
  });
});

describe("task definition lifecycle", () => {
  test("DeregisterTaskDefinition, DeleteTaskDefinitions and ListTaskDefinitionFamilies by status", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "life" }));
    await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "life" }));
    await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "lifeboat" }));
    const deregistered = await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "life:1" }));
    assert.equal(deregistered.taskDefinition!.status, "INACTIVE");
    assert.ok(deregistered.taskDefinition!.deregisteredAt instanceof Date);
    assert.deepEqual((await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "life", status: "INACTIVE" }))).taskDefinitionArns, [
      "arn:aws:ecs:us-east-1:123456789012:task-definition/life:1",
    ]);
    assert.equal(
      (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "life" }))).taskDefinition!.revision,
      2,
      "the family alone names its latest ACTIVE revision",
    );

    const deleted = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ["life:1", "life:2", "life:9"] }));
    assert.deepEqual(
      deleted.taskDefinitions!.map((d) => [d.revision, d.status]),
      [[1, "DELETE_IN_PROGRESS"]],
    );
    assert.deepEqual(
      deleted.failures!.map((f) => f.arn),
      ["arn:aws:ecs:us-east-1:123456789012:task-definition/life:2", "life:9"],
    );
    assert.equal(deleted.failures![0]!.reason, "The specified task definition is still in ACTIVE status. Deregister the target and try again.");
    await assert.rejects(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "life:1" })), {
      name: "ClientException",
      message: "Unable to describe task definition.",
    });

    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "lifeboat:1" }));
    const active = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "life" }));
    assert.deepEqual(active.families, ["life"]);
    const inactive = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "life", status: "INACTIVE" }));
    assert.deepEqual(inactive.families, ["lifeboat"]);
    const everything = await awsCli(server, ["ecs", "list-task-definition-families", "--family-prefix", "life", "--status", "ALL"]);
    assert.equal(everything.code, 0, everything.stderr);
    assert.deepEqual((everything.json as { families: string[] }).families, ["life", "lifeboat"]);
  });
});
