// dependsOn (ContainerDefinition.dependsOn): a container starts once each dependency meets its
// condition — START: started; COMPLETE: exited; SUCCESS: exited 0; HEALTHY: health check passed.
// Stop runs in reverse of this start order (ECS docs, "Container dependency").
import type { ContainerDefinition } from "@aws-sdk/client-ecs";

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
