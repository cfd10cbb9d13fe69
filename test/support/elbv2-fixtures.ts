// What the ELBv2 integration tests share: SDK clients for a test server, the seeded default VPC's
// subnets (one per zone) and a second VPC of their own with a subnet and a security group.
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import assert from "node:assert/strict";
import type { TestServer } from "./server.js";
import { sdkConfig } from "./server.js";

export interface Elbv2Fixture {
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ec2: EC2Client;
  readonly vpcId: string;
  /** The default VPC's subnets, ordered by zone. */
  readonly subnets: readonly { readonly id: string; readonly zone: string; readonly cidr: string }[];
  readonly otherVpcId: string;
  readonly otherSubnetId: string;
  readonly otherGroupId: string;
}

export async function elbv2Fixture(server: TestServer): Promise<Elbv2Fixture> {
  const ec2 = new EC2Client(sdkConfig(server));
  const vpcId = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }))).Vpcs![0]!.VpcId!;
  const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] })))
    .Subnets!.map((subnet) => ({
      id: subnet.SubnetId!,
      zone: subnet.AvailabilityZone!,
      cidr: subnet.CidrBlock!,
    }))
    .sort((a, b) => a.zone.localeCompare(b.zone));
  const otherVpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.20.0.0/16" }))).Vpc!.VpcId!;
  const otherSubnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: otherVpcId, CidrBlock: "10.20.1.0/24", AvailabilityZone: subnets[0]!.zone }))).Subnet!
    .SubnetId!;
  const otherGroupId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: otherVpcId, GroupName: "other", Description: "other" }))).GroupId!;
  return { elb: new ElasticLoadBalancingV2Client(sdkConfig(server)), ec2, vpcId, subnets, otherVpcId, otherSubnetId, otherGroupId };
}

/**
 * An SDK call's ELBv2 error: the SDK names a modeled error by its shape (the wire code
 * DuplicateListener arrives as DuplicateListenerException), an unmodeled one (ValidationError)
 * by the wire code itself.
 */
export async function rejectsWithElbError(promise: Promise<unknown>, code: string, message?: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error.name === code || error.name === `${code}Exception`, `${error.name}: ${error.message}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  });
}
