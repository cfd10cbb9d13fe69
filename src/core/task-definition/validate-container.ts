// One container definition of a Fargate task definition: the fields Fargate rejects, port
// mappings under awsvpc, capabilities, log drivers and what needs an execution role, dependsOn,
// health checks and timeouts; returns the container as AWS echoes it (defaults filled in).
import type { ContainerDefinition, HealthCheck, NetworkMode } from "@aws-sdk/client-ecs";
import { clientException } from "../errors.js";
import { MAX_VALUE_FROM_CHARS, isEnvironmentName } from "./secret-reference.js";

export interface ContainerContext {
  readonly fargate: boolean;
  readonly networkMode: NetworkMode | undefined;
  readonly containerNames: ReadonlySet<string>;
  readonly volumeNames: ReadonlySet<string>;
  readonly hasExecutionRole: boolean;
  readonly allContainers: readonly ContainerDefinition[];
}

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const FARGATE_LOG_DRIVERS = ["awslogs", "splunk", "awsfirelens"];
const DEPENDENCY_CONDITIONS = ["START", "COMPLETE", "SUCCESS", "HEALTHY"];

/** Fields Fargate refuses, with the name AWS uses for each in its message. */
const REJECTED_FIELDS: readonly (keyof ContainerDefinition)[] = [
  "privileged",
  "disableNetworking",
  "dnsServers",
  "dnsSearchDomains",
  "dockerSecurityOptions",
  "extraHosts",
  "links",
  "systemControls",
];
const REJECTED_LINUX_PARAMETERS = ["maxSwap", "swappiness", "devices", "sharedMemorySize", "tmpfs"] as const;

const inRange = (value: number | undefined, min: number, max: number) => value === undefined || (Number.isInteger(value) && value >= min && value <= max);

/** Something wrong with one setting of the container, in AWS's "Invalid setting for container" words. */
type InvalidSetting = (detail: string) => Error;

export function validateContainer(container: ContainerDefinition, context: ContainerContext): ContainerDefinition {
  const name = container.name ?? "";
  assertNameAndImage(container, name);
  const invalid: InvalidSetting = (detail) => clientException(`Invalid setting for container '${name}'. ${detail}`);
  // The checks run in this order, so that a definition with several faults is refused for the same one each time.
  if (context.fargate) assertFargateAllows(container, context);
  const portMappings = normalisePortMappings(container, context, invalid);
  assertMemoryAndTimeouts(container, invalid);
  assertDependencies(container, name, context, invalid);
  const healthCheck = container.healthCheck && normaliseHealthCheck(container.healthCheck, invalid);
  assertMountsAndVolumesFrom(container, context, invalid);
  assertSecretReferences(container, invalid);

  return {
    ...container,
    cpu: container.cpu ?? 0,
    portMappings,
    essential: container.essential ?? true,
    environment: container.environment ?? [],
    mountPoints: container.mountPoints ?? [],
    volumesFrom: container.volumesFrom ?? [],
    ...(healthCheck ? { healthCheck } : {}),
    systemControls: container.systemControls ?? [],
  };
}

function assertNameAndImage(container: ContainerDefinition, name: string): void {
  // The name becomes part of host paths on the agent (its bundle, rootfs and log): AWS's pattern,
  // whole. AWS's wording as users report it (hashicorp/terraform-provider-aws#5950).
  if (name === "") throw clientException("Container.name should not be null or empty."); // wording not confirmed
  if (!NAME.test(name)) throw clientException("Container.name contains invalid characters.");
  if (!container.image) throw clientException("Container.image should not be null or empty.");
}

