// Task scale-in protection: GetTaskProtection and UpdateTaskProtection. Only tasks a service
// started can be protected (API_UpdateTaskProtection: "Invoking this operation for a standalone
// task will result in an TASK_NOT_VALID failure"); a task of another cluster, or none, is MISSING
// (api_failures_messages.html lists both reasons for UpdateTaskProtection).
//
// Protection lives in the service's scheduling state (protectedTasks: task ARN → protected until),
// written with the service's optimistic version like UpdateService, so the scheduler's next pass
// reads it and its scale-in spares those tasks. Entries of stopped tasks and expired ones are
// dropped on each write, so the map stays as small as the service's live tasks.
import type {
  Failure,
  GetTaskProtectionRequest,
  GetTaskProtectionResponse,
  ProtectedTask,
  UpdateTaskProtectionRequest,
  UpdateTaskProtectionResponse,
} from "@aws-sdk/client-ecs";
import { buildArn } from "../../core/arn.js";
import { clientException, invalidParameterException } from "../../core/errors.js";
import type { ServiceRecord, StoredTask } from "../../store/index.js";
import { LOST_RACE, withOptimisticRetry } from "../../store/index.js";
import { requireActiveCluster } from "./clusters.js";
import type { EcsContext } from "./ecs-context.js";

/** UpdateTaskProtection's expiresInMinutes: 1 to 2,880 (48 hours), 120 when not given. */
export const PROTECTION_DEFAULT_MINUTES = 120;
export const PROTECTION_MAX_MINUTES = 2880;

type ActiveCluster = Awaited<ReturnType<typeof requireActiveCluster>>;

/** The tasks named, as ARNs of `cluster` (an id is a task of this cluster). */
function taskArnsOf(context: EcsContext, cluster: ActiveCluster, references: readonly string[] | undefined, max: number): string[] {
  if (!references || references.length === 0) throw invalidParameterException("tasks can not be empty."); // wording not confirmed
  if (references.length > max) throw invalidParameterException(`tasks can have at most ${max} items.`); // wording not confirmed
  return [
    ...new Set(
      references.map((reference) => (reference.startsWith("arn:") ? reference : buildArn(context.scope, "ecs", `task/${cluster.clusterName}/${reference}`))),
    ),
  ];
}

/** Which named tasks exist in `cluster` and were started by one of its services; the others as failures. */
async function sortTasks(context: EcsContext, cluster: ActiveCluster, arns: readonly string[]) {
  const found = new Map((await context.store.tasks.getMany(arns)).filter((task) => task.clusterArn === cluster.clusterArn).map((task) => [task.taskArn, task]));
  const failures: Failure[] = [];
  const byService = new Map<string, StoredTask[]>();
  for (const arn of arns) {
    const task = found.get(arn);
    if (!task) failures.push({ arn, reason: "MISSING" });
    else if (task.serviceName === undefined) failures.push({ arn, reason: "TASK_NOT_VALID" });
    else byService.set(task.serviceName, [...(byService.get(task.serviceName) ?? []), task]);
  }
  return { failures, byService };
}

const serviceArnOf = (context: EcsContext, cluster: ActiveCluster, serviceName: string) =>
  buildArn(context.scope, "ecs", `service/${cluster.clusterName}/${serviceName}`);

function protectionOf(record: ServiceRecord | undefined, task: StoredTask, nowMs: number): ProtectedTask {
  // Only an ACTIVE service protects, and only its own tasks (started by one of its deployments, not
  // by those of a deleted service of its name), and not one told to stop.
  const own = record !== undefined && (record.service.deployments ?? []).some((deployment) => deployment.id === task.startedBy);
  const untilMs = record?.status === "ACTIVE" && own ? (record.state.protectedTasks?.[task.taskArn] ?? 0) : 0;
  return untilMs > nowMs && task.desiredStatus !== "STOPPED"
    ? { taskArn: task.taskArn, protectionEnabled: true, expirationDate: new Date(untilMs) }
    : { taskArn: task.taskArn, protectionEnabled: false };
}

export async function getTaskProtection(context: EcsContext, input: GetTaskProtectionRequest): Promise<GetTaskProtectionResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const { failures, byService } = await sortTasks(context, cluster, taskArnsOf(context, cluster, input.tasks, 100));
  const nowMs = context.clock.now();
  const protectedTasks: ProtectedTask[] = [];
  for (const [serviceName, tasks] of byService) {
    const record = await context.store.services.get(serviceArnOf(context, cluster, serviceName));
    for (const task of tasks) protectedTasks.push(protectionOf(record, task, nowMs));
  }
  return { protectedTasks, failures };
}

