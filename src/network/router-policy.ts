// A VPC router's security-group policy as data (pure): which local interfaces it guards, the rule
// lines of every group they are in, the members of every group those rules name. Built from the
// host's network view (src/protocol/network-view.ts) and the agent's own task records, so that a
// task connected before the view names it is guarded by its launch groups (and fails closed when
// no rule of them is known yet). router-rules.ts turns it (or the difference of two) into nft text.
//
// EC2's semantics (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html):
// rules only allow; an interface's groups are the union of their rules; rules are stateful (a
// reply passes whatever the rules say); a rule names a protocol (tcp, udp, icmp or all), a port
// range (for ICMP, a type and a code, -1 meaning any) and CIDRs or groups (their members' private
// addresses). A new group allows all egress and no ingress; the control plane sends them as rules.
import type { NetworkView, SecurityGroupRule } from "./view-types.js";
import { ipv4ToNumber, numberToIpv4 } from "../core/default-network.js";
import { AWS_ID, CIDR, IPV4, MAC, TASK_VETH, checked, checkedPort } from "./names.js";

/** A task interface of this router, as the agent's records know it. */
export interface LocalInterface {
  readonly veth: string;
  readonly eniId: string;
  readonly ipv4: string;
  readonly macAddress: string;
  /** The groups at launch: used until the view names the interface. */
  readonly launchGroupIds: readonly string[];
  readonly assignPublicIp: boolean;
}

export interface GuardedInterface {
  readonly veth: string;
  readonly ipv4: string;
  readonly macAddress: string;
  /** Chain names of its groups (only groups whose rules are known), in the view's order. */
  readonly groups: readonly string[];
  readonly public: boolean;
}

export interface GroupChains {
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
}

export interface RouterPolicy {
  readonly interfaces: ReadonlyMap<string, GuardedInterface>;
  /** Per group (its nft name, see groupName): the rule lines of its two chains. */
  readonly groups: ReadonlyMap<string, GroupChains>;
  /** Per group a rule names: its members' addresses in this VPC. */
  readonly members: ReadonlyMap<string, ReadonlySet<string>>;
}

export const EMPTY_ROUTER_POLICY: RouterPolicy = { interfaces: new Map(), groups: new Map(), members: new Map() };

/** A group id as nft names it ("sg-0abc" → "sg_0abc"): checked, and free of characters nft would parse. */
export function groupName(groupId: string): string {
  return checked(groupId, AWS_ID, "security group id").replace("-", "_");
}

/** CIDRs on their network address, without duplicates or CIDRs inside others (nft refuses overlapping intervals). */
export function normaliseCidrs(cidrs: readonly string[]): string[] {
  const ranges = cidrs.map((cidr) => {
    const [base, prefix] = checked(cidr, CIDR, "CIDR").split("/") as [string, string];
    const size = 2 ** (32 - Number(prefix));
    const start = Math.floor(ipv4ToNumber(base) / size) * size;
    return { start, end: start + size - 1, text: `${numberToIpv4(start)}/${prefix}` };
  });
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: typeof ranges = [];
  for (const range of ranges) if (!kept.some((outer) => outer.start <= range.start && range.end <= outer.end)) kept.push(range);
  return kept.map((range) => range.text);
}

function portMatch(protocol: "tcp" | "udp", fromPort: number, toPort: number): string {
  const from = checkedPort(fromPort, "port");
  const to = checkedPort(toPort, "port");
  if (from === -1 || (from <= 0 && to >= 65535)) return `meta l4proto ${protocol}`;
  if (to < from || to === -1) throw new RangeError(`refusing port range ${from}-${to} in the task network`);
  return from === to ? `${protocol} dport ${from}` : `${protocol} dport ${from}-${to}`;
}

/** For ICMP, EC2's fromPort is the type and toPort the code (-1: any). */
function icmpMatch(type: number, code: number): string {
  if (checkedPort(type, "ICMP type") === -1) return "meta l4proto icmp";
  if (type > 255 || checkedPort(code, "ICMP code") > 255) throw new RangeError(`refusing ICMP type ${type} code ${code} in the task network`);
  return code === -1 ? `icmp type ${type}` : `icmp type ${type} icmp code ${code}`;
}

function protocolMatch(rule: SecurityGroupRule): string {
  switch (rule.protocol) {
    case "all":
      return "meta nfproto ipv4";
    case "tcp":
    case "udp":
      return portMatch(rule.protocol, rule.fromPort, rule.toPort);
    case "icmp":
      return icmpMatch(rule.fromPort, rule.toPort);
    default:
      throw new RangeError(`refusing protocol '${String(rule.protocol)}' in the task network`);
  }
}

/** One rule's nft lines: one for its CIDRs (an anonymous set), one per group it names. */
export function ruleLines(rule: SecurityGroupRule, direction: "ingress" | "egress"): string[] {
  const field = direction === "ingress" ? "saddr" : "daddr";
  const match = protocolMatch(rule);
  const cidrs = normaliseCidrs(rule.cidrs);
  const lines: string[] = [];
  if (cidrs.includes("0.0.0.0/0")) lines.push(`${match} accept`);
  else if (cidrs.length > 0) lines.push(`ip ${field} { ${cidrs.join(", ")} } ${match} accept`);
  for (const groupId of new Set(rule.groupIds)) lines.push(`ip ${field} @members_${groupName(groupId)} ${match} accept`);
  return lines;
}

/**
 * The policy of the router of `vpcId`: its local interfaces guarded by their current groups (the
 * view's, else the launch groups), those groups' rules, and the members of every group named.
 */
export function buildRouterPolicy(vpcId: string, view: NetworkView, locals: readonly LocalInterface[]): RouterPolicy {
  const knownGroups = new Map(view.securityGroups.filter((group) => group.vpcId === vpcId).map((group) => [group.groupId, group]));
  const viewInterfaces = new Map(view.interfaces.filter((spec) => spec.vpcId === vpcId).map((spec) => [spec.eniId, spec]));
  const interfaces = new Map<string, GuardedInterface>();
  const groups = new Map<string, GroupChains>();
  const named = new Set<string>();
  for (const local of locals) {
    const groupIds = [...new Set(viewInterfaces.get(local.eniId)?.securityGroupIds ?? local.launchGroupIds)].filter((id) => knownGroups.has(id));
    for (const groupId of groupIds) {
      const name = groupName(groupId);
      if (groups.has(name)) continue;
      const group = knownGroups.get(groupId)!;
      groups.set(name, {
        ingress: group.ingress.flatMap((rule) => ruleLines(rule, "ingress")),
        egress: group.egress.flatMap((rule) => ruleLines(rule, "egress")),
      });
      for (const rule of [...group.ingress, ...group.egress]) for (const id of rule.groupIds) named.add(groupName(id));
    }
    const veth = checked(local.veth, TASK_VETH, "task veth");
    interfaces.set(veth, {
      veth,
      ipv4: checked(local.ipv4, IPV4, "task address"),
      macAddress: checked(local.macAddress.toLowerCase(), MAC, "task MAC"),
      groups: groupIds.map(groupName),
      public: local.assignPublicIp,
    });
  }
  const members = new Map<string, Set<string>>([...named].map((name) => [name, new Set<string>()]));
  for (const entry of view.groupMembers) {
    const set = entry.vpcId === vpcId ? members.get(groupName(entry.groupId)) : undefined;
    for (const address of set ? entry.ipv4s : []) set!.add(checked(address, IPV4, "group member address"));
  }
  return { interfaces, groups, members };
}
