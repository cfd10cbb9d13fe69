// A load balancer has an address in each of its subnets, as an ALB has a node per zone: each subnet
// gets a node (its own interface, id and address) on a host serving that zone, each published on
// its own host's address, the VPC's names give every node's address, one node speaks for target
// health, and SetSubnets / SetSecurityGroups / SetIpAddressType change nodes and interfaces as AWS
// changes its load balancer. Hosts here speak the real agent protocol and run nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeNetworkInterfacesCommand } from "@aws-sdk/client-ec2";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  SetIpAddressTypeCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { PollAnswer } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { startTestServer } from "../support/server.js";
import type { Elbv2Fixture } from "../support/elbv2-fixtures.js";
import { elbv2Fixture, rejectsWithElbError } from "../support/elbv2-fixtures.js";
import { waitFor } from "../support/wait-for.js";
import type { ProtocolHost } from "./lb-attack-support.js";
import { addressIn, nodeOf, protocolHost } from "./lb-attack-support.js";

let server: TestServer;
let f: Elbv2Fixture;
let hosts: ProtocolHost[];
let groupId: string;

before(async () => {
  server = await startTestServer();
  f = await elbv2Fixture(server);
  assert.ok(f.subnets.length >= 3, "the default VPC has a subnet in each of three zones");
  // One host per zone, each with a public address (strings the control plane keeps: no traffic here).
  hosts = [];
  for (const [index, subnet] of f.subnets.slice(0, 3).entries())
    hosts.push(await protocolHost(server, `h-per-subnet-${index}`, subnet.zone, `10.99.0.${7 + index}`));
  groupId = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "per-subnet", Description: "lb" }))).GroupId!;
});

after(async () => {
  for (const host of hosts ?? []) host.stop();
  await server.stop();
  await server.cleanup();
});

const elbInterfaces = async (arn: string) =>
  ((await f.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: "requester-id", Values: ["amazon-elb"] }] }))).NetworkInterfaces ?? []).filter(
    (eni) => eni.Description === `ELB ${arn.slice(arn.indexOf(":loadbalancer/") + ":loadbalancer/".length)}`,
  );

async function webLoadBalancer(name: string, subnets: readonly string[]): Promise<{ arn: string; targetGroupArn: string; dnsName: string }> {
  const loadBalancer = (await f.elb.send(new CreateLoadBalancerCommand({ Name: name, Subnets: [...subnets], SecurityGroups: [groupId] }))).LoadBalancers![0]!;
  const targetGroupArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
    .TargetGroups![0]!.TargetGroupArn!;
  await f.elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancer.LoadBalancerArn!,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
    }),
  );
  return { arn: loadBalancer.LoadBalancerArn!, targetGroupArn, dnsName: loadBalancer.DNSName! };
}

