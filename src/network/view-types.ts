// The shapes src/network consumes, declared here because the network may import core alone
// (DESIGN.md rule 1): the agent hands in src/protocol's TaskNetworkSpec and HostNetworkView, which
// are structurally these (the protocol validates them on the wire; the network checks every value
// again before it enters a command or a ruleset).

/** The task's interface as the control plane allocated it (src/protocol/task-spec.ts, TaskNetworkSpec). */
export interface TaskNetworkInput {
  readonly vpcId?: string;
  readonly vpcCidr?: string;
  readonly vni?: number;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly eniId?: string;
  readonly privateIpv4Address?: string;
  readonly macAddress?: string;
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: "ENABLED" | "DISABLED";
}

/** One permission of a group (src/protocol/network-view.ts, SecurityGroupRuleSpec). */
export interface SecurityGroupRule {
  readonly protocol: "all" | "tcp" | "udp" | "icmp";
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrs: readonly string[];
  readonly groupIds: readonly string[];
}

/** The host's network view (src/protocol/network-view.ts, HostNetworkView). */
export interface NetworkView {
  /** isDefault: the account's default VPC, whose CIDR the host routes to its router (the machine reaches its tasks there). */
  readonly vpcs: readonly { readonly vpcId: string; readonly cidrBlock: string; readonly vni: number; readonly isDefault?: boolean }[];
  readonly interfaces: readonly {
    readonly eniId: string;
    readonly taskId: string;
    readonly vpcId: string;
    readonly privateIpv4Address: string;
    readonly securityGroupIds: readonly string[];
  }[];
  readonly securityGroups: readonly {
    readonly groupId: string;
    readonly vpcId: string;
    readonly ingress: readonly SecurityGroupRule[];
    readonly egress: readonly SecurityGroupRule[];
  }[];
  readonly groupMembers: readonly { readonly groupId: string; readonly vpcId: string; readonly ipv4s: readonly string[] }[];
  readonly peers: readonly { readonly vpcId: string; readonly privateIpv4Address: string; readonly hostAddress: string }[];
}

export const EMPTY_VIEW: NetworkView = { vpcs: [], interfaces: [], securityGroups: [], groupMembers: [], peers: [] };
