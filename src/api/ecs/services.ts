// ECS service operations: CreateService, UpdateService, DeleteService, DescribeServices,
// ListServices. These handlers check requests, resolve references and store desired state (the
// service and its deployments); the service scheduler (src/control/service-scheduler.ts) moves the
// tasks toward it, woken by the "services" signal each write sends.
import type {
  CreateServiceRequest,
  CreateServiceResponse,
  DeleteServiceRequest,
  DeleteServiceResponse,
  DescribeServicesRequest,
  DescribeServicesResponse,
  ListServicesRequest,
  ListServicesResponse,
  RunTaskRequest,
  Service,
  LoadBalancer,
  TaskDefinition,
  UpdateServiceRequest,
  UpdateServiceResponse,
} from "@aws-sdk/client-ecs";
import { buildArn, parseArn } from "../../core/arn.js";
import { checkDesiredCount, checkServiceName, refuseUnserved, rollingSettings, withKnownMembers } from "../../core/ecs-service/service-request.js";
import { deploymentSettingsOf, newDeployment, withNewPrimary } from "../../core/ecs-service/service-document.js";
import type { DeploymentSettings } from "../../core/ecs-service/service-document.js";
import { createServiceDigest } from "../../core/ecs-service/create-service-digest.js";
import {
  clientException,
  clusterNotFoundException,
  invalidParameterException,
  limitExceededException,
  serviceNotActiveException,
  serviceNotFoundException,
} from "../../core/errors.js";
import { resolvePlatformVersion } from "../../core/run-task/platform-version.js";
import { assertLaunchType } from "../../core/run-task/validate-run-task.js";
import type { TaskLauncher } from "../../control/task-launcher.js";
import {
  currentServiceRevisions as currentServiceRevisionsOf,
  newServiceDeploymentArn,
  startServiceDeployment,
} from "../../control/service-deployment-history.js";
import type { Repositories, ServiceRecord, ServiceSchedulingState } from "../../store/index.js";
import { LOST_RACE, withOptimisticRetry } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { authorizePassRole, namedRoles } from "./pass-role.js";
import { checkServiceLoadBalancers } from "./service-load-balancers.js";
import { requireActiveCluster } from "./clusters.js";
import type { EcsContext } from "./ecs-context.js";
import { checkMaxResults, decodeToken, encodeToken } from "./ecs-context.js";
import { toTags, validateTags } from "./tags.js";
import { resolveTaskDefinition } from "./task-definitions.js";

export interface ServiceOperationsContext extends EcsContext {
  readonly launcher: TaskLauncher;
  /** The most ACTIVE and DRAINING services a cluster holds (ECS's "Services per cluster" quota, server configuration). */
  readonly servicesPerCluster: number;
}

type ActiveCluster = Awaited<ReturnType<typeof requireActiveCluster>>;

/** A service reference (name or ARN) within `cluster` → its ARN; an ARN of another cluster names no service here. */
export function serviceArnOf(context: EcsContext, cluster: ActiveCluster, reference: string | undefined): string {
  if (reference === undefined || reference === "") throw invalidParameterException("service must be specified."); // wording not confirmed
  const arn = parseArn(reference);
  if (!arn) return buildArn(context.scope, "ecs", `service/${cluster.clusterName}/${reference}`);
  const match = /^service\/(?:([^/]+)\/)?([^/]+)$/.exec(arn.resource);
  // An ARN of another account, region or cluster names no service here.
  const foreign = arn.service !== "ecs" || arn.accountId !== context.scope.accountId || arn.region !== context.scope.region;
  if (!match || foreign || (match[1] !== undefined && match[1] !== cluster.clusterName)) throw serviceNotFoundException("Service not found.");
  return buildArn(context.scope, "ecs", `service/${cluster.clusterName}/${match[2]}`);
}

