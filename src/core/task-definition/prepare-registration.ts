// RegisterTaskDefinition for Fargate: every rule of ../shared/REFERENCE.md "Fargate validation" and
// "Task size", and the normalised definition as DescribeTaskDefinition echoes it (integer-string
// cpu/memory, container defaults, compatibilities, requiresAttributes). Messages are AWS's where
// known; those marked "wording not confirmed" are ours in AWS's style.
import type { ContainerDefinition, RegisterTaskDefinitionRequest, TaskDefinition, Volume } from "@aws-sdk/client-ecs";
import { Compatibility, CPUArchitecture, NetworkMode, OSFamily } from "@aws-sdk/client-ecs";
import { clientException, isAwsError } from "../errors.js";
import { assertFargateSize, parseCpuUnits, parseMemoryMiB } from "../fargate-size.js";
import { requiredAttributes } from "./required-attributes.js";
import { validateContainer } from "./validate-container.js";

export type PreparedTaskDefinition = Omit<
  TaskDefinition,
  "taskDefinitionArn" | "revision" | "status" | "registeredAt" | "registeredBy" | "deregisteredAt" | "deleteRequestedAt"
>;

const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;
/** "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens" (ECS API, Volume.name). */
const VOLUME_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const SEE_TROUBLESHOOTING = "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";
// The enums as the SDK's model has them.
const NETWORK_MODES: readonly string[] = Object.values(NetworkMode);
const COMPATIBILITIES: readonly string[] = Object.values(Compatibility);
const CPU_ARCHITECTURES: readonly string[] = Object.values(CPUArchitecture);
const OS_FAMILIES: readonly string[] = Object.values(OSFamily);
const REJECTED_VOLUME_FIELDS = ["dockerVolumeConfiguration"] as const;

export function prepareTaskDefinitionRegistration(request: RegisterTaskDefinitionRequest): PreparedTaskDefinition {
  const requiresFargate = request.requiresCompatibilities?.includes("FARGATE") ?? false;
  const prepared = validateAndNormalise(request, requiresFargate);
  // AWS computes `compatibilities` by validating the definition against each launch type: it
  // lists FARGATE only when every Fargate rule passes, whether or not FARGATE was required. EC2 is
  // always listed (Berth has no EC2 rules to check, and AWS lists it for every definition that fits
  // Fargate); other required launch types are listed as asked for.
  const fitsFargate = requiresFargate || passesFargateRules(request);
  const compatibilities = [...new Set(["EC2", ...(fitsFargate ? ["FARGATE"] : []), ...(request.requiresCompatibilities ?? [])])] as Compatibility[];
  return { ...prepared, compatibilities };
}

function passesFargateRules(request: RegisterTaskDefinitionRequest): boolean {
  try {
    validateAndNormalise(request, true);
    return true;
  } catch (error) {
    if (isAwsError(error)) return false;
    throw error;
  }
}

// The checks run in this order, so that a definition with several faults is refused for the same one each time.
function validateAndNormalise(request: RegisterTaskDefinitionRequest, fargate: boolean): PreparedTaskDefinition {
  assertFamilyAndModes(request, fargate);
  const { cpuUnits, memoryMiB } = taskSize(request, fargate);
  assertTaskOptions(request, fargate);
  const volumes = request.volumes ?? [];
  const volumeNames = validVolumeNames(volumes, fargate);
  const containers = request.containerDefinitions ?? [];
  const names = uniqueContainerNames(containers);
  const normalised = containers.map((container) =>
    validateContainer(container, {
      fargate,
      networkMode: request.networkMode,
      containerNames: names,
      volumeNames,
      hasExecutionRole: request.executionRoleArn !== undefined,
      allContainers: containers,
    }),
  );
  if (!normalised.some((container) => container.essential)) throw clientException("Task definition must contain at least one essential container."); // wording not confirmed
  if (memoryMiB === undefined) assertContainerMemory(normalised);
  checkResourceSums(normalised, cpuUnits, memoryMiB);

  return {
    family: request.family ?? "",
    containerDefinitions: normalised,
    ...(request.taskRoleArn !== undefined ? { taskRoleArn: request.taskRoleArn } : {}),
    ...(request.executionRoleArn !== undefined ? { executionRoleArn: request.executionRoleArn } : {}),
    ...(request.networkMode !== undefined ? { networkMode: request.networkMode } : {}),
    volumes: volumes.map(withEfsRootDirectory),
    requiresAttributes: requiredAttributes({ ...request, containerDefinitions: normalised }),
    placementConstraints: request.placementConstraints ?? [],
    ...(request.requiresCompatibilities !== undefined ? { requiresCompatibilities: request.requiresCompatibilities } : {}),
    ...(cpuUnits !== undefined ? { cpu: String(cpuUnits) } : {}),
    ...(memoryMiB !== undefined ? { memory: String(memoryMiB) } : {}),
    ...(request.pidMode !== undefined ? { pidMode: request.pidMode } : {}),
    ...(request.ipcMode !== undefined ? { ipcMode: request.ipcMode } : {}),
    ...(request.proxyConfiguration !== undefined ? { proxyConfiguration: request.proxyConfiguration } : {}),
    ...(request.ephemeralStorage !== undefined ? { ephemeralStorage: request.ephemeralStorage } : {}),
    ...(request.runtimePlatform !== undefined ? { runtimePlatform: request.runtimePlatform } : {}),
    ...(request.enableFaultInjection !== undefined ? { enableFaultInjection: request.enableFaultInjection } : {}),
  };
}

