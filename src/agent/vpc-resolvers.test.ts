import { test } from "node:test";
import assert from "node:assert/strict";
import { vpcNamesOf } from "./vpc-resolvers.js";

test("each VPC's resolver knows its load balancers and the private names of its interfaces, here and on other hosts, and nothing of another VPC", () => {
  const names = vpcNamesOf(
    {
      vpcs: [
        { vpcId: "vpc-a", cidrBlock: "10.0.0.0/16", vni: 1, isDefault: false, subnets: [] },
        { vpcId: "vpc-b", cidrBlock: "10.0.0.0/16", vni: 2, isDefault: false, subnets: [] },
      ],
      interfaces: [{ eniId: "eni-1", taskId: "t1", vpcId: "vpc-a", privateIpv4Address: "10.0.1.4", securityGroupIds: [] }],
      peers: [{ vpcId: "vpc-a", privateIpv4Address: "10.0.2.7", hostAddress: "192.0.2.9" }],
      loadBalancers: [
        { vpcId: "vpc-b", dnsName: "internal-web-1.eu-west-1.elb.amazonaws.com", privateIpv4Address: "10.0.1.4" },
        { vpcId: "vpc-b", dnsName: "Internal-web-1.eu-west-1.elb.amazonaws.com.", privateIpv4Address: "10.0.2.4" },
        { vpcId: "vpc-z", dnsName: "stray.elb.amazonaws.com", privateIpv4Address: "10.9.9.9" },
      ],
    },
    "eu-west-1",
  );
  assert.deepEqual([...names.keys()], ["vpc-a", "vpc-b"]);
  assert.deepEqual(
    [...names.get("vpc-a")!.names],
    [
      ["ip-10-0-1-4.eu-west-1.compute.internal", ["10.0.1.4"]],
      ["ip-10-0-2-7.eu-west-1.compute.internal", ["10.0.2.7"]],
    ],
  );
  assert.deepEqual([...names.get("vpc-b")!.names], [["internal-web-1.eu-west-1.elb.amazonaws.com", ["10.0.1.4", "10.0.2.4"]]]);
  assert.deepEqual(names.get("vpc-a")!.zones, ["eu-west-1.compute.internal"]);
});
