// The network a host must enforce, as the control plane resolves it from the EC2 model (VPCs,
// subnets, security groups, network interfaces) for one host, carried in every poll answer. The
// agent converges its routers, firewall and overlay on it (level-triggered, like its tasks): a
// security-group rule or membership change anywhere reaches every host whose tasks it concerns
// with the next poll answer, which the change wakes.
//
//   vpcs            the VPCs of this host's task interfaces: their CIDRs, their overlay id (VNI)
//                   and their subnets (a router per VPC routes between them)
//   interfaces      this host's task interfaces and the groups each is in now (ModifyNetwork-
//                   InterfaceAttribute moves a running task between groups)
//   securityGroups  every group of those interfaces, with its rules, already normalised
//   groupMembers    the private addresses of the members of every group those rules name (a
//                   source or destination group), across the fleet
//   peers           where the other interfaces of those VPCs live (the overlay's forwarding
//                   table: no flooding, no learning)
//   loadBalancers   the DNS names of the load balancers of those VPCs and their nodes' private
//                   addresses: the VPC resolver of each router answers them (src/agent/vpc-resolvers.ts);
//                   optional (additive to version 1): absent, no name is answered
import Type from "typebox";
import type { Static } from "typebox";

const Id = () => Type.String({ pattern: "^[a-z]+-[0-9a-f]{1,32}$" });
const Ipv4 = () => Type.String({ pattern: "^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$" });
const Cidr = () => Type.String({ pattern: "^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}/([0-9]|[12][0-9]|3[0-2])$" });

/**
 * Most of each list a view may carry: at least what the EC2 API's quotas let a caller create, so a
 * valid configuration never makes a view the agent refuses (the agent drops a view over these, and
 * the host then keeps its old network). A host runs at most a few hundred tasks; the API allows 5
 * VPCs (api/ec2/vpcs.ts) of 200 subnets and 2,500 security groups each (subnets.ts,
 * security-groups.ts), a VPC is at most a /16 (65,536 addresses: its interfaces, so a group's
 * members and the VPC's peers), and a group has at most 60 rules per direction (security-group-rules.ts).
 */
export const NETWORK_VIEW_LIMITS = {
  vpcs: 256,
  subnets: 1024,
  interfaces: 4096,
  groups: 5 * 2500,
  rulesPerGroup: 120,
  cidrsPerRule: 1024,
  members: 65_536,
  peers: 5 * 65_536,
  /** ELBv2 allows 50 load balancers a region (api/elbv2); kept generous. */
  loadBalancers: 1024,
} as const;

/**
 * One permission of a group, in one direction: traffic of `protocol` (all, tcp, udp or icmp) to
 * ports fromPort..toPort (tcp/udp), or of ICMP type fromPort and code toPort (-1: any), from
 * (ingress) or to (egress) any of `cidrs` or any member of `groupIds`.
 */
export const SecurityGroupRuleSpecSchema = Type.Immutable(
  Type.Object({
    protocol: Type.Enum(["all", "tcp", "udp", "icmp"]),
    fromPort: Type.Integer({ minimum: -1, maximum: 65535 }),
    toPort: Type.Integer({ minimum: -1, maximum: 65535 }),
    cidrs: Type.Immutable(Type.Array(Cidr(), { maxItems: NETWORK_VIEW_LIMITS.cidrsPerRule })),
    groupIds: Type.Immutable(Type.Array(Id(), { maxItems: NETWORK_VIEW_LIMITS.rulesPerGroup })),
  }),
);
export type SecurityGroupRuleSpec = Static<typeof SecurityGroupRuleSpecSchema>;

export const SecurityGroupSpecSchema = Type.Immutable(
  Type.Object({
    groupId: Id(),
    vpcId: Id(),
    ingress: Type.Immutable(Type.Array(SecurityGroupRuleSpecSchema, { maxItems: NETWORK_VIEW_LIMITS.rulesPerGroup })),
    egress: Type.Immutable(Type.Array(SecurityGroupRuleSpecSchema, { maxItems: NETWORK_VIEW_LIMITS.rulesPerGroup })),
  }),
);
export type SecurityGroupSpec = Static<typeof SecurityGroupSpecSchema>;

