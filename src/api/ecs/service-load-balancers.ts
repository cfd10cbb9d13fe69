// CreateService's and UpdateService's loadBalancers, checked as ECS checks them: ELBv2 target groups
// only (a classic load balancer's loadBalancerName is not served), at most 5, each naming a target
// group of this account that a load balancer uses (a listener or rule forwards to it), a container
// of the task definition and one of that container's port mappings. The service scheduler registers
// the tasks (src/control/service-targets.ts).
import type { LoadBalancer, TaskDefinition } from "@aws-sdk/client-ecs";
import { invalidParameterException } from "../../core/errors.js";
import type { Store } from "../../store/index.js";
import { targetGroupUsage } from "../elbv2/target-group-usage.js";

/** ECS: a service has at most 5 target groups (service-load-balancing.html). */
export const MAX_SERVICE_TARGET_GROUPS = 5;

/** The loadBalancers, checked and normalised (only the members ECS keeps). */
export async function checkServiceLoadBalancers(
  store: Pick<Store, "elbv2">,
  loadBalancers: readonly LoadBalancer[] | undefined,
  definition: TaskDefinition,
): Promise<LoadBalancer[]> {
  const entries = loadBalancers ?? [];
  if (entries.length > MAX_SERVICE_TARGET_GROUPS) {
    throw invalidParameterException(`A service can have at most ${MAX_SERVICE_TARGET_GROUPS} load balancers (target groups).`); // wording not confirmed
  }
  const checked: LoadBalancer[] = [];
  for (const entry of entries) {
    if (entry.loadBalancerName !== undefined && entry.targetGroupArn === undefined) {
      throw invalidParameterException(
        "Berth serves Application and Network Load Balancer target groups (targetGroupArn); classic load balancers are not supported.",
      );
    }
    const targetGroupArn = entry.targetGroupArn ?? "";
    if (targetGroupArn === "") throw invalidParameterException("targetGroupArn must be specified."); // wording not confirmed
    if (!entry.containerName) throw invalidParameterException("Container Name can not be blank.");
    if (entry.containerPort === undefined) throw invalidParameterException("Container Port can not be blank."); // wording not confirmed
    const group = targetGroupArn.length <= 2048 ? await store.elbv2.getTargetGroup(targetGroupArn) : undefined;
    if (!group) throw invalidParameterException(`Unable to find target group '${targetGroupArn.slice(0, 2048)}'.`); // wording not confirmed
    if (!(await targetGroupUsage(store.elbv2)).has(targetGroupArn)) {
      throw invalidParameterException(`The target group with targetGroupArn ${targetGroupArn} does not have an associated load balancer.`);
    }
    if (group.targetGroup.TargetType !== "ip") {
      throw invalidParameterException(
        `The provided target group ${targetGroupArn} has target type ${group.targetGroup.TargetType}, which is incompatible with the awsvpc network mode specified in the task definition.`,
      );
    }
    const container = (definition.containerDefinitions ?? []).find((candidate) => candidate.name === entry.containerName);
    if (!container) throw invalidParameterException(`The container ${entry.containerName} does not exist in the task definition.`); // wording not confirmed
    if (!(container.portMappings ?? []).some((mapping) => mapping.containerPort === entry.containerPort)) {
      throw invalidParameterException(`The container ${entry.containerName} did not have a container port ${entry.containerPort} defined.`);
    }
    if (
      checked.some((kept) => kept.targetGroupArn === targetGroupArn && kept.containerName === entry.containerName && kept.containerPort === entry.containerPort)
    ) {
      throw invalidParameterException("loadBalancers contains a duplicate entry."); // wording not confirmed
    }
    checked.push({ targetGroupArn, containerName: entry.containerName, containerPort: entry.containerPort });
  }
  return checked;
}
