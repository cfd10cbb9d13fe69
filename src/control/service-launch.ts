// What a service's PRIMARY deployment launches: the RunTask request and context the TaskLauncher
// takes, rebuilt from the stored service on every launch (the deployment holds the revision and
// network; the service its tags and settings), so a restarted scheduler launches exactly what the
// deployment says.
import type { Deployment, RunTaskRequest, Tag } from "@aws-sdk/client-ecs";
import type { ServiceRecord, Store } from "../store/index.js";
import type { RunTaskContext } from "./task-launcher.js";

export type ServiceLaunch = { readonly request: RunTaskRequest; readonly context: RunTaskContext } | { readonly problem: string };

export async function serviceLaunchRequest(store: Store, record: ServiceRecord, deployment: Deployment): Promise<ServiceLaunch> {
  const service = record.service;
  const clusterName = record.clusterArn.slice(record.clusterArn.indexOf(":cluster/") + ":cluster/".length);
  const cluster = await store.clusters.get(clusterName);
  if (!cluster || cluster.status !== "ACTIVE") return { problem: `ClusterNotFoundException: cluster ${clusterName} is not ACTIVE` };
  const match = /:task-definition\/([A-Za-z0-9_-]+):(\d+)$/.exec(deployment.taskDefinition ?? "");
  const definition = match ? await store.taskDefinitions.get(match[1]!, Number(match[2])) : undefined;
  if (!definition || definition.status === "DELETE_IN_PROGRESS") return { problem: `ClientException: TaskDefinition ${deployment.taskDefinition} not found.` };
  const tagsOf = async (arn: string): Promise<Tag[]> => (await store.tags.list(arn)).map((tag) => ({ key: tag.key, value: tag.value }));
  const definitionTags = service.propagateTags === "TASK_DEFINITION" ? await tagsOf(definition.taskDefinitionArn!) : [];
  const serviceTags = service.propagateTags === "SERVICE" ? await tagsOf(record.serviceArn) : [];
  const request: RunTaskRequest = {
    cluster: record.clusterArn,
    taskDefinition: definition.taskDefinitionArn!,
    ...(deployment.capacityProviderStrategy?.length ? { capacityProviderStrategy: deployment.capacityProviderStrategy } : { launchType: "FARGATE" }),
    ...(deployment.platformVersion ? { platformVersion: deployment.platformVersion } : {}),
    ...(deployment.networkConfiguration ? { networkConfiguration: deployment.networkConfiguration } : {}),
    startedBy: deployment.id!,
    enableExecuteCommand: service.enableExecuteCommand ?? false,
    ...(service.propagateTags === "TASK_DEFINITION" ? { propagateTags: "TASK_DEFINITION" } : {}),
    ...(serviceTags.length > 0 ? { tags: serviceTags } : {}),
  };
  // A service created by anyone but the account's root launches tasks held to their execution role's permissions.
  const checkExecutionRole = !/^arn:[^:]+:iam::\d{12}:root$/.test(service.createdBy ?? "");
  return {
    request,
    context: { cluster: cluster as RunTaskContext["cluster"], definition, definitionTags, ...(checkExecutionRole ? { checkExecutionRole } : {}) },
  };
}
