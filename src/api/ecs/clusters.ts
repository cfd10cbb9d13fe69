// ECS clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster, UpdateClusterSettings,
// DeleteCluster, PutClusterCapacityProviders, DescribeCapacityProviders.
import type {
  CapacityProvider,
  Cluster,
  ClusterSetting,
  CreateClusterRequest,
  CreateClusterResponse,
  DeleteClusterRequest,
  DeleteClusterResponse,
  DescribeCapacityProvidersRequest,
  DescribeCapacityProvidersResponse,
  DescribeClustersRequest,
  DescribeClustersResponse,
  ListClustersRequest,
  ListClustersResponse,
  PutClusterCapacityProvidersRequest,
  PutClusterCapacityProvidersResponse,
  UpdateClusterRequest,
  UpdateClusterResponse,
  UpdateClusterSettingsRequest,
  UpdateClusterSettingsResponse,
} from "@aws-sdk/client-ecs";
import { buildArn } from "../../core/arn.js";
import { clusterContainsServicesException, clusterContainsTasksException, clusterNotFoundException, invalidParameterException } from "../../core/errors.js";
import { FARGATE_PROVIDERS, validateStrategy } from "../../core/run-task/validate-run-task.js";
import type { EcsContext } from "./ecs-context.js";
import { checkMaxResults, clusterArnOf, clusterNameOf, decodeToken, encodeToken } from "./ecs-context.js";
import { toTags, validateTags } from "./tags.js";

const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const DEFAULT_SETTINGS: ClusterSetting[] = [{ name: "containerInsights", value: "disabled" }];

function checkSettings(settings: readonly ClusterSetting[] | undefined): ClusterSetting[] | undefined {
  if (settings === undefined) return undefined;
  return settings.map((setting) => {
    if (setting.name !== "containerInsights") throw invalidParameterException(`Unsupported cluster setting: ${setting.name}`);
    if (!["enabled", "disabled", "enhanced"].includes(setting.value ?? "")) {
      throw invalidParameterException("The containerInsights setting value must be enabled, disabled or enhanced.");
    }
    return { name: setting.name, value: setting.value };
  });
}

export async function requireActiveCluster(context: EcsContext, reference: string | undefined): Promise<Cluster & { clusterName: string; clusterArn: string }> {
  const cluster = await context.store.clusters.get(clusterNameOf(reference));
  if (!cluster || cluster.status !== "ACTIVE") throw clusterNotFoundException("Cluster not found.");
  return cluster as Cluster & { clusterName: string; clusterArn: string };
}

const PENDING_STATUSES = ["PROVISIONING", "PENDING", "ACTIVATING"];

interface ClusterCounts {
  readonly running: { readonly EC2: number; readonly FARGATE: number };
  readonly pending: { readonly EC2: number; readonly FARGATE: number };
}

async function countTasks(context: EcsContext, clusterArn: string): Promise<ClusterCounts> {
  const counts = await context.store.tasks.countByStatus(clusterArn);
  const count = (statuses: readonly string[], launchType: string) =>
    counts.filter((c) => statuses.includes(c.lastStatus) && c.launchType === launchType).reduce((sum, c) => sum + c.count, 0);
  return {
    running: { EC2: count(["RUNNING"], "EC2"), FARGATE: count(["RUNNING"], "FARGATE") },
    pending: { EC2: count(PENDING_STATUSES, "EC2"), FARGATE: count(PENDING_STATUSES, "FARGATE") },
  };
}

/**
 * The STATISTICS entries, in the order AWS lists them. Berth has no services yet (their issue
 * adds them), so the service counts are the true zero; EC2 counts are zero because Berth runs no
 * EC2 tasks, counted all the same.
 */
function statistics(counts: ClusterCounts): { name: string; value: string }[] {
  const entry = (name: string, value: number) => ({ name, value: String(value) });
  return [
    entry("runningEC2TasksCount", counts.running.EC2),
    entry("runningFargateTasksCount", counts.running.FARGATE),
    entry("pendingFargateTasksCount", counts.pending.FARGATE),
    entry("pendingEC2TasksCount", counts.pending.EC2),
    entry("activeEC2ServiceCount", 0),
    entry("activeFargateServiceCount", 0),
    entry("drainingFargateServiceCount", 0),
    entry("drainingEC2ServiceCount", 0),
  ];
}

