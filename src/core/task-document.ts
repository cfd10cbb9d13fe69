// The ECS `Task` document of a new Fargate task, as DescribeTasks shows it right after RunTask
// (lastStatus PROVISIONING, containers PENDING, the ENI attachment PRECREATED). The control plane
// stores it and folds the agent's status reports into it.
import type { Task, TaskDefinition, TaskOverride, Tag } from "@aws-sdk/client-ecs";
import { randomBytes, randomUUID } from "node:crypto";
import type { AccountScope } from "./arn.js";
import { buildArn } from "./arn.js";

export interface NewTaskInput {
  readonly scope: AccountScope;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly taskDefinition: TaskDefinition;
  readonly overrides: TaskOverride | undefined;
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly ephemeralStorageGiB: number;
  readonly capacityProviderName: string;
  readonly subnetId: string;
  readonly availabilityZone: string;
  readonly platformVersion: string;
  readonly startedBy: string | undefined;
  readonly group: string | undefined;
  readonly tags: readonly Tag[];
  readonly enableExecuteCommand: boolean;
  readonly createdAt: Date;
}

/** Task ids are 32 hex digits, as in AWS's long task ARN format. */
export function newTaskId(): string {
  return randomBytes(16).toString("hex");
}

export function newTaskDocument(input: NewTaskInput, taskId = newTaskId()): Task {
  const taskArn = buildArn(input.scope, "ecs", `task/${input.clusterName}/${taskId}`);
  const definition = input.taskDefinition;
  const architecture = definition.runtimePlatform?.cpuArchitecture === "ARM64" ? "arm64" : "x86_64";
  const containerOverrides = input.overrides?.containerOverrides ?? [];
  return {
    attachments: [
      {
        id: randomUUID(),
        type: "ElasticNetworkInterface",
        status: "PRECREATED",
        details: [{ name: "subnetId", value: input.subnetId }],
      },
    ],
    attributes: [{ name: "ecs.cpu-architecture", value: architecture }],
    availabilityZone: input.availabilityZone,
    capacityProviderName: input.capacityProviderName,
    clusterArn: input.clusterArn,
    containers: (definition.containerDefinitions ?? []).map((container) => ({
      containerArn: buildArn(input.scope, "ecs", `container/${input.clusterName}/${taskId}/${randomUUID()}`),
      taskArn,
      name: container.name,
      image: container.image,
      lastStatus: "PENDING",
      networkInterfaces: [],
      healthStatus: container.healthCheck ? "UNKNOWN" : undefined,
      cpu: String(container.cpu ?? 0),
      ...(container.memory !== undefined ? { memory: String(container.memory) } : {}),
      ...(container.memoryReservation !== undefined ? { memoryReservation: String(container.memoryReservation) } : {}),
    })),
    cpu: String(input.cpuUnits),
    createdAt: input.createdAt,
    desiredStatus: "RUNNING",
    enableExecuteCommand: input.enableExecuteCommand,
    group: input.group ?? `family:${definition.family}`,
    healthStatus: "UNKNOWN",
    lastStatus: "PROVISIONING",
    launchType: "FARGATE", // Fargate Spot tasks are FARGATE launches too; capacityProviderName tells them apart
    memory: String(input.memoryMiB),
    overrides: {
      ...input.overrides,
      containerOverrides: containerOverrides.length > 0 ? containerOverrides : (definition.containerDefinitions ?? []).map((c) => ({ name: c.name })),
      inferenceAcceleratorOverrides: [],
    },
    platformVersion: input.platformVersion === "LATEST" ? "1.4.0" : input.platformVersion,
    platformFamily: "Linux",
    ...(input.startedBy !== undefined ? { startedBy: input.startedBy } : {}),
    tags: [...input.tags],
    taskArn,
    taskDefinitionArn: definition.taskDefinitionArn,
    version: 1,
    ephemeralStorage: { sizeInGiB: input.ephemeralStorageGiB },
    fargateEphemeralStorage: { sizeInGiB: input.ephemeralStorageGiB },
  };
}
