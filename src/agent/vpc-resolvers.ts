// The VPC resolver (AmazonProvidedDNS) of this host's routers: in each VPC router's namespace, UDP
// and TCP 53 on 169.254.169.253 and on the VPC's base address + 2 (src/network vpcResolverAddresses;
// the router holds both on its lo and lets tasks reach them, router-rules.ts), served by this
// process (src/endpoints dns-server.ts), opened when the router is built and closed before it goes
// (EndpointListeners, as the metadata endpoint's).
//
//   names     per VPC, from the host's network view: its load balancers' DNSNames → their nodes'
//             private addresses (view.loadBalancers), and EC2's private DNS names of its
//             interfaces, on this host and on others (ip-10-0-1-4.ec2.internal → 10.0.1.4)
//   forward   every other name to the upstream resolver (the host's /etc/resolv.conf at agent
//             start, or --dns-upstream), from the agent's own namespace; none: REFUSED
// A resolver that cannot be opened is logged; the router and its tasks go on without it.
import net from "node:net";
import type { Socket as UdpSocket } from "node:dgram";
import type { Server } from "node:net";
import { DnsForwarder, SourceRateLimit, bindUdpInNamespace, listenInNamespace, normalName, privateZones, serveTcp, serveUdp } from "../endpoints/index.js";
import type { Upstream, VpcNames } from "../endpoints/index.js";
import type { EndpointListeners, RouterRecord } from "../network/index.js";
import { privateDnsName, vpcResolverAddresses } from "../network/index.js";
import type { HostNetworkView } from "../protocol/index.js";

export const DNS_PORT = 53;

export interface VpcResolversOptions {
  readonly region: string;
  /** Where other names are asked; none: they are refused. */
  readonly upstream?: Upstream | undefined;
  readonly onError: (error: unknown, what: string) => void;
}

/** Per VPC of the view, the names its resolver answers (pure). */
export function vpcNamesOf(view: Pick<HostNetworkView, "vpcs" | "interfaces" | "peers" | "loadBalancers">, region: string): Map<string, VpcNames> {
  const zones = privateZones(region);
  const result = new Map<string, { names: Map<string, string[]>; zones: string[] }>(view.vpcs.map((vpc) => [vpc.vpcId, { names: new Map(), zones }]));
  const set = (vpcId: string, name: string, address: string) => result.get(vpcId)?.names.set(normalName(name), [address]);
  for (const entry of [...view.interfaces, ...view.peers]) set(entry.vpcId, privateDnsName(entry.privateIpv4Address, region), entry.privateIpv4Address);
  // The load balancers' names last: a name is theirs even should a private name ever equal it; a
  // load balancer's name has the address of each of its nodes (one per subnet), in the view's order.
  const balancers = new Map<string, { vpcId: string; addresses: string[] }>();
  for (const entry of view.loadBalancers ?? []) {
    const key = `${entry.vpcId} ${normalName(entry.dnsName)}`;
    const known = balancers.get(key) ?? { vpcId: entry.vpcId, addresses: [] };
    if (!known.addresses.includes(entry.privateIpv4Address)) known.addresses.push(entry.privateIpv4Address);
    balancers.set(key, known);
  }
  for (const [key, { vpcId, addresses }] of balancers) result.get(vpcId)?.names.set(key.slice(key.indexOf(" ") + 1), addresses);
  return result;
}

interface Opened {
  readonly udp: UdpSocket[];
  readonly tcp: { server: Server; closeConnections: () => void }[];
}

export class VpcResolvers implements EndpointListeners {
  private readonly forwarder: DnsForwarder | undefined;
  private readonly limit = new SourceRateLimit();
  private names = new Map<string, VpcNames>();
  private readonly opened = new Map<string, Opened>();
  private closed = false;

  constructor(private readonly options: VpcResolversOptions) {
    this.forwarder = options.upstream ? new DnsForwarder(options.upstream) : undefined;
  }

  /** The names of every VPC of the host's view (each poll answer's). */
  setView(view: HostNetworkView): void {
    this.names = vpcNamesOf(view, this.options.region);
  }

  private namesOf(vpcId: string): VpcNames {
    return this.names.get(vpcId) ?? { names: new Map(), zones: privateZones(this.options.region) };
  }

  async open(record: RouterRecord): Promise<void> {
    if (this.closed || this.opened.has(record.vpcId)) return;
    const entry: Opened = { udp: [], tcp: [] };
    this.opened.set(record.vpcId, entry);
    const serving = { names: () => this.namesOf(record.vpcId), forwarder: this.forwarder, limit: this.limit, scope: record.vpcId };
    try {
      for (const address of vpcResolverAddresses(record.vpcCidr)) {
        const udp = await bindUdpInNamespace(record.netnsPath, address, DNS_PORT);
        entry.udp.push(udp);
        serveUdp(udp, serving);
        const listener = await listenInNamespace(record.netnsPath, address, DNS_PORT);
        const server = net.createServer();
        entry.tcp.push({ server, closeConnections: serveTcp(server, serving) });
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(listener, () => resolve());
        });
      }
    } catch (error) {
      this.options.onError(error, `the VPC resolver of ${record.vpcId} could not be opened`);
      await this.close(record);
    }
  }

  async close(record: Pick<RouterRecord, "vpcId">): Promise<void> {
    const entry = this.opened.get(record.vpcId);
    if (!entry) return;
    this.opened.delete(record.vpcId);
    for (const socket of entry.udp) socket.close();
    await Promise.all(
      entry.tcp.map(({ server, closeConnections }) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        closeConnections();
        return closed;
      }),
    );
  }

  /** Agent stop: every socket closed (nothing answers until the next agent opens them again). */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.opened.keys()].map((vpcId) => this.close({ vpcId })));
    this.forwarder?.close();
  }
}
