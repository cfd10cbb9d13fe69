// Which load balancers use which target groups: a group is used by a load balancer when one of
// its listeners' default actions or rules forwards to the group. Derived from the listeners and
// rules each time (DescribeTargetGroups' LoadBalancerArns, DeleteTargetGroup's ResourceInUse,
// DescribeTargetHealth's "unused", the one-load-balancer-per-group rule).
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elbv2Repository } from "../../store/index.js";

/** The target groups an action list forwards to (TargetGroupArn and ForwardConfig's groups). */
export function forwardedTargetGroups(actions: readonly Action[] | undefined): string[] {
  const arns = new Set<string>();
  for (const action of actions ?? []) {
    if (action.Type !== "forward") continue;
    if (action.TargetGroupArn !== undefined) arns.add(action.TargetGroupArn);
    for (const tuple of action.ForwardConfig?.TargetGroups ?? []) if (tuple.TargetGroupArn !== undefined) arns.add(tuple.TargetGroupArn);
  }
  return [...arns];
}

/** Target group ARN → the ARNs of the load balancers using it. */
export async function targetGroupUsage(elbv2: Pick<Elbv2Repository, "listListeners" | "listRules">): Promise<Map<string, Set<string>>> {
  const usage = new Map<string, Set<string>>();
  const use = (targetGroupArn: string, loadBalancerArn: string) => {
    const users = usage.get(targetGroupArn) ?? new Set<string>();
    users.add(loadBalancerArn);
    usage.set(targetGroupArn, users);
  };
  const listeners = await elbv2.listListeners();
  const owner = new Map(listeners.map((listener) => [listener.arn, listener.loadBalancerArn]));
  for (const listener of listeners) for (const arn of forwardedTargetGroups(listener.listener.DefaultActions)) use(arn, listener.loadBalancerArn);
  for (const rule of await elbv2.listRules()) {
    const loadBalancerArn = owner.get(rule.listenerArn);
    if (loadBalancerArn !== undefined) for (const arn of forwardedTargetGroups(rule.rule.Actions)) use(arn, loadBalancerArn);
  }
  return usage;
}