/** What Fargate refuses in a container: host-level fields, capabilities, GPUs, log drivers, and what needs an execution role. */
function assertFargateAllows(container: ContainerDefinition, context: ContainerContext): void {
  for (const field of REJECTED_FIELDS) {
    const value = container[field];
    if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
    throw clientException(`Fargate does not support the '${String(field)}' container parameter.`); // wording not confirmed
  }
  const linux = container.linuxParameters;
  for (const field of REJECTED_LINUX_PARAMETERS) {
    const value = linux?.[field];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    throw clientException(`Fargate does not support the '${field}' linux parameter.`); // wording not confirmed
  }
  const added = linux?.capabilities?.add ?? [];
  if (added.some((capability) => capability !== "SYS_PTRACE")) {
    throw clientException("Fargate only supports SYS_PTRACE in linuxParameters.capabilities.add."); // wording not confirmed
  }
  if (container.resourceRequirements?.some((requirement) => requirement.type === "GPU")) {
    throw clientException("GPU resource requirements are not supported by Fargate."); // wording not confirmed
  }
  if (context.networkMode === "awsvpc" && container.hostname !== undefined) {
    throw clientException("hostname is not supported on container when networkMode=awsvpc.");
  }
  const driver = container.logConfiguration?.logDriver;
  if (driver !== undefined && !FARGATE_LOG_DRIVERS.includes(driver)) {
    throw clientException(`Log driver ${driver} is not supported by Fargate. Supported log drivers are awslogs, splunk and awsfirelens.`); // wording not confirmed
  }
  if (driver === "awslogs" && !context.hasExecutionRole) {
    throw clientException("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
  }
  // Both texts as AWS answers them (seen in users' ClientException reports).
  if ((container.secrets?.length || container.logConfiguration?.secretOptions?.length) && !context.hasExecutionRole) {
    throw clientException("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.");
  }
  if (container.repositoryCredentials && !context.hasExecutionRole) {
    throw clientException("Private repository authentication requires that the task definition specify a value for executionRoleArn.");
  }
}

/**
 * Secrets become environment variables (NAME=value in the runtime's config): a name with "=" or
 * NUL would set another variable than the one named, so it is refused; valueFrom is bounded.
 */
function assertSecretReferences(container: ContainerDefinition, invalid: InvalidSetting): void {
  for (const secret of [...(container.secrets ?? []), ...(container.logConfiguration?.secretOptions ?? [])]) {
    if (!isEnvironmentName(secret.name ?? "")) throw invalid(`Secret name '${secret.name ?? ""}' is not valid.`); // wording not confirmed
    const from = secret.valueFrom ?? "";
    if (from.length === 0 || from.length > MAX_VALUE_FROM_CHARS)
      throw invalid(`Secret '${secret.name}' must have a valueFrom of 1 to ${MAX_VALUE_FROM_CHARS} characters.`); // wording not confirmed
  }
  const parameter = container.repositoryCredentials?.credentialsParameter;
  if (container.repositoryCredentials && (!parameter || parameter.length > MAX_VALUE_FROM_CHARS)) {
    throw invalid("repositoryCredentials.credentialsParameter must be the ARN of a Secrets Manager secret."); // wording not confirmed
  }
}

/** Port mappings as AWS echoes them: protocol tcp by default, and under awsvpc hostPort = containerPort. */
function normalisePortMappings(container: ContainerDefinition, context: ContainerContext, invalid: InvalidSetting) {
  return (container.portMappings ?? []).map((mapping) => {
    if (!inRange(mapping.containerPort, 0, 65535)) throw invalid("containerPort must be between 0 and 65535."); // wording not confirmed
    if (context.networkMode === "awsvpc" && mapping.hostPort !== undefined && mapping.hostPort !== mapping.containerPort) {
      throw clientException("When networkMode=awsvpc, the host ports and container ports in port mappings must match.");
    }
    return {
      ...mapping,
      ...(context.networkMode === "awsvpc" && mapping.containerPort !== undefined ? { hostPort: mapping.containerPort } : {}),
      protocol: mapping.protocol ?? "tcp",
    };
  });
}

function assertMemoryAndTimeouts(container: ContainerDefinition, invalid: InvalidSetting): void {
  // The ECS API reference: "If you specify both, memory must be greater than memoryReservation."
  if (container.memory !== undefined && container.memoryReservation !== undefined && container.memory <= container.memoryReservation) {
    throw invalid("The 'memory' setting must be greater than the 'memoryReservation' setting."); // wording not confirmed
  }
  if (container.memory !== undefined && container.memory < 6) throw invalid("The 'memory' setting must be at least 6 MiB."); // wording not confirmed
  if (!inRange(container.stopTimeout, 2, 120)) throw invalid("stopTimeout must be between 2 and 120 seconds."); // wording not confirmed
  if (!inRange(container.startTimeout, 2, 120)) throw invalid("startTimeout must be between 2 and 120 seconds."); // wording not confirmed
}

/** dependsOn names other containers of the definition, with a condition each can meet, and no cycle. */
function assertDependencies(container: ContainerDefinition, name: string, context: ContainerContext, invalid: InvalidSetting): void {
  for (const dependency of container.dependsOn ?? []) {
    const target = context.allContainers.find((other) => other.name === dependency.containerName);
    if (!target || dependency.containerName === name) {
      throw invalid(`dependsOn references container '${dependency.containerName}', which is not defined in the task definition.`); // wording not confirmed
    }
    if (!DEPENDENCY_CONDITIONS.includes(dependency.condition ?? "")) throw invalid(`Invalid dependsOn condition: ${dependency.condition}`); // wording not confirmed
    if ((dependency.condition === "COMPLETE" || dependency.condition === "SUCCESS") && target.essential !== false) {
      throw invalid(`A dependency with condition ${dependency.condition} cannot be on an essential container ('${target.name}').`); // wording not confirmed
    }
    if (dependency.condition === "HEALTHY" && !target.healthCheck) {
      throw invalid(`A dependency with condition HEALTHY needs a health check on container '${target.name}'.`); // wording not confirmed
    }
  }
  assertNoDependencyCycle(name, context.allContainers);
}

/** A health check within AWS's bounds, with AWS's defaults (30 s interval, 5 s timeout, 3 retries) filled in. */
function normaliseHealthCheck(healthCheck: HealthCheck, invalid: InvalidSetting): HealthCheck {
  const command = healthCheck.command ?? [];
  if (command[0] !== "CMD" && command[0] !== "CMD-SHELL") throw invalid("The health check command must start with CMD or CMD-SHELL."); // wording not confirmed
  if (!inRange(healthCheck.interval, 5, 300)) throw invalid("Health check interval must be between 5 and 300 seconds."); // wording not confirmed
  if (!inRange(healthCheck.timeout, 2, 60)) throw invalid("Health check timeout must be between 2 and 60 seconds."); // wording not confirmed
  if (!inRange(healthCheck.retries, 1, 10)) throw invalid("Health check retries must be between 1 and 10."); // wording not confirmed
  if (!inRange(healthCheck.startPeriod, 0, 300)) throw invalid("Health check startPeriod must be between 0 and 300 seconds."); // wording not confirmed
  return { interval: 30, timeout: 5, retries: 3, ...healthCheck };
}

/** mountPoints name volumes of the task definition, volumesFrom its containers. */
function assertMountsAndVolumesFrom(container: ContainerDefinition, context: ContainerContext, invalid: InvalidSetting): void {
  for (const mount of container.mountPoints ?? []) {
    if (!mount.sourceVolume || !context.volumeNames.has(mount.sourceVolume)) {
      throw invalid(`mountPoints references volume '${mount.sourceVolume}', which is not defined in the task definition.`); // wording not confirmed
    }
    assertContainerPath(mount.containerPath, invalid);
  }
  for (const from of container.volumesFrom ?? []) {
    if (!from.sourceContainer || !context.containerNames.has(from.sourceContainer)) {
      throw invalid(`volumesFrom references container '${from.sourceContainer}', which is not defined in the task definition.`); // wording not confirmed
    }
  }
}

/**
 * A mount point's containerPath: absolute (the runtime resolves it inside the container's root, as
 * Docker does, and refuses a relative one), not the root itself (a volume over `/` would hide the
 * image), and no NUL byte (C strings end there, so the runtime would see another path).
 */
function assertContainerPath(path: string | undefined, invalid: InvalidSetting): void {
  if (!path) throw invalid("mountPoints.containerPath should not be null or empty."); // wording not confirmed
  if (path.includes("\0")) throw invalid("mountPoints.containerPath contains invalid characters."); // wording not confirmed
  if (!path.startsWith("/")) throw invalid(`mountPoints.containerPath '${path}' must be an absolute path.`); // wording not confirmed
  if (/^\/+$/.test(path.replace(/\/\.(?=\/|$)/g, "/"))) throw invalid("mountPoints.containerPath cannot be '/'."); // wording not confirmed
  // `/x/..` or `/proc/..` would name the root (or climb out of a path the checks above saw).
  if (path.split("/").includes("..")) throw invalid(`mountPoints.containerPath '${path}' must not contain '..'.`); // wording not confirmed
}

function assertNoDependencyCycle(start: string, containers: readonly ContainerDefinition[]): void {
  const seen = new Set<string>();
  const visit = (name: string, path: readonly string[]): void => {
    if (path.includes(name)) throw clientException(`Invalid setting for container '${start}'. dependsOn forms a cycle: ${[...path, name].join(" -> ")}.`); // wording not confirmed
    if (seen.has(name)) return;
    seen.add(name);
    const container = containers.find((c) => c.name === name);
    for (const dependency of container?.dependsOn ?? []) visit(dependency.containerName ?? "", [...path, name]);
  };
  visit(start, []);
}
