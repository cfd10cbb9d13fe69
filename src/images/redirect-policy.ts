// Where a registry may send the image pull. Blob stores commonly answer a blob GET with a redirect
// (to a CDN or an object store), so redirects are followed, but a hostile registry must not turn
// the agent, root on the host, into a proxy toward what only the host can reach: the metadata
// endpoint (169.254.169.254), services on loopback, the operator's private networks. So a redirect
// goes either to the registry's own host, or over HTTPS to a host whose every address is public.
// The address check happens in the connection's own DNS lookup (publicOnlyLookup), so the address
// checked is the address connected to (no window for a DNS answer that changes in between), and
// an IP-literal target is checked before any connection is made.
import { lookup as dnsLookup } from "node:dns";
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from "node:dns";
import { isIP } from "node:net";

/** A redirect the policy refuses: the pull fails with this message. */
export class RedirectRefusedError extends Error {}

const ipv4Number = (address: string) => address.split(".").reduce((value, part) => value * 256 + Number(part), 0);

/** [first address, prefix length, what it is] for the IPv4 ranges that are not the public internet. */
const IPV4_NON_PUBLIC: readonly (readonly [string, number, string])[] = [
  ["0.0.0.0", 8, "an unspecified address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a shared (carrier-grade NAT) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "a reserved address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

function ipv4Problem(address: string): string | undefined {
  const value = ipv4Number(address);
  for (const [first, prefix, what] of IPV4_NON_PUBLIC) {
    const size = 2 ** (32 - prefix);
    const start = ipv4Number(first);
    if (value >= start && value < start + size) return what;
  }
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (with an embedded dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().split("%")[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Number(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const start = parse(head);
  const end = tail === undefined ? [] : parse(tail);
  return [...start, ...new Array<number>(8 - start.length - end.length).fill(0), ...end];
}

function ipv6Problem(address: string): string | undefined {
  const groups = ipv6Groups(address);
  const [first] = groups as [number];
  if (groups.every((group) => group === 0)) return "an unspecified address";
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return "a loopback address";
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64) reach the embedded IPv4 address.
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  const nat64 = first === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  if (mapped || nat64) return ipv4Problem(`${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`);
  if ((first & 0xffc0) === 0xfe80) return "a link-local address";
  if ((first & 0xfe00) === 0xfc00) return "a unique-local (private) address";
  if ((first & 0xff00) === 0xff00) return "a multicast address";
  return undefined;
}

/** What makes `address` (an IP literal) not a public internet address, or undefined when it is one. */
export function nonPublicAddress(address: string): string | undefined {
  const family = isIP(address.replace(/^\[|\]$/g, ""));
  if (family === 4) return ipv4Problem(address);
  if (family === 6) return ipv6Problem(address.replace(/^\[|\]$/g, ""));
  return "not an IP address";
}

/** A URL's origin for messages, bounded (it came from the registry). */
export function shownOrigin(url: URL): string {
  const origin = `${url.protocol}//${url.host}`;
  return origin.length > 100 ? `${origin.slice(0, 100)}…` : origin;
}

/**
 * Why following a redirect to `target` is refused, or undefined when it may be followed (a DNS
 * name over HTTPS then still goes through publicOnlyLookup). `registryHost`: the hostname the
 * pull started at.
 */
export function redirectProblem(target: URL, registryHost: string): string | undefined {
  if (target.protocol !== "https:" && target.protocol !== "http:") return `redirect to a ${target.protocol} URL refused`;
  if (target.hostname === registryHost) return undefined;
  const literal = target.hostname.replace(/^\[|\]$/g, "");
  const problem = isIP(literal) ? nonPublicAddress(literal) : undefined;
  if (problem) return `redirect to ${shownOrigin(target)} refused: ${problem}, not the registry's host`;
  if (target.protocol !== "https:") return `redirect to ${shownOrigin(target)} refused: only HTTPS is followed to another host than the registry's`;
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.get/https.get toward a host other than the registry: resolves as usual, then
 * refuses the connection unless every address is public.
 */
export function publicOnlyLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    for (const { address } of addresses) {
      const problem = nonPublicAddress(address);
      if (problem)
        return callback(Object.assign(new RedirectRefusedError(`redirect to ${hostname} refused: it resolves to ${problem}`), { code: "EBERTHREDIRECT" }), []);
    }
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
