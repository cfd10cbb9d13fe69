import { test } from "node:test";
import assert from "node:assert/strict";
import type { NetworkView } from "./view-types.js";
import { buildRouterPolicy, EMPTY_ROUTER_POLICY, normaliseCidrs, ruleLines } from "./router-policy.js";
import type { LocalInterface } from "./router-policy.js";
import { renderRouterChanges, renderRouterTable } from "./router-rules.js";

const allOut = { protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] } as const;
const web80: NetworkView["securityGroups"][number]["ingress"] = [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrs: [], groupIds: ["sg-2"] }];
const view = (members: string[], web = web80): NetworkView => ({
  vpcs: [],
  peers: [],
  interfaces: [{ eniId: "eni-1", taskId: "t1", vpcId: "vpc-1", privateIpv4Address: "10.0.0.4", securityGroupIds: ["sg-1"] }],
  securityGroups: [
    { groupId: "sg-1", vpcId: "vpc-1", ingress: web, egress: [allOut] },
    { groupId: "sg-2", vpcId: "vpc-1", ingress: [], egress: [allOut] },
    { groupId: "sg-9", vpcId: "vpc-other", ingress: [allOut], egress: [allOut] },
  ],
  groupMembers: [
    { groupId: "sg-2", vpcId: "vpc-1", ipv4s: members },
    { groupId: "sg-2", vpcId: "vpc-other", ipv4s: ["10.0.0.77"] },
  ],
});
const local = (n: number, groups: string[] = []): LocalInterface => ({
  veth: `bthv0000000${n}`,
  eniId: `eni-${n}`,
  ipv4: `10.0.0.${n + 3}`,
  macAddress: `02:00:00:00:00:0${n}`,
  launchGroupIds: groups,
  assignPublicIp: n === 1,
});

test("rules become nft lines: ports, ICMP type and code, CIDRs merged, groups as member sets", () => {
  assert.deepEqual(ruleLines({ protocol: "tcp", fromPort: 80, toPort: 90, cidrs: ["10.1.2.3/16", "10.1.0.0/24"], groupIds: ["sg-a1"] }, "ingress"), [
    "ip saddr { 10.1.0.0/16 } tcp dport 80-90 accept",
    "ip saddr @members_sg_a1 tcp dport 80-90 accept",
  ]);
  assert.deepEqual(ruleLines({ protocol: "udp", fromPort: 0, toPort: 65535, cidrs: ["0.0.0.0/0"], groupIds: [] }, "egress"), ["meta l4proto udp accept"]);
  assert.deepEqual(ruleLines({ protocol: "icmp", fromPort: 8, toPort: -1, cidrs: ["10.0.0.0/8"], groupIds: [] }, "egress"), [
    "ip daddr { 10.0.0.0/8 } icmp type 8 accept",
  ]);
  assert.deepEqual(ruleLines({ protocol: "icmp", fromPort: 3, toPort: 4, cidrs: ["0.0.0.0/0"], groupIds: [] }, "ingress"), ["icmp type 3 icmp code 4 accept"]);
  assert.deepEqual(normaliseCidrs(["10.0.0.0/8", "10.0.0.0/8", "10.2.0.0/16", "192.168.1.7/24"]), ["10.0.0.0/8", "192.168.1.0/24"]);
});

test("hostile values never reach the text", () => {
  const bad = (rule: object) => () => ruleLines({ protocol: "tcp", fromPort: 1, toPort: 2, cidrs: [], groupIds: [], ...rule } as never, "ingress");
  assert.throws(bad({ cidrs: ["10.0.0.0/8 } accept; #"] }), /refusing CIDR/);
  assert.throws(bad({ groupIds: ["sg-1 accept"] }), /refusing security group/);
  assert.throws(bad({ fromPort: 70000 }), /refusing port/);
  assert.throws(bad({ fromPort: 90, toPort: 80 }), /refusing port range/);
  assert.throws(bad({ protocol: "sctp" }), /refusing protocol/);
  assert.throws(() => ruleLines({ protocol: "icmp", fromPort: 300, toPort: 1, cidrs: [], groupIds: [] }, "ingress"), /refusing ICMP/);
  assert.throws(() => buildRouterPolicy("vpc-1", view([]), [{ ...local(1), macAddress: '02:00:00:00:00:01" accept' }]), /refusing task MAC/);
  assert.throws(() => buildRouterPolicy("vpc-1", view(["10.0.0.1; flush ruleset"]), [local(1)]), /refusing group member/);
  assert.throws(() => buildRouterPolicy("vpc-1", view([]), [{ ...local(1), veth: "eth0" }]), /refusing task veth/);
});

