import { test } from "node:test";
import assert from "node:assert/strict";
import type { StatCounters } from "../lb/index.js";
import type { LoadBalancerMetric } from "../protocol/index.js";
import { LoadBalancerMetricsSampler, MAX_PENDING_METRICS, counterDelta, sampleMinute } from "./load-balancer-metrics.js";

const appArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef";
const netArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/tcp/0123456789abcdef";
const tgArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";
const node = { loadBalancerArn: appArn, targetGroups: [{ id: "tg-0123456789abcdef", arn: tgArn }] };

type Codes = [number, number, number, number, number, number];
const row = (proxy: string, service: string, fields: Partial<Omit<StatCounters, "proxy" | "service">> = {}): StatCounters => ({
  proxy,
  service,
  requests: 0,
  responses: [0, 0, 0, 0, 0, 0],
  sessions: 0,
  currentSessions: 0,
  responseTimeMs: 0,
  ...fields,
});
/** A node's counters: `front` responses by class, the target's, requests routed to the group. */
function counters(workerPid: number, front: Codes, target: Codes, routed: number, rtimeMs = 0) {
  const requests = front.reduce((a, b) => a + b, 0);
  return {
    workerPid,
    rows: [
      row("ls-l-1", "FRONTEND", { requests, responses: front }),
      row("tg-tg-0123456789abcdef", "10.0.1.5:8080", { responses: target, responseTimeMs: rtimeMs }),
      row("tg-tg-0123456789abcdef", "BACKEND", { requests: routed, responses: target }),
    ],
  };
}
const byName = (metrics: LoadBalancerMetric[], name: string, group?: string) =>
  metrics.find((metric) => metric.metricName === name && metric.targetGroupArn === group);

test("a counter lower than before restarted from zero: its delta is the value itself", () => {
  assert.equal(counterDelta(15, 10), 5);
  assert.equal(counterDelta(3, 10), 3);
  assert.equal(counterDelta(7, undefined), 7);
});

test("samples fall in the minute their 10 seconds lie in", () => {
  assert.equal(sampleMinute(120_000 + 300), 60_000, "the mark at 2:00 closes 1:50–2:00");
  assert.equal(sampleMinute(130_400), 120_000);
  assert.equal(sampleMinute(179_999), 120_000);
});

test("a node found running gives a baseline first; then the deltas as CloudWatch's metrics, per load balancer and per target group", () => {
  const sampler = new LoadBalancerMetricsSampler();
  sampler.sample("elb1", node, counters(100, [0, 0, 50, 0, 3, 1], [0, 0, 50, 0, 2, 0], 51), 0);
  assert.deepEqual(sampler.take(), [], "no baseline yet: nothing");
  // 20 more requests: 12 answered 2xx and 2 404s by the target, 1 fixed 404 and 2 503s (no target) by the proxy, 3 redirects.
  sampler.sample("elb1", node, counters(100, [0, 0, 62, 3, 6, 3], [0, 0, 62, 0, 4, 0], 67, 40), 60_000);
  const metrics = sampler.take();
  const count = (n: number) => ({ sum: n, count: n, min: 1, max: 1 });
  assert.deepEqual(byName(metrics, "RequestCount"), { loadBalancerArn: appArn, metricName: "RequestCount", minute: 60_000, ...count(20) });
  assert.deepEqual(byName(metrics, "RequestCount", tgArn), {
    loadBalancerArn: appArn,
    targetGroupArn: tgArn,
    metricName: "RequestCount",
    minute: 60_000,
    ...count(16),
  });
  assert.equal(byName(metrics, "HTTPCode_Target_2XX_Count")?.sum, 12);
  assert.equal(byName(metrics, "HTTPCode_Target_2XX_Count", tgArn)?.sum, 12);
  assert.equal(byName(metrics, "HTTPCode_Target_4XX_Count")?.sum, 2);
  assert.equal(byName(metrics, "HTTPCode_ELB_4XX_Count")?.sum, 1);
  assert.equal(byName(metrics, "HTTPCode_ELB_5XX_Count")?.sum, 2);
  assert.equal(byName(metrics, "HTTPCode_ELB_3XX_Count")?.sum, 3);
  assert.equal(byName(metrics, "HTTPCode_Target_5XX_Count"), undefined, "no data point: not reported (as CloudWatch)");
  assert.deepEqual(byName(metrics, "TargetResponseTime", tgArn), {
    loadBalancerArn: appArn,
    targetGroupArn: tgArn,
    metricName: "TargetResponseTime",
    minute: 60_000,
    sum: 14 * 0.04,
    count: 14,
    min: 0.04,
    max: 0.04,
  });
  assert.deepEqual(sampler.take(), [], "taken once");
});

