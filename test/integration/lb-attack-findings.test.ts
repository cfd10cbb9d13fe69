// Attacker review of the load balancer data plane's control side (commit 308ec88): each test is a
// reproduction, written against the intended behaviour (it fails while the finding stands).
//
//   1. more load balancers than one poll answer may carry (MAX_LOAD_BALANCER_NODES, 64): the agent
//      refuses the whole list, every node of the host is frozen (no change, no delete, no start)
//   2. draining targets count in the data plane's 1,000-target budget but not in the API's: a
//      register after a deregister passes the API and the node's model is refused by the agent
//   3. the node's "amazon-elb" interface's security groups can be replaced through EC2
//      (ModifyNetworkInterfaceAttribute), outside ELBv2 and unlike AWS
//   4. a target may be the node's own address: the proxy forwards to itself (a loop)
//   5. a tag change (AddTags) answers every host's long poll at once: each recompiles its view and nodes
//   6. a network load balancer created without security groups gets a node interface with none,
//      which the VPC router drops everything for (interfaceRules: no group chain, "counter drop")
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { CreateSecurityGroupCommand, DescribeNetworkInterfacesCommand, ModifyNetworkInterfaceAttributeCommand } from "@aws-sdk/client-ec2";
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { validateLoadBalancerModel } from "../../src/lb/index.js";
import type { LoadBalancerModel } from "../../src/lb/index.js";
import { MAX_LOAD_BALANCER_NODES, MAX_TARGET_HEALTH_RESULTS } from "../../src/protocol/load-balancer-nodes.js";
import { MAX_NODES_PER_HOST } from "../../src/control/load-balancer-nodes.js";
import { MAX_RESPONSE_BYTES } from "../../src/agent/control-link-http.js";
import { startTestServer } from "../support/server.js";
import type { Elbv2Fixture } from "../support/elbv2-fixtures.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";
import { addressIn, nodeOf, protocolHost } from "./lb-attack-support.js";
import type { ProtocolHost } from "./lb-attack-support.js";

async function setUp(t: TestContext, hosts = 1): Promise<{ f: Elbv2Fixture; host: ProtocolHost; others: ProtocolHost[] }> {
  const server = await startTestServer();
  t.after(async () => {
    await server.stop();
    await server.cleanup();
  });
  const f = await elbv2Fixture(server);
  const all: ProtocolHost[] = [];
  for (let i = 0; i < hosts; i += 1) all.push(await protocolHost(server, `h-lbattack-${i}`, f.subnets[0]!.zone));
  t.after(() => all.forEach((host) => host.stop()));
  return { f, host: all[0]!, others: all.slice(1) };
}

async function networkLoadBalancer(f: Elbv2Fixture, name: string, securityGroups?: string[]): Promise<string> {
  const created = await f.elb.send(
    new CreateLoadBalancerCommand({
      Name: name,
      Type: "network",
      Subnets: [f.subnets[0]!.id],
      ...(securityGroups ? { SecurityGroups: securityGroups } : {}),
    }),
  );
  return created.LoadBalancers![0]!.LoadBalancerArn!;
}

async function tcpGroupBehind(f: Elbv2Fixture, loadBalancerArn: string, name: string): Promise<string> {
  const tgArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: "TCP", Port: 80, VpcId: f.vpcId, TargetType: "ip" }))).TargetGroups![0]!
    .TargetGroupArn!;
  await f.elb.send(
    new CreateListenerCommand({ LoadBalancerArn: loadBalancerArn, Protocol: "TCP", Port: 80, DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] }),
  );
  return tgArn;
}

test("1. a 65th load balancer must not freeze every node of its host (the agent refuses a list over 64)", { timeout: 120_000 }, async (t) => {
  const { f, host } = await setUp(t);
  let created = 0;
  for (let i = 0; i <= MAX_LOAD_BALANCER_NODES; i += 1) {
    try {
      await networkLoadBalancer(f, `many-${i}`);
      created += 1;
    } catch (error) {
      // A quota (AWS: 50 load balancers a region) is one acceptable fix.
      assert.match((error as Error).name, /TooManyLoadBalancers/);
      break;
    }
  }
  // Placement puts at most MAX_NODES_PER_HOST on one host (the rest wait for another host).
  const expected = Math.min(created, MAX_NODES_PER_HOST, MAX_LOAD_BALANCER_NODES);
  const answer = await host.pollUntil((candidate) => candidate.loadBalancersProblem !== undefined || (candidate.loadBalancers?.length ?? 0) >= expected);
  assert.equal(answer.loadBalancersProblem, undefined, `the host's agent refuses its load balancer list: ${answer.loadBalancersProblem}`);
});