/** Family name, container count, network mode and launch types. */
function assertFamilyAndModes(request: RegisterTaskDefinitionRequest, fargate: boolean): void {
  if (!FAMILY.test(request.family ?? "")) {
    throw clientException(
      "Family contains invalid characters or is too long. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.",
    ); // wording not confirmed
  }
  const containers = request.containerDefinitions ?? [];
  if (containers.length === 0) throw clientException("Container list cannot be empty.");
  if (containers.length > 10) throw clientException("Too many containers. A task definition can have at most 10 containers."); // wording not confirmed
  const networkMode = request.networkMode;
  if (networkMode !== undefined && !NETWORK_MODES.includes(networkMode))
    throw clientException(`Invalid networkMode '${networkMode}'. Valid values are ${NETWORK_MODES.join(", ")}.`); // wording not confirmed
  for (const compatibility of request.requiresCompatibilities ?? []) {
    if (!COMPATIBILITIES.includes(compatibility)) {
      throw clientException(`Invalid requiresCompatibilities value '${compatibility}'. Valid values are ${COMPATIBILITIES.join(", ")}.`); // wording not confirmed
    }
  }
  if (fargate && networkMode !== "awsvpc") throw clientException("Fargate only supports network mode 'awsvpc'.");
}

/** The task's cpu and memory, parsed, on a valid platform, and (for Fargate) set and one of its sizes. */
function taskSize(request: RegisterTaskDefinitionRequest, fargate: boolean): { cpuUnits: number | undefined; memoryMiB: number | undefined } {
  const cpuUnits = request.cpu === undefined ? undefined : parseCpuUnits(request.cpu);
  const memoryMiB = request.memory === undefined ? undefined : parseMemoryMiB(request.memory);
  // AWS's wording for cpu, from the ECS Developer Guide's troubleshooting page ("Invalid CPU or
  // memory value specified"); the memory one is ours by analogy.
  if (request.cpu !== undefined && cpuUnits === undefined) throw clientException(`Invalid 'cpu' setting for task. ${SEE_TROUBLESHOOTING}`);
  if (request.memory !== undefined && memoryMiB === undefined) throw clientException(`Invalid 'memory' setting for task. ${SEE_TROUBLESHOOTING}`); // wording not confirmed
  const platform = request.runtimePlatform;
  if (platform?.cpuArchitecture !== undefined && !CPU_ARCHITECTURES.includes(platform.cpuArchitecture)) {
    throw clientException(`Invalid cpuArchitecture '${platform.cpuArchitecture}'. Valid values are ${CPU_ARCHITECTURES.join(", ")}.`); // wording not confirmed
  }
  const osFamily = platform?.operatingSystemFamily;
  if (osFamily !== undefined && !OS_FAMILIES.includes(osFamily)) {
    throw clientException(`Invalid operatingSystemFamily '${osFamily}'. Valid values are ${OS_FAMILIES.join(", ")}.`); // wording not confirmed
  }
  const windows = osFamily?.startsWith("WINDOWS") ?? false;
  if (fargate) {
    if (cpuUnits === undefined) throw clientException("Fargate requires task definition to have 'cpu' parameter set."); // wording not confirmed
    if (memoryMiB === undefined) throw clientException("Fargate requires task definition to have 'memory' parameter set."); // wording not confirmed
    // Windows on Fargate: X86_64 only, and only the 1, 2 and 4 vCPU rows (assertFargateSize).
    if (windows && platform?.cpuArchitecture === "ARM64") throw clientException("Fargate does not support the ARM64 CPU architecture for Windows containers."); // wording not confirmed
    assertFargateSize(cpuUnits, memoryMiB, { windows });
  }
  return { cpuUnits, memoryMiB };
}

