// Request-level rules of CreateService and UpdateService that need nothing but the request
// (API_CreateService.html, API_DeploymentConfiguration.html, ../shared/REFERENCE.md "Services and
// deployments"). What needs state (the cluster, the task definition, the subnets) is checked by the
// API handlers and the TaskLauncher after these. Berth runs the ECS (rolling) deployment
// controller for Fargate; what it does not serve is refused by name rather than accepted and ignored.
import type { CreateServiceRequest, DeploymentConfiguration, UpdateServiceRequest } from "@aws-sdk/client-ecs";
import { invalidParameterException } from "../errors.js";

/** ECS's quota of tasks per service (REFERENCE.md "Quotas"). */
export const MAX_TASKS_PER_SERVICE = 5_000;

/** ECS's default quota of services per cluster (service-quotas.html); Berth counts ACTIVE and DRAINING ones, and --services-per-cluster sets it. */
export const DEFAULT_SERVICES_PER_CLUSTER = 5_000;

export const DEFAULT_MINIMUM_HEALTHY_PERCENT = 100;
export const DEFAULT_MAXIMUM_PERCENT = 200;

/** A deployment configuration with ECS's defaults filled in. */
export interface RollingSettings {
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  readonly circuitBreaker: { readonly enable: boolean; readonly rollback: boolean };
}

export function checkServiceName(name: string | undefined): string {
  // ECS: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.
  if (name === undefined || !/^[A-Za-z0-9_-]{1,255}$/.test(name)) {
    throw invalidParameterException("Service name must be 1-255 characters long and may contain letters, numbers, hyphens and underscores."); // wording not confirmed
  }
  return name;
}

export function checkDesiredCount(count: number | undefined): number | undefined {
  if (count === undefined) return undefined;
  if (!Number.isInteger(count) || count < 0) throw invalidParameterException("desiredCount must be a non-negative integer."); // wording not confirmed
  if (count > MAX_TASKS_PER_SERVICE) {
    throw invalidParameterException(`desiredCount ${count} exceeds the limit of ${MAX_TASKS_PER_SERVICE} tasks per service.`); // wording not confirmed
  }
  return count;
}

/** `requested` over `current` (UpdateService keeps what it does not name), with ECS's defaults and bounds. */
export function rollingSettings(requested: DeploymentConfiguration | undefined, current?: RollingSettings): RollingSettings {
  const minimumHealthyPercent = requested?.minimumHealthyPercent ?? current?.minimumHealthyPercent ?? DEFAULT_MINIMUM_HEALTHY_PERCENT;
  const maximumPercent = requested?.maximumPercent ?? current?.maximumPercent ?? DEFAULT_MAXIMUM_PERCENT;
  if (!Number.isInteger(minimumHealthyPercent) || minimumHealthyPercent < 0 || minimumHealthyPercent > 100) {
    throw invalidParameterException("minimumHealthyPercent must be between 0 and 100."); // wording not confirmed
  }
  if (!Number.isInteger(maximumPercent) || maximumPercent < 100 || maximumPercent > 200) {
    // Fargate services: maximumPercent from 100 to 200.
    throw invalidParameterException("maximumPercent must be between 100 and 200."); // wording not confirmed
  }
  if (minimumHealthyPercent === 100 && maximumPercent === 100) {
    // With neither room above nor slack below, no task could ever be replaced.
    throw invalidParameterException("minimumHealthyPercent and maximumPercent cannot both be 100."); // wording not confirmed
  }
  const breaker = requested?.deploymentCircuitBreaker;
  if (breaker && typeof breaker.enable !== "boolean") throw invalidParameterException("deploymentCircuitBreaker.enable must be specified.");
  if (breaker && typeof breaker.rollback !== "boolean") throw invalidParameterException("deploymentCircuitBreaker.rollback must be specified.");
  const strategy = requested?.strategy;
  if (strategy !== undefined && strategy !== "ROLLING") {
    throw invalidParameterException(`Berth runs ROLLING deployments only; deployment strategy ${strategy} is not supported.`);
  }
  if (requested?.alarms?.enable) throw invalidParameterException("Berth does not support CloudWatch alarms on deployments.");
  return {
    minimumHealthyPercent,
    maximumPercent,
    circuitBreaker: breaker
      ? { enable: breaker.enable === true, rollback: breaker.rollback === true }
      : (current?.circuitBreaker ?? { enable: false, rollback: false }),
  };
}

/**
 * The request with its stored members rebuilt from the fields Berth reads: the network
 * configuration and capacity provider strategy are kept in the service, each deployment and its
 * history, so members a caller adds beyond the shape (the schema check lets unknown ones through)
 * must not ride along and grow them.
 */
export function withKnownMembers<T extends CreateServiceRequest | UpdateServiceRequest>(request: T): T {
  const network = request.networkConfiguration?.awsvpcConfiguration;
  return {
    ...request,
    ...(request.networkConfiguration !== undefined
      ? {
          networkConfiguration: network
            ? {
                awsvpcConfiguration: {
                  subnets: [...(network.subnets ?? [])],
                  ...(network.securityGroups !== undefined ? { securityGroups: [...network.securityGroups] } : {}),
                  ...(network.assignPublicIp !== undefined ? { assignPublicIp: network.assignPublicIp } : {}),
                },
              }
            : {},
        }
      : {}),
    ...(request.capacityProviderStrategy !== undefined
      ? {
          capacityProviderStrategy: request.capacityProviderStrategy.map((item) => ({
            capacityProvider: item.capacityProvider,
            ...(item.weight !== undefined ? { weight: item.weight } : {}),
            ...(item.base !== undefined ? { base: item.base } : {}),
          })),
        }
      : {}),
  };
}

/** Members of CreateService / UpdateService Berth does not serve: refused, never silently ignored. */
export function refuseUnserved(request: CreateServiceRequest | UpdateServiceRequest): void {
  const create = request as CreateServiceRequest;
  if (create.schedulingStrategy === "DAEMON") throw invalidParameterException("The daemon scheduling strategy is not supported with the FARGATE launch type."); // wording not confirmed
  if (create.schedulingStrategy !== undefined && create.schedulingStrategy !== "REPLICA")
    throw invalidParameterException(`Invalid schedulingStrategy: ${create.schedulingStrategy}`);
  if (create.deploymentController?.type !== undefined && create.deploymentController.type !== "ECS") {
    throw invalidParameterException(`Berth supports the ECS deployment controller only; ${create.deploymentController.type} is not supported.`);
  }
  if (request.serviceRegistries?.length) throw invalidParameterException("Berth does not support service registries.");
  if (request.serviceConnectConfiguration?.enabled) throw invalidParameterException("Berth does not support Service Connect.");
  if (request.volumeConfigurations?.length) throw invalidParameterException("Berth does not support service volume configurations.");
  if (request.vpcLatticeConfigurations?.length) throw invalidParameterException("Berth does not support VPC Lattice.");
  if (request.placementConstraints?.length || request.placementStrategy?.length) {
    throw invalidParameterException("Task placement constraints and strategies are not supported for tasks using the Fargate launch type.");
  }
  if (request.propagateTags !== undefined && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(request.propagateTags)) {
    throw invalidParameterException(`Invalid propagateTags value: ${request.propagateTags}`); // wording not confirmed
  }
  if (request.healthCheckGracePeriodSeconds !== undefined) {
    const grace = request.healthCheckGracePeriodSeconds;
    if (!Number.isInteger(grace) || grace < 0 || grace > 2_147_483_647)
      throw invalidParameterException("healthCheckGracePeriodSeconds must be between 0 and 2147483647.");
  }
}
