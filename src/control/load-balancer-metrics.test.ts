// What a host sends of its load balancer nodes' metrics, and what the control plane keeps: only
// its own nodes' load balancers (a host reporting for another host's is dropped), only the target
// groups those forward to, only names of the load balancer's type, only statistics that can be true.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StoredLoadBalancer } from "../store/index.js";
import type { LoadBalancerMetric } from "../protocol/index.js";
import type { ElbMetricAggregate, NetworkInterfaceRecord, StoredListener, StoredRule } from "../store/index.js";
import { LoadBalancerMetrics, loadBalancerDimension, plausible, targetGroupDimension } from "./load-balancer-metrics.js";
import { ELB_REQUESTER_ID, nodeDescription } from "./load-balancer-nodes.js";

const account = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
const mineArn = `${account}:loadbalancer/app/web/0123456789abcdef`;
const theirsArn = `${account}:loadbalancer/app/other/fedcba9876543210`;
const netArn = `${account}:loadbalancer/net/tcp/00000000000000aa`;
const tgArn = `${account}:targetgroup/tg/1111111111111111`;
const strangerTg = `${account}:targetgroup/elsewhere/2222222222222222`;
const NOW = 10 * 86_400_000;
const MINUTE = NOW - 120_000;

function fakeStore() {
  const kept: ElbMetricAggregate[] = [];
  const enis: Record<string, string[]> = { "host-a": [nodeDescription(mineArn), nodeDescription(netArn)], "host-b": [nodeDescription(theirsArn)] };
  const listener = { arn: `${account}:listener/app/web/0123456789abcdef/3333333333333333`, loadBalancerArn: mineArn, port: 80, createdAt: 0 };
  return {
    kept,
    store: {
      networkInterfaces: {
        listByRequester: async (requesterId: string, hostId?: string) =>
          requesterId === ELB_REQUESTER_ID ? (enis[hostId ?? ""] ?? []).map((description) => ({ description }) as NetworkInterfaceRecord) : [],
      },
      elbv2: {
        listListeners: async (loadBalancerArn: string): Promise<StoredListener[]> =>
          loadBalancerArn === mineArn ? [{ ...listener, listener: { DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] } }] : [],
        listRules: async (): Promise<StoredRule[]> => [],
        // Every load balancer made a day before NOW.
        getLoadBalancer: async (arn: string): Promise<StoredLoadBalancer | undefined> =>
          ({ arn, name: "lb", createdAt: NOW - 86_400_000, loadBalancer: {}, attributes: {} }) as StoredLoadBalancer,
      },
      elbMetrics: {
        add: async (aggregates: readonly ElbMetricAggregate[]) => {
          kept.push(...aggregates);
        },
      },
    },
  };
}

const count = (
  loadBalancerArn: string,
  metricName: LoadBalancerMetric["metricName"],
  n: number,
  extra: Partial<LoadBalancerMetric> = {},
): LoadBalancerMetric => ({
  loadBalancerArn,
  metricName,
  minute: MINUTE,
  sum: n,
  count: n,
  min: 1,
  max: 1,
  ...extra,
});

function metricsOf(store: ReturnType<typeof fakeStore>["store"]) {
  return new LoadBalancerMetrics({
    store,
    clock: { now: () => NOW, sleep: async () => undefined },
    requesterId: ELB_REQUESTER_ID,
    descriptionOf: nodeDescription,
  });
}

test("keeps a host's own load balancers' metrics under CloudWatch's dimensions; another host's load balancer is dropped", async () => {
  const { store, kept } = fakeStore();
  const metrics = metricsOf(store);
  const written = await metrics.record("host-a", {
    metrics: [
      count(mineArn, "RequestCount", 5),
      count(mineArn, "RequestCount", 4, { targetGroupArn: tgArn }),
      count(theirsArn, "RequestCount", 1_000_000),
      count(netArn, "NewFlowCount", 3),
    ],
  });
  assert.equal(written, 3);
  assert.deepEqual(kept, [
    { namespace: "AWS/ApplicationELB", metricName: "RequestCount", loadBalancer: "app/web/0123456789abcdef", minute: MINUTE, sum: 5, count: 5, min: 1, max: 1 },
    {
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      loadBalancer: "app/web/0123456789abcdef",
      targetGroup: "targetgroup/tg/1111111111111111",
      minute: MINUTE,
      sum: 4,
      count: 4,
      min: 1,
      max: 1,
    },
    { namespace: "AWS/NetworkELB", metricName: "NewFlowCount", loadBalancer: "net/tcp/00000000000000aa", minute: MINUTE, sum: 3, count: 3, min: 1, max: 1 },
  ]);
  kept.length = 0;
  assert.equal(await metrics.record("host-b", { metrics: [count(mineArn, "RequestCount", 99)] }), 0, "host-b runs no node of web");
  assert.equal(await metrics.record("host-c", { metrics: [count(theirsArn, "RequestCount", 99)] }), 0);
  assert.deepEqual(kept, []);
});

test("drops a target group its load balancer does not forward to, names of the other type, a TargetGroup where AWS gives none, and stale or future minutes", async () => {
  const { store, kept } = fakeStore();
  const written = await metricsOf(store).record("host-a", {
    metrics: [
      count(mineArn, "RequestCount", 1, { targetGroupArn: strangerTg }),
      count(mineArn, "NewFlowCount", 1),
      count(netArn, "RequestCount", 1),
      count(mineArn, "HTTPCode_ELB_5XX_Count", 1, { targetGroupArn: tgArn }),
      count(mineArn, "RequestCount", 1, { minute: NOW - 16 * 86_400_000 }),
      count(mineArn, "RequestCount", 1, { minute: NOW + 10 * 60_000 }),
      count(mineArn, "RequestCount", 1, { loadBalancerArn: `${mineArn}/../x` }),
    ],
  });
  assert.equal(written, 0);
  assert.deepEqual(kept, []);
});

test("only statistics real data points could give", () => {
  const base = count(mineArn, "RequestCount", 3);
  assert.ok(plausible(base));
  assert.ok(!plausible({ ...base, sum: 4 }), "a count's sum is its count");
  assert.ok(!plausible({ ...base, max: 2 }), "each data point of a count is 1");
  const time = { ...base, metricName: "TargetResponseTime" as const, sum: 0.3, count: 3, min: 0.05, max: 0.2 };
  assert.ok(plausible(time));
  assert.ok(!plausible({ ...time, min: 0.3 }), "min above max");
  assert.ok(!plausible({ ...time, sum: 0.9 }), "sum above count × max");
  assert.ok(!plausible({ ...time, sum: 0.01 }), "sum below count × min");
  assert.ok(!plausible({ ...time, sum: Number.NaN }));
  assert.ok(!plausible({ ...time, sum: Number.POSITIVE_INFINITY }));
  assert.ok(!plausible({ ...time, min: -1 }));
  assert.ok(!plausible({ ...time, count: 1.5 }));
});

test("CloudWatch's dimension values from ARNs", () => {
  assert.equal(loadBalancerDimension(mineArn), "app/web/0123456789abcdef");
  assert.equal(loadBalancerDimension(netArn), "net/tcp/00000000000000aa");
  assert.equal(loadBalancerDimension(`${account}:loadbalancer/gwy/g/0123456789abcdef`), undefined);
  assert.equal(targetGroupDimension(tgArn), "targetgroup/tg/1111111111111111");
  assert.equal(targetGroupDimension(`${tgArn}/x`), undefined);
});
