// dependsOn (ContainerDefinition.dependsOn): a container starts once each dependency meets its
// condition — START: started; COMPLETE: exited; SUCCESS: exited 0; HEALTHY: health check passed.
// Stop runs in reverse of this start order (ECS docs, "Container dependency"). Pure: the task
// runner asks these questions of its record and waits for the answer to change.
import type { ContainerDefinition, ContainerDependency } from "@aws-sdk/client-ecs";
import type { TaskHealth } from "../protocol/index.js";
import type { ContainerPhase } from "./task-record.js";

/** Start order: a topological order of dependsOn, ties kept in task-definition order. */
export function startOrder(containers: readonly ContainerDefinition[]): string[] {
  const names = containers.map((c) => c.name ?? "");
  const deps = new Map(containers.map((c) => [c.name ?? "", (c.dependsOn ?? []).map((d) => d.containerName ?? "")]));
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`dependsOn cycle through container ${name}`);
    visiting.add(name);
    for (const dep of deps.get(name) ?? []) {
      if (!deps.has(dep)) throw new Error(`container ${name} depends on unknown container ${dep}`);
      visit(dep);
    }
    visiting.delete(name);
    order.push(name);
  };
  for (const name of names) visit(name);
  return order;
}

/** What a dependency is now, as far as its condition cares. */
export interface DependencyState {
  readonly phase: ContainerPhase;
  readonly exitCode?: number;
  readonly health: TaskHealth;
}

/** `never`: the condition can no longer be met (exited non-zero for SUCCESS; stopped or unhealthy for HEALTHY). */
export type ConditionVerdict = "met" | "not-yet" | "never";

export function conditionVerdict(condition: ContainerDependency["condition"], dependency: DependencyState): ConditionVerdict {
  const { phase, exitCode, health } = dependency;
  switch (condition) {
    case "START":
      return phase === "RUNNING" || phase === "STOPPED" ? "met" : "not-yet";
    case "COMPLETE":
      return phase === "STOPPED" ? "met" : "not-yet";
    case "SUCCESS":
      return phase !== "STOPPED" ? "not-yet" : exitCode === 0 ? "met" : "never";
    case "HEALTHY":
      return health === "HEALTHY" ? "met" : phase === "STOPPED" || health === "UNHEALTHY" ? "never" : "not-yet";
    default:
      return "met";
  }
}

/**
 * How long the dependent may still wait, or undefined for as long as it takes. ContainerDefinition.
 * startTimeout is set on the dependency: "If a startTimeout value is specified for containerB and
 * it doesn't reach the desired status within that time then containerA gives up and not start.
 * This results in the task transitioning to a STOPPED state." Counted from the dependency's start,
 * as in the ECS agent.
 */
export function remainingStartTimeoutMs(dependency: ContainerDefinition | undefined, startedAtMs: number | undefined, nowMs: number): number | undefined {
  const startTimeoutS = dependency?.startTimeout;
  if (startTimeoutS === undefined || startedAtMs === undefined) return undefined;
  return Math.max(0, startedAtMs + startTimeoutS * 1000 - nowMs);
}
