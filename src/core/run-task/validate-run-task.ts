// Request-level rules of RunTask that need nothing but the request
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html and
// ../shared/REFERENCE.md "RunTask"). Rules that need state — the cluster, the task definition,
// which subnets exist — are checked by the control plane after these.
import type { CapacityProviderStrategyItem, RunTaskRequest } from "@aws-sdk/client-ecs";
import { LaunchType } from "@aws-sdk/client-ecs";
import { invalidParameterException } from "../errors.js";
import { resolvePlatformVersion } from "./platform-version.js";

export const MAX_TASKS_PER_RUN = 10;
export const MAX_SUBNETS = 16;
export const MAX_SECURITY_GROUPS = 5;
export const FARGATE_PROVIDERS = ["FARGATE", "FARGATE_SPOT"] as const;

export interface RunTaskPlacementRequest {
  readonly count: number;
  /** The providers to split `count` over: the request's strategy, or [FARGATE] for launchType FARGATE. */
  readonly strategy: readonly CapacityProviderStrategyItem[] | undefined;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: "ENABLED" | "DISABLED";
  readonly platformVersion: string;
}

// The launch types in the order AWS lists them, then any the SDK's model added since.
const LAUNCH_TYPES: readonly string[] = [...new Set(["EC2", "FARGATE", "EXTERNAL", ...Object.values(LaunchType)])];

/**
 * A launchType outside the enum (RunTask, CreateService, ListServices, ListTasks). ECS words an
 * enum member's fault as "<member> should be one of [A,B,…]" (its answer for DescribeClusters'
 * include, hashicorp/terraform-provider-aws#23342).
 */
export function assertLaunchType(launchType: string | undefined): void {
  if (launchType !== undefined && !LAUNCH_TYPES.includes(launchType)) {
    throw invalidParameterException(`launchType should be one of [${LAUNCH_TYPES.join(",")}]`); // wording not confirmed for launchType
  }
}

/** Checks RunTask's own members and returns the placement-relevant parts with defaults applied. */
export function validateRunTaskRequest(request: RunTaskRequest): RunTaskPlacementRequest {
  return { ...validateRunTaskMembers(request), ...validateAwsvpcConfiguration(request) };
}

/** RunTask's members other than its network configuration, checked before the task definition's launch types. */
export function validateRunTaskMembers(request: RunTaskRequest): Pick<RunTaskPlacementRequest, "count" | "strategy" | "platformVersion"> {
  const count = request.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_TASKS_PER_RUN) {
    // wording not confirmed against AWS
    throw invalidParameterException(`count must be between 1 and ${MAX_TASKS_PER_RUN}.`);
  }
  if (request.startedBy !== undefined && (request.startedBy.length > 128 || !/^[A-Za-z0-9_\-/.:]*$/.test(request.startedBy))) {
    // wording not confirmed against AWS
    throw invalidParameterException(
      "startedBy may contain up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/), and underscores (_).",
    );
  }
  if (request.clientToken !== undefined && (request.clientToken.length < 1 || request.clientToken.length > 64)) {
    throw invalidParameterException("clientToken must be between 1 and 64 characters.");
  }
  if (request.group !== undefined && request.group.length > 255) {
    throw invalidParameterException("group must be at most 255 characters.");
  }
  assertLaunchType(request.launchType);
  if (request.launchType !== undefined && request.capacityProviderStrategy !== undefined && request.capacityProviderStrategy.length > 0) {
    throw invalidParameterException("You may choose a capacity provider or a launch type but not both.");
  }
  if (request.launchType !== undefined && request.launchType !== "FARGATE") {
    // Berth has no container instances: an EC2 or EXTERNAL launch finds none, as on AWS.
    throw invalidParameterException("No Container Instances were found in your cluster.");
  }
  const strategy = request.capacityProviderStrategy?.length ? validateStrategy(request.capacityProviderStrategy) : undefined;
  if (request.placementConstraints?.length || request.placementStrategy?.length) {
    throw invalidParameterException("Task placement constraints and strategies are not supported for tasks using the Fargate launch type.");
  }
  resolvePlatformVersion(request.platformVersion);
  const platformVersion = request.platformVersion ?? "LATEST";
  if (request.propagateTags !== undefined && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(request.propagateTags)) {
    throw invalidParameterException(`Invalid propagateTags value: ${request.propagateTags}`);
  }
  return { count, strategy, platformVersion };
}

/** The awsvpc network configuration every Fargate task needs. */
export function validateAwsvpcConfiguration(request: RunTaskRequest): Pick<RunTaskPlacementRequest, "subnets" | "securityGroups" | "assignPublicIp"> {
  const network = request.networkConfiguration?.awsvpcConfiguration;
  if (!network) throw invalidParameterException("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  const subnets = network.subnets ?? [];
  if (subnets.length === 0) throw invalidParameterException("subnets can not be empty.");
  if (subnets.length > MAX_SUBNETS) throw invalidParameterException(`subnets can have at most ${MAX_SUBNETS} items.`);
  const securityGroups = network.securityGroups ?? [];
  if (securityGroups.length > MAX_SECURITY_GROUPS) {
    throw invalidParameterException(`securityGroups can have at most ${MAX_SECURITY_GROUPS} items.`);
  }
  const assignPublicIp = network.assignPublicIp ?? "DISABLED";
  if (assignPublicIp !== "ENABLED" && assignPublicIp !== "DISABLED") {
    throw invalidParameterException(`Invalid assignPublicIp value: ${String(assignPublicIp)}. Valid values are ENABLED and DISABLED.`);
  }
  return { subnets, securityGroups, assignPublicIp };
}

/** Capacity provider strategy rules shared by RunTask, CreateService and the cluster default. */
export function validateStrategy(strategy: readonly CapacityProviderStrategyItem[]): CapacityProviderStrategyItem[] {
  if (strategy.length > 20) throw invalidParameterException("A capacity provider strategy can contain a maximum of 20 capacity providers.");
  const seen = new Set<string>();
  let withBase = 0;
  for (const item of strategy) {
    const name = item.capacityProvider ?? "";
    if (seen.has(name)) throw invalidParameterException(`The capacity provider strategy contains a duplicate capacity provider: ${name}.`);
    seen.add(name);
    if (!(FARGATE_PROVIDERS as readonly string[]).includes(name)) {
      throw invalidParameterException(
        "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
      );
    }
    const weight = item.weight ?? 0;
    const base = item.base ?? 0;
    if (!Number.isInteger(weight) || weight < 0 || weight > 1000) throw invalidParameterException("The capacity provider weight must be between 0 and 1000.");
    if (!Number.isInteger(base) || base < 0 || base > 100_000) throw invalidParameterException("The capacity provider base must be between 0 and 100000.");
    if (base > 0) withBase++;
  }
  if (withBase > 1) throw invalidParameterException("Only one capacity provider in a capacity provider strategy can have a base defined.");
  if (strategy.every((item) => (item.weight ?? 0) === 0)) {
    throw invalidParameterException("At least one capacity provider in a capacity provider strategy must have a weight greater than zero.");
  }
  return [...strategy];
}

/**
 * RunTask refuses a task definition that cannot run on Fargate: one whose registration found a
 * Fargate rule broken, so `compatibilities` (computed then) lacks FARGATE. AWS's answer, as users
 * report it: InvalidParameterException "Task definition does not support launch_type FARGATE."
 */
export function assertFargateCompatible(compatibilities: readonly string[] | undefined): void {
  if (!compatibilities?.includes("FARGATE")) throw invalidParameterException("Task definition does not support launch_type FARGATE.");
}