test("2. a register after a deregister must not give the node a model its agent refuses (draining targets)", { timeout: 120_000 }, async (t) => {
  const { f, host } = await setUp(t);
  const lbArn = await networkLoadBalancer(f, "draining");
  const tgArn = await tcpGroupBehind(f, lbArn, "draining-tg");
  const cidr = f.subnets[0]!.cidr;
  const thousand = Array.from({ length: 1000 }, (_, i) => ({ Id: addressIn(cidr, 100 + i), Port: 80 }));
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: thousand }));
  await f.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [thousand[0]!] }));
  const extra = addressIn(cidr, 1100);
  try {
    await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: extra, Port: 80 }] }));
  } catch (error) {
    // Counting draining targets in the API's budget is one acceptable fix.
    assert.match((error as Error).name, /TooManyTargets/);
    return;
  }
  const answer = await host.pollUntil((candidate) =>
    Boolean(nodeOf(candidate, lbArn)?.model.targetGroups.some((group) => group.targets.some((target) => target.ip === extra))),
  );
  const model = nodeOf(answer, lbArn)!.model as LoadBalancerModel;
  assert.equal(model.targetGroups[0]!.targets.length, 1001);
  // What the agent runs before it applies anything (src/agent/load-balancer-nodes.ts ensure):
  assert.doesNotThrow(() => validateLoadBalancerModel(model), "the node's agent refuses the model: the node keeps its old one");
});

test("3. the node's amazon-elb interface must not take security groups from EC2's ModifyNetworkInterfaceAttribute", { timeout: 60_000 }, async (t) => {
  const { f, host } = await setUp(t);
  const narrow = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "lb-narrow", Description: "narrow" }))).GroupId!;
  const wide = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "lb-wide", Description: "wide" }))).GroupId!;
  const lbArn = await networkLoadBalancer(f, "eni-groups", [narrow]);
  await host.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined);
  const enis = (await f.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: "requester-id", Values: ["amazon-elb"] }] }))).NetworkInterfaces!;
  assert.equal(enis.length, 1);
  const eniId = enis[0]!.NetworkInterfaceId!;
  await assert.rejects(
    f.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [wide] })),
    "EC2 changed the security groups of a load balancer's requester-managed interface",
  );
  const after = await host.pollNow();
  assert.deepEqual(nodeOf(after, lbArn)!.network.securityGroups, [narrow]);
  const described = (await f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] }))).LoadBalancers![0]!;
  assert.deepEqual(described.SecurityGroups, [narrow]);
});

test("4. a target group must not take the address of a load balancer node as a target (the node forwards to itself)", { timeout: 60_000 }, async (t) => {
  const { f, host } = await setUp(t);
  const lbArn = await networkLoadBalancer(f, "self");
  const tgArn = await tcpGroupBehind(f, lbArn, "self-tg");
  const node = nodeOf(await host.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined), lbArn)!;
  await assert.rejects(
    f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: node.network.privateIpv4Address, Port: 80 }] })),
    `RegisterTargets took the node's own address ${node.network.privateIpv4Address}`,
  );
});

test("5. a tag change must not answer every host's long poll (each recompiles its network view and all its nodes)", { timeout: 60_000 }, async (t) => {
  const { f, host, others } = await setUp(t, 2);
  const lbArn = await networkLoadBalancer(f, "tags");
  await host.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const idle = others[0]!;
  const { generation } = await idle.pollNow();
  const started = Date.now();
  const waiting = idle.link.poll(idle.hostId, generation);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await f.elb.send(new AddTagsCommand({ ResourceArns: [lbArn], Tags: [{ Key: "k", Value: "v" }] }));
  // The long poll waits 20 s unless woken; a tag concerns no host (and this host runs no node).
  const answeredAfter = await Promise.race([waiting.then(() => Date.now() - started), new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5_000))]);
  assert.equal(answeredAfter, -1, `the host's long poll was answered ${answeredAfter} ms after it began, woken by AddTags`);
  await waiting.catch(() => undefined);
});

test(
  "6. a network load balancer without security groups must get a node that serves (not one its router drops everything for)",
  { timeout: 60_000 },
  async (t) => {
    const { f, host } = await setUp(t);
    const lbArn = await networkLoadBalancer(f, "no-groups");
    const node = nodeOf(await host.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined), lbArn)!;
    const view = (await host.pollNow()).network!;
    const eni = view.interfaces.find((candidate) => candidate.eniId === node.network.eniId)!;
    // With no group, the router's ingress and egress chains of the node's port are just "counter drop"
    // (src/network/router-rules.ts interfaceRules): no client reaches it, it reaches no target.
    assert.ok(eni.securityGroupIds.length > 0, `the node's interface ${eni.eniId} has no security group: its router drops all its traffic`);
  },
);

