// Clusters and task definitions through the real AWS SDK v3 client and the real AWS CLI against a
// real `berth server` on loopback.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  paginateListTaskDefinitions,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from "@aws-sdk/client-ecs";
import type { RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";
import { rejectedCases } from "../support/fargate-rejected-cases.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

const sample = new URL("../../../shared/samples/sample-fargate-app.json", import.meta.url).pathname;
let server: TestServer;
let ecs: ECSClient;

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
});
after(async () => {
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const fargate: RegisterTaskDefinitionRequest = {
  family: "validation",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  containerDefinitions: [{ name: "web", image: "nginx" }],
};

describe("ECS clusters and task definitions", () => {
  test("the AWS CLI registers and describes the AWS sample task definition", async () => {
    const created = await awsCli(server, ["ecs", "create-cluster", "--cluster-name", "demo"]);
    assert.equal(created.code, 0, created.stderr);
    const registered = await awsCli(server, ["ecs", "register-task-definition", "--cli-input-json", `file://${sample}`]);
    assert.equal(registered.code, 0, registered.stderr);
    const described = await awsCli(server, ["ecs", "describe-task-definition", "--task-definition", "sample-fargate-app", "--include", "TAGS"]);
    assert.equal(described.code, 0, described.stderr);
    const definition = (described.json as { taskDefinition: Record<string, unknown> }).taskDefinition;
    assert.equal(definition.cpu, "256");
    assert.equal(definition.memory, "512");
    assert.equal(definition.networkMode, "awsvpc");
    assert.equal(definition.status, "ACTIVE");
    assert.equal(definition.taskDefinitionArn, "arn:aws:ecs:us-east-1:123456789012:task-definition/sample-fargate-app:1");
    assert.equal(definition.registeredBy, "arn:aws:iam::123456789012:root");
    assert.deepEqual((definition.containerDefinitions as { portMappings: unknown }[])[0]!.portMappings, [{ containerPort: 80, hostPort: 80, protocol: "tcp" }]);
  });

  test("the SDK describes by family, family:revision and ARN, with registeredAt as a Date", async () => {
    const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "by-ref" }));
    for (const reference of ["by-ref", "by-ref:1", taskDefinition!.taskDefinitionArn!]) {
      const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: reference }));
      assert.equal(described.taskDefinition!.revision, 1);
      assert.ok(described.taskDefinition!.registeredAt instanceof Date);
      assert.ok(Math.abs(described.taskDefinition!.registeredAt!.getTime() - Date.now()) < 60_000);
    }
  });

  test("pages through 250 task definitions with the SDK paginator and the CLI", async () => {
    for (let i = 0; i < 250; i++) await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "page" }));
    // Neighbours whose names start with "page": ListTaskDefinitions' familyPrefix is the whole family name.
    for (const family of ["page-2", "pages"]) await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, family }));
    const arns: string[] = [];
    for await (const result of paginateListTaskDefinitions({ client: ecs, pageSize: 30 }, { familyPrefix: "page" }))
      arns.push(...(result.taskDefinitionArns ?? []));
    assert.equal(arns.length, 250);
    assert.equal(new Set(arns).size, 250);
    assert.ok(arns.every((arn) => /:task-definition\/page:\d+$/.test(arn)));
    assert.match(arns[0]!, /page:1$/);
    const cli = await awsCli(server, ["ecs", "list-task-definitions", "--family-prefix", "page", "--sort", "DESC", "--page-size", "40"]);
    assert.equal(cli.code, 0, cli.stderr);
    const listed = (cli.json as { taskDefinitionArns: string[] }).taskDefinitionArns;
    assert.equal(listed.length, 250);
    assert.match(listed[0]!, /page:250$/);
    // ListTaskDefinitionFamilies keeps prefix semantics.
    const families = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "page" }));
    assert.deepEqual(families.families, ["page", "page-2", "pages"]);
  });

  test("a cluster with a MISSING neighbour, tags on request, then deleted", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "tagged", tags: [{ key: "team", value: "core" }] }));
    const described = await ecs.send(new DescribeClustersCommand({ clusters: ["tagged", "absent"], include: ["TAGS"] }));
    assert.deepEqual(described.clusters![0]!.tags, [{ key: "team", value: "core" }]);
    assert.equal(described.failures![0]!.reason, "MISSING");
    await ecs.send(new DeleteClusterCommand({ cluster: "tagged" }));
    await assert.rejects(ecs.send(new DeleteClusterCommand({ cluster: "tagged" })), { name: "ClusterNotFoundException" });
  });

  test("a cluster re-created under a deleted cluster's name does not inherit its tags", async () => {
    const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: "reborn", tags: [{ key: "team", value: "core" }] }));
    await ecs.send(new DeleteClusterCommand({ cluster: "reborn" }));
    const again = await ecs.send(new CreateClusterCommand({ clusterName: "reborn" }));
    assert.equal(again.cluster!.clusterArn, cluster!.clusterArn);
    assert.deepEqual(again.cluster!.tags, []);
    const described = await ecs.send(new DescribeClustersCommand({ clusters: ["reborn"], include: ["TAGS"] }));
    assert.deepEqual(described.clusters![0]!.tags, []);
    assert.deepEqual((await ecs.send(new ListTagsForResourceCommand({ resourceArn: cluster!.clusterArn }))).tags, []);
  });

  test("an EC2 definition that breaks a Fargate rule lacks FARGATE in compatibilities and RunTask refuses it", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "compat" }));
    const privileged = { ...fargate, requiresCompatibilities: ["EC2" as const], containerDefinitions: [{ name: "web", image: "nginx", privileged: true }] };
    const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand({ ...privileged, family: "ec2-privileged" }));
    assert.deepEqual(taskDefinition!.compatibilities, ["EC2"]);
    const fits = await ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, requiresCompatibilities: ["EC2"], family: "ec2-fits" }));
    assert.deepEqual(fits.taskDefinition!.compatibilities, ["EC2", "FARGATE"]);
    const networkConfiguration = { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } };
    await assert.rejects(ecs.send(new RunTaskCommand({ cluster: "compat", taskDefinition: "ec2-privileged", launchType: "FARGATE", networkConfiguration })), {
      name: "InvalidParameterException",
      message: "Task definition does not support launch_type FARGATE.",
    });
  });

  test("RunTask on platform 1.3.0 refuses a definition with an EFS volume; an unknown platform is PlatformUnknownException", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "platforms" }));
    const efs = {
      ...fargate,
      family: "with-efs",
      volumes: [{ name: "shared", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0" } }],
      containerDefinitions: [{ name: "web", image: "nginx", mountPoints: [{ sourceVolume: "shared", containerPath: "/data" }] }],
    };
    await ecs.send(new RegisterTaskDefinitionCommand(efs));
    const networkConfiguration = { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } };
    const run = (platformVersion: string) =>
      ecs.send(new RunTaskCommand({ cluster: "platforms", taskDefinition: "with-efs", launchType: "FARGATE", platformVersion, networkConfiguration }));
    await assert.rejects(run("1.3.0"), {
      name: "PlatformTaskDefinitionIncompatibilityException",
      message: "One or more of the requested capabilities are not supported.",
    });
    await assert.rejects(run("9.9.9"), { name: "PlatformUnknownException", message: "The specified platform does not exist." });
  });

  for (const [behaviour, change, message] of rejectedCases) {
    test(`through the SDK: ${behaviour}`, async () => {
      await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand({ ...fargate, ...change })), (error: Error) => {
        assert.equal(error.name, "ClientException");
        assert.equal(error.message, message);
        return true;
      });
    });
  }

  test("the AWS CLI prints AWS's error name for a size that Fargate does not offer", async () => {
    const result = await awsCli(server, [
      "ecs",
      "register-task-definition",
      "--family",
      "x",
      "--network-mode",
      "awsvpc",
      "--requires-compatibilities",
      "FARGATE",
      "--cpu",
      "256",
      "--memory",
      "4096",
      "--container-definitions",
      '[{"name":"a","image":"nginx"}]',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /\(ClientException\) when calling the RegisterTaskDefinition operation: No Fargate configuration exists for given values\./);
  });
});

describe("durability", () => {
  test("an acknowledged write survives kill -9 of the server", async () => {
    const crashing = await startTestServer();
    const client = new ECSClient(sdkConfig(crashing));
    try {
      await client.send(new RegisterTaskDefinitionCommand({ ...fargate, family: "durable" }));
      await crashing.kill();
      const restarted = await startTestServer({ dataDir: crashing.dataDir });
      const again = new ECSClient(sdkConfig(restarted));
      try {
        const described = await again.send(new DescribeTaskDefinitionCommand({ taskDefinition: "durable:1" }));
        assert.equal(described.taskDefinition!.family, "durable");
      } finally {
        again.destroy();
        await restarted.stop();
      }
    } finally {
      client.destroy();
      await crashing.cleanup();
    }
  });
});
