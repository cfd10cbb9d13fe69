// IPv4 CIDR arithmetic for VPCs and subnets. Parsing is strict (what EC2 accepts): four decimal
// octets 0..255 without leading zeros, a prefix 0..32, no spaces, and no host bits set
// ("10.0.0.1/16" is not a network). Addresses are unsigned 32-bit numbers.
// AWS reserves five addresses of every subnet: the network address, .1 (VPC router), .2 (DNS),
// .3 (future use) and the broadcast address
// (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefixLength: number;
}

/** VPC and subnet blocks must be between /16 and /28 (VPC user guide, "VPC CIDR blocks"). */
export const MIN_PREFIX = 16;
export const MAX_PREFIX = 28;

const OCTET = /^(?:0|[1-9]\d{0,2})$/;
const PREFIX = /^(?:\d|[12]\d|3[0-2])$/;

/** The address as a number, or undefined unless `text` is exactly a dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function blockSize(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}

/** The block, or undefined unless `text` is a canonical IPv4 CIDR (no host bits set). */
export function parseCidr(text: string): Cidr | undefined {
  if (text.length > 18) return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const base = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (base === undefined || !PREFIX.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  if (base % blockSize(prefixLength) !== 0) return undefined;
  return { base, prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefixLength}`;
}

/** The last address of the block (its broadcast address). */
export function lastAddress(cidr: Cidr): number {
  return cidr.base + blockSize(cidr.prefixLength) - 1;
}

/** Whether `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefixLength >= outer.prefixLength && inner.base >= outer.base && lastAddress(inner) <= lastAddress(outer);
}

export function cidrContainsAddress(cidr: Cidr, address: number): boolean {
  return address >= cidr.base && address <= lastAddress(cidr);
}

/** Whether the two blocks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

/** Whether AWS keeps `address` of the subnet `cidr` for itself (network, .1, .2, .3, broadcast). */
export function isReservedAddress(cidr: Cidr, address: number): boolean {
  return address - cidr.base <= 3 || address === lastAddress(cidr);
}

/** The addresses a subnet can hand out (AvailableIpAddressCount of an empty subnet). */
export function usableAddressCount(cidr: Cidr): number {
  return Math.max(0, blockSize(cidr.prefixLength) - 5);
}

/** The first address AWS hands out in the subnet, and the last. */
export function usableRange(cidr: Cidr): { readonly first: number; readonly last: number } {
  return { first: cidr.base + 4, last: lastAddress(cidr) - 1 };
}
