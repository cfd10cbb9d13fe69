// A service's tasks in its target groups (CreateService's loadBalancers), as ECS keeps them:
//
//   task RUNNING (told to run) ───────────▶ registered in each target group (its address, the
//                                            container port), "(service s) registered N targets in
//                                            (target-group arn)"
//   the scheduler stops a registered task ─▶ deregistered first: the target drains for the group's
//                                            deregistration_delay while the task runs on
//                                            ("draining"), and only then is the task stopped
//   a task stopped otherwise (StopTask, an ─▶ deregistered at once (it is going anyway)
//   essential container exiting, a lost host)
//
// and what the deployment reads back: a task counts as healthy only when every one of its targets
// is healthy, and as unhealthy (to be replaced, and a failure for the circuit breaker) when one of
// them is unhealthy once the service's healthCheckGracePeriodSeconds have passed since it started.
// What is registered and what drains is kept in the service's scheduling state (the scheduler's
// fenced write), so a pass that crashed is simply planned again: registering and deregistering are
// idempotent in the store.
import type { LoadBalancer as ServiceLoadBalancer, Service } from "@aws-sdk/client-ecs";
import { serviceEventMessages } from "../core/ecs-service/service-document.js";
import type { Elbv2Repository, ServiceSchedulingState, StoredTask, StoredTarget } from "../store/index.js";

export interface TargetRegistration {
  readonly targetGroupArn: string;
  readonly ip: string;
  readonly port: number;
}

export interface DrainingTask {
  /** When the longest deregistration delay of its groups ends: the task is stopped then. */
  readonly untilMs: number;
  readonly reason: string;
  /** Stopped for a failed health check (counts toward the circuit breaker). */
  readonly unhealthy: boolean;
}

export interface ServiceTargetState {
  readonly registered: Readonly<Record<string, readonly TargetRegistration[]>>;
  readonly draining: Readonly<Record<string, DrainingTask>>;
  /** Tasks whose targets were last seen unhealthy (the event is written on the change, once). */
  readonly unhealthy?: Readonly<Record<string, true>>;
}

export type TargetVerdict =
  | { readonly state: "healthy" }
  | { readonly state: "pending" }
  | { readonly state: "unhealthy"; readonly targetGroupArn: string; readonly port: number; readonly reason: string };

export interface ReconciledTargets {
  readonly targets: ServiceTargetState;
  /** Per task told to run: what its targets say (tasks without a registration yet: pending). */
  readonly verdicts: ReadonlyMap<string, TargetVerdict>;
  /** Draining tasks whose delay is over: to stop now. */
  readonly due: readonly (DrainingTask & { readonly taskArn: string })[];
  readonly messages: string[];
  /** Whether a target was registered or deregistered (the load balancers' nodes must hear of it). */
  readonly changed: boolean;
}

/** ECS's stop reason for a task its load balancer found unhealthy. */
export const elbHealthStopReason = (targetGroupArn: string) => `Task failed ELB health checks in (target-group ${targetGroupArn})`;
export const isElbHealthStop = (reason: string | undefined) => reason?.startsWith("Task failed ELB health checks in (target-group ") === true;

const EMPTY: ServiceTargetState = { registered: {}, draining: {} };
const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 300;
/** Targets a group holds, draining ones included (the ELBv2 API's TARGETS_PER_GROUP). */
const TARGETS_PER_GROUP = 1000;

/** The task's awsvpc address (its ENI's, as the launcher recorded it). */
export function taskAddress(task: StoredTask): string | undefined {
  return task.task.attachments?.[0]?.details?.find((detail) => detail.name === "privateIPv4Address")?.value;
}

export function serviceTargetState(state: ServiceSchedulingState): ServiceTargetState {
  return state.loadBalancerTargets ?? EMPTY;
}

export class ServiceTargets {
  constructor(private readonly elbv2: Pick<Elbv2Repository, "registerTargets" | "deregisterTargets" | "listTargets" | "getTargetGroup">) {}

