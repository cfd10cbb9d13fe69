// A router per VPC per agent: a network namespace (bthr<hash>) that routes between the VPC's
// tasks on this host (each task's veth ends in it), to the VPC's tasks on other hosts (a VXLAN
// device, the VPC's VNI), and to the host (an uplink veth: bthh<hash> on the host, up0 inside).
// Overlapping VPCs never meet: each has its own namespace, and what leaves one for the host is
// masqueraded to its own /30 of 169.254.128.0/17 (router-rules.ts).
//
//   ensure(vpc)  record (name, /30 index) ─▶ netns ─▶ sysctls ─▶ uplink veth ─▶ VXLAN device
//                (each step idempotent: an interrupted build is finished by the next call)
//   applyPolicy  the security-group table: whole at first, then the difference (router-rules.ts)
//   applyPeers   the overlay's static entries for the VPC's interfaces on other hosts: a /32
//                route and a permanent neighbour (the remote VXLAN MAC, computed, not learned) per
//                interface, a forwarding entry per remote host
//   remove(vpc)  its endpoint listener closed, links, namespace, record
//
// The metadata endpoint 169.254.170.2 is a /32 on the router's lo, served by a listening socket
// the agent makes inside the namespace (EndpointListeners, opened once the router is built and
// closed before it is removed: an open socket would keep a deleted namespace alive). So is the VPC
// resolver, 169.254.169.253 and the VPC's base address + 2 (UDP and TCP 53, src/agent/vpc-resolvers.ts).
//
// Inside the router: ip_forward 1 (this namespace only), rp_filter strict (all, default: every
// link made later inherits it), IPv6 off; each subnet's gateway (.1) is a /32 on lo, so the router
// answers ARP for it on every task port without holding the subnet's prefix anywhere.
// The VXLAN device is made in the agent's namespace and then moved in: its UDP socket stays on the
// underlay (the host's network), its frames are the router's.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CommandOptions, CommandRunner } from "../core/command-runner.js";
import { ipv4ToNumber } from "../core/default-network.js";
import type { HostFirewall } from "./host-firewall.js";
import { METADATA_ENDPOINT, VXLAN_PORT } from "./host-firewall-rules.js";
import {
  AWS_ID,
  CIDR,
  HOST_LINK_RANGE,
  IPV4,
  ROUTER_UPLINK,
  checked,
  hostLinkAddresses,
  hostLinkIndexHint,
  overlayMac,
  routerNames,
  vpcResolverAddresses,
} from "./names.js";
import type { RouterPolicy } from "./router-policy.js";
import { renderRouterChanges, renderRouterTable } from "./router-rules.js";
import { readRecord, readRecords, writeFileAtomic } from "./state-files.js";

/** The MTU of a task's link when the overlay is on: 1500 less VXLAN's 50 bytes of headers (RFC 7348). */
export const OVERLAY_MTU = 1450;

export interface VpcIdentity {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly vni: number;
}

export interface RouterRecord extends VpcIdentity {
  readonly netns: string;
  readonly netnsPath: string;
  readonly hostLink: string;
  readonly vxlan: string;
  /** Which /30 of 169.254.128.0/17 the uplink veth holds. */
  readonly linkIndex: number;
}

/** The agent's endpoint listener per router (src/endpoints), opened when a router is ready and closed before it goes. */
export interface EndpointListeners {
  open(record: RouterRecord): Promise<void>;
  close(record: RouterRecord): Promise<void>;
}

export interface VpcRoutersOptions {
  readonly endpointListeners?: EndpointListeners | undefined;
  readonly stateDir: string;
  readonly run: CommandRunner;
  readonly firewall?: HostFirewall | undefined;
  /** This host's underlay address; none: no overlay. */
  readonly overlayAddress?: string | undefined;
}

/** "Already gone" from `ip -force -batch`: what a removal wanted. */
function ignoreMissing(error: Error): void {
  const unexpected = error.message
    .split("\n")
    .filter((line) => line.trim() && !/^Command failed/.test(line) && !/Cannot find device|No such file or directory|No such process|Cannot assign/.test(line));
  if (unexpected.length > 0) throw error;
}

