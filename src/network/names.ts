// Names and addresses of the data plane, and the checks every one of them passes before it enters
// an `ip`, `bridge` or `nft` text (pure: no I/O). Everything Berth creates starts with "bth":
//
//   bthr<8 hex>   a VPC's router namespace, per agent: hash of (agent state dir, VPC id), so two
//                 agents on one machine (tests run several) never share a router
//   bthh<8 hex>   the host end of the router's uplink veth (its router end is "up0")
//   bthx<8 hex>   the router's VXLAN device (made in the agent's namespace, moved into the router)
//   bthv<8 hex>   a task's veth, router end (its task end is "eth0"); hash of the task id
//   bth-<12>      a task's namespace (the task id's first 12 characters)
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { ipv4ToNumber, numberToIpv4 } from "../core/default-network.js";

export const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/([0-9]|[12][0-9]|3[0-2])$/;
/** EC2 ids as the network view carries them (vpc-…, sg-…, eni-…, subnet-…). */
export const AWS_ID = /^[a-z]+-[0-9a-f]{1,32}$/;
/** A unicast MAC, lower case (the multicast bit of the first octet clear). */
export const MAC = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;
export const TASK_VETH = /^bthv[0-9a-f]{8}$/;
export const ROUTER_NETNS = /^bthr[0-9a-f]{8}$/;
export const HOST_LINK = /^bthh[0-9a-f]{8}$/;
export const VXLAN_DEVICE = /^bthx[0-9a-f]{8}$/;
/** A Linux interface name an operator may give as the uplink (no wildcard, no quote). */
export const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** `value` when it matches `pattern`; a RangeError naming `what` otherwise (nothing unchecked reaches a ruleset). */
export function checked(value: string, pattern: RegExp, what: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new RangeError(`refusing ${what} '${String(value)}' in the task network`);
  return value;
}

export function checkedPort(value: number, what: string): number {
  if (!Number.isInteger(value) || value < -1 || value > 65535) throw new RangeError(`refusing ${what} ${String(value)} in the task network`);
  return value;
}

const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);

/** The names of a VPC's router on this agent. */
export interface RouterNames {
  readonly netns: string;
  readonly netnsPath: string;
  readonly hostLink: string;
  readonly vxlan: string;
}

export function routerNames(stateDir: string, vpcId: string): RouterNames {
  const hash = shortHash(`${resolve(stateDir)}\0${vpcId}`);
  return { netns: `bthr${hash}`, netnsPath: `/run/netns/bthr${hash}`, hostLink: `bthh${hash}`, vxlan: `bthx${hash}` };
}

export function taskVethName(taskId: string): string {
  return `bthv${shortHash(taskId)}`;
}

/** The router end of every uplink veth: the name is the router namespace's own. */
export const ROUTER_UPLINK = "up0";

/** A /30 per router in 169.254.128.0/17 (8192 of them): host end .1, router end .2 of each. */
export const HOST_LINK_RANGE = { base: ipv4ToNumber("169.254.128.0"), count: 8192 } as const;
export const HOST_LINK_CIDR = "169.254.128.0/17";

export function hostLinkAddresses(index: number): { host: string; router: string } {
  if (!Number.isInteger(index) || index < 0 || index >= HOST_LINK_RANGE.count) throw new RangeError(`host link index ${index} out of range`);
  const base = HOST_LINK_RANGE.base + index * 4;
  return { host: numberToIpv4(base + 1), router: numberToIpv4(base + 2) };
}

/** Where a router's /30 search starts: spread by (state dir, VPC) so agents sharing a namespace rarely probe the same ones. */
export function hostLinkIndexHint(stateDir: string, vpcId: string): number {
  return parseInt(shortHash(`link\0${resolve(stateDir)}\0${vpcId}`), 16) % HOST_LINK_RANGE.count;
}

/**
 * The MAC of a VPC's VXLAN device on the host at `underlayAddress`: every host computes every
 * other's, so a peer's neighbour entry needs no learning and no flooding. 0e: locally
 * administered unicast, a prefix no task MAC of the control plane's (02:) uses.
 */
export function overlayMac(underlayAddress: string, vni: number): string {
  const bytes = createHash("sha256")
    .update(`${checked(underlayAddress, IPV4, "underlay address")}/${vni}`)
    .digest()
    .subarray(0, 5);
  return ["0e", ...[...bytes].map((byte) => byte.toString(16).padStart(2, "0"))].join(":");
}

export interface SubnetRange {
  readonly cidr: string;
  readonly networkNumber: number;
  readonly prefixLength: number;
  readonly gateway: string;
  readonly firstUsable: number;
  readonly lastUsable: number;
}

/** A subnet's numbers; AWS reserves the first four addresses and the last (REFERENCE.md). */
export function subnetRange(cidr: string): SubnetRange {
  const [base, prefixText] = checked(cidr, CIDR, "subnet CIDR").split("/") as [string, string];
  const prefixLength = Number(prefixText);
  if (prefixLength < 8 || prefixLength > 28) throw new RangeError(`unsupported subnet CIDR ${cidr}`);
  const size = 2 ** (32 - prefixLength);
  const networkNumber = Math.floor(ipv4ToNumber(base) / size) * size;
  return { cidr, networkNumber, prefixLength, gateway: numberToIpv4(networkNumber + 1), firstUsable: networkNumber + 4, lastUsable: networkNumber + size - 2 };
}

/** Whether `inner` (an address or CIDR) lies inside `outer` (a CIDR). */
export function cidrContains(outer: string, inner: string): boolean {
  const [outerBase, outerPrefix] = checked(outer, CIDR, "CIDR").split("/") as [string, string];
  const [innerBase, innerPrefix = "32"] = inner.split("/") as [string, string?];
  if (Number(innerPrefix) < Number(outerPrefix)) return false;
  const size = 2 ** (32 - Number(outerPrefix));
  return Math.floor(ipv4ToNumber(outerBase) / size) === Math.floor(ipv4ToNumber(checked(innerBase, IPV4, "address")) / size);
}

/** EC2's private DNS names (one definition, in core: the control plane shows them too). */
export { privateDnsName } from "../core/ec2/private-dns-name.js";

/** The VPC resolver's link-local address (Amazon Route 53 Resolver, "AmazonProvidedDNS"). */
export const VPC_RESOLVER_ADDRESS = "169.254.169.253";

/**
 * Where a VPC's tasks reach its resolver: 169.254.169.253 and the VPC's base address plus two (as
 * on AWS; the first subnet's .2 is one of AWS's reserved addresses, never an interface's).
 */
export function vpcResolverAddresses(vpcCidr: string): [string, string] {
  const base = checked(vpcCidr, CIDR, "VPC CIDR").split("/")[0]!;
  return [VPC_RESOLVER_ADDRESS, numberToIpv4(ipv4ToNumber(base) + 2)];
}
