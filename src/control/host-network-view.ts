// A host's network view (src/protocol/network-view.ts) from the store's rows for it (pure). The
// rules of a group are folded by direction, protocol and ports, so that "tcp 80 from 10.0.0.0/8"
// and "tcp 80 from sg-lb" become one rule with a CIDR and a group, as the agent renders them.
import type { HostNetworkView, SecurityGroupRuleSpec, SecurityGroupSpec } from "../protocol/index.js";
import type { GroupRuleRow, HostNetworkRows } from "../store/index.js";

const PROTOCOLS: Readonly<Record<string, SecurityGroupRuleSpec["protocol"]>> = { "-1": "all", tcp: "tcp", udp: "udp", icmp: "icmp" };

/** The task id: the last segment of its ARN (arn:aws:ecs:region:account:task/cluster/id). */
const taskIdOf = (taskArn: string) => taskArn.slice(taskArn.lastIndexOf("/") + 1);

function foldRules(rules: readonly GroupRuleRow[]): SecurityGroupRuleSpec[] {
  const folded = new Map<string, { protocol: SecurityGroupRuleSpec["protocol"]; fromPort: number; toPort: number; cidrs: string[]; groupIds: string[] }>();
  for (const rule of rules) {
    const protocol = PROTOCOLS[rule.ipProtocol];
    // A protocol the API does not store cannot be enforced as anything but "nothing allowed".
    if (!protocol) continue;
    const fromPort = protocol === "all" ? -1 : rule.fromPort;
    const toPort = protocol === "all" ? -1 : rule.toPort;
    const key = `${protocol}/${fromPort}/${toPort}`;
    const entry = folded.get(key) ?? { protocol, fromPort, toPort, cidrs: [], groupIds: [] };
    folded.set(key, entry);
    if (rule.cidrIpv4 !== null && !entry.cidrs.includes(rule.cidrIpv4)) entry.cidrs.push(rule.cidrIpv4);
    if (rule.referencedGroupId !== null && !entry.groupIds.includes(rule.referencedGroupId)) entry.groupIds.push(rule.referencedGroupId);
  }
  return [...folded.values()];
}

export function hostNetworkView(rows: HostNetworkRows): HostNetworkView {
  const securityGroups: SecurityGroupSpec[] = rows.groups.map(({ groupId, vpcId }) => {
    const own = rows.rules.filter((rule) => rule.groupId === groupId);
    return { groupId, vpcId, ingress: foldRules(own.filter((rule) => !rule.isEgress)), egress: foldRules(own.filter((rule) => rule.isEgress)) };
  });
  const members = new Map<string, { groupId: string; vpcId: string; ipv4s: string[] }>();
  for (const member of rows.members) {
    const entry = members.get(member.groupId) ?? { groupId: member.groupId, vpcId: member.vpcId, ipv4s: [] };
    members.set(member.groupId, entry);
    if (!entry.ipv4s.includes(member.privateIpv4)) entry.ipv4s.push(member.privateIpv4);
  }
  return {
    vpcs: rows.vpcs.map((vpc) => ({ vpcId: vpc.vpcId, cidrBlock: vpc.cidrBlock, vni: vpc.vni, subnets: vpc.subnets.map((subnet) => ({ ...subnet })) })),
    interfaces: rows.interfaces.map((row) => ({
      eniId: row.eniId,
      taskId: taskIdOf(row.taskArn),
      vpcId: row.vpcId,
      privateIpv4Address: row.privateIpv4,
      securityGroupIds: [...row.groupIds],
    })),
    securityGroups,
    groupMembers: [...members.values()],
    peers: rows.peers.map((peer) => ({ vpcId: peer.vpcId, privateIpv4Address: peer.privateIpv4, hostAddress: peer.hostAddress })),
  };
}