test("a node in each subnet, on a host of its zone, published on that host, its address in the VPC's names", async () => {
  const { arn, targetGroupArn, dnsName } = await webLoadBalancer("zones", [f.subnets[0]!.id, f.subnets[1]!.id]);
  const answers: PollAnswer[] = [];
  for (const host of hosts.slice(0, 2)) answers.push(await host.pollUntil((answer) => (nodeOf(answer, arn)?.publishedPorts ?? []).length === 1));
  const nodes = answers.map((answer) => nodeOf(answer, arn)!);
  assert.deepEqual(
    nodes.map((node) => node.network.subnetId),
    [f.subnets[0]!.id, f.subnets[1]!.id],
  );
  assert.notEqual(nodes[0]!.nodeId, nodes[1]!.nodeId);
  for (const node of nodes) {
    assert.equal(node.model.id, node.nodeId);
    assert.deepEqual(node.publishedPorts, [80]);
  }
  assert.equal(nodeOf(await hosts[2]!.pollNow(), arn), undefined, "no node for a zone the load balancer is not in");
  const interfaces = await elbInterfaces(arn);
  assert.deepEqual(interfaces.map((eni) => eni.PrivateIpAddress).sort(), nodes.map((node) => node.network.privateIpv4Address).sort());
  // DescribeLoadBalancers: each zone has its node's host address.
  const described = (await f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0]!;
  assert.deepEqual(
    described.AvailabilityZones!.map((zone) => [zone.SubnetId, zone.LoadBalancerAddresses?.[0]?.IpAddress]),
    [
      [f.subnets[0]!.id, "10.99.0.7"],
      [f.subnets[1]!.id, "10.99.0.8"],
    ],
  );
  // The VPC resolver's names: the load balancer's name with both addresses.
  const named = (answers[0]!.network?.loadBalancers ?? []).filter((entry) => entry.dnsName === dnsName).map((entry) => entry.privateIpv4Address);
  assert.deepEqual(named.sort(), nodes.map((node) => node.network.privateIpv4Address).sort());

  // Target health: the node with the lowest interface id speaks for the API; the other's word is not kept.
  const target = addressIn(f.subnets[0]!.cidr, 50);
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: target, Port: 80 }] }));
  const reporterIndex = interfaces.sort((a, b) => a.NetworkInterfaceId!.localeCompare(b.NetworkInterfaceId!))[0]!.SubnetId === f.subnets[0]!.id ? 0 : 1;
  const report = (state: "healthy" | "unhealthy") => ({
    results: [
      {
        loadBalancerArn: arn,
        targetGroupArn,
        ip: target,
        port: 80,
        state,
        ...(state === "unhealthy" ? { reason: "Target.FailedHealthChecks", description: "Health checks failed" } : {}),
      },
    ],
  });
  const state = async () =>
    (await f.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions![0]!.TargetHealth!.State;
  const other = hosts[1 - reporterIndex]!;
  await other.link.targetHealth!(other.hostId, report("unhealthy"));
  assert.equal(await state(), "initial", "the other node's report is not kept");
  const reporter = hosts[reporterIndex]!;
  await reporter.link.targetHealth!(reporter.hostId, report("healthy"));
  assert.equal(await state(), "healthy");
  await other.link.targetHealth!(other.hostId, report("unhealthy"));
  assert.equal(await state(), "healthy", "the other node cannot make it flap");

  await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
  await waitFor(async () => (await elbInterfaces(arn)).length === 0, { what: "both interfaces released", timeoutMs: 10_000 });
  for (const host of hosts.slice(0, 2)) await host.pollUntil((answer) => nodeOf(answer, arn) === undefined);
});

