// The service scheduler: a level-triggered loop (run under its lease, src/cli) that moves every
// ACTIVE or DRAINING service one step toward its desired state per pass. A pass reads the service
// (desired: its deployments) and its tasks (actual: what the agents reported), plans a step with
// the pure planServiceStep, and applies it: launches through the TaskLauncher (placement lock and
// lease checked in one transaction), stops through StopTask's path, then writes the service's
// counts, rollout states and events. It may crash at any line: the tasks it launched carry their
// deployment id (startedBy) and service name, so the next pass counts them and neither doubles nor
// orphans them; only a crash between the launch and the service write loses that step's event.
//
// Launches back off when tasks keep failing (ECS throttles such services too, without publishing
// its curve): after three failures in a row, 1 s doubling up to 5 min, reset by a healthy task.
// Pacing: at most LAUNCHES_PER_PASS tasks per service per pass, in RunTask-sized placements, so a
// large service shares the placement lock with every other launch; a pass that used its whole
// budget asks for the next pass at once.
import type { RunTaskRequest, Service, Task } from "@aws-sdk/client-ecs";
import type { Clock } from "../core/clock.js";
import { canonicalJson } from "../core/canonical-json.js";
import { isAwsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { HEALTH_CHECK_STOP_REASON, rolloutReasons, scalingStopReason, serviceEventMessages, withEvents } from "../core/ecs-service/service-document.js";
import { deploymentSettingsOf, newDeployment, withNewPrimary } from "../core/ecs-service/service-document.js";
import type { ServiceStep, ServiceTaskView } from "../scheduler/service-step.js";
import { planServiceStep } from "../scheduler/service-step.js";
import type { HeldLease, LeaseFence, Repositories, ServiceRecord, ServiceSchedulingState, Store, StoredTask } from "../store/index.js";
import { LeaseLostError } from "../store/index.js";
import type { Fenced } from "./periodic-loop.js";
import type { TaskLauncher } from "./task-launcher.js";
import { serviceLaunchRequest } from "./service-launch.js";
import type { DeploymentOutcome } from "./service-deployment-history.js";
import { recordDeploymentOutcome } from "./service-deployment-history.js";
import { ServiceTargets, elbHealthStopReason, isElbHealthStop } from "./service-targets.js";
import type { ReconciledTargets, ServiceTargetState } from "./service-targets.js";

/** The service's targets as a pass changes them, and what it read of their health. */
interface TargetsInPass {
  targets: ServiceTargetState;
  readonly verdicts: ReconciledTargets["verdicts"];
  readonly due: ReconciledTargets["due"];
  readonly now: number;
}

/** The most tasks one pass launches for one service. */
export const LAUNCHES_PER_PASS = 100;
const RUN_TASK_CHUNK = 10;
const BACKOFF_AFTER_FAILURES = 3;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 300_000;
/** How far back a service's stopped tasks are read (the circuit breaker counts its deployment's failures). */
const STOPPED_TASKS_WINDOW_MS = 3_600_000;
/** How long a pass runs on before it renews its lease. */
const RENEW_LEASE_AFTER_MS = 1_000;
/** The same event message is not repeated within this time. */
const REPEAT_EVENT_AFTER_MS = 60_000;

/** What a pass holds: its lease, to fence writes with and to keep renewed. */
interface PassLease {
  readonly fenced: Fenced;
  readonly fence: LeaseFence;
  /** Renews the lease when a second has passed since; throws LeaseLostError when it is lost. */
  keep(): Promise<void>;
}

export interface ServiceSchedulerOptions {
  readonly store: Store;
  readonly launcher: TaskLauncher;
  readonly clock: Clock;
  readonly logger: Pick<Logger, "warn" | "error">;
  /** A service's tasks were registered in or deregistered from target groups (the load balancers' nodes must follow). */
  readonly onTargetsChanged?: () => void;
}

export class ServiceScheduler {
  private readonly targets: ServiceTargets;

  constructor(private readonly options: ServiceSchedulerOptions) {
    this.targets = new ServiceTargets(options.store.elbv2);
  }

  /**
   * One pass over every scheduled service; true when a service has more to do at once (its launch
   * budget ran out). The lease is renewed as the pass goes (before each service, stop and launch
   * once a second has passed): a pass over many large services may outlast it, and its fenced
   * writes would then be refused half-way. A lease lost ends the pass.
   */
  async pass(fenced: Fenced, lease: HeldLease, renew: () => Promise<boolean> = async () => true): Promise<boolean> {
    const { clock } = this.options;
    let renewedAtMs = clock.now();
    const held: PassLease = {
      fenced,
      fence: { lease, now: () => clock.now() },
      async keep() {
        if (clock.now() - renewedAtMs < RENEW_LEASE_AFTER_MS) return;
        if (!(await renew())) throw new LeaseLostError(lease); // another replica schedules now
        renewedAtMs = clock.now();
      },
    };
    let again = false;
    for (const serviceArn of await this.options.store.services.listScheduled()) {
      try {
        await held.keep();
        again = (await this.step(serviceArn, held)) || again;
      } catch (error) {
        if (error instanceof LeaseLostError) return false;
        this.options.logger.error({ service: serviceArn, err: error }, "service scheduler step failed");
      }
    }
    return again;
  }

  private async step(serviceArn: string, held: PassLease): Promise<boolean> {
    const { clock, store } = this.options;
    // Read now, not at the pass's start: an UpdateService, DeleteService or UpdateTaskProtection
    // made since is planned over (a stale copy scaled in tasks protected meanwhile).
    const record = await store.services.get(serviceArn);
    if (!record || (record.status !== "ACTIVE" && record.status !== "DRAINING")) return false;
    const now = clock.now();
    const service = record.service;
    const deployments = service.deployments ?? [];
    const tasks = await this.tasksOf(record, now);
    const draining = record.status === "DRAINING";
    // Target groups first: a task counts as healthy only once its targets are, and one being deregistered is on its way out.
    const reconciled =
      service.loadBalancers?.length || record.state.loadBalancerTargets ? await this.targets.reconcile(service, record.state, tasks, now) : undefined;
    if (reconciled?.changed) this.options.onTargetsChanged?.();
    const views = tasks.map((task) => taskView(task, service, record.state, now, draining, reconciled));
    let state = backoffState(record.state, views, deployments[0]?.id, now);
    const breaker = service.deploymentConfiguration?.deploymentCircuitBreaker;
    const step = planServiceStep({
      desiredCount: draining ? 0 : (service.desiredCount ?? 0),
      draining,
      minimumHealthyPercent: service.deploymentConfiguration?.minimumHealthyPercent ?? 100,
      maximumPercent: service.deploymentConfiguration?.maximumPercent ?? 200,
      circuitBreaker: breaker ? { enable: breaker.enable === true, rollback: breaker.rollback === true } : undefined,
      deployments: deployments.map((deployment) => ({ id: deployment.id!, rolloutState: (deployment.rolloutState ?? "IN_PROGRESS") as "IN_PROGRESS" })),
      tasks: views,
      launchBudget: state.nextLaunchAtMs > now ? 0 : LAUNCHES_PER_PASS,
    });
    const messages: string[] = [...(reconciled?.messages ?? [])];
    const lb = reconciled ? { targets: reconciled.targets, verdicts: reconciled.verdicts, due: reconciled.due, now } : undefined;
    const stopped = await this.stopTasks(record, step, messages, held, lb);
    if (lb) state = { ...state, loadBalancerTargets: lb.targets };
    // Tasks stopped in this step no longer hold their zone or capacity provider for the launches.
    const remaining = views.filter((view) => !stopped.has(view.taskArn));
    const launched = step.launches > 0 ? await this.launch(record, step.launches, remaining, held, messages) : [];
    await this.record(record, { step, state, messages, launched: launched.length, now }, held.fenced);
    // Only tasks actually placed ask for the next pass at once: a service that cannot launch (no
    // capacity, a deleted revision or subnet) waits for the interval or a signal, never spins.
    return launched.length >= LAUNCHES_PER_PASS;
  }

  /**
   * The service's tasks: those started by one of its deployments (its startedBy). Deployment ids
   * are random, so the tasks of an earlier service of the same name (deleted; INACTIVE only once
   * none of them ran) are never counted into this one's, whatever the replicas' clocks say.
   * Stopped tasks are read back an hour (the circuit breaker counts its deployment's failures).
   */
  private async tasksOf(record: ServiceRecord, now: number): Promise<StoredTask[]> {
    const ids = new Set((record.service.deployments ?? []).map((deployment) => deployment.id));
    const tasks = await this.options.store.tasks.ofService(record.clusterArn, record.serviceName, now - STOPPED_TASKS_WINDOW_MS);
    return tasks.filter((task) => task.startedBy !== undefined && ids.has(task.startedBy));
  }

  /** Makes the step's stops; the tasks stopped. A stop that fails is logged and left to the next pass (one stuck task must not hold up the service). */
  private async stopTasks(record: ServiceRecord, step: ServiceStep, messages: string[], held: PassLease, lb?: TargetsInPass): Promise<Set<string>> {
    const primaryId = record.service.deployments?.[0]?.id ?? "";
    const stopped = new Set<string>();
    const stops = [
      ...step.stops.map((stop) => ({ ...stop, drained: false })),
      ...(lb?.due ?? []).map((due) => ({ taskArn: due.taskArn, cause: due.unhealthy ? "unhealthy" : "replaced", drained: true, reason: due.reason })),
    ];
    for (const stop of stops) {
      await held.keep();
      const unhealthy = stop.cause === "unhealthy";
      const verdict = lb?.verdicts.get(stop.taskArn);
      const elbFailure = verdict?.state === "unhealthy" ? verdict.targetGroupArn : undefined;
      const reason =
        "reason" in stop ? stop.reason : unhealthy ? (elbFailure ? elbHealthStopReason(elbFailure) : HEALTH_CHECK_STOP_REASON) : scalingStopReason(primaryId);
      // A registered task is deregistered first and stopped once its targets have drained (a later pass).
      if (lb && !stop.drained && (await this.drainFirst(record, lb, stop.taskArn, reason, unhealthy, messages))) continue;
      // A scale-in or replacement spares a task protected since the plan (UpdateTaskProtection
      // commits under the same service row, so one of the two sees the other).
      const spare =
        unhealthy || stop.drained || record.status === "DRAINING"
          ? undefined
          : (tx: Repositories) => protectedNow(tx, record, stop.taskArn, this.options.clock.now());
      try {
        const task = await this.options.launcher.stopTask(stop.taskArn, reason, "ServiceSchedulerInitiated", {
          fence: held.fence,
          ...(spare ? { spare } : {}),
        });
        if (!task) continue;
        stopped.add(stop.taskArn);
        if (unhealthy && !isElbHealthStop(reason)) messages.push(serviceEventMessages.unhealthy(record.serviceName, stop.taskArn));
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        this.options.logger.warn({ service: record.serviceArn, task: stop.taskArn, err: error }, "service task stop failed; the next pass tries again");
      }
    }
    if (stopped.size > 0) messages.push(serviceEventMessages.stopped(record.serviceName, [...stopped]));
    return stopped;
  }

  /** Deregisters a registered task before its stop; false when it has no target to drain (stop it now). */
  private async drainFirst(
    record: ServiceRecord,
    lb: TargetsInPass,
    taskArn: string,
    reason: string,
    unhealthy: boolean,
    messages: string[],
  ): Promise<boolean> {
    const registrations = lb.targets.registered[taskArn];
    const drain = await this.targets.beginDraining(lb.targets, taskArn, reason, unhealthy, lb.now);
    if (!drain || !registrations) return false;
    const { [taskArn]: _gone, ...registered } = lb.targets.registered;
    lb.targets = { ...lb.targets, registered, draining: { ...lb.targets.draining, [taskArn]: drain } };
    this.options.onTargetsChanged?.();
    if (isElbHealthStop(reason)) messages.push(serviceEventMessages.elbUnhealthy(record.serviceName, taskArn, registrations[0]!.targetGroupArn));
    for (const registration of registrations) messages.push(serviceEventMessages.deregisteredTargets(record.serviceName, 1, registration.targetGroupArn));
    return true;
  }

  /** Launches `count` tasks of the PRIMARY deployment, in RunTask-sized placements; the tasks placed. */
  private async launch(record: ServiceRecord, count: number, views: readonly ServiceTaskView[], held: PassLease, messages: string[]): Promise<Task[]> {
    const { store, launcher } = this.options;
    const deployment = record.service.deployments![0]!;
    const prepared = await serviceLaunchRequest(store, record, deployment);
    if ("problem" in prepared) {
      messages.push(serviceEventMessages.launchFailed(record.serviceName, prepared.problem));
      return [];
    }
    // What the PRIMARY deployment runs already, per zone (the spread) and per capacity provider (the strategy's base).
    const placedPerZone = new Map<string, number>();
    const placedPerProvider = new Map<string, number>();
    const tally = (counts: Map<string, number>, key: string | undefined) => key !== undefined && counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const view of views) {
      if (view.lastStatus === "STOPPED" || view.desiredStatus !== "RUNNING") continue;
      tally(placedPerZone, view.availabilityZone);
      if (view.deploymentId === deployment.id) tally(placedPerProvider, view.capacityProvider);
    }
    const placed: Task[] = [];
    const unplaced = new Set<string>();
    for (let left = count; left > 0; left -= RUN_TASK_CHUNK) {
      const request: RunTaskRequest = { ...prepared.request, count: Math.min(RUN_TASK_CHUNK, left) };
      await held.keep();
      try {
        const outcome = await launcher.runTask(request, {
          ...prepared.context,
          service: { name: record.serviceName, placedPerZone, placedPerProvider },
          fence: held.fence,
        });
        for (const task of outcome.tasks) {
          placed.push(task);
          tally(placedPerZone, task.availabilityZone);
          tally(placedPerProvider, task.capacityProviderName);
        }
        for (const failure of outcome.failures) unplaced.add(failure.reason);
        if (outcome.failures.length > 0) break;
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        // Users read events: an AWS error says what is wrong with their service; anything else is
        // ours, logged here and told as ServerException (no internals in the event).
        if (!isAwsError(error)) this.options.logger.error({ service: record.serviceArn, err: error }, "service launch failed");
        const reason = isAwsError(error) ? `${error.name}: ${error.message}` : "ServerException";
        messages.push(serviceEventMessages.launchFailed(record.serviceName, reason));
        break;
      }
    }
    if (placed.length > 0)
      messages.push(
        serviceEventMessages.started(
          record.serviceName,
          placed.map((task) => task.taskArn!),
        ),
      );
    for (const reason of unplaced) messages.push(serviceEventMessages.unableToPlace(record.serviceName, reason));
    return placed;
  }

  /** Writes the step's outcome into the service (counts, rollout states, drained deployments, events), fenced, retried over UpdateService's writes. */
  private async record(
    read: ServiceRecord,
    outcome: { step: ServiceStep; state: ServiceSchedulingState; messages: string[]; launched: number; now: number },
    fenced: Fenced,
  ): Promise<void> {
    let current: ServiceRecord | undefined = read;
    for (let attempt = 0; attempt < 5 && current; attempt++) {
      // A service UpdateService changed since the plan: its deployments are newer than the step's,
      // so only the events go in; the next pass plans over the new deployments.
      const sameDeployments = current.version === read.version || sameDeploymentIds(current.service, read.service);
      const { next, history } = sameDeployments
        ? applyStep(current, outcome)
        : { next: { ...current, service: withEvents(current.service, outcome.messages, new Date(outcome.now)) }, history: [] };
      // A pass that changed nothing writes nothing: a write bumps the service's version, and every
      // pass writing every service made UpdateService and UpdateTaskProtection lose their
      // optimistic races ("updated concurrently") under a busy scheduler.
      if (history.length === 0 && unchanged(current, next)) return;
      // The deployment history changes in the same transaction as the service.
      const committed = await fenced(async (tx) => {
        const applied = await tx.services.update(current!.serviceArn, current!.version, {
          status: next.status,
          service: next.service,
          state: next.state,
          updatedAtMs: outcome.now,
        });
        if (applied) for (const change of history) await recordDeploymentOutcome(tx.serviceDeployments, current!.serviceArn, change, new Date(outcome.now));
        return applied;
      });
      if (committed) return;
      current = await this.options.store.services.get(read.serviceArn);
    }
  }
}

