import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskDefinition } from "@aws-sdk/client-ecs";
import { newTaskDocument } from "./task-document.js";

const definition: TaskDefinition = {
  family: "sample-fargate-app",
  taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/sample-fargate-app:1",
  containerDefinitions: [{ name: "sample-app", image: "nginx:latest", essential: true }],
  cpu: "256",
  memory: "512",
};

test("a new task starts PROVISIONING with PENDING containers and a PRECREATED ENI in its subnet", () => {
  const task = newTaskDocument(
    {
      scope: { partition: "aws", region: "us-east-1", accountId: "123456789012" },
      clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
      clusterName: "demo",
      taskDefinition: definition,
      overrides: undefined,
      cpuUnits: 256,
      memoryMiB: 512,
      ephemeralStorageGiB: 20,
      capacityProviderName: "FARGATE",
      subnetId: "subnet-0123456789abcdef0",
      availabilityZone: "us-east-1a",
      platformVersion: "LATEST",
      startedBy: undefined,
      group: undefined,
      tags: [],
      enableExecuteCommand: false,
      createdAt: new Date(0),
    },
    "0123456789abcdef0123456789abcdef",
  );
  assert.equal(task.taskArn, "arn:aws:ecs:us-east-1:123456789012:task/demo/0123456789abcdef0123456789abcdef");
  assert.equal(task.lastStatus, "PROVISIONING");
  assert.equal(task.desiredStatus, "RUNNING");
  assert.equal(task.group, "family:sample-fargate-app");
  assert.equal(task.platformVersion, "1.4.0");
  assert.equal(task.containers![0]!.lastStatus, "PENDING");
  assert.match(task.containers![0]!.containerArn!, /^arn:aws:ecs:us-east-1:123456789012:container\/demo\/0123456789abcdef0123456789abcdef\/[0-9a-f-]{36}$/);
  assert.deepEqual(task.attachments![0]!.details, [{ name: "subnetId", value: "subnet-0123456789abcdef0" }]);
  assert.deepEqual(task.overrides!.containerOverrides, [{ name: "sample-app" }]);
});