test("SetSubnets moves the load balancer's nodes, SetSecurityGroups changes its interfaces' groups, SetIpAddressType keeps ipv4", async () => {
  const { arn } = await webLoadBalancer("settings", [f.subnets[0]!.id, f.subnets[1]!.id]);
  await hosts[1]!.pollUntil((answer) => nodeOf(answer, arn) !== undefined);
  const kept = (await elbInterfaces(arn)).find((eni) => eni.SubnetId === f.subnets[0]!.id)!;

  const set = await f.elb.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: [f.subnets[2]!.id, f.subnets[0]!.id] }));
  assert.deepEqual(
    set.AvailabilityZones!.map((zone) => [zone.ZoneName, zone.SubnetId]),
    [
      [f.subnets[0]!.zone, f.subnets[0]!.id],
      [f.subnets[2]!.zone, f.subnets[2]!.id],
    ],
  );
  assert.equal(set.IpAddressType, "ipv4");
  await hosts[1]!.pollUntil((answer) => nodeOf(answer, arn) === undefined);
  const added = nodeOf(await hosts[2]!.pollUntil((answer) => nodeOf(answer, arn) !== undefined), arn)!;
  assert.equal(added.network.subnetId, f.subnets[2]!.id);
  const after = await elbInterfaces(arn);
  assert.deepEqual(after.map((eni) => eni.SubnetId).sort(), [f.subnets[0]!.id, f.subnets[2]!.id].sort());
  assert.ok(
    after.some((eni) => eni.NetworkInterfaceId === kept.NetworkInterfaceId && eni.PrivateIpAddress === kept.PrivateIpAddress),
    "the kept subnet's node keeps its interface and address",
  );

  const second = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: f.vpcId, GroupName: "per-subnet-2", Description: "lb" }))).GroupId!;
  const groups = await f.elb.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [second] }));
  assert.deepEqual(groups.SecurityGroupIds, [second]);
  assert.deepEqual((await f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0]!.SecurityGroups, [second]);
  await hosts[2]!.pollUntil((answer) => nodeOf(answer, arn)?.network.securityGroups.join() === second);
  await waitFor(async () => (await elbInterfaces(arn)).every((eni) => eni.Groups?.map((group) => group.GroupId).join() === second), {
    what: "both interfaces in the new group",
    timeoutMs: 10_000,
  });

  assert.equal((await f.elb.send(new SetIpAddressTypeCommand({ LoadBalancerArn: arn, IpAddressType: "ipv4" }))).IpAddressType, "ipv4");

  // Refusals, each leaving the load balancer as it was.
  await rejectsWithElbError(f.elb.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: [f.subnets[0]!.id] })), "ValidationError");
  await rejectsWithElbError(
    f.elb.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: [f.subnets[0]!.id, f.otherSubnetId] })),
    "InvalidConfigurationRequest",
  );
  await rejectsWithElbError(
    f.elb.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: [f.subnets[0]!.id, "subnet-0000000000000dead"] })),
    "SubnetNotFound",
  );
  await rejectsWithElbError(f.elb.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [f.otherGroupId] })), "InvalidSecurityGroup");
  await rejectsWithElbError(f.elb.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [] })), "ValidationError");
  await rejectsWithElbError(f.elb.send(new SetIpAddressTypeCommand({ LoadBalancerArn: arn, IpAddressType: "dualstack" })), "ValidationError");
  await rejectsWithElbError(
    f.elb.send(new SetSubnetsCommand({ LoadBalancerArn: arn.replace(/[0-9a-f]{16}$/, "0000000000000000"), Subnets: [f.subnets[0]!.id, f.subnets[1]!.id] })),
    "LoadBalancerNotFound",
  );
  const now = (await f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0]!;
  assert.deepEqual(now.AvailabilityZones!.map((zone) => zone.SubnetId).sort(), [f.subnets[0]!.id, f.subnets[2]!.id].sort());
  assert.deepEqual(now.SecurityGroups, [second]);

  // A network load balancer made without groups cannot be given one (as on AWS).
  const network = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "nlb-none", Type: "network", Subnets: [f.subnets[0]!.id] }))).LoadBalancers![0]!;
  await rejectsWithElbError(
    f.elb.send(new SetSecurityGroupsCommand({ LoadBalancerArn: network.LoadBalancerArn!, SecurityGroups: [second] })),
    "InvalidConfigurationRequest",
  );
  for (const loadBalancerArn of [arn, network.LoadBalancerArn!]) await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancerArn }));
});

test("a full subnet leaves its nodes unplaced; every other node is placed all the same", async () => {
  const vpcId = (await f.ec2.send(new CreateVpcCommand({ CidrBlock: "10.30.0.0/16" }))).Vpc!.VpcId!;
  // A /28 holds 11 addresses (AWS keeps 5): the 12th load balancer's node there finds none.
  const small = (await f.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.30.0.0/28", AvailabilityZone: f.subnets[0]!.zone }))).Subnet!
    .SubnetId!;
  const large = (await f.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.30.1.0/24", AvailabilityZone: f.subnets[1]!.zone }))).Subnet!
    .SubnetId!;
  const group = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: "full", Description: "lb" }))).GroupId!;
  const arns: string[] = [];
  for (let index = 0; index < 12; index++) {
    const created = await f.elb.send(new CreateLoadBalancerCommand({ Name: `full-${index}`, Subnets: [small, large], SecurityGroups: [group] }));
    arns.push(created.LoadBalancers![0]!.LoadBalancerArn!);
  }
  const placedIn = async (subnetId: string) =>
    ((await f.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: "requester-id", Values: ["amazon-elb"] }] }))).NetworkInterfaces ?? []).filter(
      (eni) => eni.SubnetId === subnetId,
    ).length;
  await waitFor(async () => (await placedIn(large)) === 12, { what: "every node of the large subnet placed", timeoutMs: 20_000 });
  assert.equal(await placedIn(small), 11, "the small subnet holds 11 nodes, the 12th waits");
  for (const arn of arns) await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
  await waitFor(async () => (await placedIn(small)) + (await placedIn(large)) === 0, { what: "the nodes released", timeoutMs: 20_000 });
});
