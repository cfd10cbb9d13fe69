// DescribeNetworkInterfaces and ModifyNetworkInterfaceAttribute (Groups)
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html).
// Interfaces are made by RunTask (one per awsvpc task, requester-managed by ECS) and described
// here as EC2 shows a Fargate task's ENI. Changing an interface's groups replaces them (at most
// five, each existing and in the interface's VPC), bumps the network generation and signals the
// "network" channel in the same transaction, so every host enforces the new groups.
import type {
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  ModifyNetworkInterfaceAttributeRequest,
  NetworkInterface,
} from "@aws-sdk/client-ec2";
import type { FilterFields } from "../../core/ec2/filters.js";
import { compileFilters } from "../../core/ec2/filters.js";
import { isEc2Id } from "../../core/ec2/ec2-ids.js";
import { printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { NetworkInterfaceRecord } from "../../store/index.js";
import { invalidParameterValue, missingParameter, refuseDryRun } from "./ec2-errors.js";
import { checkId, checkIds, notFound, page, requireAll, toTagList } from "./ec2-resource-inputs.js";
import type { Ec2NetworkOperationsOptions } from "./vpcs.js";
import { ELB_REQUESTER_ID } from "../../control/load-balancer-nodes.js";

/** EC2's default quota of security groups per network interface. */
export const GROUPS_PER_INTERFACE = 5;

export function toNetworkInterface(
  eni: NetworkInterfaceRecord,
  groupNames: ReadonlyMap<string, string>,
  tags: ReadonlyMap<string, string> | undefined,
): NetworkInterface {
  const association = eni.publicIpv4 === undefined ? undefined : { PublicIp: eni.publicIpv4, IpOwnerId: "amazon" };
  return {
    NetworkInterfaceId: eni.eniId,
    SubnetId: eni.subnetId,
    VpcId: eni.vpcId,
    AvailabilityZone: eni.availabilityZone,
    Description: eni.description,
    Groups: eni.groupIds.map((groupId) => ({ GroupId: groupId, GroupName: groupNames.get(groupId) })),
    InterfaceType: eni.interfaceType as NetworkInterface["InterfaceType"],
    MacAddress: eni.macAddress,
    OwnerId: eni.ownerId,
    PrivateIpAddress: eni.privateIpv4,
    PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: eni.privateIpv4, Association: association }],
    Ipv6Addresses: [],
    RequesterId: eni.requesterId,
    RequesterManaged: eni.requesterManaged,
    SourceDestCheck: true,
    Status: eni.status,
    Association: association,
    Attachment: {
      AttachmentId: eni.attachmentId,
      AttachTime: new Date(eni.createdAtMs),
      DeleteOnTermination: false,
      DeviceIndex: 1,
      NetworkCardIndex: 0,
      InstanceOwnerId: eni.requesterManaged ? "amazon-aws" : eni.ownerId,
      Status: eni.status === "in-use" ? "attached" : "detached",
    },
    TagSet: toTagList(tags),
  };
}

const INTERFACE_FILTERS: FilterFields<NetworkInterface> = {
  "network-interface-id": (eni) => eni.NetworkInterfaceId,
  "subnet-id": (eni) => eni.SubnetId,
  "vpc-id": (eni) => eni.VpcId,
  "availability-zone": (eni) => eni.AvailabilityZone,
  "private-ip-address": (eni) => eni.PrivateIpAddress,
  "addresses.private-ip-address": (eni) => eni.PrivateIpAddresses?.map((address) => address.PrivateIpAddress),
  "addresses.primary": (eni) => eni.PrivateIpAddresses?.map((address) => address.Primary),
  "addresses.association.public-ip": (eni) => eni.Association?.PublicIp,
  "association.public-ip": (eni) => eni.Association?.PublicIp,
  "association.ip-owner-id": (eni) => eni.Association?.IpOwnerId,
  "group-id": (eni) => eni.Groups?.map((group) => group.GroupId),
  "group-name": (eni) => eni.Groups?.map((group) => group.GroupName),
  description: (eni) => eni.Description,
  status: (eni) => eni.Status,
  "attachment.attachment-id": (eni) => eni.Attachment?.AttachmentId,
  "attachment.status": (eni) => eni.Attachment?.Status,
  "attachment.device-index": (eni) => eni.Attachment?.DeviceIndex,
  "attachment.instance-owner-id": (eni) => eni.Attachment?.InstanceOwnerId,
  "attachment.delete-on-termination": (eni) => eni.Attachment?.DeleteOnTermination,
  "attachment.attach-time": (eni) => eni.Attachment?.AttachTime?.toISOString(),
  "mac-address": (eni) => eni.MacAddress,
  "owner-id": (eni) => eni.OwnerId,
  "requester-id": (eni) => eni.RequesterId,
  "requester-managed": (eni) => eni.RequesterManaged,
  "interface-type": (eni) => eni.InterfaceType,
  "source-dest-check": (eni) => eni.SourceDestCheck,
};

