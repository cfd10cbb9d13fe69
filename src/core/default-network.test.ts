import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultNetwork } from "./default-network.js";

test("the default network has one /20 subnet per availability zone of the region", () => {
  const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
  assert.equal(network.cidrBlock, "172.31.0.0/16");
  assert.deepEqual(
    network.subnets.map((s) => [s.availabilityZone, s.cidrBlock]),
    [
      ["us-east-1a", "172.31.0.0/20"],
      ["us-east-1b", "172.31.16.0/20"],
      ["us-east-1c", "172.31.32.0/20"],
      ["us-east-1d", "172.31.48.0/20"],
      ["us-east-1e", "172.31.64.0/20"],
      ["us-east-1f", "172.31.80.0/20"],
    ],
  );
  for (const subnet of network.subnets) assert.match(subnet.subnetId, /^subnet-[0-9a-f]{17}$/);
  assert.match(network.vpcId, /^vpc-[0-9a-f]{17}$/);
  assert.equal(network.securityGroups[0]!.groupName, "default");
});

test("ids are stable for an account and region and differ between accounts", () => {
  const a = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
  assert.deepEqual(a, defaultNetwork({ accountId: "123456789012", region: "us-east-1" }));
  assert.notEqual(a.vpcId, defaultNetwork({ accountId: "210987654321", region: "us-east-1" }).vpcId);
});

test("a configured VPC CIDR is used and a too-small one refused", () => {
  const network = defaultNetwork({ accountId: "123456789012", region: "us-west-2", vpcCidr: "10.20.0.0/16" });
  assert.equal(network.subnets[1]!.cidrBlock, "10.20.16.0/20");
  assert.throws(() => defaultNetwork({ accountId: "123456789012", region: "us-east-1", vpcCidr: "10.0.0.0/20" }), RangeError);
});
