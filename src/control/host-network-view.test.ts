import assert from "node:assert/strict";
import { test } from "node:test";
import { hostNetworkView } from "./host-network-view.js";
import { toSpec } from "../core/ec2/security-group-rules.js";
import type { HostNetworkRows } from "../store/index.js";
import { HostNetworkViewSchema, compileCheck } from "../protocol/index.js";

const rule = (isEgress: boolean, ipProtocol: "-1" | "tcp" | "udp" | "icmp", fromPort: number, toPort: number, source: { cidr?: string; group?: string }) => ({
  isEgress,
  ipProtocol,
  fromPort,
  toPort,
  description: undefined,
  cidrIpv4: source.cidr,
  referencedGroupId: source.group,
});

const rows: HostNetworkRows = {
  interfaces: [{ eniId: "eni-1", taskArn: "arn:aws:ecs:us-east-1:1:task/c/abc123", vpcId: "vpc-1", privateIpv4: "10.0.1.4", groupIds: ["sg-0e0b", "sg-2"] }],
  vpcs: [{ vpcId: "vpc-1", cidrBlock: "10.0.0.0/16", vni: 7, isDefault: false, subnets: [{ subnetId: "subnet-1", cidrBlock: "10.0.1.0/24" }] }],
  groups: [
    toSpec({ groupId: "sg-0e0b", vpcId: "vpc-1" }, [
      rule(false, "tcp", 80, 80, { cidr: "10.0.0.0/8" }),
      rule(false, "tcp", 80, 80, { group: "sg-1b" }),
      rule(true, "-1", -1, -1, { cidr: "0.0.0.0/0" }),
    ]),
    toSpec({ groupId: "sg-2", vpcId: "vpc-1" }, [rule(false, "-1", -1, -1, { group: "sg-2" })]),
  ],
  members: [
    { groupId: "sg-1b", vpcId: "vpc-1", ipv4s: ["10.0.2.9"] },
    { groupId: "sg-2", vpcId: "vpc-1", ipv4s: ["10.0.1.4"] },
  ],
  peers: [{ vpcId: "vpc-1", privateIpv4: "10.0.2.9", hostAddress: "192.0.2.2" }],
};

test("the view carries each interface with its task id and groups in order, the groups' folded rules, members and peers", () => {
  const view = hostNetworkView(rows);
  assert.deepEqual(view.interfaces, [
    { eniId: "eni-1", taskId: "abc123", vpcId: "vpc-1", privateIpv4Address: "10.0.1.4", securityGroupIds: ["sg-0e0b", "sg-2"] },
  ]);
  assert.deepEqual(view.securityGroups[0]!.ingress, [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrs: ["10.0.0.0/8"], groupIds: ["sg-1b"] }]);
  assert.deepEqual(view.securityGroups[0]!.egress, [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] }]);
  assert.deepEqual(view.groupMembers[0], { groupId: "sg-1b", vpcId: "vpc-1", ipv4s: ["10.0.2.9"] });
  assert.deepEqual(view.peers, [{ vpcId: "vpc-1", privateIpv4Address: "10.0.2.9", hostAddress: "192.0.2.2" }]);
});

test("what the control plane builds passes the agent's own check of a poll answer's view", () => {
  assert.equal(compileCheck(HostNetworkViewSchema).parse(hostNetworkView(rows)).ok, true);
});