async function activeDefinition(context: EcsContext, reference: string | undefined): Promise<TaskDefinition> {
  if (reference === undefined || reference === "") throw invalidParameterException("TaskDefinition must be specified."); // wording not confirmed
  const definition = await resolveTaskDefinition(context, reference);
  if (!definition || definition.status === "DELETE_IN_PROGRESS") throw clientException("TaskDefinition not found.");
  if (definition.status !== "ACTIVE") throw clientException("TaskDefinition is inactive");
  return definition;
}

/** What a deployment with these settings would launch, checked as RunTask checks it (network, platform, capacity providers). */
async function checkDeployment(
  context: ServiceOperationsContext,
  cluster: ActiveCluster,
  definition: TaskDefinition,
  settings: DeploymentSettings,
  name: string,
) {
  const request: RunTaskRequest = {
    cluster: cluster.clusterArn,
    taskDefinition: definition.taskDefinitionArn!,
    ...(settings.capacityProviderStrategy?.length
      ? { capacityProviderStrategy: settings.capacityProviderStrategy }
      : { launchType: settings.launchType ?? "FARGATE" }),
    ...(settings.platformVersion ? { platformVersion: settings.platformVersion } : {}),
    ...(settings.networkConfiguration ? { networkConfiguration: settings.networkConfiguration } : {}),
  };
  await context.launcher.checkRun(request, { cluster, definition, definitionTags: [], service: { name, placedPerZone: new Map() } });
}

export async function createService(context: ServiceOperationsContext, request: CreateServiceRequest, call: RequestContext): Promise<CreateServiceResponse> {
  const input = withKnownMembers(request);
  const cluster = await requireActiveCluster(context, input.cluster);
  const name = checkServiceName(input.serviceName);
  refuseUnserved(input);
  if (input.clientToken !== undefined && (input.clientToken.length < 1 || input.clientToken.length > 36)) {
    throw invalidParameterException("clientToken must be between 1 and 36 characters."); // wording not confirmed
  }
  const desiredCount = checkDesiredCount(input.desiredCount);
  if (desiredCount === undefined) throw invalidParameterException("desiredCount must be specified for the REPLICA scheduling strategy."); // wording not confirmed
  assertLaunchType(input.launchType);
  if (input.launchType !== undefined && input.capacityProviderStrategy?.length) {
    throw invalidParameterException("You may choose a capacity provider or a launch type but not both.");
  }
  const rolling = rollingSettings(input.deploymentConfiguration);
  const definition = await activeDefinition(context, input.taskDefinition);
  await authorizePassRole(call, namedRoles(definition));
  const loadBalancers = await checkServiceLoadBalancers(context.store, input.loadBalancers, definition);
  const tags = validateTags(input.tags);
  if (new Set(tags.map((tag) => tag.key)).size !== tags.length) throw invalidParameterException("Tag keys must be unique.");
  const strategy = input.capacityProviderStrategy?.length
    ? input.capacityProviderStrategy
    : input.launchType === undefined && cluster.defaultCapacityProviderStrategy?.length
      ? cluster.defaultCapacityProviderStrategy
      : undefined;
  const settings: DeploymentSettings = {
    taskDefinition: definition.taskDefinitionArn!,
    ...(strategy ? { capacityProviderStrategy: strategy } : { launchType: "FARGATE" }),
    platformVersion: resolvePlatformVersion(input.platformVersion),
    ...(input.networkConfiguration ? { networkConfiguration: input.networkConfiguration } : {}),
  };
  await checkDeployment(context, cluster, definition, settings, name);
  const serviceArn = buildArn(context.scope, "ecs", `service/${cluster.clusterName}/${name}`);
  const now = new Date(context.clock.now());
  const deployment = newDeployment(settings, desiredCount, now);
  const serviceDeploymentArn = newServiceDeploymentArn(serviceArn);
  const document = newServiceDocument({
    input,
    loadBalancers,
    serviceArn,
    name,
    cluster,
    desiredCount,
    strategy,
    rolling,
    definition,
    deployment,
    now,
    createdBy: call.principalArn,
  });
  const service: Service = { ...document, currentServiceDeployment: serviceDeploymentArn };
  const requestDigest = createServiceDigest(input, cluster.clusterArn);
  const record: Omit<ServiceRecord, "version"> = {
    serviceArn,
    clusterArn: cluster.clusterArn,
    serviceName: name,
    status: "ACTIVE",
    createdAtMs: now.getTime(),
    updatedAtMs: now.getTime(),
    service,
    state: {
      consecutiveFailures: 0,
      failuresSeen: {},
      nextLaunchAtMs: 0,
      ...(input.clientToken !== undefined ? { clientToken: input.clientToken, requestDigest } : {}),
    },
  };
  return storeNewService(context, record, { definition, serviceDeploymentArn, tags, clientToken: input.clientToken });
}