test("the policy takes the view's groups for an interface it names and the launch groups otherwise, and only the VPC's own groups and members", () => {
  const policy = buildRouterPolicy("vpc-1", view(["10.0.0.5"]), [local(1, ["sg-2"]), local(2, ["sg-2", "sg-9", "sg-404"])]);
  assert.deepEqual(policy.interfaces.get("bthv00000001")?.groups, ["sg_1"]);
  assert.deepEqual(policy.interfaces.get("bthv00000002")?.groups, ["sg_2"], "other VPC's and unknown groups guard nothing");
  assert.deepEqual([...policy.members.get("sg_2")!], ["10.0.0.5"]);
  const table = renderRouterTable(policy);
  assert.match(table, /^table inet berth \{\}\ndelete table inet berth\ntable inet berth \{/);
  assert.match(table, /chain ingress_bthv00000002 \{\n\s+jump in_sg_2\n\s+counter drop/);
  assert.match(table, /add element inet berth public_addrs \{ 10\.0\.0\.4 \}/);
  assert.match(table, /iifname \. ether saddr \. ip saddr != @task_sources counter drop\n\s+ct state established,related accept/);
  assert.match(
    table,
    /ip daddr 169\.254\.170\.2 tcp dport 80 accept\n\s+meta l4proto \{ tcp, udp \} th dport 53 fib daddr type local accept\n\s+iifname vmap @egress_dispatch/,
  );
});

test("a membership change is element adds and deletes only; a rule change refills that group's chain; removals come last", () => {
  const before = buildRouterPolicy("vpc-1", view(["10.0.0.5"]), [local(1), local(2, ["sg-2"])]);
  assert.equal(renderRouterChanges(before, before), "");
  const moved = buildRouterPolicy("vpc-1", view(["10.0.0.6"]), [local(1), local(2, ["sg-2"])]);
  assert.equal(renderRouterChanges(before, moved), "add element inet berth members_sg_2 { 10.0.0.6 }\ndelete element inet berth members_sg_2 { 10.0.0.5 }\n");
  const revoked = buildRouterPolicy("vpc-1", view(["10.0.0.5"], []), [local(1)]);
  const text = renderRouterChanges(before, revoked);
  assert.match(text, /^flush chain inet berth in_sg_1\n/);
  assert.ok(text.indexOf("delete chain inet berth ingress_bthv00000002") < text.indexOf("delete chain inet berth in_sg_2"));
  assert.ok(text.indexOf("delete chain inet berth in_sg_2") < text.indexOf("delete set inet berth members_sg_2"));
  assert.match(renderRouterChanges(EMPTY_ROUTER_POLICY, before), /add chain inet berth ingress_bthv00000001\n/);
});

test("DNS (UDP and TCP 53) from a task port reaches the router's own addresses only (the VPC resolver), before any egress rule", () => {
  const text = renderRouterTable({ interfaces: new Map(), groups: new Map(), members: new Map() } as never);
  const fromTask = /chain from_task \{([\s\S]*?)\n {2}\}/.exec(text)![1]!;
  assert.match(fromTask, /meta l4proto \{ tcp, udp \} th dport 53 fib daddr type local accept\n\s+iifname vmap @egress_dispatch/);
  assert.match(text, /chain input \{[\s\S]*iifname "bthv\*" meta l4proto \{ tcp, udp \} th dport 53 fib daddr type local accept\n\s+counter drop/);
});
