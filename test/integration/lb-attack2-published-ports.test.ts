// Attacker review (h8) of commit 108ca97 (internet-facing load balancers published on the host's
// uplink address). Written against the intended behaviour: each test fails while its finding stands.
//
//   1. any listener port is published, the host's own service ports included: an internet-facing
//      load balancer with a TCP listener on 22 (or the API's 8470) makes the host DNAT every
//      connection to <uplink address>:22 to the load balancer, so the API caller's task answers the
//      host's SSH (or control plane) address from the internet
//   2. a host that only claims a public address at registration draws other hosts' internet-facing
//      nodes (their traffic, an HTTPS listener's private key) to itself (relocateForPublishing)
//   3. "a listener created later never takes a port over": ModifyListener moves an OLD listener
//      (its createdAt kept) onto a port another load balancer holds, and takes it
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, ModifyListenerCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreateSecurityGroupCommand } from "@aws-sdk/client-ec2";
import type { PollAnswer } from "../../src/protocol/index.js";
import { startTestServer } from "../support/server.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";
import { nodeOf, protocolHost } from "./lb-attack-support.js";

/** Ports of the host itself that a load balancer must never be published on (sshd, the API, the registry). */
const HOST_PORTS = [22, 8470];

test(
  "h8-1: an internet-facing load balancer's listener on the host's own ports (22, 8470) is not published on the uplink address",
  { timeout: 60_000 },
  async (t) => {
    const server = await startTestServer();
    t.after(async () => {
      await server.stop();
      await server.cleanup();
    });
    const f = await elbv2Fixture(server);
    // A public address is only a string the control plane stores: no traffic goes anywhere.
    const host = await protocolHost(server, "h-lbattack2-pub", f.subnets[0]!.zone, "10.99.0.7");
    t.after(() => host.stop());
    const { link, hostId } = host;

    const groupId = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "pub", Description: "pub" }))).GroupId!;
    const lbArn = (
      await f.elb.send(
        new CreateLoadBalancerCommand({ Name: "hijack", Type: "network", Scheme: "internet-facing", Subnets: [f.subnets[0]!.id], SecurityGroups: [groupId] }),
      )
    ).LoadBalancers![0]!.LoadBalancerArn!;
    const tgArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: "hijack", Protocol: "TCP", Port: 22, VpcId: f.vpcId, TargetType: "ip" })))
      .TargetGroups![0]!.TargetGroupArn!;
    for (const port of HOST_PORTS)
      await f.elb.send(
        new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: port, DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] }),
      );

    let answer: PollAnswer | undefined;
    const deadline = Date.now() + 20_000;
    for (;;) {
      answer = await link.poll(hostId, -1);
      const node = nodeOf(answer, lbArn);
      if (node && (node.model.listeners ?? []).length === HOST_PORTS.length) break;
      if (Date.now() > deadline) throw new Error(`no node with both listeners: ${JSON.stringify(answer.loadBalancersProblem)}`);
      await sleep(200);
    }
    const node = nodeOf(answer, lbArn)!;
    assert.equal(node.scheme, "internet-facing");
    const published = node.publishedPorts ?? [];
    // 22 (a privileged port) is never published; 8470 is refused by the host itself, which listens on
    // it (src/network/published-ports.ts reads the host's listening ports; unit test published-ports-attack).
    assert.deepEqual(
      published.filter((port) => port < 1024 && port !== 80 && port !== 443),
      [],
      `the control plane tells the host to publish ${JSON.stringify(published)} on its uplink address (22 = the host's sshd)`,
    );
  },
);