function checkExpiresInMinutes(input: UpdateTaskProtectionRequest): number {
  if (input.protectionEnabled === undefined || input.protectionEnabled === null) throw invalidParameterException("protectionEnabled must be specified."); // wording not confirmed
  const minutes = input.expiresInMinutes ?? PROTECTION_DEFAULT_MINUTES;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > PROTECTION_MAX_MINUTES) {
    throw invalidParameterException(`expiresInMinutes must be between 1 and ${PROTECTION_MAX_MINUTES}.`); // wording not confirmed
  }
  return minutes;
}

/**
 * The service's protectedTasks after protecting (until `untilMs`) or unprotecting `tasks`: expired
 * entries and those of stopped tasks dropped. A stopped task is not protected (nothing to spare).
 */
export function nextProtectedTasks(
  current: Readonly<Record<string, number>> | undefined,
  tasks: readonly Pick<StoredTask, "taskArn" | "lastStatus">[],
  change: { enabled: boolean; untilMs: number; nowMs: number; stopped: ReadonlySet<string> },
): Record<string, number> {
  const next: Record<string, number> = {};
  for (const [arn, untilMs] of Object.entries(current ?? {})) if (untilMs > change.nowMs && !change.stopped.has(arn)) next[arn] = untilMs;
  for (const task of tasks) {
    if (change.enabled && task.lastStatus !== "STOPPED") next[task.taskArn] = change.untilMs;
    else delete next[task.taskArn];
  }
  return next;
}

/**
 * Protects or unprotects one service's tasks: one write of its scheduling state, in a transaction
 * that first locks the service's row, as the scheduler's stops do: a task the scheduler told to
 * stop is not answered as protected, and one protected first is not stopped by a scale-in.
 */
async function updateServiceTasks(context: EcsContext, serviceArn: string, named: StoredTask[], enabled: boolean, minutes: number): Promise<ProtectedTask[]> {
  const unprotected = () => named.map((task) => ({ taskArn: task.taskArn, protectionEnabled: false }));
  return withOptimisticRetry(
    () =>
      context.store.exclusively([], async (tx) => {
        await tx.services.lock(serviceArn);
        const record = await tx.services.get(serviceArn);
        // A deleted (DRAINING) service stops all its tasks whatever their protection: answered as not protected.
        if (!record || record.status !== "ACTIVE") return unprotected();
        const nowMs = context.clock.now();
        // Read again under the lock: a task told to stop since is no longer protectable.
        const tasks = await tx.tasks.getMany(named.map((task) => task.taskArn));
        const ids = new Set((record.service.deployments ?? []).map((deployment) => deployment.id));
        const own = tasks.filter((task) => task.startedBy !== undefined && ids.has(task.startedBy) && task.desiredStatus !== "STOPPED");
        const known = Object.keys(record.state.protectedTasks ?? {});
        const stopped = new Set((await tx.tasks.getMany(known)).filter((task) => task.lastStatus === "STOPPED").map((task) => task.taskArn));
        const protectedTasks = nextProtectedTasks(record.state.protectedTasks, own, { enabled, untilMs: nowMs + minutes * 60_000, nowMs, stopped });
        const state = { ...record.state, protectedTasks };
        const applied = await tx.services.update(serviceArn, record.version, { service: record.service, state, updatedAtMs: record.updatedAtMs });
        if (!applied) return LOST_RACE;
        tx.publishOnCommit("services", serviceArn);
        const current = new Map(tasks.map((task) => [task.taskArn, task]));
        return named.map((task) => protectionOf({ ...record, state }, current.get(task.taskArn) ?? task, nowMs));
      }),
    {
      exhausted: () => {
        throw clientException("The service was updated concurrently; try again."); // wording not confirmed
      },
    },
  );
}

export async function updateTaskProtection(context: EcsContext, input: UpdateTaskProtectionRequest): Promise<UpdateTaskProtectionResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const arns = taskArnsOf(context, cluster, input.tasks, 10);
  const minutes = checkExpiresInMinutes(input);
  const { failures, byService } = await sortTasks(context, cluster, arns);
  const protectedTasks: ProtectedTask[] = [];
  for (const [serviceName, tasks] of byService) {
    protectedTasks.push(...(await updateServiceTasks(context, serviceArnOf(context, cluster, serviceName), tasks, input.protectionEnabled === true, minutes)));
  }
  return { protectedTasks, failures };
}
