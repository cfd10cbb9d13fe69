export { HaproxyNode } from "./haproxy-node.js";
export type { ApplyMode, HaproxyNodeOptions, TargetHealthReport } from "./haproxy-node.js";
export { validateLoadBalancerModel } from "./load-balancer-model.js";
export type { LoadBalancerModel } from "./load-balancer-model.js";
export type { StatCounters } from "./haproxy-stats.js";
