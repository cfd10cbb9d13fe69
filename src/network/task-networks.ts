// awsvpc task networks on a host. Per subnet a Linux bridge whose address is the subnet's router
// (.1) and which also holds 169.254.170.2, the task metadata/credentials endpoint the agent serves;
// per task a network namespace with loopback up and an eth0 (one end of a veth pair whose other
// end is in the bridge) carrying the task's address, a locally administered MAC, a default route
// to the router and an on-link route to 169.254.170.2. Nothing is routed or forwarded beyond the
// bridge: no NAT, no ip_forward. Every name starts with "bth" so leftovers are easy to find.
// With a HostFirewall (the agent always has one) the host's nftables policy follows along: a
// bridge's element and kernel settings when it is made, a task's (port, MAC, IP) element while it
// is connected, the whole policy from these records at start (see host-firewall.ts).
//
//   reserve(task) ─▶ lease IP ─▶ record ─▶ netns           (enough to create containers in it)
//   connect(task) ─▶ ensure bridge ─▶ veth + addresses + routes ─▶ record "connected"
//   attach(task)  = reserve + connect
//   detach(task)  ─▶ delete host veth (takes eth0 with it) ─▶ delete netns ─▶ release IP
// The split lets a launch create its containers (which only need the namespace to exist) while
// the namespace is being plugged in. All of them are idempotent and work from on-disk state
// alone, so they replay after an agent restart.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { confinedJoin } from "../core/confined-path.js";
import { numberToIpv4, ipv4ToNumber } from "../core/default-network.js";
import type { IdRange } from "../core/id-range.js";
import { nativeHelperPath } from "../core/native-helper.js";
import { Ipam, subnetRange, writeFileAtomic } from "./ipam.js";
import { runCommand } from "../core/command-runner.js";
import type { CommandRunner } from "../core/command-runner.js";
import type { HostFirewall } from "./host-firewall.js";
import type { FirewallState } from "./host-firewall-rules.js";
import { METADATA_ENDPOINT } from "./host-firewall-rules.js";

/** The metadata endpoint's address, as the host firewall knows it (one definition of it). */
export const METADATA_ENDPOINT_ADDRESS = METADATA_ENDPOINT.address;

export interface SubnetSpec {
  readonly subnetId: string;
  readonly cidr: string;
}

export interface TaskAttachment {
  readonly taskId: string;
  readonly subnetId: string;
  readonly netnsName: string;
  readonly netnsPath: string;
  /**
   * The user namespace that owns the network namespace (reserve with an id range): the task's
   * containers join both, so they can mount sysfs and be exec'd into without host privileges.
   */
  readonly userNamespacePath?: string;
  readonly interfaceName: "eth0";
  readonly hostVeth: string;
  readonly bridge: string;
  readonly ipv4: string;
  readonly prefixLength: number;
  readonly gateway: string;
  readonly subnetCidr: string;
  readonly macAddress: string;
  readonly eniId: string;
  readonly privateDnsName: string;
  /** The veth, address and routes are in place (set by connect). */
  readonly connected?: boolean;
}

export type { CommandRunner } from "../core/command-runner.js";

const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);

export function bridgeName(subnetId: string): string {
  return `bth-${shortHash(subnetId)}`;
}

/** EC2's private DNS names: ec2.internal in us-east-1, <region>.compute.internal elsewhere. */
export function privateDnsName(ipv4: string, region: string): string {
  const host = `ip-${ipv4.replace(/\./g, "-")}`;
  return region === "us-east-1" ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/** The names of a task's namespace and host-side veth: fixed by its id. */
type LinkNames = Pick<TaskAttachment, "netnsName" | "netnsPath" | "hostVeth"> & { readonly userNamespacePath: string };

/** Where task user namespaces are kept (bind mounts of nsfs files, like `ip netns`' /run/netns). */
export const USER_NAMESPACES_DIR = "/run/berth/userns";

function linkNames(taskId: string): LinkNames {
  const netnsName = `bth-${taskId.slice(0, 12)}`;
  return { netnsName, netnsPath: `/var/run/netns/${netnsName}`, userNamespacePath: join(USER_NAMESPACES_DIR, netnsName), hostVeth: `bthv${shortHash(taskId)}` };
}

/**
 * A task's record, or undefined when it is missing or unreadable. The records are written without
 * an fsync (see ipam.ts), so a power loss can leave one empty; what it described is gone with the
 * power loss too, and an unreadable record must not stop every other task's teardown.
 */
function readRecord(path: string): TaskAttachment | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as TaskAttachment;
  } catch {
    return undefined;
  }
}