async function present(context: EcsContext, cluster: Cluster, include: readonly string[]): Promise<Cluster> {
  const counts = await countTasks(context, cluster.clusterArn!);
  const { settings, configuration, attachments, ...rest } = cluster;
  return {
    ...rest,
    registeredContainerInstancesCount: 0,
    runningTasksCount: counts.running.EC2 + counts.running.FARGATE,
    pendingTasksCount: counts.pending.EC2 + counts.pending.FARGATE,
    activeServicesCount: await context.store.services.countActive(cluster.clusterArn!),
    statistics: include.includes("STATISTICS") ? statistics(counts) : [],
    tags: include.includes("TAGS") ? toTags(await context.store.tags.list(cluster.clusterArn!)) : [],
    ...(include.includes("SETTINGS") ? { settings: settings ?? DEFAULT_SETTINGS } : {}),
    ...(include.includes("CONFIGURATIONS") && configuration ? { configuration } : {}),
    ...(include.includes("ATTACHMENTS") ? { attachments: attachments ?? [], attachmentsStatus: "UPDATE_COMPLETE" } : {}),
  };
}

const NOT_ASSOCIATED =
  "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.";

/** The cluster's providers (built-in ones only) and a default strategy naming only those. */
function checkProviders(providers: readonly string[], strategyInput: CreateClusterRequest["defaultCapacityProviderStrategy"]) {
  for (const provider of providers) {
    if (!(FARGATE_PROVIDERS as readonly string[]).includes(provider))
      throw invalidParameterException(`The specified capacity provider '${provider}' does not exist.`);
  }
  const strategy = strategyInput?.length ? validateStrategy(strategyInput) : [];
  for (const item of strategy) {
    if (!providers.includes(item.capacityProvider ?? "")) throw invalidParameterException(NOT_ASSOCIATED);
  }
  return strategy;
}

export async function createCluster(context: EcsContext, input: CreateClusterRequest): Promise<CreateClusterResponse> {
  const name = input.clusterName ?? "default";
  if (!CLUSTER_NAME.test(name)) {
    throw invalidParameterException(
      "Cluster name can have up to 255 characters. Valid characters are letters (uppercase and lowercase), numbers, hyphens, and underscores.",
    );
  }
  const existing = await context.store.clusters.get(name);
  // CreateCluster is idempotent for a cluster that already exists and is ACTIVE.
  if (existing && existing.status === "ACTIVE") return { cluster: await present(context, existing, ["SETTINGS", "CONFIGURATIONS", "TAGS"]) };
  const tags = validateTags(input.tags);
  // As PutClusterCapacityProviders: the default strategy may name only the cluster's own providers.
  const strategy = checkProviders(input.capacityProviders ?? [], input.defaultCapacityProviderStrategy);
  const cluster: Cluster & { clusterName: string; clusterArn: string; status: string } = {
    clusterArn: clusterArnOf(context.scope, name),
    clusterName: name,
    status: "ACTIVE",
    settings: checkSettings(input.settings) ?? DEFAULT_SETTINGS,
    capacityProviders: input.capacityProviders ?? [],
    defaultCapacityProviderStrategy: strategy,
    ...(input.configuration ? { configuration: input.configuration } : {}),
    ...(input.serviceConnectDefaults?.namespace ? { serviceConnectDefaults: { namespace: input.serviceConnectDefaults.namespace } } : {}),
  };
  await context.store.clusters.put(cluster, context.clock.now());
  await context.store.tags.put(cluster.clusterArn, tags);
  return { cluster: await present(context, cluster, ["SETTINGS", "CONFIGURATIONS", "TAGS"]) };
}

export async function describeClusters(context: EcsContext, input: DescribeClustersRequest): Promise<DescribeClustersResponse> {
  const references = input.clusters?.length ? input.clusters : ["default"];
  if (references.length > 100) throw invalidParameterException("clusters can have at most 100 items.");
  const include = input.include ?? [];
  const clusters: Cluster[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const reference of references) {
    const name = clusterNameOf(reference);
    const cluster = await context.store.clusters.get(name);
    if (cluster) clusters.push(await present(context, cluster, include));
    else failures.push({ arn: reference.startsWith("arn:") ? reference : clusterArnOf(context.scope, name), reason: "MISSING" });
  }
  return { clusters, failures };
}

const isAfterName = (value: unknown): value is { after: string } => typeof (value as { after?: unknown })?.after === "string";

export async function listClusters(context: EcsContext, input: ListClustersRequest): Promise<ListClustersResponse> {
  const limit = checkMaxResults(input.maxResults);
  const page = decodeToken(input.nextToken, isAfterName);
  const rows = await context.store.clusters.list({ ...(page ? { afterName: page.after } : {}), limit: limit + 1, status: "ACTIVE" });
  const shown = rows.slice(0, limit);
  return {
    clusterArns: shown.map((cluster) => cluster.clusterArn!),
    ...(rows.length > limit ? { nextToken: encodeToken({ after: shown.at(-1)!.clusterName }) } : {}),
  };
}

