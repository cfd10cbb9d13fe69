// One step of a service toward its desired state (pure: a view of the service and its tasks in,
// what to launch and stop out; the service scheduler in src/control applies it and runs the next
// step on the next pass). Level-triggered: the same view gives the same step, so a pass that
// crashed half-way is simply planned again.
//
// The rolling update as ECS documents it (developerguide/deployment-type-ecs.html):
//   - the PRIMARY deployment (the newest) is brought to the desired count N; older (ACTIVE)
//     deployments are drained to zero;
//   - tasks occupying capacity (not yet STOPPED, whatever they were told) never exceed
//     floor(N × maximumPercent / 100), except that one task may always start when N > 0 and
//     nothing occupies it (maximumPercent 100 with one task would otherwise never replace it);
//   - healthy tasks (RUNNING, and HEALTHY where a container health check exists) are never stopped
//     below ceil(N × minimumHealthyPercent / 100); tasks that are not healthy may always be stopped;
//   - a task that failed its container health check is stopped and replaced ("Task failed
//     container health checks");
//   - scale-in stops pending tasks first, never protected ones, and takes from the AZ holding the
//     most of the deployment's tasks, keeping the zones balanced; a deployment replaces no protected
//     task of an older one either (that deployment completes once their protection ends);
//   - the deployment circuit breaker trips when the PRIMARY deployment's failed tasks reach
//     threshold = 0.5 × N, at least 3 and at most 200 (API_ServiceDeploymentCircuitBreaker).
//
//      PRIMARY rolloutState
//      IN_PROGRESS ──(N healthy, no older deployment left)──▶ COMPLETED
//           │
//           └──(circuit breaker: failed ≥ threshold)──▶ FAILED (rollback: a new PRIMARY with the
//                                                        last completed deployment's revision)

export interface ServiceTaskView {
  readonly taskArn: string;
  /** The deployment that started it (its startedBy); undefined for a task of none (counted as old). */
  readonly deploymentId: string | undefined;
  /** RUNNING until someone told it to stop. */
  readonly desiredStatus: string;
  readonly lastStatus: string;
  /** RUNNING, and HEALTHY where a container health check exists. */
  readonly healthy: boolean;
  /** RUNNING past the grace period and its health check says UNHEALTHY: to be stopped. */
  readonly unhealthy: boolean;
  /** STOPPED for a failure of the task itself (failed to start, essential container exited, health check), not by the scheduler, a user or a lost host. */
  readonly failed: boolean;
  /** Task scale-in protection (UpdateTaskProtection). */
  readonly protected: boolean;
  readonly availabilityZone: string | undefined;
  /** The capacity provider it was launched on (a strategy's base holds per service). */
  readonly capacityProvider?: string;
  readonly createdAtMs: number;
  /** When it turned RUNNING (undefined before). */
  readonly startedAtMs?: number;
}

export type RolloutState = "IN_PROGRESS" | "COMPLETED" | "FAILED";

export interface DeploymentView {
  readonly id: string;
  readonly rolloutState: RolloutState;
}

export interface ServiceStepInput {
  /** 0 for a DRAINING (deleted) service. */
  readonly desiredCount: number;
  /** A deleted service: every task goes, whatever state its deployments are in. */
  readonly draining?: boolean;
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  readonly circuitBreaker: { readonly enable: boolean; readonly rollback: boolean } | undefined;
  /** PRIMARY first, then the older ones. */
  readonly deployments: readonly DeploymentView[];
  readonly tasks: readonly ServiceTaskView[];
  /** The most tasks this step may launch (pacing, and 0 while launches back off after failures). */
  readonly launchBudget: number;
}

export type StopCause = "unhealthy" | "scale-in" | "replaced";

export interface DeploymentCounts {
  readonly running: number;
  readonly pending: number;
  readonly failed: number;
}

export interface ServiceStep {
  /** Tasks to launch for the PRIMARY deployment. */
  readonly launches: number;
  readonly stops: readonly { readonly taskArn: string; readonly cause: StopCause }[];
  readonly counts: ReadonlyMap<string, DeploymentCounts>;
  /** Older deployments with nothing left occupying capacity: they leave the service. */
  readonly drained: readonly string[];
  /** The PRIMARY deployment's rollout state after this step. */
  readonly primaryState: RolloutState;
  /** The circuit breaker tripped in this step (primaryState moved to FAILED). */
  readonly tripped: boolean;
  /** N healthy tasks of the PRIMARY deployment, nothing else left: the service is at its steady state. */
  readonly steady: boolean;
  /** Tasks still occupying capacity (not yet STOPPED, whatever they were told): a deleted service is INACTIVE only at 0. */
  readonly occupied: number;
}

export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(0.5 * desiredCount)));
}