export class TaskNetworks {
  private readonly ipam: Ipam;
  private readonly run: CommandRunner;
  /** Bridges this instance made or saw (saves an `ip link show` per attach); cleared on removal. */
  private readonly knownBridges = new Set<string>();
  /** Per subnet, the tail of the operations on its bridge (see withSubnet). */
  private readonly subnetQueues = new Map<string, Promise<unknown>>();
  /**
   * Tasks whose namespace this instance created with no earlier attempt on record: nothing of an
   * interrupted connect can be left behind for them, so connect skips looking for leftovers.
   */
  private readonly freshNamespaces = new Set<string>();
  /**
   * Firewall element adds started by reserve and awaited by connect: the `nft` run (~20-35 ms, a
   * process) overlaps the namespace's creation and the containers' instead of lengthening connect.
   */
  private readonly pendingAllows = new Map<string, Promise<unknown>>();

  constructor(private readonly options: { stateDir: string; region: string; run?: CommandRunner; firewall?: HostFirewall }) {
    this.ipam = new Ipam(join(options.stateDir, "leases.json"));
    this.run = options.run ?? runCommand;
  }

  private recordPath(taskId: string): string {
    // The task id comes over the agent protocol: confined to the records dir (core/confined-path.ts).
    return confinedJoin(join(this.options.stateDir, "tasks"), [`${taskId}.json`], "task id");
  }

  /** Bridges are recorded too, so a restart re-allows them and an uninstall finds idle ones. */
  private bridgeRecordPath(bridge: string): string {
    return join(this.options.stateDir, "bridges", `${bridge}.json`);
  }

