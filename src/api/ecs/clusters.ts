// ECS clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster, UpdateClusterSettings,
// DeleteCluster, PutClusterCapacityProviders, DescribeCapacityProviders.
import type {
  CapacityProvider,
  Cluster,
  ClusterSetting,
  CreateClusterRequest,
  DescribeClustersRequest,
  PutClusterCapacityProvidersRequest,
  UpdateClusterRequest,
  UpdateClusterSettingsRequest,
} from "@aws-sdk/client-ecs";
import { buildArn } from "../../core/arn.js";
import {
  clusterContainsTasksException,
  clusterNotFoundException,
  invalidParameterException,
} from "../../core/errors.js";
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

async function withCounts(context: EcsContext, cluster: Cluster): Promise<Cluster> {
  const counts = await context.store.tasks.countByStatus(cluster.clusterArn!);
  const count = (statuses: string[]) => counts.filter((c) => statuses.includes(c.lastStatus)).reduce((sum, c) => sum + c.count, 0);
  return {
    ...cluster,
    registeredContainerInstancesCount: 0,
    runningTasksCount: count(["RUNNING"]),
    pendingTasksCount: count(["PROVISIONING", "PENDING", "ACTIVATING"]),
    activeServicesCount: 0,
  };
}

async function present(context: EcsContext, cluster: Cluster, include: readonly string[]): Promise<Cluster> {
  const counted = await withCounts(context, cluster);
  const { settings, configuration, attachments, ...rest } = counted;
  return {
    ...rest,
    statistics: include.includes("STATISTICS")
      ? [
          { name: "runningFargateTasksCount", value: String(counted.runningTasksCount) },
          { name: "pendingFargateTasksCount", value: String(counted.pendingTasksCount) },
          { name: "activeFargateServiceCount", value: "0" },
          { name: "drainingFargateServiceCount", value: "0" },
        ]
      : [],
    tags: include.includes("TAGS") ? toTags(await context.store.tags.list(cluster.clusterArn!)) : [],
    ...(include.includes("SETTINGS") ? { settings: settings ?? DEFAULT_SETTINGS } : {}),
    ...(include.includes("CONFIGURATIONS") && configuration ? { configuration } : {}),
    ...(include.includes("ATTACHMENTS") ? { attachments: attachments ?? [], attachmentsStatus: "UPDATE_COMPLETE" } : {}),
  };
}

export async function createCluster(context: EcsContext, input: CreateClusterRequest): Promise<object> {
  const name = input.clusterName ?? "default";
  if (!CLUSTER_NAME.test(name)) {
    throw invalidParameterException("Cluster name can have up to 255 characters. Valid characters are letters (uppercase and lowercase), numbers, hyphens, and underscores.");
  }
  const existing = await context.store.clusters.get(name);
  // CreateCluster is idempotent for a cluster that already exists and is ACTIVE.
  if (existing && existing.status === "ACTIVE") return { cluster: await present(context, existing, ["SETTINGS", "CONFIGURATIONS", "TAGS"]) };
  const tags = validateTags(input.tags);
  const strategy = input.defaultCapacityProviderStrategy?.length ? validateStrategy(input.defaultCapacityProviderStrategy) : [];
  for (const provider of input.capacityProviders ?? []) {
    if (!(FARGATE_PROVIDERS as readonly string[]).includes(provider)) throw invalidParameterException(`The specified capacity provider '${provider}' does not exist.`);
  }
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

export async function describeClusters(context: EcsContext, input: DescribeClustersRequest): Promise<object> {
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

export async function listClusters(context: EcsContext, input: { nextToken?: string; maxResults?: number }): Promise<object> {
  const limit = checkMaxResults(input.maxResults);
  const page = decodeToken(input.nextToken, isAfterName);
  const rows = await context.store.clusters.list({ ...(page ? { afterName: page.after } : {}), limit: limit + 1, status: "ACTIVE" });
  const shown = rows.slice(0, limit);
  return {
    clusterArns: shown.map((cluster) => cluster.clusterArn),
    ...(rows.length > limit ? { nextToken: encodeToken({ after: shown.at(-1)!.clusterName }) } : {}),
  };
}

export async function updateCluster(context: EcsContext, input: UpdateClusterRequest): Promise<object> {
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

export async function updateClusterSettings(context: EcsContext, input: UpdateClusterSettingsRequest): Promise<object> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const updated = { ...cluster, status: "ACTIVE", settings: checkSettings(input.settings) ?? cluster.settings };
  await context.store.clusters.put(updated, context.clock.now());
  return { cluster: await present(context, updated, ["SETTINGS"]) };
}

export async function deleteCluster(context: EcsContext, input: { cluster?: string }): Promise<object> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const counts = await context.store.tasks.countByStatus(cluster.clusterArn);
  if (counts.some((c) => c.lastStatus !== "STOPPED" && c.count > 0)) {
    throw clusterContainsTasksException("The Cluster cannot be deleted while Tasks are active.");
  }
  // Services arrive with their own issue; ClusterContainsServicesException is checked there.
  const deleted = { ...cluster, status: "INACTIVE" };
  await context.store.clusters.put(deleted, context.clock.now());
  // The tags go with the cluster: a cluster created later under the same name (same ARN) starts
  // without them, as on AWS.
  await context.store.tags.removeAll(cluster.clusterArn);
  return { cluster: await present(context, deleted, []) };
}

export async function putClusterCapacityProviders(context: EcsContext, input: PutClusterCapacityProvidersRequest): Promise<object> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const providers = input.capacityProviders ?? [];
  for (const provider of providers) {
    if (!(FARGATE_PROVIDERS as readonly string[]).includes(provider)) throw invalidParameterException(`The specified capacity provider '${provider}' does not exist.`);
  }
  const strategy = input.defaultCapacityProviderStrategy?.length ? validateStrategy(input.defaultCapacityProviderStrategy) : [];
  for (const item of strategy) {
    if (!providers.includes(item.capacityProvider ?? "")) {
      throw invalidParameterException(
        "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
      );
    }
  }
  const updated = { ...cluster, status: "ACTIVE", capacityProviders: providers, defaultCapacityProviderStrategy: strategy };
  await context.store.clusters.put(updated, context.clock.now());
  return { cluster: await present(context, updated, ["SETTINGS", "CONFIGURATIONS"]) };
}

export async function describeCapacityProviders(context: EcsContext, input: { capacityProviders?: string[]; include?: string[] }): Promise<object> {
  const builtIn = (name: string): CapacityProvider => ({
    capacityProviderArn: buildArn(context.scope, "ecs", `capacity-provider/${name}`),
    name,
    status: "ACTIVE",
    tags: [],
  });
  const wanted = input.capacityProviders?.length ? input.capacityProviders : [...FARGATE_PROVIDERS];
  const capacityProviders: CapacityProvider[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const reference of wanted) {
    const name = reference.startsWith("arn:") ? reference.slice(reference.lastIndexOf("/") + 1) : reference;
    if ((FARGATE_PROVIDERS as readonly string[]).includes(name)) capacityProviders.push(builtIn(name));
    else failures.push({ arn: reference, reason: "MISSING" });
  }
  return { capacityProviders, failures };
}