/**
 * Stores a new service, its first service deployment and its tags in one transaction, holding its
 * cluster's row lock: the count of the cluster's services and the insert must not interleave with
 * another CreateService's in the cluster, or two replicas could both take the quota's last slot, nor
 * with DeleteCluster's check that no service is left (the service would outlive its cluster). A
 * lock per cluster, not one for every CreateService: a flood of creates in one cluster holds no
 * other cluster's up. A name taken by
 * an ACTIVE or DRAINING service answers that service to a retry of the same request (its
 * clientToken and digest), and refuses anything else.
 */
async function storeNewService(
  context: ServiceOperationsContext,
  record: Omit<ServiceRecord, "version">,
  parts: { definition: TaskDefinition; serviceDeploymentArn: string; tags: { key: string; value: string }[]; clientToken: string | undefined },
): Promise<CreateServiceResponse> {
  const { serviceArn, clusterArn, service } = record;
  const now = new Date(record.createdAtMs);
  const clusterName = clusterArn.slice(clusterArn.lastIndexOf("/") + 1);
  const outcome = await context.store.exclusively([], async (tx) => {
    await tx.clusters.lock(clusterName);
    if ((await tx.clusters.get(clusterName))?.status !== "ACTIVE") return "no-cluster";
    const existing = await tx.services.get(serviceArn);
    if (existing && existing.status !== "INACTIVE") return existing;
    if ((await tx.services.countScheduled(clusterArn)) >= context.servicesPerCluster) return "quota";
    if (!(await tx.services.create(record))) return "exists";
    // A service of this name deleted before left no history of its own (DeleteService removed it).
    await tx.serviceDeployments.removeService(serviceArn);
    await startServiceDeployment(tx.serviceDeployments, { arn: parts.serviceDeploymentArn, service, definition: parts.definition, previous: [], now });
    // Tags a deleted service of this name may have kept (a TagResource racing its deletion) are not this one's.
    await tx.tags.removeAll(serviceArn);
    await tx.tags.put(serviceArn, parts.tags);
    return "created";
  });
  if (outcome === "no-cluster") throw clusterNotFoundException("Cluster not found.");
  if (outcome === "quota") {
    // ECS's quota error for CreateService is not published; LimitExceededException is what ECS
    // answers when its other per-resource quotas are reached (task definition revisions, capacity providers).
    throw limitExceededException(`The cluster has reached its limit of ${context.servicesPerCluster} services.`); // wording not confirmed
  }
  if (outcome === "created") {
    context.store.signals.publish("services", serviceArn);
    return { service };
  }
  // A service created before digests were kept is matched by its token alone.
  const existing = outcome === "exists" ? undefined : outcome;
  const sameRequest = existing?.state.requestDigest === undefined || existing.state.requestDigest === record.state.requestDigest;
  if (existing && parts.clientToken !== undefined && existing.state.clientToken === parts.clientToken && sameRequest) return { service: existing.service };
  throw invalidParameterException("Creation of service was not idempotent.");
}