test(
  "7. fifty load balancers at the API's own limits must fit one poll answer (64 MiB), or the host's whole poll fails, tasks included",
  { timeout: 300_000 },
  async (t) => {
    const { f, host } = await setUp(t);
    const lbArn = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "big", Subnets: [f.subnets[0]!.id, f.subnets[1]!.id] }))).LoadBalancers![0]!
      .LoadBalancerArn!;
    const tgArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: "big-tg", Protocol: "HTTP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
      .TargetGroups![0]!.TargetGroupArn!;
    // A body of 1,024 bytes that JSON doubles (each '"' is sent as '\"'), conditions of 5 values of 128 characters.
    const body = '"'.repeat(1024);
    const path = (n: number, v: number) => `/${String(n).padStart(4, "0")}${String(v)}${"a".repeat(122)}`;
    for (let l = 0; l < 5; l += 1) {
      const listenerArn = (
        await f.elb.send(
          new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "HTTP", Port: 8000 + l, DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] }),
        )
      ).Listeners![0]!.ListenerArn!;
      for (let r = 0; r < 100; r += 1) {
        await f.elb.send(
          new CreateRuleCommand({
            ListenerArn: listenerArn,
            Priority: r + 1,
            Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [0, 1, 2, 3, 4].map((v) => path(l * 100 + r, v)) } }],
            Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", ContentType: "text/plain", MessageBody: body } }],
          }),
        );
      }
    }
    const cidr = f.subnets[0]!.cidr;
    await f.elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: Array.from({ length: 1000 }, (_, i) => ({ Id: addressIn(cidr, 100 + i), Port: 80 })) }),
    );
    const answer = await host.pollUntil((candidate) => (nodeOf(candidate, lbArn)?.model.listeners.reduce((sum, l) => sum + l.rules.length, 0) ?? 0) === 500);
    const bytes = Buffer.byteLength(JSON.stringify(nodeOf(answer, lbArn)));
    t.diagnostic(
      `one node at the limits: ${bytes} bytes; 50 of them: ${(50 * bytes) / 2 ** 20} MiB (the agent reads at most ${MAX_RESPONSE_BYTES / 2 ** 20} MiB)`,
    );
    // Placement puts at most MAX_NODES_PER_HOST nodes on one host: that many such nodes must fit one answer.
    assert.ok(
      MAX_NODES_PER_HOST * bytes <= MAX_RESPONSE_BYTES,
      `${MAX_NODES_PER_HOST} such load balancers on one host make a ${MAX_NODES_PER_HOST * bytes}-byte poll answer; the agent refuses the whole answer`,
    );
  },
);

test("8. one targetHealth call of 20,000 results for the host's own group must not hold the store for long", { timeout: 120_000 }, async (t) => {
  const { f, host } = await setUp(t);
  const lbArn = await networkLoadBalancer(f, "health-flood");
  const tgArn = await tcpGroupBehind(f, lbArn, "health-flood-tg");
  const cidr = f.subnets[0]!.cidr;
  await f.elb.send(
    new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: Array.from({ length: 1000 }, (_, i) => ({ Id: addressIn(cidr, 100 + i), Port: 80 })) }),
  );
  await host.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined);
  // A fifth of what one call may carry (a whole call outlasts the link's 30 s answer timeout).
  const results = Array.from({ length: MAX_TARGET_HEALTH_RESULTS / 5 }, (_, i) => ({
    loadBalancerArn: lbArn,
    targetGroupArn: tgArn,
    ip: addressIn(cidr, 100 + (i % 1000)),
    port: 80,
    state: (i % 2 === 0 ? "healthy" : "unhealthy") as "healthy" | "unhealthy",
  }));
  const started = Date.now();
  const call = host.link.targetHealth!(host.hostId, { results });
  // Meanwhile an API caller's read.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const readStarted = Date.now();
  await f.elb.send(new DescribeLoadBalancersCommand({}));
  const readMs = Date.now() - readStarted;
  await call;
  const callMs = Date.now() - started;
  t.diagnostic(`targetHealth of ${results.length} results: ${callMs} ms; a DescribeLoadBalancers meanwhile: ${readMs} ms`);
  // 1,000 targets are 1,000 results at most: 20 writes per target is the host's to choose.
  assert.ok(callMs < 2_000, `one health call of ${results.length} results took ${callMs} ms of store writes (a DescribeLoadBalancers meanwhile: ${readMs} ms)`);
});
