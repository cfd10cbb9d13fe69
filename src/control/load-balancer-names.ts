// The load balancer names a host's VPC resolvers answer (src/agent/vpc-resolvers.ts): for every
// VPC of a host's network view, each load balancer with nodes there, its DNSName and each node's
// private address (one entry per node: a load balancer has one per subnet). Carried in the view (loadBalancers), so a host learns them with its VPCs and
// every change to a node's interface (placed, moved, released) re-answers every host's poll.
import type { HostNetworkView, LoadBalancerName } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { ELB_REQUESTER_ID, nodeDescription } from "./load-balancer-nodes.js";

/** The view with the names of its VPCs' load balancers (none when the view has no VPC). */
export async function withLoadBalancerNames(view: HostNetworkView, store: Pick<Store, "elbv2" | "networkInterfaces" | "hosts">): Promise<HostNetworkView> {
  const vpcIds = new Set(view.vpcs.map((vpc) => vpc.vpcId));
  if (vpcIds.size === 0) return view;
  // Only nodes on ACTIVE hosts: a node left on a lost host (its zone served by no other) serves nobody.
  const active = new Set((await store.hosts.list()).filter((host) => host.status === "ACTIVE").map((host) => host.hostId));
  const interfaces = (await store.networkInterfaces.listByRequester(ELB_REQUESTER_ID)).filter((eni) => eni.hostId !== undefined && active.has(eni.hostId));
  const names: LoadBalancerName[] = [];
  for (const loadBalancer of await store.elbv2.listLoadBalancers()) {
    const description = nodeDescription(loadBalancer.arn);
    const dnsName = loadBalancer.loadBalancer.DNSName;
    if (dnsName === undefined) continue;
    for (const eni of interfaces) {
      if (eni.description === description && vpcIds.has(eni.vpcId)) names.push({ vpcId: eni.vpcId, dnsName, privateIpv4Address: eni.privateIpv4 });
    }
  }
  return { ...view, loadBalancers: names };
}