export function planServiceStep(input: ServiceStepInput): ServiceStep {
  const primary = input.deployments[0];
  if (!primary) throw new Error("a service has a PRIMARY deployment");
  const n = input.desiredCount;
  const isPrimary = (task: ServiceTaskView) => task.deploymentId === primary.id;
  const occupying = input.tasks.filter((task) => task.lastStatus !== "STOPPED");
  const live = occupying.filter((task) => task.desiredStatus === "RUNNING");
  const stops: { taskArn: string; cause: StopCause }[] = live.filter((task) => task.unhealthy).map((task) => ({ taskArn: task.taskArn, cause: "unhealthy" }));
  const kept = live.filter((task) => !task.unhealthy);

  const failedOfPrimary = input.tasks.filter((task) => isPrimary(task) && task.lastStatus === "STOPPED" && task.failed).length;
  const tripped = primary.rolloutState === "IN_PROGRESS" && input.circuitBreaker?.enable === true && failedOfPrimary >= circuitBreakerThreshold(n);
  const primaryState: RolloutState = tripped ? "FAILED" : primary.rolloutState;

  // Scale-in of the PRIMARY deployment beyond N: pending tasks first, then from the fullest AZ.
  const primaryKept = kept.filter(isPrimary);
  const excess = Math.max(0, primaryKept.length - n);
  for (const task of scaleInOrder(primaryKept).slice(0, excess)) stops.push({ taskArn: task.taskArn, cause: "scale-in" });

  // Launches for the PRIMARY deployment, within maximumPercent; none once it FAILED.
  const maxOccupying = Math.floor((n * input.maximumPercent) / 100);
  const room = Math.max(0, maxOccupying - occupying.length, n > 0 && occupying.length === 0 ? 1 : 0);
  const launches = primaryState === "FAILED" ? 0 : Math.max(0, Math.min(n - primaryKept.length, room, input.launchBudget));

  // Older deployments drain: their unhealthy (pending) tasks at once, healthy ones while the healthy
  // count stays at or above minimumHealthyPercent. A FAILED primary without rollback keeps them,
  // unless the service was deleted.
  // Protected tasks are not replaced: the older deployment stays until their protection ends
  // ("protected from termination by scale-in events from service auto scaling or deployments").
  const minHealthy = Math.ceil((n * input.minimumHealthyPercent) / 100);
  let stoppable = kept.filter((task) => task.healthy).length - minHealthy;
  if (primaryState !== "FAILED" || input.draining === true) {
    const olderKept = kept.filter((task) => !isPrimary(task) && !task.protected);
    for (const task of olderKept.filter((candidate) => !candidate.healthy)) stops.push({ taskArn: task.taskArn, cause: "replaced" });
    for (const task of olderKept.filter((candidate) => candidate.healthy)) {
      if (stoppable <= 0) break;
      stops.push({ taskArn: task.taskArn, cause: "replaced" });
      stoppable--;
    }
  }

  const counts = new Map<string, DeploymentCounts>();
  for (const deployment of input.deployments) {
    const mine = kept.filter((task) => task.deploymentId === deployment.id);
    counts.set(deployment.id, {
      running: mine.filter((task) => task.lastStatus === "RUNNING").length,
      pending: mine.filter((task) => task.lastStatus !== "RUNNING").length,
      failed: input.tasks.filter((task) => task.deploymentId === deployment.id && task.lastStatus === "STOPPED" && task.failed).length,
    });
  }
  const drained = input.deployments.slice(1).filter((deployment) => !occupying.some((task) => task.deploymentId === deployment.id));
  const nothingElse = occupying.every(isPrimary);
  const primaryHealthy = primaryKept.filter((task) => task.healthy).length;
  const steady = stops.length === 0 && launches === 0 && nothingElse && primaryHealthy === n && primaryKept.length === n;
  return {
    launches,
    stops,
    counts,
    drained: drained.map((deployment) => deployment.id),
    primaryState: steady && primaryState === "IN_PROGRESS" ? "COMPLETED" : primaryState,
    tripped,
    steady,
    occupied: occupying.length,
  };
}

/** Which of a deployment's tasks scale-in takes first: unprotected only; pending, then from the AZ holding the most, newest first. */
function scaleInOrder(tasks: readonly ServiceTaskView[]): ServiceTaskView[] {
  const candidates = tasks.filter((task) => !task.protected);
  const ordered: ServiceTaskView[] = [];
  const pending = candidates.filter((task) => task.lastStatus !== "RUNNING").sort((a, b) => b.createdAtMs - a.createdAtMs);
  ordered.push(...pending);
  const perZone = new Map<string, ServiceTaskView[]>();
  for (const task of candidates.filter((candidate) => candidate.lastStatus === "RUNNING").sort((a, b) => b.createdAtMs - a.createdAtMs)) {
    const zone = task.availabilityZone ?? "";
    perZone.set(zone, [...(perZone.get(zone) ?? []), task]);
  }
  // Every zone's count (pending ones included) decides which zone gives up the next task.
  const zoneCount = new Map<string, number>();
  for (const task of tasks) zoneCount.set(task.availabilityZone ?? "", (zoneCount.get(task.availabilityZone ?? "") ?? 0) + 1);
  for (const task of pending) zoneCount.set(task.availabilityZone ?? "", zoneCount.get(task.availabilityZone ?? "")! - 1);
  for (;;) {
    const fullest = [...perZone.entries()]
      .filter(([, left]) => left.length > 0)
      .sort(([a], [b]) => (zoneCount.get(b) ?? 0) - (zoneCount.get(a) ?? 0) || a.localeCompare(b))[0];
    if (!fullest) return ordered;
    ordered.push(fullest[1].shift()!);
    zoneCount.set(fullest[0], (zoneCount.get(fullest[0]) ?? 0) - 1);
  }
}
