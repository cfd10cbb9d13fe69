// What a host's load balancer nodes measured (the agent protocol's loadBalancerMetrics), kept per
// minute in the store (elbMetrics) for a CloudWatch metrics service to publish; nothing serves
// them through an API yet. A host is not trusted beyond its own nodes (DESIGN.md rule 9):
//
//   - only metrics of a load balancer whose node this host runs (its node interface is on the
//     host: the same check as target health, load-balancer-health.ts) are kept, and a target
//     group's only for a group that load balancer forwards to; the rest is dropped;
//   - only the metric names of the load balancer's own type (AWS/ApplicationELB for "app/",
//     AWS/NetworkELB for "net/"), the TargetGroup dimension only where AWS gives it;
//   - only statistics that can be true: finite and non-negative (the protocol's schema), at least
//     one data point, min ≤ max, the sum between count × min and count × max, a count metric's
//     data points all 1; minutes within the last 6 hours, not before the load balancer was made, not ahead of this clock; a call's parts of one minute added up and capped;
//   - one store call (one transaction) per protocol call, whose size the schema bounds.
//
// Dimension values are CloudWatch's: LoadBalancer "app/<name>/<id>" (the ARN after
// ":loadbalancer/"), TargetGroup "targetgroup/<name>/<id>" (the ARN's resource part).
import type { Clock } from "../core/clock.js";
import type { LoadBalancerMetric, LoadBalancerMetricsRequest } from "../protocol/index.js";
import { APPLICATION_ELB_METRICS, NETWORK_ELB_METRICS } from "../protocol/index.js";
import type { ElbMetricAggregate, ElbMetricsRepository, Elbv2Repository, NetworkInterfacesRepository } from "../store/index.js";
import { nodeDescriptionsOn } from "./load-balancer-health.js";
import { forwardedTargetGroupArns } from "./load-balancer-model-compile.js";

/** Metrics AWS also gives per target group (LoadBalancer, TargetGroup). */
const PER_TARGET_GROUP = new Set([
  "RequestCount",
  "HTTPCode_Target_2XX_Count",
  "HTTPCode_Target_3XX_Count",
  "HTTPCode_Target_4XX_Count",
  "HTTPCode_Target_5XX_Count",
  "TargetResponseTime",
]);
/** Metrics whose every data point is one sample of a value (the others count events: each data point is 1). */
const VALUED = new Set(["TargetResponseTime", "ActiveFlowCount"]);
/** How far back a minute may be: an agent holds what it could not send through a short outage, not days of it. */
const MAX_BEHIND_MS = 6 * 3_600_000;
/** Data points of one metric in one minute from one call: far above any node's rate, far below what the store's integers hold. */
const MAX_COUNT_PER_MINUTE = 1e9;

/** One entry per metric, dimensions and minute: the parts of a call added up (CloudWatch's statistics combine so). */
function mergedByKey(metrics: readonly ElbMetricAggregate[]): ElbMetricAggregate[] {
  const merged = new Map<string, ElbMetricAggregate>();
  for (const metric of metrics) {
    const key = JSON.stringify([metric.namespace, metric.metricName, metric.loadBalancer, metric.targetGroup ?? "", metric.minute]);
    const seen = merged.get(key);
    merged.set(
      key,
      seen
        ? { ...seen, sum: seen.sum + metric.sum, count: seen.count + metric.count, min: Math.min(seen.min, metric.min), max: Math.max(seen.max, metric.max) }
        : metric,
    );
  }
  return [...merged.values()];
}

/** How far ahead of this clock a minute may start (a host's clock a little ahead). */
const MAX_AHEAD_MS = 2 * 60_000;

export interface MetricsStore {
  readonly networkInterfaces: Pick<NetworkInterfacesRepository, "listByRequester">;
  readonly elbv2: Pick<Elbv2Repository, "listListeners" | "listRules" | "getLoadBalancer">;
  readonly elbMetrics: Pick<ElbMetricsRepository, "add">;
}

export interface LoadBalancerMetricsOptions {
  readonly store: MetricsStore;
  readonly clock: Clock;
  /** The node interfaces' requester ("amazon-elb") and a load balancer's node description (load-balancer-nodes.ts). */
  readonly requesterId: string;
  readonly descriptionOf: (loadBalancerArn: string) => string;
}

/** "app/<name>/<id>" of an ELBv2 load balancer ARN; undefined for anything else. */
export function loadBalancerDimension(arn: string): string | undefined {
  const match = /^arn:[a-z-]+:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/((?:app|net)\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16,32})$/.exec(arn);
  return match?.[1];
}

