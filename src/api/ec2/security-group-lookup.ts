// Finding the security group an EC2 request names, inside the transaction that then changes it,
// and telling hosts that what they enforce changed.
//
// A group is named by GroupId, or (ingress, revoke, delete and describe: EC2's older form) by
// GroupName in the default VPC; a rule's source or destination group by id or by name in the
// rule's group's VPC, and it must be in that VPC (EC2: groups of another VPC need peering, which
// Berth has not).
import type { Clock } from "../../core/clock.js";
import type { RequestedPeer } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { Repositories, SecurityGroupRecord, Store, TransactionRepositories } from "../../store/index.js";
import { checkGroupId, groupNotFound, groupNotFoundInVpc } from "./security-group-shapes.js";

export interface SecurityGroupOperationsOptions {
  readonly store: Store;
  readonly clock: Clock;
}

type Reads = Pick<Repositories, "securityGroups" | "vpcs">;

export const noDefaultVpc = () =>
  new AwsError("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.");

/** The default VPC's id; `undefined` when the user deleted it. */
export async function defaultVpcId(tx: Pick<Repositories, "vpcs">): Promise<string | undefined> {
  return (await tx.vpcs.listVpcs()).find((vpc) => vpc.isDefault)?.vpcId;
}

/** The group a request names by GroupId or, in the default VPC, by GroupName. */
export async function namedGroup(
  tx: Reads,
  reference: { readonly GroupId?: string | undefined; readonly GroupName?: string | undefined },
): Promise<SecurityGroupRecord> {
  if (reference.GroupId !== undefined && reference.GroupId !== "") {
    const [group] = await tx.securityGroups.getGroups([checkGroupId(reference.GroupId)]);
    if (!group) throw groupNotFound(reference.GroupId);
    return group;
  }
  if (reference.GroupName === undefined || reference.GroupName === "") {
    throw new AwsError("MissingParameter", "The request must contain the parameter groupName or groupId");
  }
  const vpcId = await defaultVpcId(tx);
  if (vpcId === undefined) throw noDefaultVpc();
  const group = await tx.securityGroups.findByName(vpcId, reference.GroupName);
  if (!group) throw groupNotFoundInVpc(reference.GroupName, vpcId);
  return group;
}

/** The id of a rule's peer group: it must exist and be in `vpcId`. */
export async function peerGroupId(tx: Reads, peer: Exclude<RequestedPeer, { cidrIpv4: string }>, vpcId: string): Promise<string> {
  if ("groupName" in peer) {
    const group = await tx.securityGroups.findByName(vpcId, peer.groupName);
    if (!group) throw groupNotFound(peer.groupName);
    return group.groupId;
  }
  const [group] = await tx.securityGroups.getGroups([checkGroupId(peer.groupId)]);
  // A group of another VPC is not found from this one (no peering).
  if (!group || group.vpcId !== vpcId) throw groupNotFound(peer.groupId);
  return group.groupId;
}

/**
 * Bumps the network generation and signals it on the "network" channel when the transaction
 * commits: every host's next poll answer then carries the new rules (src/control/host-network-view.ts).
 */
export async function announceNetworkChange(tx: TransactionRepositories, nowMs: number): Promise<void> {
  const generation = await tx.controlPlaneState.increment("network-generation", nowMs);
  tx.publishOnCommit("network", String(generation));
}