/** A new service as DescribeServices shows it. */
function newServiceDocument(parts: {
  input: CreateServiceRequest;
  loadBalancers: LoadBalancer[];
  serviceArn: string;
  name: string;
  cluster: ActiveCluster;
  desiredCount: number;
  strategy: CreateServiceRequest["capacityProviderStrategy"];
  rolling: ReturnType<typeof rollingSettings>;
  definition: TaskDefinition;
  deployment: ReturnType<typeof newDeployment>;
  now: Date;
  createdBy: string;
}): Service {
  const { input, serviceArn, name, cluster, desiredCount, strategy, rolling, definition, deployment, now } = parts;
  return {
    serviceArn,
    serviceName: name,
    clusterArn: cluster.clusterArn,
    loadBalancers: parts.loadBalancers,
    serviceRegistries: [],
    status: "ACTIVE",
    desiredCount,
    runningCount: 0,
    pendingCount: 0,
    ...(strategy ? { capacityProviderStrategy: strategy } : { launchType: "FARGATE" }),
    platformVersion: input.platformVersion ?? "LATEST",
    platformFamily: "Linux",
    taskDefinition: definition.taskDefinitionArn!,
    deploymentConfiguration: {
      deploymentCircuitBreaker: rolling.circuitBreaker,
      maximumPercent: rolling.maximumPercent,
      minimumHealthyPercent: rolling.minimumHealthyPercent,
    },
    deployments: [deployment],
    events: [],
    createdAt: now,
    placementConstraints: [],
    placementStrategy: [],
    ...(input.networkConfiguration ? { networkConfiguration: input.networkConfiguration } : {}),
    ...(input.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds } : {}),
    schedulingStrategy: "REPLICA",
    deploymentController: { type: "ECS" },
    createdBy: parts.createdBy,
    enableECSManagedTags: input.enableECSManagedTags ?? false,
    propagateTags: input.propagateTags ?? "NONE",
    enableExecuteCommand: input.enableExecuteCommand ?? false,
  };
}

export async function requireService(context: EcsContext, cluster: ActiveCluster, reference: string | undefined): Promise<ServiceRecord> {
  const record = await context.store.services.get(serviceArnOf(context, cluster, reference));
  if (!record || record.clusterArn !== cluster.clusterArn) throw serviceNotFoundException("Service not found.");
  // A deleted service (DRAINING, then INACTIVE) is still found, and refused as not ACTIVE.
  if (record.status !== "ACTIVE") throw serviceNotActiveException("Service was not ACTIVE.");
  return record;
}

/** Whether UpdateService's members ask for a new deployment (a new revision, network, platform or capacity providers, or forced). */
function deploymentChange(
  input: UpdateServiceRequest,
  current: DeploymentSettings,
  definitionArn: string,
  targetsChanged: boolean,
): DeploymentSettings | undefined {
  const next: DeploymentSettings = {
    ...current,
    taskDefinition: definitionArn,
    ...(input.networkConfiguration ? { networkConfiguration: input.networkConfiguration } : {}),
    ...(input.platformVersion !== undefined ? { platformVersion: resolvePlatformVersion(input.platformVersion) } : {}),
    ...(input.capacityProviderStrategy?.length ? { capacityProviderStrategy: input.capacityProviderStrategy, launchType: undefined } : {}),
  };
  const changed = JSON.stringify(next) !== JSON.stringify(current);
  // New target groups need new tasks: those running stay registered where they are until replaced.
  return changed || targetsChanged || input.forceNewDeployment === true ? next : undefined;
}

