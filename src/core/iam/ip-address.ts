// IPv4 and IPv6 addresses and CIDR blocks for IpAddress/NotIpAddress (aws:SourceIp). Parsed by
// hand into 32-bit words: node:net's BlockList answers the same question but costs microseconds a
// check, and a gateway checks on every call. Validation leans on node:net's isIPv4/isIPv6, so
// what parses here is exactly what Node accepts as an address.

import { isIPv4, isIPv6 } from "node:net";

export interface IpAddress {
  readonly family: 4 | 6;
  /** 1 word for IPv4, 4 for IPv6, most significant first. */
  readonly words: Uint32Array;
}

export interface CidrBlock extends IpAddress {
  readonly prefix: number;
}

function ipv4Word(text: string): number {
  let word = 0;
  for (const octet of text.split(".")) word = word * 256 + Number(octet);
  return word >>> 0;
}

function ipv6Words(text: string): Uint32Array {
  let body = text;
  const extra: number[] = [];
  if (text.includes(".")) {
    // An embedded IPv4 address ("::ffff:10.0.0.1") is the last two groups.
    const at = text.lastIndexOf(":");
    const v4 = ipv4Word(text.slice(at + 1));
    extra.push(v4 >>> 16, v4 & 0xffff);
    body = text.slice(0, at + 1);
    if (!body.endsWith("::")) body = body.slice(0, -1);
  }
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const gap = body.indexOf("::");
  let groups: number[];
  if (gap < 0) groups = [...parse(body), ...extra];
  else {
    const head = parse(body.slice(0, gap));
    const rest = [...parse(body.slice(gap + 2)), ...extra];
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  const words = new Uint32Array(4);
  for (let index = 0; index < 4; index++) words[index] = (((groups[2 * index] ?? 0) << 16) | (groups[2 * index + 1] ?? 0)) >>> 0;
  return words;
}

/** Parses an IPv4 or IPv6 address (no zone index); undefined when it is not one. */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { family: 4, words: Uint32Array.of(ipv4Word(text)) };
  if (isIPv6(text) && !text.includes("%")) return { family: 6, words: ipv6Words(text) };
  return undefined;
}

/** Parses "address" or "address/prefix"; undefined when either part is invalid. */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf("/");
  const address = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const max = address.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { ...address, prefix: Number(prefixText) };
}

/** Whether `address` lies in `block` (address bits beyond the prefix are ignored). */
export function cidrContains(block: CidrBlock, address: IpAddress): boolean {
  if (block.family !== address.family) return false;
  let bits = block.prefix;
  for (let index = 0; bits > 0; index++, bits -= 32) {
    const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if ((((block.words[index] as number) ^ (address.words[index] as number)) & mask) !== 0) return false;
  }
  return true;
}
