// Berth's own read-only view of the account's default network (VPC, subnets, security groups),
// until the networking issue serves them through the EC2 API. AWS JSON 1.1, target prefix
// BerthNetwork_20261122, SigV4 signing name "berth"; `berth network` is its client.
import type { DefaultNetwork } from "../core/default-network.js";
import type { JsonServiceModule } from "./service-module.js";

export const NETWORK_TARGET_PREFIX = "BerthNetwork_20261122";
export const NETWORK_SIGNING_NAME = "berth";

export function createNetworkService(network: DefaultNetwork): JsonServiceModule {
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
      DescribeDefaultNetwork: () => ({
        vpc: { vpcId: network.vpcId, cidrBlock: network.cidrBlock, isDefault: true },
        subnets: network.subnets,
        securityGroups: network.securityGroups,
      }),
    },
  };
}
