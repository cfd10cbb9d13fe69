// awsvpc task networks on a host, routed: per task a network namespace whose only interface, eth0,
// is one end of a veth pair whose other end (bthv<hash>) is in its VPC's router namespace on this
// host (vpc-routers.ts). The task keeps its subnet's prefix on eth0 (noprefixroute, as on AWS) but
// routes everything, its own subnet included, through the gateway (.1, a local address of the
// router), so one netfilter path (the router's, router-rules.ts) sees every packet: security
// groups, anti-spoofing, NAT for public tasks, the overlay to other hosts.
//
//   reserve(task) ─▶ check the spec ─▶ record ─▶ netns         (enough to create containers in it)
//                    └▶ the VPC's router is built meanwhile
//   connect(task) ─▶ router ─▶ veth (router ⇄ task) + static route and neighbour ─▶ policy
//                    with the task in it ─▶ address, routes in the task ─▶ record "connected"
//   detach(task)  ─▶ veth ─▶ netns ─▶ policy without it ─▶ record removed
//   applyView(v)  ─▶ per router on record: policy and overlay peers from v, or removal when no
//                    task of its VPC is left
// The split lets a launch create its containers (which only need the namespace to exist) while
// the router is being built. Everything is idempotent and works from on-disk state alone (task
// and router records, the last view), so it replays after an agent restart.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { confinedJoin } from "../core/confined-path.js";
import type { IdRange } from "../core/id-range.js";
import { nativeHelperPath } from "../core/native-helper.js";
import { runCommand } from "../core/command-runner.js";
import type { CommandRunner } from "../core/command-runner.js";
import type { NetworkView, TaskNetworkInput } from "./view-types.js";
import { EMPTY_VIEW } from "./view-types.js";
import type { HostFirewall } from "./host-firewall.js";
import { METADATA_ENDPOINT } from "./host-firewall-rules.js";
import { routerNames } from "./names.js";
import { ensureNetnsDirectory } from "./netns-directory.js";
import { buildRouterPolicy } from "./router-policy.js";
import { allocatedNetwork, describeAttachment, taskLinkNames, USER_NAMESPACES_DIR } from "./task-attachment.js";
import type { TaskAttachment } from "./task-attachment.js";
import { readRecord, readRecords, writeFileAtomic } from "./state-files.js";
import { OVERLAY_MTU, VpcRouters } from "./vpc-routers.js";
import { PublishedPorts } from "./published-ports.js";
import type { PublishedPort } from "./published-ports.js";
import type { EndpointListeners, RouterRecord, VpcIdentity } from "./vpc-routers.js";

/** The metadata endpoint's address, as the host firewall knows it (one definition of it). */
export const METADATA_ENDPOINT_ADDRESS = METADATA_ENDPOINT.address;

export type { CommandRunner } from "../core/command-runner.js";

export interface TaskNetworksOptions {
  readonly stateDir: string;
  readonly region: string;
  readonly run?: CommandRunner;
  /** The host's side (the agent always has one): table, sysctls, uplink, overlay hosts. */
  readonly firewall?: HostFirewall;
  /** This host's underlay address for the overlay; defaults to the firewall's. None: no overlay. */
  readonly overlayAddress?: string;
  /** The metadata endpoint's listener in each router (vpc-routers.ts); none: nothing answers 169.254.170.2. */
  readonly endpointListeners?: EndpointListeners;
}

/** What applyView did: how long it took, and the routers it left. */
export interface ViewApplied {
  readonly durationMs: number;
  readonly routers: number;
  readonly removedRouters: number;
}

/** "Already gone" from `ip -force -batch`: what a removal wanted. */
function ignoreMissing(error: Error): void {
  const unexpected = error.message
    .split("\n")
    .filter((line) => line.trim() && !/^Command failed/.test(line) && !/Cannot find device|No such file or directory|Invalid "netns" value/.test(line));
  if (unexpected.length > 0) throw error;
}

export class TaskNetworks {
  private readonly run: CommandRunner;
  private readonly routers: VpcRouters;
  private readonly overlayAddress: string | undefined;
  private view: NetworkView;
  private viewQueue: Promise<unknown> = Promise.resolve();
  /**
   * Tasks whose namespace this instance created with no earlier attempt on record: nothing of an
   * interrupted connect can be left behind for them, so connect skips looking for leftovers.
   */
  private readonly freshNamespaces = new Set<string>();
  /** Router builds started by reserve and awaited by connect (they overlap the containers' creation). */
  private readonly pendingRouters = new Map<string, Promise<unknown>>();
  private readonly published: PublishedPorts;