  private recordedBridges(): SubnetSpec[] {
    const dir = join(this.options.stateDir, "bridges");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith(".json"))
      .flatMap((file) => {
        try {
          return [JSON.parse(readFileSync(join(dir, file), "utf8")) as SubnetSpec];
        } catch {
          return [];
        }
      });
  }

  /** What the host firewall must let through: every recorded bridge and task port. */
  firewallState(): FirewallState {
    return {
      bridges: this.recordedBridges().map((subnet) => bridgeName(subnet.subnetId)),
      ports: this.list().map(({ hostVeth, macAddress, ipv4 }) => ({ hostVeth, macAddress, ipv4 })),
    };
  }

  /**
   * A task's firewall element. When the tables are gone (something flushed the ruleset: Debian's
   * nftables.service starts with `flush ruleset`), the whole policy is put back from the records,
   * this task's included, instead of failing the launch; until then every task was unguarded, so
   * a flush is repaired by the next launch at the latest (and by the next agent start).
   */
  private allowPort(attachment: TaskAttachment): Promise<unknown> | undefined {
    const firewall = this.options.firewall;
    return firewall?.allowPort(attachment).catch((error: Error) => {
      if (!/No such file or directory/.test(error.message)) throw error;
      return firewall.install(this.firewallState());
    });
  }

  /** Agent start: the host firewall with everything on record, replacing any earlier one at once. */
  async start(): Promise<void> {
    await this.options.firewall?.install(this.firewallState());
  }

  /**
   * Agent stop. With tasks still attached the firewall stays to protect them while no agent runs;
   * with none, nothing of it is needed and nothing is left behind.
   */
  async stop(): Promise<void> {
    if (this.list().length > 0) await this.options.firewall?.release();
    else await this.options.firewall?.uninstall();
  }

  /** Uninstall: every task network, every recorded bridge, the firewall. Run with no agent up. */
  async removeEverything(): Promise<void> {
    for (const attachment of this.list()) await this.detach(attachment.taskId);
    for (const subnet of this.recordedBridges()) await this.removeSubnetIfIdle(subnet.subnetId);
    await this.options.firewall?.uninstall();
  }

  private async linkExists(name: string): Promise<boolean> {
    return this.run("ip", ["link", "show", "dev", name]).then(
      () => true,
      () => false,
    );
  }

  /**
   * Runs `action` alone among the operations on this subnet's bridge: creating it, plugging a
   * task's veth into it, and deleting it once idle. Without this, two tasks starting together both
   * try to create the bridge ("File exists"), and an idle check can delete the bridge just as
   * another task leases an address and attaches.
   */
  private withSubnet<T>(subnetId: string, action: () => Promise<T>): Promise<T> {
    const previous = this.subnetQueues.get(subnetId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(action);
    const tail = next.catch(() => undefined);
    this.subnetQueues.set(subnetId, tail);
    void tail.then(() => {
      if (this.subnetQueues.get(subnetId) === tail) this.subnetQueues.delete(subnetId);
    });
    return next;
  }

  /** Creates the subnet's bridge if it is missing. */
  ensureSubnet(subnet: SubnetSpec): Promise<string> {
    return this.withSubnet(subnet.subnetId, () => this.ensureBridge(subnet));
  }

  private async ensureBridge(subnet: SubnetSpec): Promise<string> {
    const bridge = bridgeName(subnet.subnetId);
    if (this.knownBridges.has(bridge)) return bridge;
    // Recorded before it exists, so a crash part-way still leaves it to an uninstall.
    writeFileAtomic(this.bridgeRecordPath(bridge), JSON.stringify({ subnetId: subnet.subnetId, cidr: subnet.cidr }));
    if (!(await this.linkExists(bridge))) {
      const range = subnetRange(subnet.cidr);
      await this.run("ip", ["-batch", "-"], {
        input: [
          `link add ${bridge} type bridge`,
          `addr add ${range.gateway}/${range.prefixLength} dev ${bridge}`,
          `addr add ${METADATA_ENDPOINT_ADDRESS}/32 dev ${bridge}`,
          `link set ${bridge} up`,
          "",
        ].join("\n"),
      });
    }
    // Also for a bridge an earlier run made: cheap, once per bridge and process, and it repairs
    // an element or setting lost with an interrupted start.
    await this.options.firewall?.allowBridge(bridge);
    this.knownBridges.add(bridge);
    return bridge;
  }

  /** reserve + connect: the task's network, ready to use. */
  async attach(taskId: string, subnet: SubnetSpec): Promise<TaskAttachment> {
    await this.reserve(taskId, subnet);
    return this.connect(taskId);
  }

  /**
   * Leases the task's address in the subnet and creates its network namespace, so containers can
   * be created in it; connect plugs it into the subnet. The lease keeps the subnet's bridge from
   * being removed as idle in between.
   */
  async reserve(taskId: string, subnet: SubnetSpec, ids?: IdRange): Promise<TaskAttachment> {
    const recorded = this.read(taskId);
    if (recorded && existsSync(recorded.netnsPath) && (!ids || (recorded.userNamespacePath && existsSync(recorded.userNamespacePath)))) return recorded;
    const range = subnetRange(subnet.cidr);
    const ipv4 = this.ipam.allocate(subnet.subnetId, range, taskId);
    const { netnsName, netnsPath, hostVeth, userNamespacePath } = linkNames(taskId);
    const number = ipv4ToNumber(ipv4);
    // 02: a locally administered unicast MAC; the rest spells the address, so it is unique per subnet.
    const macAddress = [
      "02",
      randomBytes(1).toString("hex"),
      ...[24, 16, 8, 0].map((shift) => (Math.floor(number / 2 ** shift) % 256).toString(16).padStart(2, "0")),
    ].join(":");
    const attachment: TaskAttachment = {
      taskId,
      subnetId: subnet.subnetId,
      netnsName,
      netnsPath,
      ...(ids ? { userNamespacePath } : {}),
      interfaceName: "eth0",
      hostVeth,
      bridge: bridgeName(subnet.subnetId),
      ipv4,
      prefixLength: range.prefixLength,
      gateway: range.gateway,
      subnetCidr: `${numberToIpv4(range.networkNumber)}/${range.prefixLength}`,
      macAddress,
      eniId: recorded?.eniId ?? `eni-${randomBytes(9).toString("hex").slice(0, 17)}`,
      privateDnsName: privateDnsName(ipv4, this.options.region),
      connected: false,
    };
    // Written before anything is created, so a crash part-way leaves enough to clean up.
    writeFileAtomic(this.recordPath(taskId), JSON.stringify(attachment));
    // An element for a veth that does not exist yet matches nothing; its error surfaces in connect.
    const allowed = this.allowPort(attachment);
    if (allowed) {
      allowed.catch(() => undefined);
      this.pendingAllows.set(taskId, allowed);
    }
    if (ids) {
      // Anything an interrupted reserve left is removed first: the helper creates both files anew.
      if (recorded) await this.removeLinks({ ...attachment, userNamespacePath });
      // `ip netns add` would make /run/netns on a fresh host; the helper only creates files in it.
      mkdirSync(USER_NAMESPACES_DIR, { recursive: true, mode: 0o700 });
      mkdirSync(dirname(netnsPath), { recursive: true, mode: 0o755 });
      await this.run(nativeHelperPath(), ["namespaces", String(ids.base), String(ids.size), userNamespacePath, netnsPath]);
    } else {
      await this.run("ip", ["netns", "add", netnsName]);
    }
    if (!recorded) this.freshNamespaces.add(taskId);
    return attachment;
  }

  /** Plugs a reserved namespace into its subnet: veth into the bridge, address, routes. */
  async connect(taskId: string): Promise<TaskAttachment> {
    const attachment = this.read(taskId);
    if (!attachment) throw new Error(`task ${taskId} has no reserved network`);
    if (attachment.connected) return attachment;
    const { subnetId, subnetCidr, netnsName, hostVeth, macAddress, ipv4, prefixLength, gateway } = attachment;
    const allowed = this.pendingAllows.get(taskId) ?? this.allowPort(attachment);
    this.pendingAllows.delete(taskId);
    await Promise.all([
      this.withSubnet(subnetId, async () => {
        const bridge = await this.ensureBridge({ subnetId, cidr: subnetCidr });
        // Only an earlier, interrupted connect can have left this task's veth behind.
        if (!this.freshNamespaces.delete(taskId)) await this.removeHostVeth(attachment);
        // The peer is made inside the namespace (so it can be called eth0 there) with its MAC.
        await this.run("ip", ["-batch", "-"], {
          input: [
            `link add ${hostVeth} type veth peer name eth0 address ${macAddress} netns ${netnsName}`,
            `link set ${hostVeth} master ${bridge} up`,
            "",
          ].join("\n"),
        });
      }),
      // The port's element (started by reserve): until it is in, the bridge drops everything the
      // port sends (the policy fails closed), and connect returns only once both are done.
      allowed,
    ]);
    await this.run("ip", ["-n", netnsName, "-batch", "-"], {
      input: [
        `link set lo up`,
        `addr add ${ipv4}/${prefixLength} dev eth0`,
        `link set eth0 up`,
        `route add default via ${gateway} dev eth0`,
        `route add ${METADATA_ENDPOINT_ADDRESS}/32 dev eth0`,
        "",
      ].join("\n"),
    });
    const connected: TaskAttachment = { ...attachment, connected: true };
    writeFileAtomic(this.recordPath(taskId), JSON.stringify(connected));
    return connected;
  }

  async detach(taskId: string): Promise<void> {
    this.freshNamespaces.delete(taskId);
    // An add still under way would land after the removal below and outlive the task.
    await this.pendingAllows.get(taskId)?.catch(() => undefined);
    this.pendingAllows.delete(taskId);
    const attachment = this.read(taskId);
    // Without a readable record (one cut short by a power loss) the names still follow from the id;
    // its firewall element (keyed by addresses the record held) is dropped at the next start, and
    // matches no port meanwhile: veth names are unique per task.
    await Promise.all([this.removeLinks({ ...linkNames(taskId), ...attachment }), attachment && this.options.firewall?.forgetPort(attachment)]);
    this.ipam.release(taskId);
    rmSync(this.recordPath(taskId), { force: true });
  }

  /** Removes a subnet's bridge once no task holds an address in it. */
  removeSubnetIfIdle(subnetId: string): Promise<boolean> {
    return this.withSubnet(subnetId, async () => {
      if (this.ipam.leaseCount(subnetId) > 0) return false;
      const bridge = bridgeName(subnetId);
      this.knownBridges.delete(bridge);
      if (await this.linkExists(bridge)) await this.run("ip", ["link", "del", bridge]);
      await this.options.firewall?.forgetBridge(bridge);
      rmSync(this.bridgeRecordPath(bridge), { force: true });
      return true;
    });
  }

  list(): TaskAttachment[] {
    const dir = join(this.options.stateDir, "tasks");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith(".json"))
      .flatMap((file) => readRecord(join(dir, file)) ?? []);
  }

  private read(taskId: string): TaskAttachment | undefined {
    return readRecord(this.recordPath(taskId));
  }

  // One `ip` run for both. The host end goes first: deleting a veth removes its peer synchronously,
  // whereas deleting the namespace first leaves the kernel to tear the pair down later from a
  // workqueue, racing our own `ip link del`. Something already gone is what we wanted: with -force
  // the batch goes on past it, and only other errors fail the removal.
  private async removeLinks(attachment: Pick<TaskAttachment, "netnsName" | "netnsPath" | "hostVeth" | "userNamespacePath">): Promise<void> {
    const commands = [`link del ${attachment.hostVeth}`, ...(existsSync(attachment.netnsPath) ? [`netns del ${attachment.netnsName}`] : []), ""];
    await this.run("ip", ["-force", "-batch", "-"], { input: commands.join("\n") }).catch((error: Error) => {
      const unexpected = error.message
        .split("\n")
        .filter((line) => line.trim() && !/^Command failed/.test(line) && !/Cannot find device|No such file or directory/.test(line));
      if (unexpected.length > 0) throw error;
    });
    const userNamespace = attachment.userNamespacePath;
    if (userNamespace && existsSync(userNamespace)) {
      // Lazily: a container process still holding the namespace must not fail the teardown.
      await this.run("umount", ["-l", userNamespace]).catch((error: Error) => {
        if (!/not mounted/.test(error.message)) throw error;
      });
      rmSync(userNamespace, { force: true });
    }
  }

  private async removeHostVeth(attachment: Pick<TaskAttachment, "hostVeth">): Promise<void> {
    await this.run("ip", ["link", "del", attachment.hostVeth]).catch((error: Error) => {
      if (!/Cannot find device/.test(error.message)) throw error;
    });
  }
}
