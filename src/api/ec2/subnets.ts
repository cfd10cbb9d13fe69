// DescribeSubnets, CreateSubnet, DeleteSubnet and ModifySubnetAttribute
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html and siblings).
// A subnet's block is /16../28, inside its VPC's (InvalidSubnet.Range) and overlapping no other
// subnet of the VPC (InvalidSubnet.Conflict); its zone is one of the region's (the first when
// none is named). AWS keeps five addresses of each subnet, so AvailableIpAddressCount is the
// block's size less five less the interfaces in it. Writes run under the store's "network" lock:
// the overlap check and the insert are one step for every replica.
import type {
  CreateSubnetRequest,
  CreateSubnetResult,
  DeleteSubnetRequest,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  ModifySubnetAttributeRequest,
  Subnet,
} from "@aws-sdk/client-ec2";
import { cidrContains, cidrsOverlap, parseCidr, usableAddressCount } from "../../core/ec2/cidr.js";
import { newEc2Id } from "../../core/ec2/ec2-ids.js";
import type { FilterFields } from "../../core/ec2/filters.js";
import { compileFilters } from "../../core/ec2/filters.js";
import { printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { SubnetRecord } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { regionZones } from "./availability-zones.js";
import { invalidParameterCombination, invalidParameterValue, refuseDryRun } from "./ec2-errors.js";
import { checkId, checkIds, notFound, page, requireAll, specifiedTags, toTagList } from "./ec2-resource-inputs.js";
import type { Ec2NetworkOperationsOptions } from "./vpcs.js";
import { checkBlock } from "./vpcs.js";

/** EC2's default quota of subnets per VPC. */
export const SUBNETS_PER_VPC = 200;

export function toSubnet(context: RequestContext, subnet: SubnetRecord, interfaces: number, tags: ReadonlyMap<string, string> | undefined): Subnet {
  const cidr = parseCidr(subnet.cidrBlock);
  const zone = regionZones(context.region).find((candidate) => candidate.ZoneName === subnet.availabilityZone);
  return {
    SubnetId: subnet.subnetId,
    SubnetArn: `arn:${context.partition}:ec2:${context.region}:${subnet.ownerId}:subnet/${subnet.subnetId}`,
    VpcId: subnet.vpcId,
    OwnerId: subnet.ownerId,
    CidrBlock: subnet.cidrBlock,
    AvailabilityZone: subnet.availabilityZone,
    AvailabilityZoneId: zone?.ZoneId,
    AvailableIpAddressCount: Math.max(0, (cidr ? usableAddressCount(cidr) : 0) - interfaces),
    DefaultForAz: subnet.defaultForAz,
    MapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch,
    MapCustomerOwnedIpOnLaunch: false,
    AssignIpv6AddressOnCreation: false,
    EnableDns64: false,
    Ipv6Native: false,
    Ipv6CidrBlockAssociationSet: [],
    PrivateDnsNameOptionsOnLaunch: { HostnameType: "ip-name", EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    State: subnet.state === "available" ? "available" : "pending",
    Tags: toTagList(tags),
  };
}

/** DescribeSubnets' filters, with the camel-case aliases EC2 still accepts. */
const SUBNET_FILTERS: FilterFields<Subnet> = {
  "subnet-id": (subnet) => subnet.SubnetId,
  "subnet-arn": (subnet) => subnet.SubnetArn,
  "vpc-id": (subnet) => subnet.VpcId,
  "availability-zone": (subnet) => subnet.AvailabilityZone,
  availabilityZone: (subnet) => subnet.AvailabilityZone,
  "availability-zone-id": (subnet) => subnet.AvailabilityZoneId,
  "available-ip-address-count": (subnet) => subnet.AvailableIpAddressCount,
  availableIpAddressCount: (subnet) => subnet.AvailableIpAddressCount,
  "cidr-block": (subnet) => subnet.CidrBlock,
  cidr: (subnet) => subnet.CidrBlock,
  cidrBlock: (subnet) => subnet.CidrBlock,
  "default-for-az": (subnet) => subnet.DefaultForAz,
  defaultForAz: (subnet) => subnet.DefaultForAz,
  "map-public-ip-on-launch": (subnet) => subnet.MapPublicIpOnLaunch,
  "owner-id": (subnet) => subnet.OwnerId,
  state: (subnet) => subnet.State,
};

export async function describeSubnets(
  options: Ec2NetworkOperationsOptions,
  input: DescribeSubnetsRequest,
  context: RequestContext,
): Promise<DescribeSubnetsResult> {
  refuseDryRun(input);
  const ids = checkIds("subnet", input.SubnetIds);
  const matches = compileFilters(input.Filters, SUBNET_FILTERS);
  const records = await options.store.vpcs.listSubnets(ids);
  requireAll(
    "subnet",
    ids,
    records.map((subnet) => subnet.subnetId),
  );
  const counts = await options.store.vpcs.interfaceCounts();
  const tags = await options.store.ec2Tags.byResource(records.map((subnet) => subnet.subnetId));
  const subnets = records
    .map((subnet) => toSubnet(context, subnet, counts.get(subnet.subnetId) ?? 0, tags.get(subnet.subnetId)))
    .filter((subnet) => matches(subnet, tags.get(subnet.SubnetId ?? "") ?? new Map()));
  const { items, NextToken } = page(subnets, (subnet) => subnet.SubnetId ?? "", input, { parameter: "subnetIds", given: ids !== undefined });
  return { Subnets: items, NextToken };
}

/** The zone a CreateSubnet names by name or id (the region's first when neither). */
function subnetZone(input: CreateSubnetRequest, region: string): string {
  const zones = regionZones(region);
  if (input.AvailabilityZone !== undefined && input.AvailabilityZoneId !== undefined) {
    throw invalidParameterCombination("Only one of availabilityZone or availabilityZoneId may be specified.");
  }
  const zone =
    input.AvailabilityZone !== undefined
      ? zones.find((candidate) => candidate.ZoneName === input.AvailabilityZone)
      : input.AvailabilityZoneId !== undefined
        ? zones.find((candidate) => candidate.ZoneId === input.AvailabilityZoneId)
        : zones[0];
  if (!zone?.ZoneName) {
    const parameter = input.AvailabilityZone !== undefined ? "availabilityZone" : "availabilityZoneId";
    const value = input.AvailabilityZone ?? input.AvailabilityZoneId ?? "";
    const names = zones.map((candidate) => (parameter === "availabilityZone" ? candidate.ZoneName : candidate.ZoneId)).join(", ");
    throw invalidParameterValue(
      `Value (${printable(value)}) for parameter ${parameter} is invalid. Subnets can currently only be created in the following availability zones: ${names}.`,
    );
  }
  return zone.ZoneName;
}

export async function createSubnet(options: Ec2NetworkOperationsOptions, input: CreateSubnetRequest, context: RequestContext): Promise<CreateSubnetResult> {
  refuseDryRun(input);
  if (input.Ipv6CidrBlock !== undefined || input.Ipv6Native === true || input.Ipv4IpamPoolId !== undefined || input.Ipv6IpamPoolId !== undefined) {
    throw invalidParameterValue("IPv6 and IPAM subnets are not supported by this endpoint.");
  }
  const vpcId = checkId("vpc", input.VpcId);
  const cidrBlock = checkBlock(input.CidrBlock, "InvalidSubnet.Range");
  const zone = subnetZone(input, context.region);
  const tags = specifiedTags(input.TagSpecifications, "subnet");
  const block = parseCidr(cidrBlock);
  const subnet = await options.store.exclusively("network", async (tx) => {
    const vpc = await tx.vpcs.getVpc(vpcId);
    if (!vpc) throw notFound("vpc", vpcId);
    const vpcBlock = parseCidr(vpc.cidrBlock);
    if (!block || !vpcBlock || !cidrContains(vpcBlock, block)) throw new AwsError("InvalidSubnet.Range", `The CIDR '${cidrBlock}' is invalid.`);
    const siblings = (await tx.vpcs.listSubnets()).filter((other) => other.vpcId === vpcId);
    if (siblings.some((other) => cidrsOverlap(parseCidr(other.cidrBlock) ?? block, block))) {
      throw new AwsError("InvalidSubnet.Conflict", `The CIDR '${cidrBlock}' conflicts with another subnet`);
    }
    if (siblings.length >= SUBNETS_PER_VPC) throw new AwsError("SubnetLimitExceeded", "The maximum number of subnets has been reached.");
    const record = {
      subnetId: newEc2Id("subnet"),
      vpcId,
      ownerId: context.accountId,
      cidrBlock,
      availabilityZone: zone,
      defaultForAz: false,
      mapPublicIpOnLaunch: false,
      createdAtMs: options.clock.now(),
    };
    await tx.vpcs.createSubnet(record);
    await tx.ec2Tags.put(record.subnetId, tags);
    return { ...record, state: "available" };
  });
  return { Subnet: toSubnet(context, subnet, 0, tags) };
}

export async function deleteSubnet(options: Ec2NetworkOperationsOptions, input: DeleteSubnetRequest): Promise<Record<string, never>> {
  refuseDryRun(input);
  const subnetId = checkId("subnet", input.SubnetId);
  // A load balancer in the subnet is a dependency, as an interface is.
  const outcome = await options.store.exclusively("network", async (tx) =>
    (await tx.elbv2.usesNetworkResource(subnetId)) ? ("has-dependencies" as const) : tx.vpcs.deleteSubnet(subnetId),
  );
  if (outcome === "missing") throw notFound("subnet", subnetId);
  if (outcome === "has-dependencies") throw new AwsError("DependencyViolation", `The subnet '${subnetId}' has dependencies and cannot be deleted.`);
  return {};
}

export async function modifySubnetAttribute(options: Ec2NetworkOperationsOptions, input: ModifySubnetAttributeRequest): Promise<Record<string, never>> {
  const subnetId = checkId("subnet", input.SubnetId);
  const others = [
    input.AssignIpv6AddressOnCreation,
    input.MapCustomerOwnedIpOnLaunch,
    input.EnableDns64,
    input.EnableResourceNameDnsARecordOnLaunch,
    input.EnableResourceNameDnsAAAARecordOnLaunch,
  ];
  if (
    others.some((attribute) => attribute?.Value === true) ||
    input.CustomerOwnedIpv4Pool !== undefined ||
    input.PrivateDnsHostnameTypeOnLaunch !== undefined
  ) {
    throw invalidParameterValue("Only the MapPublicIpOnLaunch attribute of a subnet can be modified on this endpoint.");
  }
  const value = input.MapPublicIpOnLaunch?.Value;
  if (value === undefined) {
    if (others.some((attribute) => attribute !== undefined)) return {};
    throw invalidParameterCombination("No attributes specified.");
  }
  if (!(await options.store.vpcs.setMapPublicIpOnLaunch(subnetId, value))) throw notFound("subnet", subnetId);
  return {};
}