function unchanged(before: ServiceRecord, after: ServiceRecord): boolean {
  return (
    before.status === after.status &&
    canonicalJson(before.service) === canonicalJson(after.service) &&
    canonicalJson(before.state) === canonicalJson(after.state)
  );
}

function sameDeploymentIds(a: Service, b: Service): boolean {
  const ids = (service: Service) => (service.deployments ?? []).map((deployment) => deployment.id).join(",");
  return ids(a) === ids(b) && a.desiredCount === b.desiredCount;
}

/**
 * The service after a step: deployments' counts and states, the rollback, steady state, events;
 * INACTIVE once a drained service is empty. Also what happened to the PRIMARY deployment, for the history.
 */
function applyStep(
  record: ServiceRecord,
  outcome: { step: ServiceStep; state: ServiceSchedulingState; messages: string[]; launched: number; now: number },
): { next: ServiceRecord; history: DeploymentOutcome[] } {
  const { step, now } = outcome;
  const at = new Date(now);
  const name = record.serviceName;
  // A placement or launch failure that repeats every pass is told once a minute, not every pass.
  const recent = new Set(
    (record.service.events ?? []).filter((event) => now - new Date(event.createdAt!).getTime() < REPEAT_EVENT_AFTER_MS).map((e) => e.message),
  );
  const repeatable = (message: string) => message.includes(") was unable to place a task.") || message.includes(") failed to launch a task");
  const messages = outcome.messages.filter((message) => !(repeatable(message) && recent.has(message)));
  // Task protection is UpdateTaskProtection's to write: this write keeps what the store holds now
  // (the plan's copy may be older), less what has expired.
  let state: ServiceSchedulingState = { ...outcome.state, protectedTasks: unexpired(record.state.protectedTasks, now) };
  const deployments = (record.service.deployments ?? [])
    .filter((deployment) => !step.drained.includes(deployment.id!))
    .map((deployment) => {
      const counts = step.counts.get(deployment.id!);
      // Unchanged counts leave the deployment (and its updatedAt) as it is, so that a pass that
      // changed nothing writes nothing (record's no-op check).
      const changed =
        counts && (counts.running !== deployment.runningCount || counts.pending !== deployment.pendingCount || counts.failed !== deployment.failedTasks);
      return changed ? { ...deployment, runningCount: counts.running, pendingCount: counts.pending, failedTasks: counts.failed, updatedAt: at } : deployment;
    });
  let service: Service = { ...record.service, deployments };
  const primary = deployments[0]!;
  const wasState = primary.rolloutState;
  if (step.primaryState === "COMPLETED" && wasState === "IN_PROGRESS") {
    deployments[0] = { ...primary, rolloutState: "COMPLETED", rolloutStateReason: rolloutReasons.completed(primary.id!), updatedAt: at };
    state = { ...state, lastCompleted: { id: primary.id!, ...deploymentSettingsOf(primary) }, consecutiveFailures: 0, nextLaunchAtMs: 0 };
    messages.push(serviceEventMessages.completed(name, primary.id!));
  }
  const history: DeploymentOutcome[] =
    step.primaryState === "COMPLETED" && wasState === "IN_PROGRESS" ? [{ kind: "completed", deployment: deployments[0]! }] : [];
  if (step.tripped) {
    deployments[0] = { ...primary, rolloutState: "FAILED", rolloutStateReason: rolloutReasons.circuitBreaker, updatedAt: at };
    messages.push(serviceEventMessages.failed(name, primary.id!));
  }
  service = { ...service, deployments };
  const target = state.lastCompleted;
  // A rollback that fails itself is not rolled back again (it would loop); it stays FAILED.
  const isRollback = primary.rolloutStateReason?.startsWith("ECS deployment circuit breaker: rolling back") === true;
  if (step.tripped && !isRollback && record.service.deploymentConfiguration?.deploymentCircuitBreaker?.rollback && target && target.id !== primary.id) {
    const rollback = newDeployment(target, record.service.desiredCount ?? 0, at, rolloutReasons.rollback(target.id));
    service = withNewPrimary(service, rollback, at);
    state = { ...state, consecutiveFailures: 0, nextLaunchAtMs: 0, failuresSeen: {} };
    messages.push(serviceEventMessages.rollingBack(name, target.id));
    history.push({ kind: "failed", deployment: deployments[0]!, rollback: { to: rollback, targetId: target.id } });
  } else if (step.tripped) history.push({ kind: "failed", deployment: deployments[0]! });
  if (step.steady && !state.steady) messages.push(serviceEventMessages.steady(name));
  state = { ...state, steady: step.steady };
  service = {
    ...service,
    runningCount: [...step.counts.values()].reduce((sum, counts) => sum + counts.running, 0),
    pendingCount: [...step.counts.values()].reduce((sum, counts) => sum + counts.pending, 0) + outcome.launched,
  };
  // A deleted (DRAINING) service whose last task has stopped is INACTIVE.
  const empty = record.status === "DRAINING" && step.occupied === 0 && outcome.launched === 0;
  const next = {
    ...record,
    status: empty ? "INACTIVE" : record.status,
    service: withEvents({ ...service, ...(empty ? { status: "INACTIVE" } : {}) }, messages, at),
    state,
  };
  return { next, history };
}