  constructor(private readonly options: TaskNetworksOptions) {
    this.run = options.run ?? runCommand;
    this.overlayAddress = options.overlayAddress ?? options.firewall?.overlayAddress;
    this.routers = new VpcRouters({
      stateDir: options.stateDir,
      run: this.run,
      firewall: options.firewall,
      overlayAddress: this.overlayAddress,
      endpointListeners: options.endpointListeners,
    });
    this.view = readRecord<NetworkView>(this.viewPath) ?? EMPTY_VIEW;
    this.published = new PublishedPorts({
      run: this.run,
      firewall: options.firewall,
      routers: () => this.routers.records(),
      attached: () => this.list().filter((attachment) => attachment.connected === true),
      serialised: (vpcId, action) => this.routers.serialised(vpcId, action),
    });
  }

  private get viewPath(): string {
    return join(this.options.stateDir, "view.json");
  }

  private recordPath(taskId: string): string {
    // The task id comes over the agent protocol: confined to the records dir (core/confined-path.ts).
    return confinedJoin(join(this.options.stateDir, "tasks"), [`${taskId}.json`], "task id");
  }

  list(): TaskAttachment[] {
    return readRecords<TaskAttachment>(join(this.options.stateDir, "tasks"));
  }

  private read(taskId: string): TaskAttachment | undefined {
    return readRecord<TaskAttachment>(this.recordPath(taskId));
  }

  /** The MTU of task links on this host. */
  get taskMtu(): number {
    return this.overlayAddress === undefined ? 1500 : OVERLAY_MTU;
  }

  /**
   * Agent start: the host firewall, then every router on record rebuilt where a reboot took it and
   * its table replaced whole (atomically: no moment open) from the last view and the task records;
   * a router no task needs any more is removed.
   */
  async start(): Promise<void> {
    await ensureNetnsDirectory(this.run);
    const routers = this.routers.records();
    await this.options.firewall?.install({
      hostLinks: routers.filter((router) => existsSync(router.netnsPath)).map((router) => router.hostLink),
      overlayHosts: this.view.peers.map((peer) => peer.hostAddress),
    });
    await Promise.all(routers.map((router) => this.routers.serialised(router.vpcId, () => this.syncRouter(router))));
  }

  /**
   * Agent stop. With tasks still attached, the routers and the firewall stay to serve and protect
   * them while no agent runs; with none, nothing of them is needed and nothing is left behind.
   */
  async stop(): Promise<void> {
    await this.viewQueue.catch(() => undefined);
    if (this.list().length > 0) {
      await this.options.firewall?.release();
      return;
    }
    for (const router of this.routers.records()) await this.routers.serialised(router.vpcId, () => this.routers.remove(router));
    await this.options.firewall?.uninstall();
  }

  /** Uninstall: every task network, every router, the firewall and the sysctls it changed. Run with no agent up. */
  async removeEverything(): Promise<void> {
    for (const attachment of this.list()) await this.detach(attachment.taskId);
    for (const router of this.routers.records()) await this.routers.serialised(router.vpcId, () => this.routers.remove(router));
    await this.options.firewall?.uninstall();
    rmSync(this.viewPath, { force: true });
    this.view = EMPTY_VIEW;
  }

  /** The router's policy and overlay as the view and the records say, or its removal when none of its tasks is left. Within serialised. */
  private async syncRouter(router: RouterRecord): Promise<"kept" | "removed"> {
    const tasks = this.list().filter((attachment) => attachment.vpcId === router.vpcId);
    if (tasks.length === 0) {
      await this.routers.remove(router);
      return "removed";
    }
    const built = await this.routers.ensure(router);
    await this.routers.applyPolicy(built, this.policyOf(router.vpcId, tasks));
    const local = new Set(tasks.map((task) => task.ipv4));
    const peers = new Map(
      this.view.peers
        .filter((peer) => peer.vpcId === router.vpcId && peer.hostAddress !== this.overlayAddress && !local.has(peer.privateIpv4Address))
        .map((peer) => [peer.privateIpv4Address, peer.hostAddress]),
    );
    await this.routers.applyPeers(built, peers);
    await this.routers.applyHostRoute(built, this.defaultVpcCidr(router.vpcId));
    return "kept";
  }

  /** The VPC's CIDR when the view says it is the account's default VPC (the host routes it to the router), else undefined. */
  private defaultVpcCidr(vpcId: string): string | undefined {
    const vpc = this.view.vpcs.find((candidate) => candidate.vpcId === vpcId);
    return vpc?.isDefault ? vpc.cidrBlock : undefined;
  }

  private policyOf(vpcId: string, tasks: readonly TaskAttachment[]) {
    return buildRouterPolicy(
      vpcId,
      this.view,
      tasks.map((task) => ({
        veth: task.hostVeth,
        eniId: task.eniId,
        ipv4: task.ipv4,
        macAddress: task.macAddress,
        launchGroupIds: task.securityGroupIds,
        assignPublicIp: task.assignPublicIp,
      })),
    );
  }

