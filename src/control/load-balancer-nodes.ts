// Where each load balancer's node runs, and what a host's nodes are told and tell back.
//
//   place()        (a leased loop, and after every ELBv2 or fleet change) every load balancer has
//                  a node in each of its subnets, as an ALB has one per zone: an interface ELB
//                  makes there (requester "amazon-elb", described "ELB app/<name>/<id>" as on AWS,
//                  every node of a load balancer alike) on the least loaded ACTIVE host serving
//                  the subnet's zone; a node whose host is gone moves to another (same interface
//                  and address, so clients keep the address); the interfaces of deleted load
//                  balancers, and of subnets a load balancer no longer has, are released; each
//                  interface has its load balancer's security groups. The hosts concerned are woken.
//   nodesFor(h)    the nodes host h runs, each with its compiled model (poll answers); a node's
//                  id is its interface's (loadBalancerNodeId)
//   publishing     internet-facing nodes' listener ports on their host's public address, which
//                  node keeps a contested port, and moving nodes to be published: see
//                  load-balancer-publishing.ts; publishedAddresses() for DescribeLoadBalancers
//   recordHealth   what a host's nodes saw of their targets, kept for DescribeTargetHealth — only
//                  from the host running the load balancer's health-reporting node (its placed
//                  interface with the lowest id): every node checks every target and routes on
//                  what it sees, one speaks for the API, so nodes in different phases of their
//                  checks never make a target's state flap
import type { Clock } from "../core/clock.js";
import { AwsError } from "../core/errors.js";
import type { LoadBalancerNodeSpec, TargetHealthResult } from "../protocol/index.js";
import type { HostRecord, LeaseFence, NetworkInterfaceRecord, Repositories, Store, StoredListener, StoredLoadBalancer, SubnetRecord } from "../store/index.js";
import { publishedPorts, publishingNode, relocateForPublishing, fullyPublished } from "./load-balancer-publishing.js";
import { recordNodeHealth } from "./load-balancer-health.js";
import {
  compileLoadBalancerModel,
  forwardedTargetGroupArns,
  listenerCertificateArn,
  loadBalancerNodeId,
  targetGroupModelId,
} from "./load-balancer-model-compile.js";

export const ELB_REQUESTER_ID = "amazon-elb";
/**
 * The most nodes placed on one host: the protocol carries at most MAX_LOAD_BALANCER_NODES (64) in a
 * poll answer, and a node at the API's limits compiles to about 1.5 MB, so 32 stay well within the
 * 64 MiB an agent reads. A load balancer with no host left to take it waits (provisioning).
 */
export const MAX_NODES_PER_HOST = 32;

/** AWS's description of a load balancer's interface: "ELB app/my-alb/50dc6c495c0c9188". */
export const nodeDescription = (loadBalancerArn: string) => `ELB ${loadBalancerArn.slice(loadBalancerArn.indexOf(":loadbalancer/") + ":loadbalancer/".length)}`;

export interface LoadBalancerNodesOptions {
  readonly store: Pick<Store, "exclusively" | "elbv2" | "networkInterfaces" | "vpcs" | "hosts">;
  readonly clock: Clock;
  readonly accountId: string;
  /** Told which hosts' nodes changed (their long polls answer now). */
  readonly notifyHosts: (hostIds: readonly string[]) => void;
  /** An HTTPS listener's certificate bundle by ARN (listener-certificates.ts); absent: HTTPS listeners are not served. */
  readonly certificateBundle?: (arn: string) => Promise<string | undefined>;
}

export class LoadBalancerNodes {
  constructor(private readonly options: LoadBalancerNodesOptions) {}

  /** Gives every load balancer a node on an ACTIVE host; returns the hosts whose nodes changed. */
  async place(fence?: LeaseFence): Promise<string[]> {
    const woken = await this.options.store.exclusively(
      ["placement", "network"],
      async (tx) => {
        const changed = await placeNodes(tx, this.options.accountId, this.options.clock.now());
        if (changed.length > 0) tx.publishOnCommit("network", "interfaces");
        return changed;
      },
      fence,
    );
    if (woken.length > 0) this.options.notifyHosts(woken);
    return woken;
  }

  async nodesFor(hostId: string): Promise<LoadBalancerNodeSpec[]> {
    const { store } = this.options;
    const interfaces = await store.networkInterfaces.listByRequester(ELB_REQUESTER_ID, hostId);
    if (interfaces.length === 0) return [];
    const loadBalancers = new Map((await store.elbv2.listLoadBalancers()).map((lb) => [nodeDescription(lb.arn), lb]));
    const host = await store.hosts.get(hostId);
    const listeners = host?.publicAddress === undefined ? [] : await store.elbv2.listListeners();
    const mine = interfaces.flatMap((eni) => {
      const loadBalancer = loadBalancers.get(eni.description);
      return loadBalancer ? [publishingNode(eni.eniId, loadBalancer, listeners)] : [];
    });
    const published = publishedPorts(mine);
    const nodes: LoadBalancerNodeSpec[] = [];
    for (const eni of interfaces) {
      const loadBalancer = loadBalancers.get(eni.description);
      if (loadBalancer) nodes.push(await this.nodeSpec(loadBalancer, eni, published.get(eni.eniId) ?? []));
    }
    return nodes;
  }

