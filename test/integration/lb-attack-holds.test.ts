// Attacker review of the load balancer data plane's control side (commit 308ec88): what a host agent
// holding its own host secret can and cannot make the control plane believe through `targetHealth`,
// and what its poll answers carry. These hold today; they guard the fixes to come.
//
//   - a host that runs no node of a load balancer: its results for that load balancer's groups are dropped
//   - the host that runs the node: its results for a group its load balancer does not forward to are dropped
//   - results for an address that is not a registered target create nothing
//   - a host's poll answers carry only its own nodes
//   - a call over the protocol's bound (20,000 results) is refused before the control plane sees it
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { MAX_TARGET_HEALTH_RESULTS } from "../../src/protocol/load-balancer-nodes.js";
import type { TargetHealthResult } from "../../src/protocol/index.js";
import { startTestServer } from "../support/server.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";
import { addressIn, nodeOf, protocolHost } from "./lb-attack-support.js";

test("targetHealth: a host speaks only for the groups of the nodes it runs, and only of registered targets", { timeout: 90_000 }, async (t) => {
  const server = await startTestServer();
  t.after(async () => {
    await server.stop();
    await server.cleanup();
  });
  const f = await elbv2Fixture(server);
  const hosts = [await protocolHost(server, "h-holds-0", f.subnets[0]!.zone), await protocolHost(server, "h-holds-1", f.subnets[0]!.zone)];
  t.after(() => hosts.forEach((host) => host.stop()));

  const lbArn = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "holds", Type: "network", Subnets: [f.subnets[0]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  const group = async (name: string) =>
    (await f.elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: "TCP", Port: 80, VpcId: f.vpcId, TargetType: "ip" }))).TargetGroups![0]!
      .TargetGroupArn!;
  const served = await group("holds-served");
  const unused = await group("holds-unused");
  await f.elb.send(
    new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: 80, DefaultActions: [{ Type: "forward", TargetGroupArn: served }] }),
  );
  const target = addressIn(f.subnets[0]!.cidr, 50);
  for (const arn of [served, unused]) await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: target, Port: 80 }] }));

  // Which host runs the node: the other one must not see it.
  let runner: (typeof hosts)[number] | undefined;
  for (let i = 0; i < 100 && !runner; i += 1) {
    for (const host of hosts) if (nodeOf(await host.pollNow(), lbArn)) runner = host;
    if (!runner) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(runner, "no host was given the load balancer's node");
  const bystander = hosts.find((host) => host !== runner)!;
  assert.equal(nodeOf(await bystander.pollNow(), lbArn), undefined);

  const result = (targetGroupArn: string, ip: string, state: TargetHealthResult["state"]): TargetHealthResult => ({
    loadBalancerArn: lbArn,
    targetGroupArn,
    ip,
    port: 80,
    state,
    // What a health check can report (the control plane keeps nothing else: load-balancer-health.ts).
    ...(state === "healthy" ? {} : { reason: "Target.FailedHealthChecks", description: "Health checks failed" }),
  });
  const stateOf = async (arn: string) =>
    (await f.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).TargetHealthDescriptions!.map(
      (d) => `${d.Target!.Id} ${d.TargetHealth!.State}`,
    );

  // The bystander forges for a node it does not run: dropped.
  await bystander.link.targetHealth!(bystander.hostId, { results: [result(served, target, "unhealthy")] });
  assert.deepEqual(await stateOf(served), [`${target} initial`]);
  // The runner, for a group its load balancer does not forward to: dropped.
  await runner.link.targetHealth!(runner.hostId, { results: [result(unused, target, "healthy")] });
  assert.deepEqual(await stateOf(unused), [`${target} unused`]);
  // The runner, for an address that is no target: nothing made.
  await runner.link.targetHealth!(runner.hostId, { results: [result(served, addressIn(f.subnets[0]!.cidr, 51), "healthy")] });
  assert.deepEqual(await stateOf(served), [`${target} initial`]);
  // The runner, for its own group: kept (the control plane trusts the host that runs the node).
  await runner.link.targetHealth!(runner.hostId, { results: [result(served, target, "healthy")] });
  assert.deepEqual(await stateOf(served), [`${target} healthy`]);

  // Over the protocol's bound: refused (400) before the fleet sees it.
  const tooMany = Array.from({ length: MAX_TARGET_HEALTH_RESULTS + 1 }, () => result(served, target, "unhealthy"));
  await assert.rejects(runner.link.targetHealth!(runner.hostId, { results: tooMany }), /400|malformed|at most/);
  assert.deepEqual(await stateOf(served), [`${target} healthy`]);
});
