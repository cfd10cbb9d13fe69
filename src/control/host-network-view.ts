// A host's network view (src/protocol/network-view.ts) from the store's rows for it (pure): the
// groups come normalised (core/ec2/security-group-rules.ts toSpec folds a group's rules by
// direction, protocol and ports, CIDRs and groups side by side, as the agent renders them).
import type { HostNetworkView } from "../protocol/index.js";
import type { HostNetworkRows } from "../store/index.js";
import { loadBalancerNodeId } from "./load-balancer-model-compile.js";

/** The task id: the last segment of its ARN (arn:aws:ecs:region:account:task/cluster/id). */
const taskIdOf = (taskArn: string) => taskArn.slice(taskArn.lastIndexOf("/") + 1);

/**
 * A network load balancer made without security groups takes all traffic, as on AWS (its targets'
 * groups still apply). Its node's port gets, in this view only, a group that allows everything in
 * both directions: one per VPC, with an id no EC2 group can have (32 hex digits; EC2's have 17).
 */
const openGroupOf = (vpcId: string) => `sg-${vpcId.slice(vpcId.indexOf("-") + 1).padStart(32, "f")}`;
const ALLOW_ALL = [{ protocol: "all" as const, fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] }];
const isGrouplessNetworkNode = (row: HostNetworkRows["interfaces"][number]) =>
  row.loadBalancerDescription?.startsWith("ELB net/") === true && row.groupIds.length === 0;

export function hostNetworkView(rows: HostNetworkRows): HostNetworkView {
  const openVpcs = [...new Set(rows.interfaces.filter(isGrouplessNetworkNode).map((row) => row.vpcId))];
  return {
    vpcs: rows.vpcs.map((vpc) => ({
      vpcId: vpc.vpcId,
      cidrBlock: vpc.cidrBlock,
      vni: vpc.vni,
      isDefault: vpc.isDefault,
      subnets: vpc.subnets.map((subnet) => ({ ...subnet })),
    })),
    interfaces: rows.interfaces.map((row) => ({
      eniId: row.eniId,
      taskId: row.taskArn !== undefined ? taskIdOf(row.taskArn) : loadBalancerNodeId(row.eniId),
      vpcId: row.vpcId,
      privateIpv4Address: row.privateIpv4,
      securityGroupIds: isGrouplessNetworkNode(row) ? [openGroupOf(row.vpcId)] : [...row.groupIds],
    })),
    securityGroups: rows.groups
      .map((group) => ({
        groupId: group.groupId,
        vpcId: group.vpcId,
        ingress: group.ingress.map((rule) => ({ ...rule, cidrs: [...rule.cidrs], groupIds: [...rule.groupIds] })),
        egress: group.egress.map((rule) => ({ ...rule, cidrs: [...rule.cidrs], groupIds: [...rule.groupIds] })),
      }))
      .concat(openVpcs.map((vpcId) => ({ groupId: openGroupOf(vpcId), vpcId, ingress: ALLOW_ALL, egress: ALLOW_ALL }))),
    groupMembers: rows.members.map((members) => ({ groupId: members.groupId, vpcId: members.vpcId, ipv4s: [...members.ipv4s] })),
    peers: rows.peers.map((peer) => ({ vpcId: peer.vpcId, privateIpv4Address: peer.privateIpv4, hostAddress: peer.hostAddress })),
  };
}