  /**
   * Per load balancer, its nodes fully published on their hosts' public addresses: each node's
   * subnet and that address (DescribeLoadBalancers gives it as the zone's address).
   */
  async publishedAddresses(): Promise<Map<string, { subnetId: string; ipAddress: string }[]>> {
    const { store } = this.options;
    const interfaces = await store.networkInterfaces.listByRequester(ELB_REQUESTER_ID);
    const hosts = new Map((await store.hosts.list()).map((host) => [host.hostId, host]));
    const listeners = await store.elbv2.listListeners();
    const loadBalancers = new Map((await store.elbv2.listLoadBalancers()).map((lb) => [nodeDescription(lb.arn), lb]));
    const answer = new Map<string, { subnetId: string; ipAddress: string }[]>();
    for (const [hostId, host] of hosts) {
      if (host.publicAddress === undefined || host.status !== "ACTIVE") continue;
      const here = interfaces.flatMap((eni) => {
        const loadBalancer = eni.hostId === hostId ? loadBalancers.get(eni.description) : undefined;
        return loadBalancer ? [{ eni, node: publishingNode(eni.eniId, loadBalancer, listeners) }] : [];
      });
      const published = publishedPorts(here.map(({ node }) => node));
      for (const { eni, node } of here) {
        if (!fullyPublished(node, published)) continue;
        const addresses = answer.get(node.loadBalancerArn) ?? [];
        answer.set(node.loadBalancerArn, [...addresses, { subnetId: eni.subnetId, ipAddress: host.publicAddress }]);
      }
    }
    return answer;
  }

  /** Keeps the results for the target groups of this host's nodes; the rest is dropped (a host speaks for its own nodes only). */
  async recordHealth(hostId: string, results: readonly TargetHealthResult[]): Promise<void> {
    const { store, clock } = this.options;
    await recordNodeHealth(store, hostId, results, { requesterId: ELB_REQUESTER_ID, descriptionOf: nodeDescription, now: clock.now() });
  }

  /** The certificates of the HTTPS listeners (a certificate deleted or unreadable leaves its listener out). */
  private async certificatesOf(listeners: readonly StoredListener[]): Promise<Map<string, string>> {
    const bundles = new Map<string, string>();
    for (const listener of listeners) {
      const arn = listener.listener.Protocol === "HTTPS" ? listenerCertificateArn(listener) : undefined;
      if (arn === undefined || bundles.has(arn) || !this.options.certificateBundle) continue;
      const bundle = await this.options.certificateBundle(arn).catch(() => undefined);
      if (bundle !== undefined) bundles.set(arn, bundle);
    }
    return bundles;
  }

  private async nodeSpec(loadBalancer: StoredLoadBalancer, eni: NetworkInterfaceRecord, published: readonly number[]): Promise<LoadBalancerNodeSpec> {
    const { store, clock } = this.options;
    const listeners = await store.elbv2.listListeners(loadBalancer.arn);
    const rules = (await Promise.all(listeners.map((listener) => store.elbv2.listRules(listener.arn)))).flat();
    const groupArns = forwardedTargetGroupArns(listeners, rules);
    const targetGroups = [];
    for (const arn of groupArns) {
      const group = await store.elbv2.getTargetGroup(arn);
      if (group) targetGroups.push({ group, targets: await store.elbv2.listTargets(arn, clock.now()) });
    }
    const [vpc] = await store.vpcs.listVpcs([eni.vpcId]);
    const subnet = await store.vpcs.getSubnet(eni.subnetId);
    if (!vpc || !subnet) throw new Error(`load balancer ${loadBalancer.name}'s interface ${eni.eniId} has no VPC or subnet`);
    return {
      nodeId: loadBalancerNodeId(eni.eniId),
      loadBalancerArn: loadBalancer.arn,
      scheme: loadBalancer.loadBalancer.Scheme === "internal" ? "internal" : "internet-facing",
      publishedPorts: [...published],
      network: {
        vpcId: vpc.vpcId,
        vpcCidr: vpc.cidrBlock,
        vni: vpc.vni,
        subnetId: subnet.subnetId,
        subnetCidr: subnet.cidrBlock,
        eniId: eni.eniId,
        privateIpv4Address: eni.privateIpv4,
        macAddress: eni.macAddress,
        securityGroups: [...eni.groupIds],
        assignPublicIp: "DISABLED",
      },
      targetGroups: targetGroups.map((entry) => ({ id: targetGroupModelId(entry.group.arn), arn: entry.group.arn })),
      model: compileLoadBalancerModel({
        nodeId: loadBalancerNodeId(eni.eniId),
        loadBalancer,
        listeners,
        rules,
        targetGroups,
        certificates: await this.certificatesOf(listeners),
      }),
    };
  }
}

