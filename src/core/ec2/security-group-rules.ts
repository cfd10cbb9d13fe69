// The rules of EC2 security groups, as the API takes them and as hosts enforce them (no I/O).
//
//   IpPermissions (request) ──parsePermissions──▶ RequestedRule[]   one per (permission, source),
//                                                 │                 exactly as DescribeSecurityGroup-
//                          the API resolves group names/ids          Rules lists them
//                                                 ▼
//                                   SecurityGroupRuleFields[] ──▶ stored rows ──toSpec──▶ SecurityGroupSpec
//
// Validation follows the AuthorizeSecurityGroupIngress reference and EC2's answers as clients have
// quoted them (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupIngress.html,
// API_IpPermission.html). Berth enforces tcp, udp, icmp and all (-1) on IPv4 sources: other IP
// protocols, IPv6 ranges and prefix lists are refused rather than stored unenforced.
import type { IpPermission } from "@aws-sdk/client-ec2";
import { AwsError } from "../errors.js";

/** EC2's default quota: inbound and outbound rules per security group, counted separately. */
export const RULES_PER_DIRECTION = 60;

/** The protocols Berth stores and enforces, as EC2 reports them ("-1" is all). */
export type RuleProtocol = "-1" | "tcp" | "udp" | "icmp";

/** Where a requested rule's traffic comes from (ingress) or goes to (egress), before group names are resolved. */
export type RequestedPeer = { readonly cidrIpv4: string } | { readonly groupId: string } | { readonly groupName: string };

export interface RequestedRule {
  readonly ipProtocol: RuleProtocol;
  readonly fromPort: number;
  readonly toPort: number;
  readonly peer: RequestedPeer;
  readonly description: string | undefined;
}

/** One rule as it is stored and listed: exactly one of cidrIpv4 and referencedGroupId is set. */
export interface SecurityGroupRuleFields {
  readonly isEgress: boolean;
  readonly ipProtocol: RuleProtocol;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrIpv4: string | undefined;
  readonly referencedGroupId: string | undefined;
  readonly description: string | undefined;
}

const invalidParameterValue = (message: string) => new AwsError("InvalidParameterValue", message);

// Characters EC2 allows in a rule's description (API_IpRange.html, API_UserIdGroupPair.html).
const DESCRIPTION_PATTERN = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

export function checkRuleDescription(description: string | undefined): string | undefined {
  if (description === undefined) return undefined;
  if (!DESCRIPTION_PATTERN.test(description)) {
    throw invalidParameterValue(
      "Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*",
    );
  }
  return description;
}