export async function describeNetworkInterfaces(
  options: Ec2NetworkOperationsOptions,
  input: DescribeNetworkInterfacesRequest,
): Promise<DescribeNetworkInterfacesResult> {
  refuseDryRun(input);
  const ids = checkIds("eni", input.NetworkInterfaceIds);
  const matches = compileFilters(input.Filters, INTERFACE_FILTERS);
  const records = await options.store.networkInterfaces.list(ids);
  requireAll(
    "eni",
    ids,
    records.map((eni) => eni.eniId),
  );
  const groupIds = [...new Set(records.flatMap((eni) => eni.groupIds))];
  const groupNames = new Map((await options.store.securityGroups.getGroups(groupIds)).map((group) => [group.groupId, group.groupName]));
  const tags = await options.store.ec2Tags.byResource(records.map((eni) => eni.eniId));
  const interfaces = records
    .map((eni) => toNetworkInterface(eni, groupNames, tags.get(eni.eniId)))
    .filter((eni) => matches(eni, tags.get(eni.NetworkInterfaceId ?? "") ?? new Map()));
  const { items, NextToken } = page(interfaces, (eni) => eni.NetworkInterfaceId ?? "", input, {
    parameter: "networkInterfaceIds",
    given: ids !== undefined,
  });
  return { NetworkInterfaces: items, NextToken };
}

function checkGroupIds(groups: readonly string[]): string[] {
  if (groups.length === 0) throw missingParameter("groupId");
  if (groups.length > GROUPS_PER_INTERFACE) {
    throw new AwsError("SecurityGroupsPerInterfaceLimitExceeded", "The maximum number of security groups per interface has been reached.");
  }
  for (const groupId of groups) {
    if (!isEc2Id(groupId, "sg")) throw new AwsError("InvalidGroupId.Malformed", `Invalid id: "${printable(groupId)}" (expecting "sg-...")`);
  }
  return [...new Set(groups)];
}

export async function modifyNetworkInterfaceAttribute(
  options: Ec2NetworkOperationsOptions,
  input: ModifyNetworkInterfaceAttributeRequest,
): Promise<Record<string, never>> {
  refuseDryRun(input);
  const eniId = checkId("eni", input.NetworkInterfaceId);
  if (input.Groups === undefined) {
    // Berth's interfaces have no source/destination check, description or attachment to change.
    throw invalidParameterValue("Only the Groups attribute of a network interface can be modified on this endpoint.");
  }
  const groupIds = checkGroupIds(input.Groups);
  const nowMs = options.clock.now();
  await options.store.exclusively("network", async (tx) => {
    const eni = await tx.networkInterfaces.get(eniId);
    if (!eni) throw notFound("eni", eniId);
    // A load balancer's interface follows its load balancer's groups; changed here, ELBv2 would show others than it enforces.
    if (eni.requesterManaged && eni.requesterId === ELB_REQUESTER_ID) {
      throw new AwsError("OperationNotPermitted", `The network interface '${eniId}' is managed by Elastic Load Balancing and cannot be modified.`); // wording not confirmed
    }
    const groups = await tx.securityGroups.getGroups(groupIds);
    for (const groupId of groupIds) {
      const group = groups.find((candidate) => candidate.groupId === groupId);
      if (!group) throw new AwsError("InvalidGroup.NotFound", `The security group '${groupId}' does not exist`);
      if (group.vpcId !== eni.vpcId) throw new AwsError("InvalidParameter", "You have specified two resources that belong to different networks.");
    }
    await tx.networkInterfaces.setGroups(eniId, groupIds);
    const generation = await tx.controlPlaneState.increment("network-generation", nowMs);
    tx.publishOnCommit("network", String(generation));
  });
  return {};
}