/** The zones a host serves: its subnets' (its own zone when it named none), as task placement has them. */
function zonesOf(host: HostRecord, subnets: readonly SubnetRecord[]): Set<string> {
  const zones = new Set(subnets.filter((subnet) => host.subnetIds.includes(subnet.subnetId)).map((subnet) => subnet.availabilityZone));
  return zones.size > 0 ? zones : new Set([host.availabilityZone]);
}

/** Where a load balancer's node in a subnet is kept: its interface's description and subnet. */
const nodeKey = (description: string, subnetId: string) => `${description} ${subnetId}`;

/** The subnets of a load balancer, each of which has a node: its AvailabilityZones' (SetSubnets changes them). */
const subnetIdsOf = (loadBalancer: StoredLoadBalancer) =>
  (loadBalancer.loadBalancer.AvailabilityZones ?? []).flatMap((zone) => (zone.SubnetId ? [zone.SubnetId] : []));

async function placeNodes(tx: Repositories, accountId: string, now: number): Promise<string[]> {
  const loadBalancers = await tx.elbv2.listLoadBalancers();
  const interfaces = new Map((await tx.networkInterfaces.listByRequester(ELB_REQUESTER_ID)).map((eni) => [nodeKey(eni.description, eni.subnetId), eni]));
  const hosts = (await tx.hosts.list()).filter((host) => host.status === "ACTIVE").sort((a, b) => a.hostId.localeCompare(b.hostId));
  const subnets = new Map((await tx.vpcs.listSubnets()).map((subnet) => [subnet.subnetId, subnet]));
  const load = new Map(hosts.map((host) => [host.hostId, 0]));
  for (const eni of interfaces.values()) if (eni.hostId !== undefined && load.has(eni.hostId)) load.set(eni.hostId, load.get(eni.hostId)! + 1);
  const changed = new Set<string>();
  const wanted = new Set<string>();
  for (const loadBalancer of loadBalancers) {
    const description = nodeDescription(loadBalancer.arn);
    for (const subnetId of subnetIdsOf(loadBalancer)) {
      const key = nodeKey(description, subnetId);
      wanted.add(key);
      const existing = interfaces.get(key);
      const groupIds = loadBalancer.loadBalancer.SecurityGroups ?? [];
      // SetSecurityGroups: the node's interface takes the load balancer's groups (its host's router applies them).
      if (existing && [...existing.groupIds].sort().join() !== [...groupIds].sort().join()) {
        await tx.networkInterfaces.setGroups(existing.eniId, groupIds);
        if (existing.hostId !== undefined) changed.add(existing.hostId);
      }
      if (existing?.hostId !== undefined && load.has(existing.hostId)) continue;
      const subnet = subnets.get(subnetId);
      const host = subnet && leastLoadedHost(subnet, hosts, [...subnets.values()], load);
      if (!subnet || !host) continue;
      load.set(host.hostId, load.get(host.hostId)! + 1);
      changed.add(host.hostId);
      if (existing) {
        if (existing.hostId !== undefined) changed.add(existing.hostId);
        await tx.networkInterfaces.setHost(existing.eniId, host.hostId);
        continue;
      }
      const allocated = await tx.networkInterfaces
        .allocate({
          subnet,
          ownerId: accountId,
          groupIds,
          description,
          requesterId: ELB_REQUESTER_ID,
          requesterManaged: true,
          hostId: host.hostId,
          createdAtMs: now,
        })
        // A full subnet leaves this node unplaced (provisioning) and the others are placed all the
        // same: the check runs after the subnet's reads, so the transaction is not aborted.
        .catch((error: unknown) => {
          if (error instanceof AwsError && error.code === "InsufficientFreeAddressesInSubnet") return undefined;
          throw error;
        });
      if (!allocated) load.set(host.hostId, load.get(host.hostId)! - 1);
    }
  }
  for (const [key, eni] of interfaces) {
    if (wanted.has(key)) continue;
    await tx.networkInterfaces.release(eni.eniId);
    if (eni.hostId !== undefined) changed.add(eni.hostId);
  }
  const placed = await tx.networkInterfaces.listByRequester(ELB_REQUESTER_ID);
  const placement = { hosts, subnets: [...subnets.values()], zonesOf, describe: nodeDescription, load, maxNodesPerHost: MAX_NODES_PER_HOST };
  for (const hostId of await relocateForPublishing(tx, placed, placement)) changed.add(hostId);
  return [...changed];
}

/** The least loaded ACTIVE host serving the subnet's zone that can take another node. */
function leastLoadedHost(
  subnet: SubnetRecord,
  hosts: readonly HostRecord[],
  subnets: readonly SubnetRecord[],
  load: ReadonlyMap<string, number>,
): HostRecord | undefined {
  // A host full of nodes takes no more: its poll answer must stay within what an agent reads.
  const serving = hosts.filter((host) => zonesOf(host, subnets).has(subnet.availabilityZone) && load.get(host.hostId)! < MAX_NODES_PER_HOST);
  return serving.sort((a, b) => load.get(a.hostId)! - load.get(b.hostId)!)[0];
}