/** What a message may echo of a caller's text: printable ASCII, the rest as \uXXXX, at most 64 characters. */
export function printable(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return shown.replace(/[^\x20-\x7e…]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * IpProtocol → the stored protocol. EC2 takes names and protocol numbers (6, 17, 1 are stored as
 * tcp, udp, icmp) and "-1" for all; it answers "all" with "Unknown protocol" (the AWS CLI's
 * `--protocol all` is turned into -1 by the CLI itself).
 */
export function parseProtocol(raw: string | undefined): RuleProtocol {
  if (raw === undefined || raw === "")
    throw invalidParameterValue("Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.");
  const value = raw.trim().toLowerCase();
  const aliases: Readonly<Record<string, RuleProtocol>> = { tcp: "tcp", "6": "tcp", udp: "udp", "17": "udp", icmp: "icmp", "1": "icmp", "-1": "-1" };
  const protocol = Object.hasOwn(aliases, value) ? aliases[value] : undefined;
  if (protocol) return protocol;
  if ((/^\d{1,3}$/.test(value) && Number(value) <= 255) || value === "icmpv6") {
    // EC2 accepts every IP protocol number; Berth's firewall enforces only these, and a rule that
    // is listed but not enforced would be a silent hole, so it is refused.
    throw invalidParameterValue(`Invalid value '${printable(raw)}' for IP protocol. Berth supports only tcp (6), udp (17), icmp (1) and -1 (all protocols).`);
  }
  throw invalidParameterValue(`Invalid value '${printable(raw)}' for IP protocol. Unknown protocol.`);
}

/** Checks FromPort/ToPort for `protocol`; returns them as stored (-1/-1 for all protocols). */
export function parsePorts(protocol: RuleProtocol, fromPort: number | undefined, toPort: number | undefined): { fromPort: number; toPort: number } {
  // EC2 ignores the ports of a rule for all protocols and lists them as -1.
  if (protocol === "-1") return { fromPort: -1, toPort: -1 };
  if (protocol === "icmp") return parseIcmpTypeAndCode(fromPort, toPort);
  if (fromPort === undefined || toPort === undefined)
    throw invalidParameterValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.");
  for (const [end, port] of [
    ["from", fromPort],
    ["to", toPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidParameterValue(`TCP/UDP (${end}) port (${port}) out of range`);
  }
  // wording not confirmed against AWS
  if (fromPort > toPort) throw invalidParameterValue(`Invalid TCP/UDP port range: from port (${fromPort}) is greater than to port (${toPort}).`);
  return { fromPort, toPort };
}

/** ICMP rules carry the ICMP type in FromPort and the code in ToPort; -1 means any. */
function parseIcmpTypeAndCode(type: number | undefined, code: number | undefined): { fromPort: number; toPort: number } {
  if (type === undefined || code === undefined) throw invalidParameterValue("Invalid value 'Must specify both from and to ports with ICMP.' for portRange.");
  // wording not confirmed against AWS (the next three)
  if (!Number.isInteger(type) || type < -1 || type > 255) throw invalidParameterValue(`ICMP type (${type}) out of range`);
  if (!Number.isInteger(code) || code < -1 || code > 255) throw invalidParameterValue(`ICMP code (${code}) out of range`);
  if (type === -1 && code !== -1) throw invalidParameterValue(`ICMP code (${code}) must be -1 when the ICMP type is -1 (any type).`);
  return { fromPort: type, toPort: code };
}

/** An IPv4 CIDR block, normalised to its network address as EC2 stores it (10.0.0.28/29 → 10.0.0.24/29). */
export function parseCidrIpv4(raw: string | undefined): string {
  const match = raw === undefined ? null : /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = match ? Number(match[5]) : -1;
  // Leading zeros are refused: some parsers read them as octal.
  if (!match || octets.some((octet) => octet > 255) || prefix > 32 || /(^|[./])0\d/.test(raw ?? "")) {
    throw invalidParameterValue(`Value (${printable(raw ?? "")}) for parameter cidrIp is invalid. This is not a valid CIDR block.`);
  }
  const address = octets.reduce((value, octet) => value * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(address / size) * size;
  return `${[24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".")}/${prefix}`;
}

/** How many rules a set of permissions asks for (one per source), counted before anything is parsed. */
export function requestedRuleCount(permissions: readonly IpPermission[]): number {
  return permissions.reduce(
    (count, permission) =>
      count +
      (permission.IpRanges?.length ?? 0) +
      (permission.UserIdGroupPairs?.length ?? 0) +
      (permission.Ipv6Ranges?.length ?? 0) +
      (permission.PrefixListIds?.length ?? 0),
    0,
  );
}

export const ruleLimitExceeded = () => new AwsError("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.");

/** A rule needs a source (ingress) or destination (egress): a CIDR block or a security group. */
export const missingSource = () => new AwsError("MissingParameter", "Missing source specification: include source security group or CIDR information");

/**
 * Explodes IpPermissions into one rule per source, in request order. Refused: more rules than a
 * group may hold (before any parsing: 10,000 CIDRs cost one count), IPv6 ranges, prefix lists
 * (Berth has none, so each named one does not exist), permissions without a source, and any bad
 * protocol, port, CIDR or description.
 */
export function parsePermissions(permissions: readonly IpPermission[], accountId: string): RequestedRule[] {
  if (requestedRuleCount(permissions) > RULES_PER_DIRECTION) throw ruleLimitExceeded();
  const rules: RequestedRule[] = [];
  for (const permission of permissions) {
    const ipProtocol = parseProtocol(permission.IpProtocol);
    const { fromPort, toPort } = parsePorts(ipProtocol, permission.FromPort, permission.ToPort);
    const prefixList = permission.PrefixListIds?.[0];
    if (prefixList) throw new AwsError("InvalidPrefixListId.NotFound", `The prefix list ID '${printable(prefixList.PrefixListId ?? "")}' does not exist`);
    if ((permission.Ipv6Ranges?.length ?? 0) > 0) throw invalidParameterValue("Berth does not support IPv6 security group rules (Ipv6Ranges); use IpRanges.");
    const peers = [
      ...(permission.IpRanges ?? []).map((range) => cidrPeer(range)),
      ...(permission.UserIdGroupPairs ?? []).map((pair) => groupPeer(pair, accountId)),
    ];
    if (peers.length === 0) throw missingSource();
    for (const { peer, description } of peers) rules.push({ ipProtocol, fromPort, toPort, peer, description: checkRuleDescription(description) });
  }
  return rules;
}

function cidrPeer(range: { CidrIp?: string | undefined; Description?: string | undefined }): { peer: RequestedPeer; description: string | undefined } {
  return { peer: { cidrIpv4: parseCidrIpv4(range.CidrIp) }, description: range.Description };
}

function groupPeer(
  pair: {
    GroupId?: string | undefined;
    GroupName?: string | undefined;
    UserId?: string | undefined;
    VpcPeeringConnectionId?: string | undefined;
    Description?: string | undefined;
  },
  accountId: string,
): { peer: RequestedPeer; description: string | undefined } {
  // Berth has one account and no peering: a group of another account cannot exist here.
  if (pair.VpcPeeringConnectionId !== undefined) {
    throw new AwsError("InvalidVpcPeeringConnectionID.NotFound", `The vpcPeeringConnection ID '${printable(pair.VpcPeeringConnectionId)}' does not exist`);
  }
  if (pair.UserId !== undefined && pair.UserId !== accountId && pair.UserId !== "") {
    throw new AwsError("InvalidGroup.NotFound", `The security group '${printable(pair.GroupId ?? pair.GroupName ?? "")}' does not exist`);
  }
  // EC2 takes the GroupId when both are given.
  if (pair.GroupId !== undefined && pair.GroupId !== "") return { peer: { groupId: pair.GroupId }, description: pair.Description };
  if (pair.GroupName !== undefined && pair.GroupName !== "") return { peer: { groupName: pair.GroupName }, description: pair.Description };
  throw missingSource();
}

/** Whether two rules are the same rule (EC2 ignores the description when comparing). */
export function ruleIdentity(rule: Omit<SecurityGroupRuleFields, "description">): string {
  const peer = rule.cidrIpv4 !== undefined ? `cidr:${rule.cidrIpv4}` : `group:${rule.referencedGroupId ?? ""}`;
  return `${rule.isEgress ? "egress" : "ingress"}|${rule.ipProtocol}|${rule.fromPort}|${rule.toPort}|${peer}`;
}

/** EC2's text for a rule in InvalidPermission.Duplicate: `peer: 10.0.0.0/8, TCP, from port: 80, to port: 80, ALLOW`. */
export function ruleText(rule: SecurityGroupRuleFields): string {
  const peer = rule.cidrIpv4 ?? rule.referencedGroupId ?? "";
  if (rule.ipProtocol === "-1") return `peer: ${peer}, ALL, ALLOW`;
  // EC2 names an ICMP rule's type and code, "ALL" for -1 ("peer: 0.0.0.0/0, ICMP, type: ALL, code: ALL, ALLOW",
  // as boto3 users quote it); a specific type with it is the same form.
  if (rule.ipProtocol === "icmp") {
    const any = (value: number) => (value === -1 ? "ALL" : String(value));
    return `peer: ${peer}, ICMP, type: ${any(rule.fromPort)}, code: ${any(rule.toPort)}, ALLOW`;
  }
  return `peer: ${peer}, ${rule.ipProtocol.toUpperCase()}, from port: ${rule.fromPort}, to port: ${rule.toPort}, ALLOW`;
}

/**
 * Refuses rules that exist already or twice in the request (InvalidPermission.Duplicate, naming
 * the first), and a direction that would pass its quota.
 */
export function checkAdditions(existing: readonly SecurityGroupRuleFields[], adding: readonly SecurityGroupRuleFields[]): void {
  const seen = new Set(existing.map(ruleIdentity));
  for (const rule of adding) {
    const identity = ruleIdentity(rule);
    if (seen.has(identity)) throw new AwsError("InvalidPermission.Duplicate", `the specified rule "${ruleText(rule)}" already exists`);
    seen.add(identity);
  }
  for (const isEgress of [false, true]) {
    const count = (rules: readonly SecurityGroupRuleFields[]) => rules.filter((rule) => rule.isEgress === isEgress).length;
    if (count(existing) + count(adding) > RULES_PER_DIRECTION) throw ruleLimitExceeded();
  }
}

export const ruleNotFound = () => new AwsError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.");

/** The existing rules a revocation names, and the requested rules that match none. */
export function matchRevocations<Rule extends SecurityGroupRuleFields>(
  existing: readonly Rule[],
  requested: readonly SecurityGroupRuleFields[],
): { matched: Rule[]; unknown: SecurityGroupRuleFields[] } {
  const byIdentity = new Map(existing.map((rule) => [ruleIdentity(rule), rule]));
  const matched = new Map<string, Rule>();
  const unknown: SecurityGroupRuleFields[] = [];
  for (const rule of requested) {
    const found = byIdentity.get(ruleIdentity(rule));
    if (found) matched.set(ruleIdentity(rule), found);
    else unknown.push(rule);
  }
  return { matched: [...matched.values()], unknown };
}

/** The rules of a new group (CreateSecurityGroup): no inbound rule, one outbound rule allowing all. */
export function newGroupRules(): SecurityGroupRuleFields[] {
  return [{ isEgress: true, ipProtocol: "-1", fromPort: -1, toPort: -1, cidrIpv4: "0.0.0.0/0", referencedGroupId: undefined, description: undefined }];
}

/** The rules of a VPC's default group: all inbound from its own members, all outbound (VPC user guide, "Default security groups"). */
export function defaultGroupRules(groupId: string): SecurityGroupRuleFields[] {
  return [
    { isEgress: false, ipProtocol: "-1", fromPort: -1, toPort: -1, cidrIpv4: undefined, referencedGroupId: groupId, description: undefined },
    ...newGroupRules(),
  ];
}

/** One permission as a host enforces it (structurally the protocol's SecurityGroupRuleSpec). */
export interface NormalisedRule {
  readonly protocol: "all" | "tcp" | "udp" | "icmp";
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrs: readonly string[];
  readonly groupIds: readonly string[];
}

/** A group as a host enforces it (structurally the protocol's SecurityGroupSpec). */
export interface NormalisedGroup {
  readonly groupId: string;
  readonly vpcId: string;
  readonly ingress: readonly NormalisedRule[];
  readonly egress: readonly NormalisedRule[];
}

/**
 * A group and its rules in the normalised form hosts enforce (src/protocol/network-view.ts): the
 * rules of one direction with the same protocol and ports merged into one, their CIDRs and groups
 * deduplicated, in the order the rules were listed.
 */
export function toSpec(group: { readonly groupId: string; readonly vpcId: string }, rules: readonly SecurityGroupRuleFields[]): NormalisedGroup {
  const merge = (isEgress: boolean): NormalisedRule[] => {
    const merged = new Map<string, { protocol: NormalisedRule["protocol"]; fromPort: number; toPort: number; cidrs: Set<string>; groupIds: Set<string> }>();
    for (const rule of rules.filter((candidate) => candidate.isEgress === isEgress)) {
      const key = `${rule.ipProtocol}|${rule.fromPort}|${rule.toPort}`;
      const entry = merged.get(key) ?? {
        protocol: rule.ipProtocol === "-1" ? ("all" as const) : rule.ipProtocol,
        fromPort: rule.fromPort,
        toPort: rule.toPort,
        cidrs: new Set<string>(),
        groupIds: new Set<string>(),
      };
      merged.set(key, entry);
      if (rule.cidrIpv4 !== undefined) entry.cidrs.add(rule.cidrIpv4);
      if (rule.referencedGroupId !== undefined) entry.groupIds.add(rule.referencedGroupId);
    }
    return [...merged.values()].map((entry) => ({ ...entry, cidrs: [...entry.cidrs], groupIds: [...entry.groupIds] }));
  };
  return { groupId: group.groupId, vpcId: group.vpcId, ingress: merge(false), egress: merge(true) };
}
