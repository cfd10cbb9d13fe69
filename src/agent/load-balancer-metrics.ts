// The traffic of this host's load balancer nodes, as CloudWatch's AWS/ApplicationELB and
// AWS/NetworkELB metrics per minute (pure but for the node reads in `sampleNodes`).
//
//   every SAMPLE_MS, on the wall clock's 10-second marks: each node's counters (`show stat`,
//   src/lb/haproxy-stats.ts) minus the previous sample's → the metrics of those 10 seconds, added
//   to the minute they fall in (the marks divide minutes evenly: a sample never straddles two);
//   then everything not yet accepted goes to the control plane (loadBalancerMetrics), which adds
//   each part to its minute's row
//
// Counters are cumulative since the HAProxy worker started. A new worker (a reload, a restart: its
// pid changed) counts from zero again, so does a server added at runtime (a row not seen before);
// a counter lower than before restarted too (HAProxy's counters only grow). After a restart the
// delta is the value itself: what the new worker counted. What an old worker still counted after
// the last sample, while finishing its connections, is not seen. A node this agent finds already
// running (an agent restart) gives a baseline first and metrics from its second sample on. A
// target removed between two samples takes its last responses with it (its server row is gone);
// targets are removed only after draining, when they get no new requests. A round late by more
// than a mark puts its 20 seconds in the minute of the later mark.
//
// From the counters of one sample (Δ: the delta since the previous one):
//   ALB, LoadBalancer                RequestCount = Δ req_tot of its frontends
//                                    HTTPCode_Target_nXX_Count = Δ hrsp_nxx of its servers (targets)
//                                    HTTPCode_ELB_nXX_Count (3, 4, 5) = Δ hrsp_nxx of the frontends
//                                      − that of the servers: what the proxy answered itself (fixed
//                                      responses, redirects, 503 without a target, 502, 504, 400)
//                                    TargetResponseTime = per server, Δ responses × its rtime
//   ALB, LoadBalancer + TargetGroup  RequestCount = Δ req_tot of its backend; the target codes and
//                                    TargetResponseTime of its servers
//   NLB, LoadBalancer                NewFlowCount = Δ stot of its frontends; ActiveFlowCount = scur
//                                    now (one data point per sample)
// TargetResponseTime is approximate: HAProxy gives no sum of response times, only a moving average
// over each server's last 1,024 responses; the sample weighs that average by the responses since the
// last sample, and its min and max are those of the averages, not of single responses.
import type { StatCounters } from "../lb/index.js";
import type { LoadBalancerMetric, LoadBalancerMetricName, LoadBalancerNodeSpec } from "../protocol/index.js";
import { MAX_METRIC_VALUE } from "../protocol/index.js";

/** How often nodes are sampled: a divisor of a minute. */
export const SAMPLE_MS = 10_000;
/** Metrics kept while the control plane does not take them (oldest minutes dropped first). */
export const MAX_PENDING_METRICS = 50_000;

export interface NodeCounters {
  readonly workerPid: number;
  readonly rows: readonly StatCounters[];
}

/** What a node's samples are named by: its load balancer and its target groups' backends ("tg-" + model id). */
export type NodeIdentity = Pick<LoadBalancerNodeSpec, "loadBalancerArn" | "targetGroups">;

interface Baseline {
  /** undefined: the node was started by this agent, every counter from zero. */
  readonly workerPid: number | undefined;
  readonly rows: ReadonlyMap<string, StatCounters>;
}

/** The minute a sample taken at `at` counts for: the 10 seconds before its mark lie in it. */
export function sampleMinute(at: number): number {
  const mark = Math.floor(at / SAMPLE_MS) * SAMPLE_MS;
  return Math.floor((mark - 1) / 60_000) * 60_000;
}

/** Δ of a cumulative counter: a lower value means it restarted from zero. */
export const counterDelta = (now: number, before: number | undefined): number => (before === undefined || now < before ? now : now - before);

const TARGET_CODES = [
  [2, "HTTPCode_Target_2XX_Count"],
  [3, "HTTPCode_Target_3XX_Count"],
  [4, "HTTPCode_Target_4XX_Count"],
  [5, "HTTPCode_Target_5XX_Count"],
] as const;
const ELB_CODES = [
  [3, "HTTPCode_ELB_3XX_Count"],
  [4, "HTTPCode_ELB_4XX_Count"],
  [5, "HTTPCode_ELB_5XX_Count"],
] as const;

interface Timing {
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** One group's Δ: requests, responses by class (index 0: other), and its servers' response times. */
interface GroupDelta {
  requests: number;
  codes: number[];
  timing: Timing | undefined;
}

function addTiming(into: Timing | undefined, seconds: number, responses: number): Timing {
  if (!into) return { sum: seconds * responses, count: responses, min: seconds, max: seconds };
  return { sum: into.sum + seconds * responses, count: into.count + responses, min: Math.min(into.min, seconds), max: Math.max(into.max, seconds) };
}

export class LoadBalancerMetricsSampler {
  private readonly baselines = new Map<string, Baseline>();
  private readonly pending = new Map<string, LoadBalancerMetric>();

  /** The node was started by this agent: its counters start at zero. */
  started(nodeId: string): void {
    this.baselines.set(nodeId, { workerPid: undefined, rows: new Map() });
  }

  forget(nodeId: string): void {
    this.baselines.delete(nodeId);
  }

