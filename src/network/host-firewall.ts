// The host's side of task isolation: the nftables policy of host-firewall-rules.ts, the per-bridge
// kernel settings, and the host's net.ipv4.ip_forward. Its life follows the agent's, not a task's:
//
//   install(state)      agent start: ip_forward pinned (value before kept in a file), then the whole
//                       policy with every recorded task and bridge, in one atomic `nft -f`
//   allowPort/forgetPort, allowBridge/forgetBridge
//                       per task / per bridge: set elements only, the ruleset is never reloaded
//   release()           agent stop with tasks still running: the tables stay (they protect those
//                       tasks while no agent runs), ip_forward goes back to what it was
//   uninstall()         nothing of Berth's left: both tables deleted, ip_forward restored
//
// ip_forward: Berth routes nothing today (tasks of one subnet are bridged, the endpoint is a local
// address, there is no NAT), so "off" pins it to 0: should anything flush our tables (Debian's
// nftables.service starts its config with `flush ruleset`), a task still cannot be routed
// anywhere through the host. "keep" leaves the host's value alone for hosts that route for
// something else (Docker); the forward chain alone then keeps tasks in. The value before is kept
// in a file so that an agent that crashed and starts again still restores the operator's value,
// not its own.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./ipam.js";
import { runCommand } from "../core/command-runner.js";
import type { CommandRunner } from "../core/command-runner.js";
import type { FirewallState, TaskPort } from "./host-firewall-rules.js";
import {
  bridgeSysctls,
  renderAllowBridge,
  renderAllowPort,
  renderFirewall,
  renderForgetBridge,
  renderForgetPort,
  renderRemoveFirewall,
} from "./host-firewall-rules.js";

export type IpForwardPolicy = "off" | "keep";

export interface HostFirewallOptions {
  /** Where the host's ip_forward value before the agent's is kept. */
  readonly stateDir: string;
  readonly run?: CommandRunner;
  readonly ipForward: IpForwardPolicy;
}

const IP_FORWARD = "net.ipv4.ip_forward";

export class HostFirewall {
  private readonly run: CommandRunner;

  constructor(private readonly options: HostFirewallOptions) {
    this.run = options.run ?? runCommand;
  }

  private get savedIpForwardPath(): string {
    return join(this.options.stateDir, "ip-forward-before");
  }

  private nft(script: string): Promise<string> {
    return this.run("nft", ["-f", "-"], { input: script });
  }

  /** Sysctls through the runner, so a firewall driven inside another namespace sets that one's. */
  private async readSysctl(key: string): Promise<string> {
    return (await this.run("sysctl", ["-n", key])).trim();
  }

  private async writeSysctls(pairs: readonly [string, string][]): Promise<void> {
    await this.run("sysctl", ["-q", "-w", ...pairs.map(([key, value]) => `${key}=${value}`)]);
  }

  /**
   * Bridge sysctls are left to allowBridge: they live on the device, so a bridge that outlived the
   * agent keeps them, and one a reboot took is made again (and set) by its first use. A recorded
   * bridge that is gone only leaves an element naming no device.
   */
  async install(state: FirewallState): Promise<void> {
    await Promise.all([this.nft(renderFirewall(state)), this.pinIpForward()]);
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

  allowPort(port: TaskPort): Promise<string> {
    return this.nft(renderAllowPort(port));
  }

  forgetPort(port: TaskPort): Promise<void> {
    return this.forget(renderForgetPort(port));
  }

  /** Removing from tables that are gone (a reboot, an uninstall) has nothing left to do. */
  private async forget(script: string): Promise<void> {
    await this.nft(script).catch((error: Error) => {
      if (!/No such file or directory/.test(error.message)) throw error;
    });
  }

  /** A new bridge: its kernel settings, and same-bridge traffic let through the forward hook. */
  async allowBridge(bridge: string): Promise<void> {
    await Promise.all([this.writeSysctls(bridgeSysctls(bridge)), this.nft(renderAllowBridge(bridge))]);
  }

  /** The bridge's settings go with the bridge; only its element is ours to remove. */
  async forgetBridge(bridge: string): Promise<void> {
    await this.forget(renderForgetBridge(bridge));
  }

  async release(): Promise<void> {
    await this.restoreIpForward();
  }

  async uninstall(): Promise<void> {
    await this.nft(renderRemoveFirewall());
    await this.restoreIpForward();
  }
}