  /**
   * Registers the running tasks, deregisters the stopped ones, and reads every registration's
   * health; the draining tasks whose delay is over are returned to be stopped.
   */
  async reconcile(service: Service, state: ServiceSchedulingState, tasks: readonly StoredTask[], now: number): Promise<ReconciledTargets> {
    const current = serviceTargetState(state);
    const registered: Record<string, readonly TargetRegistration[]> = { ...current.registered };
    const draining: Record<string, DrainingTask> = { ...current.draining };
    const added = new Map<string, number>();
    const removed = new Map<string, number>();
    const refused = new Set<string>();
    const byArn = new Map(tasks.map((task) => [task.taskArn, task]));
    for (const task of tasks) {
      const running = task.lastStatus === "RUNNING" && task.desiredStatus === "RUNNING" && draining[task.taskArn] === undefined;
      const ip = taskAddress(task);
      if (!running || ip === undefined || registered[task.taskArn] !== undefined) continue;
      const registrations = (service.loadBalancers ?? []).map((lb) => registrationOf(lb, ip));
      // A full group takes no more (its load balancer's node would refuse the whole model): the task waits, and the service says why.
      const full = [];
      for (const registration of registrations)
        if ((await this.elbv2.listTargets(registration.targetGroupArn, now)).length >= TARGETS_PER_GROUP) full.push(registration);
      if (full.length > 0) {
        refused.add(full[0]!.targetGroupArn);
        continue;
      }
      for (const registration of registrations) {
        await this.elbv2.registerTargets(registration.targetGroupArn, [{ id: registration.ip, port: registration.port }], now);
        added.set(registration.targetGroupArn, (added.get(registration.targetGroupArn) ?? 0) + 1);
      }
      registered[task.taskArn] = registrations;
    }
    // Tasks going or gone without the scheduler's drain (or no longer the service's): out at once.
    for (const [taskArn, registrations] of Object.entries(registered)) {
      const task = byArn.get(taskArn);
      const stopping = task === undefined || task.desiredStatus !== "RUNNING" || task.lastStatus === "STOPPED";
      if (!stopping || draining[taskArn] !== undefined) continue;
      await this.deregister(registrations, now, removed);
      delete registered[taskArn];
    }
    const due: (DrainingTask & { taskArn: string })[] = [];
    for (const [taskArn, drain] of Object.entries(draining)) {
      const task = byArn.get(taskArn);
      if (task === undefined || task.desiredStatus !== "RUNNING") delete draining[taskArn];
      else if (drain.untilMs <= now) due.push({ taskArn, ...drain });
    }
    const verdicts = await this.verdicts(registered, draining, now);
    const messages = [
      ...[...added].map(([arn, count]) => serviceEventMessages.registeredTargets(serviceNameOf(service), count, arn)),
      ...[...removed].map(([arn, count]) => serviceEventMessages.deregisteredTargets(serviceNameOf(service), count, arn)),
      ...[...refused].map((arn) => `(service ${serviceNameOf(service)}) failed to register targets in (target-group ${arn}) with (error TooManyTargets).`), // wording not confirmed
    ];
    // A target's turn to unhealthy is told once, as ECS tells it; its turn back clears it.
    const unhealthy: Record<string, true> = {};
    for (const [taskArn, verdict] of verdicts) {
      if (verdict.state !== "unhealthy") continue;
      unhealthy[taskArn] = true;
      if (!current.unhealthy?.[taskArn]) {
        messages.push(serviceEventMessages.targetUnhealthy(serviceNameOf(service), taskArn, verdict.port, verdict.targetGroupArn, verdict.reason));
      }
    }
    const targets = { registered, draining, ...(Object.keys(unhealthy).length > 0 ? { unhealthy } : {}) };
    return { targets, verdicts, due, messages, changed: added.size + removed.size > 0 };
  }

  /**
   * Deregisters a task the scheduler is about to stop: its targets drain for their groups'
   * deregistration delay; the task is stopped when the longest one is over. The new draining entry.
   */
  async beginDraining(targets: ServiceTargetState, taskArn: string, reason: string, unhealthy: boolean, now: number): Promise<DrainingTask | undefined> {
    const registrations = targets.registered[taskArn];
    if (!registrations || registrations.length === 0) return undefined;
    let delayMs = 0;
    for (const registration of registrations) {
      const group = await this.elbv2.getTargetGroup(registration.targetGroupArn);
      const seconds = Number(group?.attributes["deregistration_delay.timeout_seconds"] ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS);
      delayMs = Math.max(delayMs, (Number.isFinite(seconds) ? seconds : DEFAULT_DEREGISTRATION_DELAY_SECONDS) * 1000);
    }
    await this.deregister(registrations, now, new Map());
    return { untilMs: now + delayMs, reason, unhealthy };
  }

  private async deregister(registrations: readonly TargetRegistration[], now: number, removed: Map<string, number>): Promise<void> {
    for (const registration of registrations) {
      const group = await this.elbv2.getTargetGroup(registration.targetGroupArn);
      if (!group) continue;
      const seconds = Number(group.attributes["deregistration_delay.timeout_seconds"] ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS);
      const removeAt = now + (Number.isFinite(seconds) ? seconds : DEFAULT_DEREGISTRATION_DELAY_SECONDS) * 1000;
      await this.elbv2.deregisterTargets(registration.targetGroupArn, [{ id: registration.ip, port: registration.port }], removeAt);
      removed.set(registration.targetGroupArn, (removed.get(registration.targetGroupArn) ?? 0) + 1);
    }
  }

  private async verdicts(
    registered: Readonly<Record<string, readonly TargetRegistration[]>>,
    draining: Readonly<Record<string, DrainingTask>>,
    now: number,
  ): Promise<Map<string, TargetVerdict>> {
    const groups = new Map<string, StoredTarget[]>();
    const targetsOf = async (arn: string) => {
      let targets = groups.get(arn);
      if (!targets) groups.set(arn, (targets = await this.elbv2.listTargets(arn, now)));
      return targets;
    };
    const verdicts = new Map<string, TargetVerdict>();
    for (const [taskArn, registrations] of Object.entries(registered)) {
      if (draining[taskArn] !== undefined) continue;
      let verdict: TargetVerdict = { state: "healthy" };
      for (const registration of registrations) {
        const target = (await targetsOf(registration.targetGroupArn)).find((entry) => entry.id === registration.ip && entry.port === registration.port);
        const state = target?.health?.state;
        if (state === "unhealthy") {
          verdict = {
            state: "unhealthy",
            targetGroupArn: registration.targetGroupArn,
            port: registration.port,
            reason: target?.health?.description ?? "Health checks failed",
          };
          break;
        }
        if (state !== "healthy") verdict = { state: "pending" };
      }
      verdicts.set(taskArn, verdict);
    }
    return verdicts;
  }
}

function registrationOf(lb: ServiceLoadBalancer, ip: string): TargetRegistration {
  return { targetGroupArn: lb.targetGroupArn!, ip, port: lb.containerPort! };
}

const serviceNameOf = (service: Service) => service.serviceName ?? "";