export async function updateService(context: ServiceOperationsContext, request: UpdateServiceRequest, call?: RequestContext): Promise<UpdateServiceResponse> {
  const input = withKnownMembers(request);
  const cluster = await requireActiveCluster(context, input.cluster);
  refuseUnserved(input);
  const desiredCount = checkDesiredCount(input.desiredCount);
  const definition = input.taskDefinition !== undefined ? await activeDefinition(context, input.taskDefinition) : undefined;
  await authorizePassRole(call, namedRoles(definition));
  return withOptimisticRetry(
    async () => {
      const record = await requireService(context, cluster, input.service);
      let service = record.service;
      const primary = service.deployments![0]!;
      const rolling = rollingSettings(input.deploymentConfiguration, {
        minimumHealthyPercent: service.deploymentConfiguration?.minimumHealthyPercent ?? 100,
        maximumPercent: service.deploymentConfiguration?.maximumPercent ?? 200,
        circuitBreaker: {
          enable: service.deploymentConfiguration?.deploymentCircuitBreaker?.enable ?? false,
          rollback: service.deploymentConfiguration?.deploymentCircuitBreaker?.rollback ?? false,
        },
      });
      const now = new Date(context.clock.now());
      service = {
        ...service,
        ...(desiredCount !== undefined ? { desiredCount } : {}),
        deploymentConfiguration: {
          deploymentCircuitBreaker: rolling.circuitBreaker,
          maximumPercent: rolling.maximumPercent,
          minimumHealthyPercent: rolling.minimumHealthyPercent,
        },
        ...(input.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds } : {}),
        ...(input.enableExecuteCommand !== undefined ? { enableExecuteCommand: input.enableExecuteCommand } : {}),
        ...(input.propagateTags !== undefined ? { propagateTags: input.propagateTags } : {}),
        ...(input.enableECSManagedTags !== undefined ? { enableECSManagedTags: input.enableECSManagedTags } : {}),
        ...(input.networkConfiguration ? { networkConfiguration: input.networkConfiguration } : {}),
        ...(input.platformVersion !== undefined ? { platformVersion: input.platformVersion } : {}),
        ...(input.capacityProviderStrategy?.length ? { capacityProviderStrategy: input.capacityProviderStrategy, launchType: undefined } : {}),
      };
      // New target groups, or a new revision, are checked against the revision the service will run.
      const loadBalancersBefore = JSON.stringify(service.loadBalancers ?? []);
      if (input.loadBalancers !== undefined || (definition && service.loadBalancers?.length)) {
        const checkedAgainst = definition ?? (await activeDefinition(context, primary.taskDefinition));
        service = { ...service, loadBalancers: await checkServiceLoadBalancers(context.store, input.loadBalancers ?? service.loadBalancers, checkedAgainst) };
      }
      const targetsChanged = JSON.stringify(service.loadBalancers ?? []) !== loadBalancersBefore;
      const next = deploymentChange(input, deploymentSettingsOf(primary), definition?.taskDefinitionArn ?? primary.taskDefinition!, targetsChanged);
      let history: ((tx: Repositories) => Promise<void>) | undefined;
      if (next) {
        const nextDefinition = definition ?? (await activeDefinition(context, next.taskDefinition));
        await checkDeployment(context, cluster, nextDefinition, next, record.serviceName);
        const arn = newServiceDeploymentArn(record.serviceArn);
        const previous = service.deployments ?? [];
        service = { ...withNewPrimary(service, newDeployment(next, service.desiredCount ?? 0, now), now), currentServiceDeployment: arn };
        const written = service;
        history = (tx) => startServiceDeployment(tx.serviceDeployments, { arn, service: written, definition: nextDefinition, previous, now });
      } else if (desiredCount !== undefined) {
        service = { ...service, deployments: [{ ...primary, desiredCount, updatedAt: now }, ...service.deployments!.slice(1)] };
      }
      const state = next ? { ...record.state, steady: false } : record.state;
      const applied = await writeService(context, record, { service, state, updatedAtMs: now.getTime() }, history);
      if (!applied) return LOST_RACE;
      context.store.signals.publish("services", record.serviceArn);
      return { service };
    },
    {
      exhausted: () => {
        throw clientException("The service was updated concurrently; try again."); // wording not confirmed
      },
    },
  );
}