function unexpired(protectedTasks: ServiceSchedulingState["protectedTasks"], now: number): Record<string, number> | undefined {
  const kept = Object.entries(protectedTasks ?? {}).filter(([, untilMs]) => untilMs > now);
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** The planner's view of one stored task. */
function taskView(
  stored: StoredTask,
  service: Service,
  state: ServiceSchedulingState,
  now: number,
  draining: boolean,
  targets?: Pick<ReconciledTargets, "targets" | "verdicts">,
): ServiceTaskView {
  const task = stored.task;
  const checked = (task.containers ?? []).some((container) => container.healthStatus !== undefined);
  const running = stored.lastStatus === "RUNNING";
  const graceMs = (service.healthCheckGracePeriodSeconds ?? 0) * 1000;
  const startedAtMs = task.startedAt ? new Date(task.startedAt).getTime() : now;
  // With load balancers: healthy only once every target is; a target found unhealthy after the grace period replaces the task.
  const verdict = service.loadBalancers?.length ? (targets?.verdicts.get(stored.taskArn)?.state ?? "pending") : "healthy";
  const beingDeregistered = targets?.targets.draining[stored.taskArn] !== undefined;
  const pastGrace = startedAtMs + graceMs <= now;
  return {
    taskArn: stored.taskArn,
    deploymentId: stored.startedBy,
    // A task being deregistered is on its way out: it holds capacity, and is neither healthy nor stopped again.
    desiredStatus: beingDeregistered ? "STOPPED" : stored.desiredStatus,
    lastStatus: stored.lastStatus,
    healthy: running && task.healthStatus !== "UNHEALTHY" && (!checked || task.healthStatus === "HEALTHY") && verdict === "healthy",
    unhealthy: running && ((task.healthStatus === "UNHEALTHY" && pastGrace) || (verdict === "unhealthy" && pastGrace)),
    failed:
      stored.lastStatus === "STOPPED" &&
      (task.stopCode === "TaskFailedToStart" ||
        task.stopCode === "EssentialContainerExited" ||
        // The scheduler's own stop for a failed health check: the stop code tells it from a user's
        // StopTask given the same reason (which must not count toward the circuit breaker).
        (task.stopCode === "ServiceSchedulerInitiated" && (task.stoppedReason === HEALTH_CHECK_STOP_REASON || isElbHealthStop(task.stoppedReason)))),
    // A deleted service stops all its tasks: deleting it is no scale-in event, and nothing would
    // ever replace a task it kept (UpdateTaskProtection answers a DRAINING service's tasks unprotected).
    protected: draining ? false : (state.protectedTasks?.[stored.taskArn] ?? 0) > now,
    availabilityZone: task.availabilityZone,
    ...(task.capacityProviderName ? { capacityProvider: task.capacityProviderName } : {}),
    createdAtMs: stored.createdAtMs,
    ...(task.startedAt ? { startedAtMs: new Date(task.startedAt).getTime() } : {}),
  };
}

/**
 * Failures of the PRIMARY deployment counted since the last pass extend the streak (and the
 * back-off); a healthy task of the PRIMARY deployment ends it. Only the PRIMARY's count: its
 * launches are the ones backed off. A deployment the service left says nothing about them, and
 * counting it made a circuit-breaker rollback (a new PRIMARY, failuresSeen reset) recount every
 * failure of the FAILED deployment, still in the window, into a back-off of 2^(failures - 3) s
 * before its first launch (128 s for 10; bench/RESULTS.md, issue 13).
 */
function backoffState(state: ServiceSchedulingState, views: readonly ServiceTaskView[], primaryId: string | undefined, now: number): ServiceSchedulingState {
  const failed = new Map<string, number>();
  for (const view of views) if (view.failed && view.deploymentId) failed.set(view.deploymentId, (failed.get(view.deploymentId) ?? 0) + 1);
  const fresh = primaryId === undefined ? 0 : Math.max(0, (failed.get(primaryId) ?? 0) - (state.failuresSeen[primaryId] ?? 0));
  const failuresSeen = Object.fromEntries(failed);
  if (fresh > 0) {
    const consecutiveFailures = state.consecutiveFailures + fresh;
    const delayMs =
      consecutiveFailures >= BACKOFF_AFTER_FAILURES ? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (consecutiveFailures - BACKOFF_AFTER_FAILURES)) : 0;
    return { ...state, failuresSeen, consecutiveFailures, nextLaunchAtMs: now + delayMs, lastFailureAtMs: now };
  }
  // A task that turned RUNNING after the last failure was counted ends the streak (a replacement is
  // often created before the failure it replaces is seen, so its creation time would not do).
  const recovered = views.some((view) => view.deploymentId === primaryId && view.healthy && (view.startedAtMs ?? 0) > (state.lastFailureAtMs ?? 0));
  return recovered ? { ...state, failuresSeen, consecutiveFailures: 0, nextLaunchAtMs: 0 } : { ...state, failuresSeen };
}

/** Whether the service protects the task now, read in the stop's transaction (its row locked on PostgreSQL). */
async function protectedNow(tx: Repositories, record: ServiceRecord, taskArn: string, now: number): Promise<boolean> {
  await tx.services.lock(record.serviceArn);
  const current = await tx.services.get(record.serviceArn);
  return current?.status === "ACTIVE" && (current.state.protectedTasks?.[taskArn] ?? 0) > now;
}
