// Which internet-facing load balancer nodes a host publishes on its public address (its uplink's),
// at which listener ports, and where placement moves a node that cannot be published where it is.
// A load balancer has a node per subnet (load-balancer-nodes.ts); each is published on its own host.
//
// A host has one public address, so a port there is one node's. Precedence: the OLDEST LISTENER on
// that port among the internet-facing nodes of the host (then its ARN, then the node's interface),
// so a port once published stays with its load balancer while that listener lives: a listener
// created later never takes it over, whoever's load balancer it belongs to. A port lost that way is
// not published for the later listener (its load balancer is still reached at its private
// addresses); two nodes of one load balancer on one host publish through the first of them.
// Placement (src/control/load-balancer-nodes.ts) moves a node on a host with no public address to
// an ACTIVE host with one serving its subnet's zone where all its ports are free and no other node
// would lose one; when none can take it, it stays. A node already on a host with a public address
// stays there (a contested port stays unpublished): a host's public address is its agent's word,
// and a host claiming one must not pull other hosts' nodes (their certificates) to itself.
// Internal load balancers are never published; ports below 1024 other than 80 and 443 never are.
//
// DescribeLoadBalancers reports the host's address as the zone's LoadBalancerAddresses[].IpAddress
// ("the static IP address") for each node whose every listener port is published.
import type { HostRecord, NetworkInterfaceRecord, Repositories, StoredListener, StoredLoadBalancer, SubnetRecord } from "../store/index.js";

export interface PublishingNode {
  /** The node's interface id: what a published port belongs to. */
  readonly eniId: string;
  readonly loadBalancerArn: string;
  readonly internetFacing: boolean;
  readonly listeners: readonly Pick<StoredListener, "arn" | "port" | "createdAt">[];
}

/**
 * Ports a load balancer may take on a host's address: 80, 443 and the unprivileged ones. The host's
 * own services live below 1024 (sshd's 22, …); the agent also refuses any port the host listens on.
 */
export const publishablePort = (port: number) => port === 80 || port === 443 || (port >= 1024 && port <= 65535);

/** Per node (interface id) of one host, the listener ports published on the host's address (sorted). */
export function publishedPorts(nodes: readonly PublishingNode[]): Map<string, number[]> {
  const claims = nodes
    .filter((node) => node.internetFacing)
    .flatMap((node) => node.listeners.filter((listener) => publishablePort(listener.port)).map((listener) => ({ node: node.eniId, ...listener })))
    .sort((a, b) => a.createdAt - b.createdAt || a.arn.localeCompare(b.arn) || a.node.localeCompare(b.node));
  const taken = new Map<number, string>();
  for (const claim of claims) if (!taken.has(claim.port)) taken.set(claim.port, claim.node);
  const result = new Map<string, number[]>(nodes.map((node) => [node.eniId, []]));
  for (const [port, eniId] of taken) result.get(eniId)!.push(port);
  for (const ports of result.values()) ports.sort((a, b) => a - b);
  return result;
}

/** Internet-facing, with listeners, and every one of them published. */
export function fullyPublished(node: PublishingNode, published: ReadonlyMap<string, readonly number[]>): boolean {
  const ports = new Set(published.get(node.eniId) ?? []);
  return node.internetFacing && node.listeners.length > 0 && node.listeners.every((listener) => ports.has(listener.port));
}

export function publishingNode(eniId: string, loadBalancer: StoredLoadBalancer, listeners: readonly StoredListener[]): PublishingNode {
  return {
    eniId,
    loadBalancerArn: loadBalancer.arn,
    internetFacing: (loadBalancer.loadBalancer.Scheme ?? "internet-facing") === "internet-facing",
    listeners: listeners.filter((listener) => listener.loadBalancerArn === loadBalancer.arn),
  };
}

/** What placement needs of the fleet to move nodes for publishing. */
export interface PublishingPlacement {
  readonly hosts: readonly HostRecord[];
  readonly subnets: readonly SubnetRecord[];
  readonly zonesOf: (host: HostRecord, subnets: readonly SubnetRecord[]) => ReadonlySet<string>;
  readonly describe: (loadBalancerArn: string) => string;
  /** Nodes per ACTIVE host (updated as nodes move) and the most one host takes: a move never passes it. */
  readonly load: Map<string, number>;
  readonly maxNodesPerHost: number;
}

/**
 * Moves nodes that are not fully published to a host where they would be (and nobody there would
 * lose a port); returns the hosts whose nodes changed. Within the placement transaction.
 */
export async function relocateForPublishing(
  tx: Repositories,
  interfaces: readonly NetworkInterfaceRecord[],
  placement: PublishingPlacement,
): Promise<string[]> {
  const listeners = await tx.elbv2.listListeners();
  const byDescription = new Map((await tx.elbv2.listLoadBalancers()).map((lb) => [placement.describe(lb.arn), lb]));
  const publicHosts = placement.hosts.filter((host) => host.publicAddress !== undefined);
  // Per node (interface id): its host, what it publishes and its interface.
  const where = new Map<string, string>();
  const nodes = new Map<string, PublishingNode>();
  const nodesOn = (hostId: string) => [...where].filter(([, host]) => host === hostId).map(([eniId]) => nodes.get(eniId)!);
  const enis = new Map<string, NetworkInterfaceRecord>();
  for (const eni of interfaces) {
    const loadBalancer = byDescription.get(eni.description);
    if (!loadBalancer || eni.hostId === undefined) continue;
    nodes.set(eni.eniId, publishingNode(eni.eniId, loadBalancer, listeners));
    enis.set(eni.eniId, eni);
    where.set(eni.eniId, eni.hostId);
  }
  const changed = new Set<string>();
  const ordered = [...nodes.values()].filter((node) => node.internetFacing && node.listeners.length > 0);
  for (const node of ordered) {
    const current = where.get(node.eniId)!;
    // Only a node on a host with no public address moves: a host that claims one (an agent's word,
    // unchecked) must not be able to pull another host's published node to itself.
    if (publicHosts.some((host) => host.hostId === current)) continue;
    const subnet = placement.subnets.find((candidate) => candidate.subnetId === enis.get(node.eniId)!.subnetId);
    if (!subnet) continue;
    const target = publicHosts.find((host) => {
      if (host.hostId === current || !placement.zonesOf(host, placement.subnets).has(subnet.availabilityZone)) return false;
      if ((placement.load.get(host.hostId) ?? placement.maxNodesPerHost) >= placement.maxNodesPerHost) return false;
      const before = publishedPorts(nodesOn(host.hostId));
      const after = publishedPorts([...nodesOn(host.hostId), node]);
      return fullyPublished(node, after) && [...before].every(([eniId, ports]) => after.get(eniId)!.length === ports.length);
    });
    if (!target) continue;
    await tx.networkInterfaces.setHost(node.eniId, target.hostId);
    where.set(node.eniId, target.hostId);
    placement.load.set(target.hostId, placement.load.get(target.hostId)! + 1);
    if (placement.load.has(current)) placement.load.set(current, placement.load.get(current)! - 1);
    changed.add(current).add(target.hostId);
  }
  return [...changed];
}