test(
  "h8-2: a host that merely claims a public address at registration does not draw other hosts' internet-facing nodes to itself",
  { timeout: 90_000 },
  async (t) => {
    const server = await startTestServer();
    t.after(async () => {
      await server.stop();
      await server.cleanup();
    });
    const f = await elbv2Fixture(server);
    // The node's host has a public address of its own: a node published there is never moved.
    const honest = await protocolHost(server, "h-lbattack2-honest", f.subnets[0]!.zone, "10.99.0.7");
    t.after(() => honest.stop());
    const groupId = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "victim", Description: "victim" }))).GroupId!;
    const lbArn = (
      await f.elb.send(
        new CreateLoadBalancerCommand({ Name: "victim", Type: "network", Scheme: "internet-facing", Subnets: [f.subnets[0]!.id], SecurityGroups: [groupId] }),
      )
    ).LoadBalancers![0]!.LoadBalancerArn!;
    const tgArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: "victim", Protocol: "TCP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
      .TargetGroups![0]!.TargetGroupArn!;
    await f.elb.send(
      new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: 443, DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] }),
    );
    await honest.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined);

    // Another joined host (malicious or compromised) registers claiming any public address.
    // A public address is only a string the control plane stores: no traffic goes anywhere.
    const host = await protocolHost(server, "h-lbattack2-claims", f.subnets[0]!.zone, "10.99.0.8");
    t.after(() => host.stop());
    const { link, hostId } = host;
    // Give placement its chances (a new listener triggers it too).
    await f.elb.send(
      new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: 8443, DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] }),
    );
    let drawn = false;
    for (let i = 0; i < 40 && !drawn; i += 1) {
      drawn = nodeOf(await link.poll(hostId, -1), lbArn) !== undefined;
      if (!drawn) await sleep(250);
    }
    assert.equal(drawn, false, "the node (its traffic, its certificate's key when HTTPS) moved to the host that claimed a public address");
  },
);

test("h8-3: ModifyListener does not let an older listener of another load balancer take over a published port", { timeout: 90_000 }, async (t) => {
  const server = await startTestServer();
  t.after(async () => {
    await server.stop();
    await server.cleanup();
  });
  const f = await elbv2Fixture(server);
  // A public address is only a string the control plane stores: no traffic goes anywhere.
  const host = await protocolHost(server, "h-lbattack2-contest", f.subnets[0]!.zone, "10.99.0.9");
  t.after(() => host.stop());
  const { link, hostId } = host;
  const groupId = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "contest", Description: "contest" }))).GroupId!;
  const loadBalancer = async (name: string) =>
    (
      await f.elb.send(
        new CreateLoadBalancerCommand({ Name: name, Type: "network", Scheme: "internet-facing", Subnets: [f.subnets[0]!.id], SecurityGroups: [groupId] }),
      )
    ).LoadBalancers![0]!.LoadBalancerArn!;
  const listener = async (lbArn: string, port: number) => {
    const name = `contest-${port}`;
    const tgArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: "TCP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
      .TargetGroups![0]!.TargetGroupArn!;
    return (
      await f.elb.send(
        new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: port, DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] }),
      )
    ).Listeners![0]!.ListenerArn!;
  };
  // The attacker's listener first, on a port nobody wants; the victim's later, on 443.
  const attacker = await loadBalancer("squatter");
  const oldListener = await listener(attacker, 18080);
  await sleep(20);
  const victim = await loadBalancer("victim");
  await listener(victim, 443);
  const publishedOf = (answer: PollAnswer, arn: string) => nodeOf(answer, arn)?.publishedPorts ?? [];
  const deadline = Date.now() + 20_000;
  while (!publishedOf(await link.poll(hostId, -1), victim).includes(443)) {
    if (Date.now() > deadline) throw new Error("the victim was never published on 443");
    await sleep(200);
  }
  await f.elb.send(new ModifyListenerCommand({ ListenerArn: oldListener, Port: 443 }));
  let answer = await link.poll(hostId, -1);
  for (let i = 0; i < 25 && !publishedOf(answer, attacker).includes(443); i += 1) {
    await sleep(200);
    answer = await link.poll(hostId, -1);
  }
  assert.deepEqual(
    { victim: publishedOf(answer, victim), attacker: publishedOf(answer, attacker) },
    { victim: [443], attacker: [] },
    "who holds 443 on the host's address after the attacker's old listener was modified onto it",
  );
});
