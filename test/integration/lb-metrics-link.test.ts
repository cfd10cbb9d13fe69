// Load balancer metrics over the agent protocol's HTTP route (`loadBalancerMetrics`): what a host
// holding its own host secret can and cannot make the control plane keep.
//
//   - the host that runs a load balancer's node: its metrics are kept under CloudWatch's names and
//     dimensions, parts of one minute added up
//   - a host that runs no node of that load balancer: its metrics are dropped
//   - a TargetGroup on a network load balancer's metric, an application metric's name on a network
//     load balancer: dropped
//   - a negative or non-finite value, an unknown name, more entries than the protocol's bound: the
//     call is refused (400) before the control plane sees it
import { test } from "node:test";
import assert from "node:assert/strict";
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { MAX_LOAD_BALANCER_METRICS_PER_CALL } from "../../src/protocol/index.js";
import type { LoadBalancerMetric } from "../../src/protocol/index.js";
import { openStore } from "../../src/store/index.js";
import { startTestServer, testServerStore } from "../support/server.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";
import { nodeOf, protocolHost } from "./lb-attack-support.js";

test("loadBalancerMetrics: a host's own nodes' metrics are kept per minute, another host's and malformed ones are not", { timeout: 90_000 }, async (t) => {
  const server = await startTestServer();
  t.after(async () => {
    await server.stop();
    await server.cleanup();
  });
  const f = await elbv2Fixture(server);
  const hosts = [await protocolHost(server, "h-metrics-0", f.subnets[0]!.zone), await protocolHost(server, "h-metrics-1", f.subnets[0]!.zone)];
  t.after(() => hosts.forEach((host) => host.stop()));
  const lbArn = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "counted", Type: "network", Subnets: [f.subnets[0]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  const groupArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: "counted", Protocol: "TCP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
    .TargetGroups![0]!.TargetGroupArn!;
  await f.elb.send(
    new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: 80, DefaultActions: [{ Type: "forward", TargetGroupArn: groupArn }] }),
  );
  let runner: (typeof hosts)[number] | undefined;
  for (let i = 0; i < 100 && !runner; i += 1) {
    for (const host of hosts) if (nodeOf(await host.pollNow(), lbArn)) runner = host;
    if (!runner) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(runner, "no host was given the load balancer's node");
  const bystander = hosts.find((host) => host !== runner)!;

  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const flows = (n: number, extra: Partial<LoadBalancerMetric> = {}): LoadBalancerMetric => ({
    loadBalancerArn: lbArn,
    metricName: "NewFlowCount",
    minute,
    sum: n,
    count: n,
    min: 1,
    max: 1,
    ...extra,
  });
  const kept = async () => {
    const store = await openStore(testServerStore(server.dataDir).location);
    try {
      return await store.elbMetrics.aggregates("AWS/NetworkELB", "NewFlowCount");
    } finally {
      await store.close();
    }
  };
  const dimension = lbArn.slice(lbArn.indexOf(":loadbalancer/") + ":loadbalancer/".length);

  await runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(3)] });
  await runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(4)] });
  const expected = [{ namespace: "AWS/NetworkELB", metricName: "NewFlowCount", loadBalancer: dimension, minute, sum: 7, count: 7, min: 1, max: 1 }];
  assert.deepEqual(await kept(), expected);

  // Another host, for a node it does not run: dropped.
  await bystander.link.loadBalancerMetrics!(bystander.hostId, { metrics: [flows(1_000)] });
  // The runner: a TargetGroup AWS does not give this metric, an application load balancer's name: dropped.
  await runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(5, { targetGroupArn: groupArn }), flows(5, { metricName: "RequestCount" })] });
  assert.deepEqual(await kept(), expected);

  // Refused before the control plane sees it.
  const refused = /400|malformed|must be/;
  await assert.rejects(runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(-1)] }), refused);
  await assert.rejects(runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(1, { sum: Number.NaN })] }), refused);
  await assert.rejects(runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(1, { metricName: "Bogus" as "NewFlowCount" })] }), refused);
  await assert.rejects(runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(1, { minute: minute + 1 })] }), refused);
  const tooMany = Array.from({ length: MAX_LOAD_BALANCER_METRICS_PER_CALL + 1 }, () => flows(1));
  await assert.rejects(runner.link.loadBalancerMetrics!(runner.hostId, { metrics: tooMany }), refused);
  assert.deepEqual(await kept(), expected);
});