test("a new worker (reload) counts from zero: its values are the deltas; a node this agent started counts from zero at once", () => {
  const sampler = new LoadBalancerMetricsSampler();
  sampler.sample("elb1", node, counters(100, [0, 0, 500, 0, 0, 0], [0, 0, 500, 0, 0, 0], 500), 0);
  sampler.sample("elb1", node, counters(101, [0, 0, 7, 0, 0, 0], [0, 0, 7, 0, 0, 0], 7), 0);
  assert.equal(byName(sampler.take(), "HTTPCode_Target_2XX_Count")?.sum, 7, "the pid changed: not 7 − 500, not 0");
  // The same worker, a counter lower than before (a server deleted and added again): a reset too.
  sampler.sample("elb1", node, counters(101, [0, 0, 9, 0, 0, 0], [0, 0, 2, 0, 0, 0], 9), 0);
  const metrics = sampler.take();
  assert.equal(byName(metrics, "HTTPCode_Target_2XX_Count")?.sum, 2);
  assert.equal(byName(metrics, "RequestCount")?.sum, 2);
  sampler.started("elb2");
  sampler.sample("elb2", node, counters(7, [0, 0, 4, 0, 0, 0], [0, 0, 4, 0, 0, 0], 4), 0);
  assert.equal(byName(sampler.take(), "RequestCount")?.sum, 4);
  sampler.forget("elb2");
  sampler.sample("elb2", node, counters(7, [0, 0, 9, 0, 0, 0], [0, 0, 9, 0, 0, 0], 9), 0);
  assert.deepEqual(sampler.take(), [], "forgotten: a baseline again");
});

test("parts of one minute merge; what a failed send gave back is sent with the next", () => {
  const sampler = new LoadBalancerMetricsSampler();
  sampler.started("elb1");
  sampler.sample("elb1", node, counters(1, [0, 0, 5, 0, 0, 0], [0, 0, 5, 0, 0, 0], 5, 10), 60_000);
  sampler.putBack(sampler.take());
  sampler.sample("elb1", node, counters(1, [0, 0, 8, 0, 0, 0], [0, 0, 8, 0, 0, 0], 8, 30), 60_000);
  const metrics = sampler.take();
  assert.equal(byName(metrics, "RequestCount")?.sum, 8);
  assert.deepEqual(byName(metrics, "TargetResponseTime"), {
    loadBalancerArn: appArn,
    metricName: "TargetResponseTime",
    minute: 60_000,
    sum: 5 * 0.01 + 3 * 0.03,
    count: 8,
    min: 0.01,
    max: 0.03,
  });
});

test("a network load balancer: NewFlowCount from its frontends' sessions, ActiveFlowCount one data point per sample", () => {
  const sampler = new LoadBalancerMetricsSampler();
  const tcp = { loadBalancerArn: netArn, targetGroups: [] };
  sampler.sample("elb3", tcp, { workerPid: 1, rows: [row("ls-l-9", "FRONTEND", { sessions: 10, currentSessions: 1 })] }, 0);
  sampler.sample("elb3", tcp, { workerPid: 1, rows: [row("ls-l-9", "FRONTEND", { sessions: 16, currentSessions: 4 })] }, 0);
  const metrics = sampler.take();
  assert.deepEqual(
    metrics.map((metric) => [metric.metricName, metric.sum, metric.count, metric.min, metric.max]),
    [
      ["NewFlowCount", 6, 6, 1, 1],
      ["ActiveFlowCount", 4, 1, 4, 4],
    ],
  );
});

test("what the control plane does not take is bounded: the oldest minutes go first", () => {
  const sampler = new LoadBalancerMetricsSampler();
  const entry = (minute: number, index: number): LoadBalancerMetric => ({
    loadBalancerArn: `${appArn}${index}`,
    metricName: "RequestCount",
    minute,
    sum: 1,
    count: 1,
    min: 1,
    max: 1,
  });
  sampler.putBack(Array.from({ length: MAX_PENDING_METRICS }, (_, index) => entry(60_000 * (1 + (index % 2)), index)));
  sampler.putBack([entry(180_000, -1)]);
  const left = sampler.take();
  assert.equal(left.length, MAX_PENDING_METRICS / 2 + 1);
  assert.ok(left.every((metric) => metric.minute >= 120_000));
});
