// ECS task operations: RunTask, StopTask, DescribeTasks, ListTasks. Placement and desired state
// are the control plane's TaskLauncher; these handlers resolve references and shape answers.
import type {
  DescribeTasksRequest,
  DescribeTasksResponse,
  ListTasksRequest,
  ListTasksResponse,
  RunTaskRequest,
  RunTaskResponse,
  StopTaskRequest,
  StopTaskResponse,
  Task,
} from "@aws-sdk/client-ecs";
import { buildArn } from "../../core/arn.js";
import { clientException, invalidParameterException } from "../../core/errors.js";
import type { TaskLauncher } from "../../control/task-launcher.js";
import type { EcsContext } from "./ecs-context.js";
import { checkMaxResults, clusterNameOf, decodeToken, encodeToken } from "./ecs-context.js";
import { requireActiveCluster } from "./clusters.js";
import { assertLaunchType } from "../../core/run-task/validate-run-task.js";
import { toTags, validateTags } from "./tags.js";
import { resolveTaskDefinition } from "./task-definitions.js";
import { authorizePassRole, namedRoles } from "./pass-role.js";
import type { RequestContext } from "../service-module.js";

export interface TaskOperationsContext extends EcsContext {
  readonly launcher: TaskLauncher;
}

/** A task reference: its ARN, or its id within the cluster. */
function taskArnOf(context: EcsContext, clusterName: string, reference: string): string {
  return reference.startsWith("arn:") ? reference : buildArn(context.scope, "ecs", `task/${clusterName}/${reference}`);
}

export async function runTask(context: TaskOperationsContext, input: RunTaskRequest, call?: RequestContext): Promise<RunTaskResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const definition = await resolveTaskDefinition(context, input.taskDefinition);
  if (!definition || definition.status === "DELETE_IN_PROGRESS") throw clientException("TaskDefinition not found.");
  await authorizePassRole(call, namedRoles(definition, input.overrides));
  // Read only when they are propagated: a store round trip fewer on every other RunTask.
  const definitionTags = input.propagateTags === "TASK_DEFINITION" ? toTags(await context.store.tags.list(definition.taskDefinitionArn!)) : [];
  const tags = validateTags(input.tags);
  if (new Set(tags.map((tag) => tag.key)).size !== tags.length) throw invalidParameterException("Tag keys must be unique.");
  // The root's tasks run as before; anyone else's are held to their execution role's permissions (README).
  const checkExecutionRole = call !== undefined && call.caller.kind !== "root";
  return context.launcher.runTask(input, { cluster, definition, definitionTags, ...(checkExecutionRole ? { checkExecutionRole } : {}) });
}

export async function stopTask(context: TaskOperationsContext, input: StopTaskRequest): Promise<StopTaskResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  if (!input.task) throw invalidParameterException("task must be specified.");
  if (input.reason !== undefined && input.reason.length > 255) throw invalidParameterException("reason must be at most 255 characters.");
  const taskArn = taskArnOf(context, cluster.clusterName, input.task);
  // Check membership before changing anything: a task of another cluster must stay untouched.
  const stored = await context.store.tasks.get(taskArn);
  if (!stored || stored.clusterArn !== cluster.clusterArn) throw invalidParameterException("The referenced task was not found.");
  const task = await context.launcher.stopTask(taskArn, input.reason);
  if (!task) throw invalidParameterException("The referenced task was not found.");
  return { task };
}

export async function describeTasks(context: EcsContext, input: DescribeTasksRequest): Promise<DescribeTasksResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const references = input.tasks ?? [];
  // AWS's wording as users quote it (aws/copilot-cli#3551, sil-org/ecs-deploy#63).
  if (references.length === 0) throw invalidParameterException("Tasks cannot be empty.");
  if (references.length > 100) throw invalidParameterException("tasks can have at most 100 items.");
  const arns = references.map((reference) => taskArnOf(context, cluster.clusterName, reference));
  const found = new Map(
    (await context.store.tasks.getMany(arns)).filter((stored) => stored.clusterArn === cluster.clusterArn).map((stored) => [stored.taskArn, stored.task]),
  );
  const tasks: Task[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const arn of arns) {
    const task = found.get(arn);
    if (!task) {
      failures.push({ arn, reason: "MISSING" });
      continue;
    }
    tasks.push(input.include?.includes("TAGS") ? { ...task, tags: toTags(await context.store.tags.list(arn)) } : { ...task, tags: undefined });
  }
  return { tasks, failures };
}

const isPage = (value: unknown): value is { a: string } => typeof (value as { a?: unknown })?.a === "string";

export async function listTasks(context: EcsContext, input: ListTasksRequest): Promise<ListTasksResponse> {
  const clusterName = clusterNameOf(input.cluster);
  const cluster = await requireActiveCluster(context, clusterName);
  const limit = checkMaxResults(input.maxResults);
  if (input.containerInstance !== undefined) return { taskArns: [] }; // Fargate tasks have no container instance
  assertLaunchType(input.launchType);
  if (input.desiredStatus !== undefined && !["RUNNING", "PENDING", "STOPPED"].includes(input.desiredStatus)) {
    throw invalidParameterException(`Invalid desiredStatus: ${input.desiredStatus}`);
  }
  // ECS never sets desired status PENDING, so that filter matches nothing (and has no next page).
  if (input.desiredStatus === "PENDING") return { taskArns: [] };
  const family = input.family?.startsWith("arn:") ? input.family.slice(input.family.lastIndexOf("/") + 1).split(":")[0] : input.family;
  const page = decodeToken(input.nextToken, isPage);
  const arns = await context.store.tasks.listArns({
    clusterArn: cluster.clusterArn,
    ...(family !== undefined ? { family } : {}),
    ...(input.startedBy !== undefined ? { startedBy: input.startedBy } : {}),
    ...(input.serviceName !== undefined ? { serviceName: input.serviceName } : {}),
    // ECS lists tasks whose desired status is RUNNING unless asked otherwise; PENDING is never set.
    desiredStatus: input.desiredStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    ...(input.launchType !== undefined ? { launchType: input.launchType } : {}),
    ...(page ? { afterTaskArn: page.a } : {}),
    limit: limit + 1,
  });
  const shown = arns.slice(0, limit);
  return {
    taskArns: shown,
    ...(arns.length > limit ? { nextToken: encodeToken({ a: shown.at(-1)! }) } : {}),
  };
}