  /**
   * The host's network view from the control plane (every poll answer): level-triggered and
   * idempotent, one at a time. Each router on record gets its security groups and overlay peers
   * from it as one `nft -f` (a difference from the last one applied) and one `ip`/`bridge` batch
   * each; routers with no task left are removed. The view is kept on disk for the next start.
   */
  applyView(view: NetworkView): Promise<ViewApplied> {
    const applied = this.viewQueue
      .catch(() => undefined)
      .then(async () => {
        const started = process.hrtime.bigint();
        // Rendered before anything is kept: a view that does not render (a malformed name) changes nothing.
        for (const router of this.routers.records())
          this.policyOf(
            router.vpcId,
            this.list().filter((task) => task.vpcId === router.vpcId),
          );
        this.view = view;
        writeFileAtomic(this.viewPath, JSON.stringify(view));
        await this.options.firewall?.setOverlayHosts(view.peers.map((peer) => peer.hostAddress));
        const outcomes = await Promise.all(this.routers.records().map((router) => this.routers.serialised(router.vpcId, () => this.syncRouter(router))));
        const removedRouters = outcomes.filter((outcome) => outcome === "removed").length;
        return { durationMs: Number(process.hrtime.bigint() - started) / 1e6, routers: outcomes.length - removedRouters, removedRouters };
      });
    this.viewQueue = applied;
    return applied;
  }

  /**
   * Load balancer nodes published on the uplink address (published-ports.ts): exactly these, of
   * what can be (attached here, each port once, first come keeps it); returns what is published.
   */
  publish(wanted: readonly PublishedPort[]): Promise<PublishedPort[]> {
    return this.published.apply(wanted);
  }

  /** The address a public task is seen from outside: the uplink's (undefined for a private task or a host without an uplink). */
  async publicIpv4(taskId: string): Promise<string | undefined> {
    const attachment = this.read(taskId);
    if (!attachment?.assignPublicIp) return undefined;
    return this.options.firewall?.uplinkAddress();
  }

  /** reserve + connect: the task's network, ready to use. */
  async attach(taskId: string, network: TaskNetworkInput): Promise<TaskAttachment> {
    await this.reserve(taskId, network);
    return this.connect(taskId);
  }

  /**
   * Checks the spec's interface, records it and creates the task's network namespace, so
   * containers can be created in it; the VPC's router is built meanwhile, and connect plugs the
   * namespace into it.
   */
  async reserve(taskId: string, network: TaskNetworkInput, ids?: IdRange): Promise<TaskAttachment> {
    const spec = allocatedNetwork(taskId, network);
    const recorded = this.read(taskId);
    if (recorded && existsSync(recorded.netnsPath) && (!ids || (recorded.userNamespacePath && existsSync(recorded.userNamespacePath)))) return recorded;
    const routerNetns = routerNames(this.options.stateDir, spec.vpcId).netns;
    const attachment = describeAttachment(taskId, spec, { region: this.options.region, routerNetns, mtu: this.taskMtu, withUserNamespace: ids !== undefined });
    // Written before anything is created, so a crash part-way leaves enough to clean up.
    writeFileAtomic(this.recordPath(taskId), JSON.stringify(attachment));
    // Before the router's `ip netns add` and the task's namespace race for /run/netns (netns-directory.ts).
    await ensureNetnsDirectory(this.run);
    const vpc: VpcIdentity = { vpcId: spec.vpcId, vpcCidr: spec.vpcCidr, vni: spec.vni };
    const router = this.routers.serialised(spec.vpcId, () => this.routers.ensure(vpc));
    router.catch(() => undefined);
    this.pendingRouters.set(taskId, router);
    if (ids) {
      const { userNamespacePath, netnsPath } = taskLinkNames(taskId);
      // Anything an interrupted reserve left is removed first: the helper creates both files anew.
      if (recorded) await this.removeTaskLinks(recorded.routerNetns, { ...attachment, userNamespacePath });
      // `ip netns add` would make /run/netns on a fresh host; the helper only creates files in it.
      mkdirSync(USER_NAMESPACES_DIR, { recursive: true, mode: 0o700 });
      mkdirSync(dirname(netnsPath), { recursive: true, mode: 0o755 });
      await this.run(nativeHelperPath(), ["namespaces", String(ids.base), String(ids.size), userNamespacePath, netnsPath]);
    } else {
      await this.run("ip", ["netns", "add", attachment.netnsName]);
    }
    if (!recorded) this.freshNamespaces.add(taskId);
    return attachment;
  }