export async function updateCluster(context: EcsContext, input: UpdateClusterRequest): Promise<UpdateClusterResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const updated = {
    ...cluster,
    status: "ACTIVE",
    ...(input.settings ? { settings: checkSettings(input.settings) } : {}),
    ...(input.configuration ? { configuration: input.configuration } : {}),
    ...(input.serviceConnectDefaults?.namespace ? { serviceConnectDefaults: { namespace: input.serviceConnectDefaults.namespace } } : {}),
  };
  await context.store.clusters.put(updated, context.clock.now());
  return { cluster: await present(context, updated, ["SETTINGS", "CONFIGURATIONS"]) };
}

export async function updateClusterSettings(context: EcsContext, input: UpdateClusterSettingsRequest): Promise<UpdateClusterSettingsResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const updated = { ...cluster, status: "ACTIVE", settings: checkSettings(input.settings) ?? cluster.settings };
  await context.store.clusters.put(updated, context.clock.now());
  return { cluster: await present(context, updated, ["SETTINGS"]) };
}

export async function deleteCluster(context: EcsContext, input: DeleteClusterRequest): Promise<DeleteClusterResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const deleted = { ...cluster, status: "INACTIVE" };
  // Under the cluster's row lock, which CreateService holds while it counts and inserts: a service
  // created meanwhile is seen here, or sees the cluster gone. (RunTask takes no such lock: a task
  // placed in the instant of the delete outlives its cluster.)
  await context.store.exclusively([], async (tx) => {
    await tx.clusters.lock(cluster.clusterName);
    if ((await tx.clusters.get(cluster.clusterName))?.status !== "ACTIVE") throw clusterNotFoundException("Cluster not found.");
    if ((await tx.services.countActive(cluster.clusterArn)) > 0) {
      throw clusterContainsServicesException("The Cluster cannot be deleted while Services are active.");
    }
    const counts = await tx.tasks.countByStatus(cluster.clusterArn);
    if (counts.some((c) => c.lastStatus !== "STOPPED" && c.count > 0)) {
      throw clusterContainsTasksException("The Cluster cannot be deleted while Tasks are active.");
    }
    await tx.clusters.put(deleted, context.clock.now());
    // The tags go with the cluster: a cluster created later under the same name (same ARN) starts
    // without them, as on AWS.
    await tx.tags.removeAll(cluster.clusterArn);
  });
  return { cluster: await present(context, deleted, []) };
}

export async function putClusterCapacityProviders(
  context: EcsContext,
  input: PutClusterCapacityProvidersRequest,
): Promise<PutClusterCapacityProvidersResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const providers = input.capacityProviders ?? [];
  const strategy = checkProviders(providers, input.defaultCapacityProviderStrategy);
  const updated = { ...cluster, status: "ACTIVE", capacityProviders: providers, defaultCapacityProviderStrategy: strategy };
  await context.store.clusters.put(updated, context.clock.now());
  return { cluster: await present(context, updated, ["SETTINGS", "CONFIGURATIONS"]) };
}

const isProviderPage = (v: unknown): v is { p: number } => typeof (v as { p?: unknown })?.p === "number";

export async function describeCapacityProviders(context: EcsContext, input: DescribeCapacityProvidersRequest): Promise<DescribeCapacityProvidersResponse> {
  // AWS pages DescribeCapacityProviders 10 at a time at most.
  const limit = checkMaxResults(input.maxResults, 10);
  const page = decodeToken(input.nextToken, isProviderPage);
  const wanted = input.capacityProviders?.length ? input.capacityProviders : [...FARGATE_PROVIDERS];
  if (wanted.length > 100) throw invalidParameterException("capacityProviders can have at most 100 items.");
  const start = page?.p ?? 0;
  const shown = wanted.slice(start, start + limit);
  const withTags = input.include?.includes("TAGS") ?? false;
  const capacityProviders: CapacityProvider[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const reference of shown) {
    const name = reference.startsWith("arn:") ? reference.slice(reference.lastIndexOf("/") + 1) : reference;
    if (!(FARGATE_PROVIDERS as readonly string[]).includes(name)) {
      failures.push({ arn: reference, reason: "MISSING" });
      continue;
    }
    const capacityProviderArn = buildArn(context.scope, "ecs", `capacity-provider/${name}`);
    capacityProviders.push({
      capacityProviderArn,
      name,
      status: "ACTIVE",
      ...(withTags ? { tags: toTags(await context.store.tags.list(capacityProviderArn)) } : {}),
    });
  }
  return { capacityProviders, failures, ...(start + limit < wanted.length ? { nextToken: encodeToken({ p: start + limit }) } : {}) };
}
