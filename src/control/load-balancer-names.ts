// The load balancer names a host's VPC resolvers answer (src/agent/vpc-resolvers.ts): for every
// VPC of a host's network view, each load balancer with a node there, its DNSName and the node's
// private address. Carried in the view (loadBalancers), so a host learns them with its VPCs and
// every change to a node's interface (placed, moved, released) re-answers every host's poll.
import type { HostNetworkView, LoadBalancerName } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { ELB_REQUESTER_ID, nodeDescription } from "./load-balancer-nodes.js";

/** The view with the names of its VPCs' load balancers (none when the view has no VPC). */
export async function withLoadBalancerNames(view: HostNetworkView, store: Pick<Store, "elbv2" | "networkInterfaces">): Promise<HostNetworkView> {
  const vpcIds = new Set(view.vpcs.map((vpc) => vpc.vpcId));
  if (vpcIds.size === 0) return view;
  const interfaces = new Map((await store.networkInterfaces.listByRequester(ELB_REQUESTER_ID)).map((eni) => [eni.description, eni]));
  const names: LoadBalancerName[] = [];
  for (const loadBalancer of await store.elbv2.listLoadBalancers()) {
    const eni = interfaces.get(nodeDescription(loadBalancer.arn));
    const dnsName = loadBalancer.loadBalancer.DNSName;
    if (!eni || dnsName === undefined || !vpcIds.has(eni.vpcId)) continue;
    names.push({ vpcId: eni.vpcId, dnsName, privateIpv4Address: eni.privateIpv4 });
  }
  return { ...view, loadBalancers: names };
}
