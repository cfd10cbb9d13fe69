// Internet-facing load balancers published on the host's uplink address: TCP to
// <uplink address>:<listener port> reaches the node, with the client's own source address, so the
// node's security groups judge the client (CIDR rules work) and the replies go back by conntrack.
//
//   client ─▶ uplink ── host `inet berth` nat_prerouting: map published, port → the router's /30
//             address (DNAT, port kept) ─▶ bthh ─▶ up0 ── router `ip berth_publish`: port → the
//             node's private address (DNAT) ─▶ forward (ct status dnat) ─▶ the node port's ingress
//             chain (its security groups) ─▶ the node
//
// Two DNATs rather than a route: the host never routes a VPC's (possibly overlapping) addresses,
// and the router's reply, un-DNATed to its /30 address, passes the host link's strict rp_filter.
// Only ports of nodes attached on this host, each port once (the first asked for keeps it: a port
// is never taken from one node for another), only on the uplink address; nothing when the host
// has no uplink. The agent says which nodes and ports (src/agent/load-balancer-nodes.ts, from the
// control plane's choice).
import type { CommandRunner } from "../core/command-runner.js";
import type { HostFirewall } from "./host-firewall.js";
import { hostListeningPorts } from "./host-listening-ports.js";
import { IPV4, ROUTER_UPLINK, checked, hostLinkAddresses } from "./names.js";
import type { RouterRecord } from "./vpc-routers.js";

export interface PublishedPort {
  readonly port: number;
  readonly vpcId: string;
  /** The node's private address (an interface attached on this host in that VPC). */
  readonly address: string;
}

export const ROUTER_PUBLISH_TABLE = "ip berth_publish";

const validPort = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;
/** The control plane's rule too (src/control/load-balancer-publishing.ts publishablePort): 80, 443 and the unprivileged ports. */
const publishable = (port: number) => port === 80 || port === 443 || port >= 1024;

/** The router's publish table, replaced whole in one transaction; no entries: the table removed. */
export function renderRouterPublished(routerAddress: string, entries: readonly { port: number; address: string }[]): string {
  const router = checked(routerAddress, IPV4, "router address");
  const elements = entries.map((entry) => {
    if (!validPort(entry.port)) throw new RangeError(`refusing port ${String(entry.port)} in a publish table`);
    return `${entry.port} : ${checked(entry.address, IPV4, "node address")}`;
  });
  const reset = `table ${ROUTER_PUBLISH_TABLE} {}\ndelete table ${ROUTER_PUBLISH_TABLE}\n`;
  if (elements.length === 0) return reset;
  return `${reset}table ${ROUTER_PUBLISH_TABLE} {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${ROUTER_UPLINK}" ip daddr ${router} meta l4proto tcp dnat to tcp dport map { ${elements.join(", ")} }
  }
}
`;
}

export interface PublishedPortsOptions {
  readonly run: CommandRunner;
  readonly firewall?: HostFirewall | undefined;
  readonly routers: () => readonly RouterRecord[];
  /** The interfaces attached on this host: (VPC, address). */
  readonly attached: () => readonly { vpcId: string; ipv4: string }[];
  readonly serialised: <T>(vpcId: string, action: () => Promise<T>) => Promise<T>;
  /** The ports the host listens on (default: /proc/net/tcp and tcp6, read at each apply). */
  readonly listeningPorts?: () => ReadonlySet<number>;
}

export class PublishedPorts {
  /** Per router (VPC id), the publish table last applied. */
  private readonly applied = new Map<string, string>();
  private hostApplied: string | undefined;

  constructor(private readonly options: PublishedPortsOptions) {}

  /**
   * Publishes exactly `wanted` (what can be: an attached node's address, a valid port, each port
   * once, the first asking keeping it) and unpublishes the rest; returns what is published.
   */
  async apply(wanted: readonly PublishedPort[]): Promise<PublishedPort[]> {
    const routers = new Map(this.options.routers().map((record) => [record.vpcId, record]));
    const attached = new Set(this.options.attached().map((entry) => `${entry.vpcId} ${entry.ipv4}`));
    const chosen = new Map<number, PublishedPort>();
    if (this.options.firewall?.uplink !== undefined) {
      // Never a port of the host's own: below 1024 only 80 and 443, and nothing the host listens on.
      const listening = (this.options.listeningPorts ?? hostListeningPorts)();
      for (const entry of wanted) {
        if (!validPort(entry.port) || chosen.has(entry.port) || !IPV4.test(entry.address)) continue;
        if (!publishable(entry.port) || listening.has(entry.port)) continue;
        if (!routers.has(entry.vpcId) || !attached.has(`${entry.vpcId} ${entry.address}`)) continue;
        chosen.set(entry.port, entry);
      }
    }
    const hostMap = new Map([...chosen].map(([port, entry]) => [port, hostLinkAddresses(routers.get(entry.vpcId)!.linkIndex).router]));
    for (const record of routers.values()) {
      const entries = [...chosen.values()].filter((entry) => entry.vpcId === record.vpcId);
      const script = renderRouterPublished(hostLinkAddresses(record.linkIndex).router, entries);
      if (this.applied.get(record.vpcId) === script) continue;
      await this.options.serialised(record.vpcId, () => this.options.run("nsenter", [`--net=${record.netnsPath}`, "nft", "-f", "-"], { input: script }));
      this.applied.set(record.vpcId, script);
    }
    for (const vpcId of [...this.applied.keys()]) if (!routers.has(vpcId)) this.applied.delete(vpcId);
    const hostKey = JSON.stringify([...hostMap]);
    if (this.options.firewall && this.hostApplied !== hostKey) {
      await this.options.firewall.setPublished(hostMap);
      this.hostApplied = hostKey;
    }
    return [...chosen.values()];
  }
}
