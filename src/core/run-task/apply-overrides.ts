// RunTask overrides (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskOverride.html)
// checked like registration and applied to the task definition, giving the effective definition
// the host agent runs.
import type { TaskDefinition, TaskOverride } from "@aws-sdk/client-ecs";
import { invalidParameterException } from "../errors.js";
import { assertFargateSize, parseCpuUnits, parseMemoryMiB } from "../fargate-size.js";

export interface EffectiveTask {
  readonly definition: TaskDefinition;
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly ephemeralStorageGiB: number;
}

export function applyOverrides(definition: TaskDefinition, overrides: TaskOverride | undefined): EffectiveTask {
  const cpuText = overrides?.cpu ?? definition.cpu;
  const memoryText = overrides?.memory ?? definition.memory;
  const cpuUnits = cpuText === undefined ? undefined : parseCpuUnits(cpuText);
  const memoryMiB = memoryText === undefined ? undefined : parseMemoryMiB(memoryText);
  if (cpuUnits === undefined || memoryMiB === undefined) throw invalidParameterException("Task cpu and memory must be set for the Fargate launch type.");
  try {
    assertFargateSize(cpuUnits, memoryMiB, { windows: definition.runtimePlatform?.operatingSystemFamily?.startsWith("WINDOWS") ?? false });
  } catch (error) {
    if (overrides?.cpu !== undefined || overrides?.memory !== undefined) throw invalidParameterException((error as Error).message);
    throw error;
  }
  const ephemeralStorageGiB = overrides?.ephemeralStorage?.sizeInGiB ?? definition.ephemeralStorage?.sizeInGiB ?? 20;
  if (overrides?.ephemeralStorage?.sizeInGiB !== undefined && (ephemeralStorageGiB < 21 || ephemeralStorageGiB > 200)) {
    throw invalidParameterException("The ephemeral storage size must be between 21 GiB and 200 GiB."); // wording not confirmed
  }
  const containers = definition.containerDefinitions ?? [];
  for (const override of overrides?.containerOverrides ?? []) {
    if (!containers.some((container) => container.name === override.name)) {
      throw invalidParameterException(`Override for container named ${override.name} is not a container in the TaskDefinition.`); // wording not confirmed
    }
  }
  const effective: TaskDefinition = {
    ...definition,
    cpu: String(cpuUnits),
    memory: String(memoryMiB),
    ...(overrides?.taskRoleArn !== undefined ? { taskRoleArn: overrides.taskRoleArn } : {}),
    ...(overrides?.executionRoleArn !== undefined ? { executionRoleArn: overrides.executionRoleArn } : {}),
    ephemeralStorage: { sizeInGiB: ephemeralStorageGiB },
    containerDefinitions: containers.map((container) => {
      const override = overrides?.containerOverrides?.find((candidate) => candidate.name === container.name);
      if (!override) return container;
      const environment = [...(container.environment ?? [])];
      for (const variable of override.environment ?? []) {
        const index = environment.findIndex((existing) => existing.name === variable.name);
        if (index >= 0) environment[index] = variable;
        else environment.push(variable);
      }
      return {
        ...container,
        ...(override.command !== undefined ? { command: override.command } : {}),
        environment,
        ...(override.cpu !== undefined ? { cpu: override.cpu } : {}),
        ...(override.memory !== undefined ? { memory: override.memory } : {}),
        ...(override.memoryReservation !== undefined ? { memoryReservation: override.memoryReservation } : {}),
      };
    }),
  };
  return { definition: effective, cpuUnits, memoryMiB, ephemeralStorageGiB };
}