/** Task-level options Fargate refuses, and the ephemeral storage bounds. */
function assertTaskOptions(request: RegisterTaskDefinitionRequest, fargate: boolean): void {
  if (fargate && request.placementConstraints?.length)
    throw clientException("Task placement constraints are not supported for tasks using the Fargate launch type."); // wording not confirmed
  // AWS's wording, as users report it (cn-terraform/terraform-aws-ecs-fargate#2).
  if (fargate && request.ipcMode !== undefined) throw clientException("Tasks using the Fargate launch type do not support ipcMode.");
  if (fargate && request.pidMode !== undefined && request.pidMode !== "task") {
    // AWS's wording as moto's tests record it.
    throw clientException(`Tasks using the Fargate launch type do not support pidMode '${request.pidMode}'. The supported value for pidMode is 'task'.`);
  }
  if (fargate && request.inferenceAccelerators?.length) throw clientException("Inference accelerators are not supported by Fargate."); // wording not confirmed
  const storage = request.ephemeralStorage?.sizeInGiB;
  if (storage !== undefined && (storage < 21 || storage > 200)) {
    throw clientException("The ephemeral storage size must be between 21 GiB and 200 GiB."); // wording not confirmed
  }
}

/** The names of the task's volumes, each valid and unique, of a kind Fargate supports. */
function validVolumeNames(volumes: readonly Volume[], fargate: boolean): Set<string> {
  const volumeNames = new Set<string>();
  for (const volume of volumes) {
    if (!volume.name) throw clientException("Volume name must not be empty."); // wording not confirmed
    // The name becomes a directory on the host (the task's volume): AWS's pattern, whole. AWS's
    // wording as users report it (aws/amazon-ecs-cli#277); the same message for a name too long.
    if (!VOLUME_NAME.test(volume.name)) throw clientException("volume.name contains invalid characters.");
    if (volumeNames.has(volume.name)) throw clientException(`Duplicate volume name: ${volume.name}`); // wording not confirmed
    volumeNames.add(volume.name);
    if (fargate && REJECTED_VOLUME_FIELDS.some((field) => volume[field] !== undefined)) {
      throw clientException("Docker volume configuration is not supported by Fargate."); // wording not confirmed
    }
    // Fargate has no host of the user's: a host volume is task storage, never a host path.
    if (fargate && volume.host?.sourcePath !== undefined) {
      throw clientException(`Invalid volume '${volume.name}'. Fargate does not support host volumes with a sourcePath.`); // wording not confirmed
    }
  }
  return volumeNames;
}

/** AWS echoes an EFS volume without a rootDirectory as mounting the file system's root, "/". */
function withEfsRootDirectory(volume: Volume): Volume {
  const efs = volume.efsVolumeConfiguration;
  if (efs === undefined || efs.rootDirectory !== undefined) return volume;
  return { ...volume, efsVolumeConfiguration: { ...efs, rootDirectory: "/" } };
}

function uniqueContainerNames(containers: readonly ContainerDefinition[]): Set<string> {
  const names = new Set<string>();
  for (const container of containers) {
    if (container.name !== undefined && names.has(container.name)) throw clientException(`Duplicate container name: ${container.name}`); // wording not confirmed
    if (container.name !== undefined) names.add(container.name);
  }
  return names;
}

/**
 * Without a task-level memory (allowed off Fargate) every container must say how much it needs.
 * AWS's wording, as users quote it (lumoslabs/broadside#39, mapbox/ecs-watchbot#47).
 */
function assertContainerMemory(containers: readonly ContainerDefinition[]): void {
  const unsized = containers.find((container) => container.memory === undefined && container.memoryReservation === undefined);
  if (unsized) throw clientException(`Invalid setting for container '${unsized.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`);
}

function checkResourceSums(containers: readonly ContainerDefinition[], cpuUnits: number | undefined, memoryMiB: number | undefined): void {
  const cpuSum = containers.reduce((sum, c) => sum + (c.cpu ?? 0), 0);
  if (cpuUnits !== undefined && cpuSum > cpuUnits) {
    throw clientException(`Invalid setting for container. The sum of container cpu (${cpuSum}) exceeds the task cpu (${cpuUnits}).`); // wording not confirmed
  }
  const memorySum = containers.reduce((sum, c) => sum + (c.memoryReservation ?? c.memory ?? 0), 0);
  if (memoryMiB !== undefined && memorySum > memoryMiB) {
    throw clientException(`Invalid setting for container. The sum of container memory (${memorySum}) exceeds the task memory (${memoryMiB}).`); // wording not confirmed
  }
  for (const container of containers) {
    if (memoryMiB !== undefined && container.memory !== undefined && container.memory > memoryMiB) {
      throw clientException(
        `Invalid 'memory' setting for container '${container.name}'. The container memory (${container.memory}) exceeds the task memory (${memoryMiB}).`,
      ); // wording not confirmed
    }
  }
}