/** "targetgroup/<name>/<id>" of a target group ARN; undefined for anything else. */
export function targetGroupDimension(arn: string): string | undefined {
  const match = /^arn:[a-z-]+:elasticloadbalancing:[a-z0-9-]+:\d{12}:(targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16,32})$/.exec(arn);
  return match?.[1];
}

/** Whether the statistics could come from real data points of that metric. */
export function plausible(metric: LoadBalancerMetric): boolean {
  const { sum, count, min, max } = metric;
  if (![sum, count, min, max].every((value) => Number.isFinite(value) && value >= 0) || !Number.isInteger(count) || count < 1 || min > max) return false;
  if (!VALUED.has(metric.metricName)) return min === 1 && max === 1 && sum === count;
  const slack = 1e-9 * Math.max(1, sum);
  return sum >= count * min - slack && sum <= count * max + slack;
}

/** The metric names of the load balancer's type, and whether this one may carry a TargetGroup. */
function fitsType(metric: LoadBalancerMetric, dimension: string): boolean {
  const names: readonly string[] = dimension.startsWith("app/") ? APPLICATION_ELB_METRICS : NETWORK_ELB_METRICS;
  return (
    names.includes(metric.metricName) && (metric.targetGroupArn === undefined || (dimension.startsWith("app/") && PER_TARGET_GROUP.has(metric.metricName)))
  );
}

export class LoadBalancerMetrics {
  constructor(private readonly options: LoadBalancerMetricsOptions) {}

  /** Keeps what may be kept of `request` from `hostId`; returns how many entries were kept. */
  async record(hostId: string, request: LoadBalancerMetricsRequest): Promise<number> {
    const { store, clock } = this.options;
    const now = clock.now();
    const mine = await nodeDescriptionsOn(store, this.options.requesterId, hostId);
    const forwarded = new Map<string, Set<string>>();
    const created = new Map<string, number | undefined>();
    const kept: ElbMetricAggregate[] = [];
    for (const metric of request.metrics) {
      const loadBalancer = loadBalancerDimension(metric.loadBalancerArn);
      if (!loadBalancer || !mine.has(this.options.descriptionOf(metric.loadBalancerArn))) continue;
      if (!fitsType(metric, loadBalancer) || !plausible(metric)) continue;
      if (metric.minute < now - MAX_BEHIND_MS || metric.minute > now + MAX_AHEAD_MS) continue;
      // Not from before the load balancer was made (a host clock a little off allowed): a host cannot backfill another time's history.
      const createdAt = await this.createdAt(metric.loadBalancerArn, created);
      if (createdAt === undefined || metric.minute + 60_000 + MAX_AHEAD_MS <= createdAt) continue;
      let targetGroup: string | undefined;
      if (metric.targetGroupArn !== undefined) {
        targetGroup = targetGroupDimension(metric.targetGroupArn);
        if (!targetGroup || !(await this.forwardedBy(metric.loadBalancerArn, forwarded)).has(metric.targetGroupArn)) continue;
      }
      const namespace = loadBalancer.startsWith("app/") ? "AWS/ApplicationELB" : "AWS/NetworkELB";
      const { metricName, minute, sum, count, min, max } = metric;
      kept.push({ namespace, metricName, loadBalancer, ...(targetGroup ? { targetGroup } : {}), minute, sum, count, min, max });
    }
    const merged = mergedByKey(kept).filter((metric) => metric.count <= MAX_COUNT_PER_MINUTE);
    await store.elbMetrics.add(merged);
    return merged.length;
  }

  /** The load balancer's creation time, read once per call (undefined: gone). */
  private async createdAt(loadBalancerArn: string, created: Map<string, number | undefined>): Promise<number | undefined> {
    if (!created.has(loadBalancerArn)) created.set(loadBalancerArn, (await this.options.store.elbv2.getLoadBalancer(loadBalancerArn))?.createdAt);
    return created.get(loadBalancerArn);
  }

  /** The target groups the load balancer's listeners forward to, read once per call. */
  private async forwardedBy(loadBalancerArn: string, cache: Map<string, Set<string>>): Promise<Set<string>> {
    let groups = cache.get(loadBalancerArn);
    if (!groups) {
      const listeners = await this.options.store.elbv2.listListeners(loadBalancerArn);
      const rules = (await Promise.all(listeners.map((listener) => this.options.store.elbv2.listRules(listener.arn)))).flat();
      cache.set(loadBalancerArn, (groups = new Set(forwardedTargetGroupArns(listeners, rules))));
    }
    return groups;
  }
}
