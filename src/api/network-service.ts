// Berth's own read-only summary of the account's default network, for `berth network` and
// `berth demo`: the default VPC, its subnets and its "default" security group, read from the EC2
// store (the same rows `aws ec2 describe-vpcs` shows, seeded at server start by
// control/default-vpc.ts). AWS JSON 1.1, target prefix BerthNetwork_20261122, SigV4 signing name
// "berth".
//
// A default VPC the user deleted stays deleted (as in AWS, default-vpc.ts seeds once per store):
// the call then fails with EC2's own words for "no default VPC" (VPCIdNotSpecified, "No default
// VPC for this user", what EC2 answers a call that needs one), which `berth network` explains.
import { AwsError } from "../core/errors.js";
import type { Repositories, SubnetRecord } from "../store/index.js";
import type { JsonServiceModule } from "./service-module.js";

export const NETWORK_TARGET_PREFIX = "BerthNetwork_20261122";
export const NETWORK_SIGNING_NAME = "berth";
/** The error code of "this account has no default VPC" (EC2's, see the header). */
export const NO_DEFAULT_VPC_CODE = "VPCIdNotSpecified";

/** The answer of DescribeDefaultNetwork, as `berth network` and `berth demo` read it. */
export interface DescribedDefaultNetwork {
  readonly vpc: { readonly vpcId: string; readonly cidrBlock: string; readonly isDefault: true };
  readonly subnets: readonly {
    readonly subnetId: string;
    readonly availabilityZone: string;
    readonly cidrBlock: string;
    readonly vpcId: string;
    readonly defaultForAz: boolean;
  }[];
  readonly securityGroups: readonly { readonly groupId: string; readonly groupName: string; readonly description: string; readonly vpcId: string }[];
}

/** Subnets by zone, then by address: the order `berth network` prints them in. */
function byZoneThenAddress(a: SubnetRecord, b: SubnetRecord): number {
  if (a.availabilityZone !== b.availabilityZone) return a.availabilityZone < b.availabilityZone ? -1 : 1;
  return addressNumber(a.cidrBlock) - addressNumber(b.cidrBlock);
}

function addressNumber(cidrBlock: string): number {
  const [address = ""] = cidrBlock.split("/");
  return address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

export async function describeDefaultNetworkFromStore(store: Pick<Repositories, "vpcs" | "securityGroups">): Promise<DescribedDefaultNetwork> {
  const vpc = (await store.vpcs.listVpcs()).find((candidate) => candidate.isDefault);
  if (!vpc) throw new AwsError(NO_DEFAULT_VPC_CODE, "No default VPC for this user");
  const subnets = (await store.vpcs.listSubnets()).filter((subnet) => subnet.vpcId === vpc.vpcId).sort(byZoneThenAddress);
  const group = await store.securityGroups.findByName(vpc.vpcId, "default");
  return {
    vpc: { vpcId: vpc.vpcId, cidrBlock: vpc.cidrBlock, isDefault: true },
    subnets: subnets.map((subnet) => ({
      subnetId: subnet.subnetId,
      availabilityZone: subnet.availabilityZone,
      cidrBlock: subnet.cidrBlock,
      vpcId: subnet.vpcId,
      defaultForAz: subnet.defaultForAz,
    })),
    securityGroups: group ? [{ groupId: group.groupId, groupName: group.groupName, description: group.description, vpcId: group.vpcId }] : [],
  };
}

export function createNetworkService(store: Pick<Repositories, "vpcs" | "securityGroups">): JsonServiceModule {
  return {
    signingName: NETWORK_SIGNING_NAME,
    targetPrefix: NETWORK_TARGET_PREFIX,
    jsonVersion: "1.1",
    // Its input schema in the encoding the SDK clients export (schema-validation.ts): an empty
    // structure, so only a JSON object is accepted.
    schemas: {
      DescribeDefaultNetwork$: [
        9,
        "berth",
        "DescribeDefaultNetwork",
        0,
        [3, "berth", "DescribeDefaultNetworkRequest", 0, [], []],
        [3, "berth", "DescribeDefaultNetworkResponse", 0, [], []],
      ],
    },
    operations: {
      DescribeDefaultNetwork: () => describeDefaultNetworkFromStore(store),
    },
  };
}
