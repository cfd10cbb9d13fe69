import assert from "node:assert/strict";
import { test } from "node:test";
import { hostNetworkView } from "./host-network-view.js";
import type { HostNetworkRows } from "../store/index.js";

const rule = (groupId: string, isEgress: boolean, ipProtocol: string, fromPort: number, toPort: number, source: { cidr?: string; group?: string }) => ({
  groupId,
  isEgress,
  ipProtocol,
  fromPort,
  toPort,
  cidrIpv4: source.cidr ?? null,
  referencedGroupId: source.group ?? null,
});

const rows: HostNetworkRows = {
  interfaces: [{ eniId: "eni-1", taskArn: "arn:aws:ecs:us-east-1:1:task/c/abc123", vpcId: "vpc-1", privateIpv4: "10.0.1.4", groupIds: ["sg-web", "sg-2"] }],
  vpcs: [{ vpcId: "vpc-1", cidrBlock: "10.0.0.0/16", vni: 7, subnets: [{ subnetId: "subnet-1", cidrBlock: "10.0.1.0/24" }] }],
  groups: [
    { groupId: "sg-web", vpcId: "vpc-1" },
    { groupId: "sg-2", vpcId: "vpc-1" },
  ],
  rules: [
    rule("sg-web", false, "tcp", 80, 80, { cidr: "10.0.0.0/8" }),
    rule("sg-web", false, "tcp", 80, 80, { group: "sg-lb" }),
    rule("sg-web", false, "icmp", 8, -1, { cidr: "0.0.0.0/0" }),
    rule("sg-web", true, "-1", -1, -1, { cidr: "0.0.0.0/0" }),
    rule("sg-2", false, "-1", 0, 0, { group: "sg-2" }),
    rule("sg-2", false, "gre", -1, -1, { cidr: "0.0.0.0/0" }),
  ],
  members: [
    { groupId: "sg-lb", vpcId: "vpc-1", privateIpv4: "10.0.2.9" },
    { groupId: "sg-lb", vpcId: "vpc-1", privateIpv4: "10.0.2.9" },
    { groupId: "sg-2", vpcId: "vpc-1", privateIpv4: "10.0.1.4" },
  ],
  peers: [{ vpcId: "vpc-1", privateIpv4: "10.0.2.9", hostAddress: "192.0.2.2" }],
};

test("a group's rules fold by protocol and ports, CIDRs and groups side by side; -1 is every port", () => {
  const view = hostNetworkView(rows);
  const web = view.securityGroups.find((group) => group.groupId === "sg-web")!;
  assert.deepEqual(web.ingress, [
    { protocol: "tcp", fromPort: 80, toPort: 80, cidrs: ["10.0.0.0/8"], groupIds: ["sg-lb"] },
    { protocol: "icmp", fromPort: 8, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] },
  ]);
  assert.deepEqual(web.egress, [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] }]);
  const other = view.securityGroups.find((group) => group.groupId === "sg-2")!;
  assert.deepEqual(other.ingress, [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: [], groupIds: ["sg-2"] }], "an unknown protocol allows nothing");
});

test("interfaces carry their task id and groups in order; members are listed once per group", () => {
  const view = hostNetworkView(rows);
  assert.deepEqual(view.interfaces, [
    { eniId: "eni-1", taskId: "abc123", vpcId: "vpc-1", privateIpv4Address: "10.0.1.4", securityGroupIds: ["sg-web", "sg-2"] },
  ]);
  assert.deepEqual(view.groupMembers, [
    { groupId: "sg-lb", vpcId: "vpc-1", ipv4s: ["10.0.2.9"] },
    { groupId: "sg-2", vpcId: "vpc-1", ipv4s: ["10.0.1.4"] },
  ]);
  assert.deepEqual(view.peers, [{ vpcId: "vpc-1", privateIpv4Address: "10.0.2.9", hostAddress: "192.0.2.2" }]);
  assert.equal(view.vpcs[0]!.vni, 7);
});
