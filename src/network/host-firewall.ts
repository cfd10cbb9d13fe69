// The host's side of task isolation: the `inet berth` table of host-firewall-rules.ts, the router
// links' kernel settings, net.ipv4.ip_forward and the uplink's forwarding flag. Its life follows
// the agent's, not a task's:
//
//   install(state)      agent start: ip_forward pinned (value before kept in a file), then the
//                       table with the overlay hosts last known, in one atomic `nft -f`, then the
//                       forwarding flags of the uplink and of every router link
//   prepareHostLink     a new router link: its sysctls
//   setOverlayHosts     the fleet's VXLAN endpoints changed: set elements only
//   setPublished        internet-facing load balancers' ports on the uplink address (published-ports.ts):
//                       the map replaced in one transaction
//   release()           agent stop with tasks still running: the table and the flags stay (they
//                       protect and serve those tasks while no agent runs), ip_forward goes back
//   uninstall()         nothing of Berth's left: table deleted, ip_forward and the uplink restored
//
// ip_forward: "off" pins it to 0, so that should anything flush our table (Debian's
// nftables.service starts its config with `flush ruleset`) the host still routes nothing for
// anything but the flows NAT needs: IPv4 decides forwarding by the ingress device's flag
// (net.ipv4.conf.<dev>.forwarding), which is set on the router links and the uplink only, and only
// when there is an uplink. Writing ip_forward resets every device's flag, so the pin comes first.
// "keep" leaves the host's value for hosts that route for something else (Docker). The values
// before are kept in files so that an agent that crashed restores the operator's, not its own.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./state-files.js";
import { runCommand } from "../core/command-runner.js";
import type { CommandRunner } from "../core/command-runner.js";
import { hostLinkSysctls, renderHostFirewall, renderOverlayHostChanges, renderPublishedPorts, renderRemoveFirewall } from "./host-firewall-rules.js";
import { INTERFACE_NAME, IPV4, checked } from "./names.js";

export type IpForwardPolicy = "off" | "keep";

export interface HostFirewallOptions {
  /** Where the host's values before the agent's are kept. */
  readonly stateDir: string;
  readonly run?: CommandRunner;
  readonly ipForward: IpForwardPolicy;
  /** The interface toward the outside for tasks with assignPublicIp ENABLED (`--uplink`); none: no outbound for anyone. */
  readonly uplink?: string | undefined;
  /** This host's underlay address for the VXLAN overlay (`--overlay-address`); none: no overlay. */
  readonly overlayAddress?: string | undefined;
}

/** What the host firewall is installed with: the links of the routers on record, the overlay hosts last known. */
export interface HostFirewallState {
  readonly hostLinks: readonly string[];
  readonly overlayHosts: readonly string[];
}

const IP_FORWARD = "net.ipv4.ip_forward";

export class HostFirewall {
  private readonly run: CommandRunner;
  private overlayHosts = new Set<string>();
  /** The uplink's address as the table was installed with (where load balancers are published). */
  private publishAddress: string | undefined;

  constructor(private readonly options: HostFirewallOptions) {
    this.run = options.run ?? runCommand;
    if (options.uplink !== undefined) checked(options.uplink, INTERFACE_NAME, "uplink interface");
    if (options.overlayAddress !== undefined) checked(options.overlayAddress, IPV4, "overlay address");
  }

  get uplink(): string | undefined {
    return this.options.uplink;
  }

  get overlayAddress(): string | undefined {
    return this.options.overlayAddress;
  }

  private get savedIpForwardPath(): string {
    return join(this.options.stateDir, "ip-forward-before");
  }

  private get savedUplinkPath(): string {
    return join(this.options.stateDir, "uplink-forwarding-before.json");
  }

  private nft(script: string): Promise<string> {
    return this.run("nft", ["-f", "-"], { input: script });
  }

  /** Sysctls through the runner, so a firewall driven inside another namespace sets that one's. */
  private async readSysctl(key: string): Promise<string> {
    return (await this.run("sysctl", ["-n", key])).trim();
  }

  private async writeSysctls(pairs: readonly [string, string][]): Promise<void> {
    if (pairs.length > 0) await this.run("sysctl", ["-q", "-w", ...pairs.map(([key, value]) => `${key}=${value}`)]);
  }

