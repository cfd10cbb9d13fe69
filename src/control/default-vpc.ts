// The account's default VPC as an ordinary EC2 VPC in the store
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html): the VPC of
// core/default-network.ts (172.31.0.0/16 by default), is_default, a default /20 subnet per zone
// with MapPublicIpOnLaunch on (as AWS's default subnets), and its "default" security group with
// AWS's default rules. Seeded at every server start, idempotently: under the store's "network"
// lock, every insert ON CONFLICT DO NOTHING, and only once per store ("default-vpc" in the
// control-plane state), so two replicas starting at once make one, and a default VPC the user
// deleted stays deleted, as in AWS. Ids are derived from account and region (every replica
// computes the same).
import type { DefaultNetwork } from "../core/default-network.js";
import { resourceId } from "../core/default-network.js";
import type { Store } from "../store/index.js";

export interface DefaultVpcSeed {
  readonly network: DefaultNetwork;
  readonly accountId: string;
  readonly region: string;
  readonly nowMs: number;
}

/** Seeds the default VPC unless this store ever had it; true when this call created it. */
export async function seedDefaultVpc(store: Pick<Store, "exclusively">, seed: DefaultVpcSeed): Promise<boolean> {
  const { network, accountId, region, nowMs } = seed;
  const group = network.securityGroups.find((candidate) => candidate.groupName === "default");
  if (!group) throw new Error("the default network has no default security group");
  return store.exclusively("network", async (tx) => {
    const marker = await tx.controlPlaneState.createOnce("default-vpc", network.vpcId, nowMs);
    if (!marker.created) return false;
    await tx.vpcs.createVpc({
      vpcId: network.vpcId,
      ownerId: accountId,
      cidrBlock: network.cidrBlock,
      isDefault: true,
      createdAtMs: nowMs,
      defaultGroup: {
        groupId: group.groupId,
        description: group.description,
        ingressRuleId: resourceId("sgr", accountId, region, group.groupId, "ingress"),
        egressRuleId: resourceId("sgr", accountId, region, group.groupId, "egress"),
      },
    });
    for (const subnet of network.subnets) {
      await tx.vpcs.createSubnet({
        subnetId: subnet.subnetId,
        vpcId: network.vpcId,
        ownerId: accountId,
        cidrBlock: subnet.cidrBlock,
        availabilityZone: subnet.availabilityZone,
        defaultForAz: true,
        mapPublicIpOnLaunch: true,
        createdAtMs: nowMs,
      });
    }
    return true;
  });
}