export async function deleteService(context: ServiceOperationsContext, input: DeleteServiceRequest): Promise<DeleteServiceResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  return withOptimisticRetry(
    async () => {
      const record = await requireService(context, cluster, input.service);
      if ((record.service.desiredCount ?? 0) > 0 && input.force !== true) {
        throw invalidParameterException("The service cannot be stopped while it is scaled above 0.");
      }
      const now = new Date(context.clock.now());
      const service: Service = {
        ...record.service,
        status: "DRAINING",
        desiredCount: 0,
        deployments: (record.service.deployments ?? []).map((deployment, index) =>
          index === 0 ? { ...deployment, desiredCount: 0, updatedAt: now } : deployment,
        ),
      };
      // ECS deletes a service's deployments with it; its tags go in the same transaction.
      const applied = await writeService(
        context,
        record,
        { status: "DRAINING", service, state: { ...record.state, steady: false }, updatedAtMs: now.getTime() },
        async (tx) => {
          await tx.serviceDeployments.removeService(record.serviceArn);
          await tx.tags.removeAll(record.serviceArn);
        },
      );
      if (!applied) return LOST_RACE;
      context.store.signals.publish("services", record.serviceArn);
      return { service };
    },
    {
      exhausted: () => {
        throw clientException("The service was updated concurrently; try again."); // wording not confirmed
      },
    },
  );
}

/** Writes the service (if still at the version read) and what goes with it, in one transaction; false when it changed meanwhile. */
export async function writeService(
  context: EcsContext,
  record: ServiceRecord,
  change: { status?: string; service: Service; state: ServiceSchedulingState; updatedAtMs: number },
  alongside?: (tx: Repositories) => Promise<void>,
): Promise<boolean> {
  return context.store.exclusively([], async (tx) => {
    const applied = await tx.services.update(record.serviceArn, record.version, change);
    if (applied && alongside) await alongside(tx);
    return applied;
  });
}

export async function describeServices(context: EcsContext, input: DescribeServicesRequest): Promise<DescribeServicesResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const references = input.services ?? [];
  // AWS's wording as users quote it (vend/ecs-cleaner#2; structurely/ecs-autoscale#32).
  if (references.length === 0) throw invalidParameterException("Services cannot be empty.");
  if (references.length > 10) throw invalidParameterException("service names can have at most 10 items.");
  const arns = references.map((reference) => {
    try {
      return serviceArnOf(context, cluster, reference);
    } catch {
      return reference;
    }
  });
  const found = new Map(
    (await context.store.services.getMany(arns)).filter((record) => record.clusterArn === cluster.clusterArn).map((r) => [r.serviceArn, r]),
  );
  const services: Service[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const arn of arns) {
    const record = found.get(arn);
    if (!record) {
      failures.push({ arn, reason: "MISSING" });
      continue;
    }
    const tags = input.include?.includes("TAGS") ? { tags: toTags(await context.store.tags.list(arn)) } : {};
    // The revisions its deployments run, with their counts (an INACTIVE service runs none).
    const currentServiceRevisions = record.status === "INACTIVE" ? [] : await currentServiceRevisionsOf(context.store.serviceDeployments, record.service);
    services.push({ ...record.service, currentServiceRevisions, ...tags });
  }
  return { services, failures };
}

const isPage = (value: unknown): value is { a: string } => typeof (value as { a?: unknown })?.a === "string";

export async function listServices(context: EcsContext, input: ListServicesRequest): Promise<ListServicesResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  // ListServices answers 10 at a time unless maxResults says otherwise.
  const limit = input.maxResults === undefined ? 10 : checkMaxResults(input.maxResults, 100);
  assertLaunchType(input.launchType);
  // Every Berth service is a REPLICA one.
  if (input.schedulingStrategy === "DAEMON") return { serviceArns: [] };
  const page = decodeToken(input.nextToken, isPage);
  const arns = await context.store.services.listArns(cluster.clusterArn, {
    ...(page ? { afterArn: page.a } : {}),
    limit: limit + 1,
    ...(input.launchType !== undefined ? { launchType: input.launchType } : {}),
  });
  const shown = arns.slice(0, limit);
  return { serviceArns: shown, ...(arns.length > limit ? { nextToken: encodeToken({ a: shown.at(-1)! }) } : {}) };
}