export class VpcRouters {
  private readonly ready = new Set<string>();
  private readonly policies = new Map<string, RouterPolicy>();
  private readonly peers = new Map<string, Map<string, string>>();
  /** Per router, the CIDR the host routes to it (the default VPC's), as last applied. */
  private readonly hostRoutes = new Map<string, string | undefined>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: VpcRoutersOptions) {}

  /** Runs `action` alone among the operations on this VPC's router (its creation, its tasks' plugging, its policy, its removal). */
  serialised<T>(vpcId: string, action: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(vpcId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(action);
    const tail = next.catch(() => undefined);
    this.queues.set(vpcId, tail);
    void tail.then(() => {
      if (this.queues.get(vpcId) === tail) this.queues.delete(vpcId);
    });
    return next;
  }

  private recordPath(vpcId: string): string {
    return join(this.options.stateDir, "routers", `${checked(vpcId, AWS_ID, "VPC id")}.json`);
  }

  records(): RouterRecord[] {
    return readRecords<RouterRecord>(join(this.options.stateDir, "routers"));
  }

  record(vpcId: string): RouterRecord | undefined {
    return readRecord<RouterRecord>(this.recordPath(vpcId));
  }

  /** A command inside the router's namespace (nsenter: the runner may itself be wrapped in another namespace). */
  inRouter(record: Pick<RouterRecord, "netnsPath">, command: string, args: readonly string[], options?: CommandOptions): Promise<string> {
    return this.options.run("nsenter", [`--net=${record.netnsPath}`, command, ...args], options);
  }

  private async linkExists(name: string, netns?: string): Promise<boolean> {
    return this.options.run("ip", [...(netns ? ["-n", netns] : []), "link", "show", "dev", name]).then(
      () => true,
      () => false,
    );
  }

  /** The first /30 from the hint that no record of ours and no address of the namespace holds. */
  private async freeLinkIndex(vpcId: string): Promise<number> {
    const taken = new Set(this.records().map((record) => record.linkIndex));
    const listing = await this.options.run("ip", ["-4", "-o", "addr", "show"]);
    for (const match of listing.matchAll(/\binet (169\.254\.\d+\.\d+)\//g)) {
      const offset = ipv4ToNumber(match[1]!) - HOST_LINK_RANGE.base;
      if (offset >= 0 && offset < HOST_LINK_RANGE.count * 4) taken.add(Math.floor(offset / 4));
    }
    const hint = hostLinkIndexHint(this.options.stateDir, vpcId);
    for (let step = 0; step < HOST_LINK_RANGE.count; step++) {
      const index = (hint + step) % HOST_LINK_RANGE.count;
      if (!taken.has(index)) return index;
    }
    throw new Error("no free /30 left in 169.254.128.0/17 for another VPC router");
  }

  /** The VPC's router, built (or its interrupted build finished) if this process has not yet. Call within serialised. */
  async ensure(vpc: VpcIdentity): Promise<RouterRecord> {
    let record = this.record(vpc.vpcId);
    if (!record) {
      const names = routerNames(this.options.stateDir, checked(vpc.vpcId, AWS_ID, "VPC id"));
      record = { vpcId: vpc.vpcId, vpcCidr: checked(vpc.vpcCidr, CIDR, "VPC CIDR"), vni: vpc.vni, ...names, linkIndex: await this.freeLinkIndex(vpc.vpcId) };
      // Recorded before anything exists, so a crash part-way still leaves it to an uninstall.
      writeFileAtomic(this.recordPath(vpc.vpcId), JSON.stringify(record));
    }
    if (this.ready.has(vpc.vpcId)) return record;
    await this.build(record);
    await this.options.endpointListeners?.open(record);
    this.ready.add(vpc.vpcId);
    return record;
  }

  private async build(record: RouterRecord): Promise<void> {
    const { netns, hostLink } = record;
    const { host, router } = hostLinkAddresses(record.linkIndex);
    if (!existsSync(record.netnsPath)) await this.options.run("ip", ["netns", "add", netns]);
    // Before any link is made, so each inherits the defaults.
    await this.inRouter(record, "sysctl", [
      "-q",
      "-w",
      "net.ipv4.ip_forward=1",
      "net.ipv4.conf.all.rp_filter=1",
      "net.ipv4.conf.default.rp_filter=1",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    if (!(await this.linkExists(hostLink)))
      await this.options.run("ip", ["link", "add", hostLink, "type", "veth", "peer", "name", ROUTER_UPLINK, "netns", netns]);
    await this.options.run("ip", ["-batch", "-"], {
      input: `addr replace ${host}/30 dev ${hostLink}\nlink set ${hostLink} up\n`,
    });
    // A router built before the endpoint moved into it held the endpoint address on its host link.
    await this.options.run("ip", ["-force", "-batch", "-"], { input: `addr del ${METADATA_ENDPOINT.address}/32 dev ${hostLink}\n` }).catch(() => undefined);
    await this.options.firewall?.prepareHostLink(hostLink);
    const resolvers = vpcResolverAddresses(record.vpcCidr).map((address) => `addr replace ${address}/32 dev lo\n`);
    await this.options.run("ip", ["-n", netns, "-batch", "-"], {
      input: `link set lo up\naddr replace ${METADATA_ENDPOINT.address}/32 dev lo\n${resolvers.join("")}addr replace ${router}/30 dev ${ROUTER_UPLINK}\nlink set ${ROUTER_UPLINK} up\nroute replace default via ${host} dev ${ROUTER_UPLINK}\n`,
    });
    if (this.options.overlayAddress !== undefined) await this.buildVxlan(record, this.options.overlayAddress);
  }

  private async buildVxlan(record: RouterRecord, underlay: string): Promise<void> {
    const { netns, vxlan, vni } = record;
    if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff) throw new RangeError(`refusing VNI ${String(vni)} in the task network`);
    if (!(await this.linkExists(vxlan, netns))) {
      // A device an interrupted build made but did not move is replaced.
      await this.options.run("ip", ["-force", "-batch", "-"], { input: `link del ${vxlan}\n` }).catch(ignoreMissing);
      await this.options.run("ip", ["-batch", "-"], {
        input: `link add ${vxlan} type vxlan id ${vni} local ${checked(underlay, IPV4, "overlay address")} dstport ${VXLAN_PORT} nolearning\nlink set ${vxlan} netns ${netns}\n`,
      });
    }
    await this.options.run("ip", ["-n", netns, "link", "set", vxlan, "address", overlayMac(underlay, vni), "mtu", String(OVERLAY_MTU), "up"]);
  }

  /** Makes `gateway` a local address of the router (the subnet's .1, as a /32 on lo). */
  async addGateway(record: RouterRecord, gateway: string): Promise<void> {
    await this.options.run("ip", ["-n", record.netns, "addr", "replace", `${checked(gateway, IPV4, "gateway")}/32`, "dev", "lo"]);
  }

  /** The security-group table: the difference from what this process applied last, or the whole table (first time, or when the difference fails). */
  async applyPolicy(record: RouterRecord, policy: RouterPolicy): Promise<void> {
    const before = this.policies.get(record.vpcId);
    const nft = (script: string) => this.inRouter(record, "nft", ["-f", "-"], { input: script });
    if (!before) await nft(renderRouterTable(policy));
    else {
      const script = renderRouterChanges(before, policy);
      // The kernel's table is not what we last applied (flushed, edited by hand): replaced whole.
      if (script) await nft(script).catch(() => nft(renderRouterTable(policy)));
    }
    this.policies.set(record.vpcId, policy);
  }

  /** The peers the router holds now, read from the kernel (after an agent restart). */
  private async readPeers(record: RouterRecord): Promise<Map<string, string>> {
    const fdb = await this.options.run("bridge", ["-n", record.netns, "fdb", "show", "dev", record.vxlan]);
    const hostOf = new Map([...fdb.matchAll(/^([0-9a-f:]{17}) dst (\S+)/gm)].map((match) => [match[1]!, match[2]!]));
    const neighbours = await this.options.run("ip", ["-n", record.netns, "-4", "neigh", "show", "dev", record.vxlan]);
    const peers = new Map<string, string>();
    for (const match of neighbours.matchAll(/^(\S+) lladdr ([0-9a-f:]{17})/gm)) {
      const host = hostOf.get(match[2]!);
      if (host) peers.set(match[1]!, host);
    }
    return peers;
  }

  /**
   * The overlay's entries for the VPC's interfaces on other hosts (address → host's underlay
   * address): added, moved and removed as the difference from what the router holds.
   */
  async applyPeers(record: RouterRecord, desired: ReadonlyMap<string, string>): Promise<void> {
    if (this.options.overlayAddress === undefined) return;
    const before = this.peers.get(record.vpcId) ?? (await this.readPeers(record));
    const { vxlan, vni } = record;
    const macOf = (host: string) => overlayMac(host, vni);
    const hostsBefore = new Set(before.values());
    const hostsAfter = new Set(desired.values());
    let routes = "";
    for (const [address, host] of desired) {
      if (before.get(address) === host) continue;
      const ip = checked(address, IPV4, "peer address");
      routes += `route replace ${ip}/32 dev ${vxlan}\nneigh replace ${ip} lladdr ${macOf(host)} dev ${vxlan} nud permanent\n`;
    }
    let removals = "";
    for (const address of before.keys()) if (!desired.has(address)) removals += `route del ${address}/32 dev ${vxlan}\nneigh del ${address} dev ${vxlan}\n`;
    const fdbAdds = [...hostsAfter]
      .filter((host) => !hostsBefore.has(host))
      .map((host) => `fdb replace ${macOf(host)} dev ${vxlan} dst ${host} self permanent\n`);
    const fdbDeletes = [...hostsBefore].filter((host) => !hostsAfter.has(host)).map((host) => `fdb del ${macOf(host)} dev ${vxlan} self\n`);
    const batch = (tool: string, input: string) =>
      input ? this.options.run(tool, ["-n", record.netns, "-force", "-batch", "-"], { input }).catch(ignoreMissing) : Promise.resolve();
    // Forwarding entries before the routes that use them; routes gone before their entries.
    await batch("bridge", fdbAdds.join(""));
    await batch("ip", routes + removals);
    await batch("bridge", fdbDeletes.join(""));
    this.peers.set(record.vpcId, new Map(desired));
  }

  /**
   * Routes `cidr` (the default VPC's) from the host to the router, so the machine reaches its tasks
   * there (through their ingress chains, from the host link's address), or no CIDR (undefined).
   */
  async applyHostRoute(record: RouterRecord, requested: string | undefined): Promise<void> {
    // Only the CIDR the router was made for, and only a VPC-sized one (/16 to /28): a view naming
    // another (0.0.0.0/0, the host's own LAN) must not take over one of the host's routes.
    const cidr = requested !== undefined && requested === record.vpcCidr && isVpcSized(requested) ? requested : undefined;
    if (this.hostRoutes.has(record.vpcId) && this.hostRoutes.get(record.vpcId) === cidr) return;
    const { router } = hostLinkAddresses(record.linkIndex);
    const listing = await this.options.run("ip", ["-4", "-o", "route", "show", "via", router, "dev", record.hostLink]);
    let batch = "";
    for (const match of listing.matchAll(/^(\S+) /gm)) if (match[1] !== cidr) batch += `route del ${match[1]} via ${router} dev ${record.hostLink}\n`;
    if (cidr !== undefined) batch += `route replace ${checked(cidr, CIDR, "VPC CIDR")} via ${router} dev ${record.hostLink}\n`;
    if (batch) await this.options.run("ip", ["-force", "-batch", "-"], { input: batch }).catch(ignoreMissing);
    this.hostRoutes.set(record.vpcId, cidr);
  }

  /** The router, its links and its record. Call within serialised. */
  async remove(record: RouterRecord): Promise<void> {
    await this.options.endpointListeners?.close(record);
    // The host end first: deleting a veth takes its peer synchronously, whereas a deleted
    // namespace leaves its links to a kernel workqueue. A VXLAN device left in the host by an
    // interrupted build goes too.
    await this.options.run("ip", ["-force", "-batch", "-"], { input: `link del ${record.hostLink}\nlink del ${record.vxlan}\n` }).catch(ignoreMissing);
    if (existsSync(record.netnsPath)) {
      await this.options.run("ip", ["-n", record.netns, "link", "del", record.vxlan]).catch((error: Error) => ignoreMissing(error));
      await this.options.run("ip", ["netns", "del", record.netns]);
    }
    this.ready.delete(record.vpcId);
    this.policies.delete(record.vpcId);
    this.peers.delete(record.vpcId);
    this.hostRoutes.delete(record.vpcId);
    rmSync(this.recordPath(record.vpcId), { force: true });
  }
}

/** EC2's VPC sizes: a /16 to a /28 (anything wider would shadow the host's own routes). */
function isVpcSized(cidr: string): boolean {
  const prefix = Number(cidr.split("/")[1]);
  return Number.isInteger(prefix) && prefix >= 16 && prefix <= 28;
}