  async install(state: HostFirewallState): Promise<void> {
    this.publishAddress = await this.uplinkAddress();
    const shape = {
      uplink: this.options.uplink,
      uplinkAddress: this.publishAddress,
      overlayAddress: this.options.overlayAddress,
      ipForwardPinned: this.options.ipForward === "off",
    };
    const hosts = new Set(state.overlayHosts.filter((host) => host !== this.options.overlayAddress));
    await Promise.all([this.nft(renderHostFirewall(shape, [...hosts])), this.pinIpForward()]);
    this.overlayHosts = hosts;
    // After the pin (which resets every device's flag): the uplink's and the router links'.
    await this.enableUplinkForwarding();
    const forwarding = state.hostLinks.flatMap((link) => hostLinkSysctls(link, this.options.uplink !== undefined));
    // A link a crash left half made has no settings to take: its router's next build sets them.
    await this.writeSysctls(forwarding.filter(([key]) => key.endsWith(".forwarding"))).catch((error: Error) => {
      if (!/cannot stat|No such file/.test(error.message)) throw error;
    });
  }

  private async pinIpForward(): Promise<void> {
    if (this.options.ipForward === "keep") {
      // An earlier run with "off" left its value to restore: give it back before keeping.
      await this.restoreIpForward();
      return;
    }
    const current = await this.readSysctl(IP_FORWARD);
    if (!existsSync(this.savedIpForwardPath)) writeFileAtomic(this.savedIpForwardPath, `${current}\n`);
    if (current !== "0") await this.writeSysctls([[IP_FORWARD, "0"]]);
  }

  private async restoreIpForward(): Promise<void> {
    if (!existsSync(this.savedIpForwardPath)) return;
    const before = readFileSync(this.savedIpForwardPath, "utf8").trim();
    if (/^[01]$/.test(before) && (await this.readSysctl(IP_FORWARD)) !== before) await this.writeSysctls([[IP_FORWARD, before]]);
    rmSync(this.savedIpForwardPath, { force: true });
  }

  private async enableUplinkForwarding(): Promise<void> {
    const uplink = this.options.uplink;
    if (uplink === undefined) return;
    const key = `net.ipv4.conf.${uplink}.forwarding`;
    const current = await this.readSysctl(key);
    if (!existsSync(this.savedUplinkPath)) writeFileAtomic(this.savedUplinkPath, JSON.stringify({ uplink, forwarding: current }));
    if (current !== "1") await this.writeSysctls([[key, "1"]]);
  }

  private async restoreUplinkForwarding(): Promise<void> {
    if (!existsSync(this.savedUplinkPath)) return;
    const saved = JSON.parse(readFileSync(this.savedUplinkPath, "utf8")) as { uplink?: unknown; forwarding?: unknown };
    if (typeof saved.uplink === "string" && INTERFACE_NAME.test(saved.uplink) && (saved.forwarding === "0" || saved.forwarding === "1")) {
      const key = `net.ipv4.conf.${saved.uplink}.forwarding`;
      // A link that is gone (unplugged, renamed) has nothing to restore.
      const current = await this.readSysctl(key).catch(() => undefined);
      if (current !== undefined && current !== saved.forwarding) await this.writeSysctls([[key, saved.forwarding]]);
    }
    rmSync(this.savedUplinkPath, { force: true });
  }

  /** A router link's kernel settings, set once it exists (they live and die with the device). */
  async prepareHostLink(hostLink: string): Promise<void> {
    await this.writeSysctls(hostLinkSysctls(hostLink, this.options.uplink !== undefined));
  }

  /** The fleet's VXLAN endpoints (the view's peers' hosts): set elements added and removed. */
  async setOverlayHosts(hosts: Iterable<string>): Promise<void> {
    const next = new Set([...hosts].filter((host) => host !== this.options.overlayAddress));
    const script = renderOverlayHostChanges(this.overlayHosts, next);
    if (script) await this.nft(script);
    this.overlayHosts = next;
  }

  /** The published ports (port → the /30 address of the node's router), replacing the earlier ones. */
  async setPublished(published: ReadonlyMap<number, string>): Promise<void> {
    if (this.publishAddress === undefined) {
      if (published.size > 0) throw new Error("no uplink address to publish load balancers on");
      return;
    }
    await this.nft(renderPublishedPorts(published));
  }

  /** The uplink's first IPv4 address: the public address of tasks with assignPublicIp ENABLED (what they are seen as outside). */
  async uplinkAddress(): Promise<string | undefined> {
    if (this.options.uplink === undefined) return undefined;
    const listing = await this.run("ip", ["-4", "-o", "addr", "show", "dev", this.options.uplink]);
    return /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(listing)?.[1];
  }

  async release(): Promise<void> {
    await this.restoreIpForward();
  }

  async uninstall(): Promise<void> {
    await this.nft(renderRemoveFirewall());
    this.overlayHosts = new Set();
    this.publishAddress = undefined;
    // ip_forward first: writing it resets every device's flag, the uplink's included.
    await this.restoreIpForward();
    await this.restoreUplinkForwarding();
  }
}
