// Places where ECS answers a fault in its own words (issue 16): each driven through the real AWS
// SDK v3 client against a real `berth server` on loopback, asserting AWS's code and message.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListAccountSettingsCommand,
  ListServicesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from "@aws-sdk/client-ecs";
import type { LaunchType, RegisterTaskDefinitionRequest, SettingName } from "@aws-sdk/client-ecs";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
let ecs: ECSClient;

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
  await ecs.send(new CreateClusterCommand({ clusterName: "fidelity" }));
});
after(async () => {
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const fargate: RegisterTaskDefinitionRequest = {
  family: "fidelity",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "web", image: "nginx" }],
};
const networkConfiguration = { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } };
const LAUNCH_TYPES_MESSAGE = "launchType should be one of [EC2,FARGATE,EXTERNAL,MANAGED_INSTANCES]";

describe("ECS answers as AWS does", () => {
  test("an EC2 definition without task memory needs memory or memoryReservation on every container", async () => {
    const ec2: RegisterTaskDefinitionRequest = {
      family: "ec2-unsized",
      requiresCompatibilities: ["EC2"],
      containerDefinitions: [
        { name: "sized", image: "nginx", memoryReservation: 64 },
        { name: "unsized", image: "nginx" },
      ],
    };
    await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand(ec2)), {
      name: "ClientException",
      message: "Invalid setting for container 'unsized'. At least one of 'memory' or 'memoryReservation' must be specified.",
    });
    // No requiresCompatibilities is EC2 too; a task-level memory or a container's own memory each suffice.
    await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand({ ...ec2, requiresCompatibilities: undefined })), { name: "ClientException" });
    const withTaskMemory = await ecs.send(new RegisterTaskDefinitionCommand({ ...ec2, memory: "512" }));
    assert.equal(withTaskMemory.taskDefinition!.memory, "512");
    const sized = { ...ec2, containerDefinitions: [{ name: "a", image: "nginx", memory: 128 }] };
    assert.equal((await ecs.send(new RegisterTaskDefinitionCommand(sized))).taskDefinition!.containerDefinitions![0]!.memory, 128);
  });

  test('an EFS volume without rootDirectory comes back with "/"; one with it keeps it', async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        ...fargate,
        family: "efs-root",
        volumes: [
          { name: "root", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0" } },
          { name: "sub", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0", rootDirectory: "/data" } },
        ],
      }),
    );
    assert.deepEqual(taskDefinition!.volumes![0]!.efsVolumeConfiguration, { fileSystemId: "fs-0123456789abcdef0", rootDirectory: "/" });
    assert.equal(taskDefinition!.volumes![1]!.efsVolumeConfiguration!.rootDirectory, "/data");
  });

  test("RunTask, CreateService, ListServices and ListTasks refuse a launchType outside the enum", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand(fargate));
    for (const launchType of ["Fargate", "fargate", "", "x".repeat(10_000)]) {
      const bad = launchType as LaunchType;
      const expected = { name: "InvalidParameterException", message: LAUNCH_TYPES_MESSAGE };
      await assert.rejects(ecs.send(new RunTaskCommand({ cluster: "fidelity", taskDefinition: "fidelity", launchType: bad, networkConfiguration })), expected);
      await assert.rejects(
        ecs.send(
          new CreateServiceCommand({
            cluster: "fidelity",
            serviceName: "bad-launch",
            taskDefinition: "fidelity",
            desiredCount: 0,
            launchType: bad,
            networkConfiguration,
          }),
        ),
        expected,
      );
      await assert.rejects(ecs.send(new ListServicesCommand({ cluster: "fidelity", launchType: bad })), expected);
      await assert.rejects(ecs.send(new ListTasksCommand({ cluster: "fidelity", launchType: bad })), expected);
    }
    // Nothing was created by the refused CreateService calls.
    const described = await ecs.send(new DescribeServicesCommand({ cluster: "fidelity", services: ["bad-launch"] }));
    assert.deepEqual(described.services, []);
    assert.equal(described.failures![0]!.reason, "MISSING");
  });

  test("RunTask with FARGATE on a definition Fargate cannot run is refused for that, before the network configuration", async () => {
    await ecs.send(
      new RegisterTaskDefinitionCommand({ family: "bridge-only", networkMode: "bridge", containerDefinitions: [{ name: "web", image: "nginx", memory: 128 }] }),
    );
    const expected = { name: "InvalidParameterException", message: "Task definition does not support launch_type FARGATE." };
    await assert.rejects(ecs.send(new RunTaskCommand({ cluster: "fidelity", taskDefinition: "bridge-only", launchType: "FARGATE" })), expected);
    await assert.rejects(
      ecs.send(
        new CreateServiceCommand({ cluster: "fidelity", serviceName: "bridge-only", taskDefinition: "bridge-only", desiredCount: 1, launchType: "FARGATE" }),
      ),
      expected,
    );
  });

  test("DescribeTasks and DescribeServices refuse an empty list, and more than they take", async () => {
    await assert.rejects(ecs.send(new DescribeTasksCommand({ cluster: "fidelity", tasks: [] })), {
      name: "InvalidParameterException",
      message: "Tasks cannot be empty.",
    });
    await assert.rejects(ecs.send(new DescribeServicesCommand({ cluster: "fidelity", services: [] })), {
      name: "InvalidParameterException",
      message: "Services cannot be empty.",
    });
    const eleven = Array.from({ length: 11 }, (_, i) => `service-${i}`);
    await assert.rejects(ecs.send(new DescribeServicesCommand({ cluster: "fidelity", services: eleven })), {
      name: "InvalidParameterException",
      message: "service names can have at most 10 items.",
    });
    const described = await ecs.send(new DescribeTasksCommand({ cluster: "fidelity", tasks: ["0123456789abcdef0123456789abcdef"] }));
    assert.equal(described.failures![0]!.reason, "MISSING");
  });

  test("ListAccountSettings refuses a setting name ECS does not have, naming the valid ones", async () => {
    for (const name of ["notASetting", "constructor", "__proto__"]) {
      await assert.rejects(ecs.send(new ListAccountSettingsCommand({ name: name as SettingName })), (error: Error) => {
        assert.equal(error.name, "InvalidParameterException");
        assert.match(error.message, /^Invalid setting name: .+\. Valid names are .*serviceLongArnFormat.*taskLongArnFormat/);
        return true;
      });
    }
    const listed = await ecs.send(new ListAccountSettingsCommand({ name: "taskLongArnFormat", effectiveSettings: true }));
    assert.deepEqual(
      listed.settings!.map((setting) => [setting.name, setting.value]),
      [["taskLongArnFormat", "enabled"]],
    );
  });
});