  /** Plugs a reserved namespace into its VPC's router: veth, static route and neighbour, policy, then the task's address and routes. */
  async connect(taskId: string): Promise<TaskAttachment> {
    const attachment = this.read(taskId);
    if (!attachment) throw new Error(`task ${taskId} has no reserved network`);
    if (attachment.connected) return attachment;
    await this.pendingRouters.get(taskId)?.catch(() => undefined);
    this.pendingRouters.delete(taskId);
    const { vpcId, hostVeth, netnsName, macAddress, ipv4, prefixLength, gateway, mtu } = attachment;
    await this.routers.serialised(vpcId, async () => {
      const router = await this.routers.ensure(attachment);
      // Only an earlier, interrupted connect can have left this task's veth behind.
      if (!this.freshNamespaces.delete(taskId)) await this.removeRouterVeth(router.netns, hostVeth);
      // The router's table (with this port, its source and its groups) goes in alongside: until
      // then the port's packets match no source element and are dropped (it fails closed).
      await Promise.all([
        this.run("ip", ["-n", router.netns, "-batch", "-"], {
          input: [
            `link add ${hostVeth} mtu ${mtu} type veth peer name eth0 mtu ${mtu} address ${macAddress} netns ${netnsName}`,
            `link set ${hostVeth} up`,
            `addr replace ${gateway}/32 dev lo`,
            `route replace ${ipv4}/32 dev ${hostVeth}`,
            `neigh replace ${ipv4} lladdr ${macAddress} dev ${hostVeth} nud permanent`,
            "",
          ].join("\n"),
        }),
        this.routers.applyPolicy(
          router,
          this.policyOf(
            vpcId,
            this.list().filter((task) => task.vpcId === vpcId),
          ),
        ),
        // A router made here (its VPC's first task on this host) has its host route now, not at the next view.
        this.routers.applyHostRoute(router, this.defaultVpcCidr(vpcId)),
      ]);
    });
    await this.run("ip", ["-n", netnsName, "-batch", "-"], {
      input: [
        `link set lo up`,
        `addr add ${ipv4}/${prefixLength} dev eth0 noprefixroute`,
        `link set eth0 up`,
        `route add ${gateway} dev eth0 scope link`,
        `route add default via ${gateway} dev eth0`,
        "",
      ].join("\n"),
    });
    const connected: TaskAttachment = { ...attachment, connected: true };
    writeFileAtomic(this.recordPath(taskId), JSON.stringify(connected));
    return connected;
  }

  async detach(taskId: string): Promise<void> {
    this.freshNamespaces.delete(taskId);
    await this.pendingRouters.get(taskId)?.catch(() => undefined);
    this.pendingRouters.delete(taskId);
    const attachment = this.read(taskId);
    const names = taskLinkNames(taskId);
    if (!attachment) {
      // Without a readable record (one cut short by a power loss) the names still follow from the
      // id; the veth dies with the namespace, and the router's entries for it match nothing.
      await this.removeTaskLinks(undefined, names);
      rmSync(this.recordPath(taskId), { force: true });
      return;
    }
    await this.routers.serialised(attachment.vpcId, async () => {
      await this.removeTaskLinks(attachment.routerNetns, { ...names, ...attachment });
      rmSync(this.recordPath(taskId), { force: true });
      const router = this.routers.record(attachment.vpcId);
      const rest = this.list().filter((task) => task.vpcId === attachment.vpcId);
      if (router && existsSync(router.netnsPath) && rest.length > 0) await this.routers.applyPolicy(router, this.policyOf(attachment.vpcId, rest));
    });
  }

  private async removeRouterVeth(routerNetns: string, hostVeth: string): Promise<void> {
    if (!existsSync(join("/run/netns", routerNetns))) return;
    await this.run("ip", ["-n", routerNetns, "-force", "-batch", "-"], { input: `link del ${hostVeth}\n` }).catch(ignoreMissing);
  }

  // The router end first: deleting a veth removes its peer synchronously, whereas deleting the
  // namespace first leaves the kernel to tear the pair down later from a workqueue.
  private async removeTaskLinks(
    routerNetns: string | undefined,
    attachment: Pick<TaskAttachment, "netnsName" | "netnsPath" | "hostVeth" | "userNamespacePath">,
  ): Promise<void> {
    if (routerNetns) await this.removeRouterVeth(routerNetns, attachment.hostVeth);
    if (existsSync(attachment.netnsPath))
      await this.run("ip", ["-force", "-batch", "-"], { input: `netns del ${attachment.netnsName}\n` }).catch(ignoreMissing);
    const userNamespace = attachment.userNamespacePath;
    if (userNamespace && existsSync(userNamespace)) {
      // Lazily: a container process still holding the namespace must not fail the teardown.
      await this.run("umount", ["-l", userNamespace]).catch((error: Error) => {
        if (!/not mounted/.test(error.message)) throw error;
      });
      rmSync(userNamespace, { force: true });
    }
  }
}