  /** Adds the node's traffic since its previous sample to `minute`. */
  sample(nodeId: string, node: NodeIdentity, counters: NodeCounters, minute: number): void {
    const baseline = this.baselines.get(nodeId);
    const rows = new Map(counters.rows.map((row) => [`${row.proxy}/${row.service}`, row]));
    this.baselines.set(nodeId, { workerPid: counters.workerPid, rows });
    if (!baseline) return;
    const restarted = baseline.workerPid !== undefined && baseline.workerPid !== counters.workerPid;
    const before = (key: string) => (restarted ? undefined : baseline.rows.get(key));
    const add = (metricName: LoadBalancerMetricName, targetGroupArn: string | undefined, point: Timing | undefined) => {
      if (point && point.count > 0)
        this.add({ loadBalancerArn: node.loadBalancerArn, ...(targetGroupArn ? { targetGroupArn } : {}), metricName, minute, ...point });
    };
    const countOf = (n: number): Timing | undefined => (n > 0 ? { sum: n, count: n, min: 1, max: 1 } : undefined);
    const frontends = counters.rows.filter((row) => row.service === "FRONTEND" && row.proxy.startsWith("ls-"));
    const delta = (row: StatCounters, pick: (row: StatCounters) => number) => {
      const old = before(`${row.proxy}/${row.service}`);
      return counterDelta(pick(row), old === undefined ? undefined : pick(old));
    };
    if (node.loadBalancerArn.includes(":loadbalancer/net/")) {
      add("NewFlowCount", undefined, countOf(frontends.reduce((sum, row) => sum + delta(row, (r) => r.sessions), 0)));
      const active = frontends.reduce((sum, row) => sum + row.currentSessions, 0);
      if (active > 0) add("ActiveFlowCount", undefined, { sum: active, count: 1, min: active, max: active });
      return;
    }
    const groups = new Map<string, GroupDelta>();
    for (const group of node.targetGroups) {
      const backend = `tg-${group.id}`;
      const sums: GroupDelta = { requests: 0, codes: [0, 0, 0, 0, 0, 0], timing: undefined };
      for (const row of counters.rows) {
        if (row.proxy !== backend) continue;
        if (row.service === "BACKEND") {
          sums.requests = delta(row, (r) => r.requests);
          continue;
        }
        if (row.service === "FRONTEND") continue;
        const codes = row.responses.map((_, at) => delta(row, (r) => r.responses[at]!));
        codes.forEach((n, at) => (sums.codes[at]! += n));
        const responses = codes.reduce((sum, n) => sum + n, 0);
        if (responses > 0) sums.timing = addTiming(sums.timing, row.responseTimeMs / 1000, responses);
      }
      groups.set(group.arn, sums);
    }
    const frontendCodes = [0, 1, 2, 3, 4, 5].map((at) => frontends.reduce((sum, row) => sum + delta(row, (r) => r.responses[at]!), 0));
    add("RequestCount", undefined, countOf(frontends.reduce((sum, row) => sum + delta(row, (r) => r.requests), 0)));
    let timing: Timing | undefined;
    for (const [arn, group] of groups) {
      add("RequestCount", arn, countOf(group.requests));
      for (const [code, name] of TARGET_CODES) add(name, arn, countOf(group.codes[code]!));
      add("TargetResponseTime", arn, group.timing);
      if (group.timing) timing = timing ? mergeTiming(timing, group.timing) : { ...group.timing };
    }
    const targetCodes = (code: number) => [...groups.values()].reduce((sum, group) => sum + group.codes[code]!, 0);
    for (const [code, name] of TARGET_CODES) add(name, undefined, countOf(targetCodes(code)));
    for (const [code, name] of ELB_CODES) add(name, undefined, countOf(Math.max(0, frontendCodes[code]! - targetCodes(code))));
    add("TargetResponseTime", undefined, timing);
  }

  /** Everything not yet accepted, taken out (give it back with `putBack` when the send fails). */
  take(): LoadBalancerMetric[] {
    const all = [...this.pending.values()];
    this.pending.clear();
    return all;
  }

  putBack(metrics: readonly LoadBalancerMetric[]): void {
    for (const metric of metrics) this.add(metric);
  }

  private add(metric: LoadBalancerMetric): void {
    const key = `${metric.minute} ${metric.loadBalancerArn} ${metric.targetGroupArn ?? ""} ${metric.metricName}`;
    const old = this.pending.get(key);
    const merged = old ? { ...old, ...mergeTiming(old, metric) } : metric;
    if (!(merged.sum <= MAX_METRIC_VALUE && merged.count <= MAX_METRIC_VALUE)) return;
    this.pending.set(key, merged);
    if (this.pending.size > MAX_PENDING_METRICS) {
      const oldest = Math.min(...[...this.pending.values()].map((entry) => entry.minute));
      for (const [entryKey, entry] of this.pending) if (entry.minute === oldest) this.pending.delete(entryKey);
    }
  }
}

function mergeTiming(a: Timing, b: Timing): Timing {
  return { sum: a.sum + b.sum, count: a.count + b.count, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** One sample of every node (a node that cannot be read is skipped this time). */
export async function sampleNodes(
  nodes: Iterable<[string, { readonly node: { counters(): Promise<NodeCounters | undefined> }; readonly spec: NodeIdentity }]>,
  sampler: LoadBalancerMetricsSampler,
  at: number,
): Promise<void> {
  const minute = sampleMinute(at);
  for (const [nodeId, { node, spec }] of nodes) {
    const counters = await node.counters().catch(() => undefined);
    if (counters) sampler.sample(nodeId, spec, counters, minute);
  }
}