export const VpcSpecSchema = Type.Immutable(
  Type.Object({
    vpcId: Id(),
    cidrBlock: Cidr(),
    /** The VPC's VXLAN network identifier, the same on every host (24 bits). */
    vni: Type.Integer({ minimum: 1, maximum: 0xffffff }),
    /**
     * The account's default VPC: the host routes its CIDR to its router, so the machine itself
     * reaches its tasks there (its traffic is subject to their security groups, from the router's
     * host-link address). Other VPCs may overlap any CIDR and are not reachable from the host.
     */
    isDefault: Type.Boolean(),
    subnets: Type.Immutable(Type.Array(Type.Immutable(Type.Object({ subnetId: Id(), cidrBlock: Cidr() })), { maxItems: NETWORK_VIEW_LIMITS.subnets })),
  }),
);
export type VpcSpec = Static<typeof VpcSpecSchema>;

export const InterfaceSpecSchema = Type.Immutable(
  Type.Object({
    eniId: Id(),
    taskId: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }),
    vpcId: Id(),
    privateIpv4Address: Ipv4(),
    securityGroupIds: Type.Immutable(Type.Array(Id(), { maxItems: 16 })),
  }),
);
export type InterfaceSpec = Static<typeof InterfaceSpecSchema>;

export const NetworkPeerSchema = Type.Immutable(
  Type.Object({
    vpcId: Id(),
    privateIpv4Address: Ipv4(),
    /** The underlay address of the host the interface lives on (its VXLAN endpoint). */
    hostAddress: Ipv4(),
  }),
);
export type NetworkPeer = Static<typeof NetworkPeerSchema>;

/** A load balancer's DNSName (AWS's form, at most 253 characters of letters, digits, '-' and '.') and its node's private address. */
export const LoadBalancerNameSchema = Type.Immutable(
  Type.Object({
    vpcId: Id(),
    dnsName: Type.String({ maxLength: 253, pattern: "^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$" }),
    privateIpv4Address: Ipv4(),
  }),
);
export type LoadBalancerName = Static<typeof LoadBalancerNameSchema>;

export const HostNetworkViewSchema = Type.Immutable(
  Type.Object({
    vpcs: Type.Immutable(Type.Array(VpcSpecSchema, { maxItems: NETWORK_VIEW_LIMITS.vpcs })),
    interfaces: Type.Immutable(Type.Array(InterfaceSpecSchema, { maxItems: NETWORK_VIEW_LIMITS.interfaces })),
    securityGroups: Type.Immutable(Type.Array(SecurityGroupSpecSchema, { maxItems: NETWORK_VIEW_LIMITS.groups })),
    groupMembers: Type.Immutable(
      Type.Array(
        Type.Immutable(Type.Object({ groupId: Id(), vpcId: Id(), ipv4s: Type.Immutable(Type.Array(Ipv4(), { maxItems: NETWORK_VIEW_LIMITS.members })) })),
        {
          maxItems: NETWORK_VIEW_LIMITS.groups,
        },
      ),
    ),
    peers: Type.Immutable(Type.Array(NetworkPeerSchema, { maxItems: NETWORK_VIEW_LIMITS.peers })),
    loadBalancers: Type.Optional(Type.Immutable(Type.Array(LoadBalancerNameSchema, { maxItems: NETWORK_VIEW_LIMITS.loadBalancers }))),
  }),
);
export type HostNetworkView = Static<typeof HostNetworkViewSchema>;

export const EMPTY_NETWORK_VIEW: HostNetworkView = { vpcs: [], interfaces: [], securityGroups: [], groupMembers: [], peers: [] };
