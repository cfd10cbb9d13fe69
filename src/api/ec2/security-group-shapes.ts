// Security groups and rules as EC2 answers them (API_SecurityGroup.html, API_SecurityGroupRule.html,
// API_IpPermission.html), the Describe filters they answer to, and the requests' own checks that
// need no store (names, descriptions, ids, MaxResults); tags are checked by ec2-resource-inputs.ts.
//
// DescribeSecurityGroups folds a group's rules back into IpPermissions: one per direction,
// protocol and port range, listing its CIDRs (IpRanges) and groups (UserIdGroupPairs); rules for
// all protocols carry no ports there, while DescribeSecurityGroupRules lists them with -1.
import type { IpPermission, SecurityGroup, SecurityGroupRule } from "@aws-sdk/client-ec2";
import { buildArn } from "../../core/arn.js";
import { isEc2Id } from "../../core/ec2/ec2-ids.js";
import type { FilterFields } from "../../core/ec2/filters.js";
import type { SecurityGroupRuleFields } from "../../core/ec2/security-group-rules.js";
import { printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { toTagList } from "./ec2-resource-inputs.js";
import { invalidParameterValue, missingParameter } from "./ec2-errors.js";

export const securityGroupArn = (context: RequestContext, groupId: string) =>
  buildArn({ partition: context.partition, region: context.region, accountId: context.accountId }, "ec2", `security-group/${groupId}`);

export const securityGroupRuleArn = (context: RequestContext, ruleId: string) =>
  buildArn({ partition: context.partition, region: context.region, accountId: context.accountId }, "ec2", `security-group-rule/${ruleId}`);

/** Rules of one direction folded into IpPermissions, in the order their first rule was listed. */
export function toIpPermissions(rules: readonly SecurityGroupRuleFields[], ownerOf: (groupId: string) => string | undefined): IpPermission[] {
  const permissions = new Map<
    string,
    IpPermission & { IpRanges: NonNullable<IpPermission["IpRanges"]>; UserIdGroupPairs: NonNullable<IpPermission["UserIdGroupPairs"]> }
  >();
  for (const rule of rules) {
    const key = `${rule.ipProtocol}|${rule.fromPort}|${rule.toPort}`;
    const permission = permissions.get(key) ?? {
      IpProtocol: rule.ipProtocol,
      ...(rule.ipProtocol === "-1" ? {} : { FromPort: rule.fromPort, ToPort: rule.toPort }),
      IpRanges: [],
      Ipv6Ranges: [],
      PrefixListIds: [],
      UserIdGroupPairs: [],
    };
    permissions.set(key, permission);
    if (rule.cidrIpv4 !== undefined)
      permission.IpRanges.push({ CidrIp: rule.cidrIpv4, ...(rule.description !== undefined ? { Description: rule.description } : {}) });
    if (rule.referencedGroupId !== undefined) {
      permission.UserIdGroupPairs.push({
        GroupId: rule.referencedGroupId,
        UserId: ownerOf(rule.referencedGroupId),
        ...(rule.description !== undefined ? { Description: rule.description } : {}),
      });
    }
  }
  return [...permissions.values()];
}

export function toSecurityGroup(
  context: RequestContext,
  group: SecurityGroupRecord,
  rules: readonly SecurityGroupRuleRecord[],
  tags: ReadonlyMap<string, string> | undefined,
  ownerOf: (groupId: string) => string | undefined,
): SecurityGroup {
  return {
    GroupId: group.groupId,
    GroupName: group.groupName,
    Description: group.description,
    OwnerId: group.ownerId,
    VpcId: group.vpcId,
    SecurityGroupArn: securityGroupArn(context, group.groupId),
    IpPermissions: toIpPermissions(
      rules.filter((rule) => !rule.isEgress),
      ownerOf,
    ),
    IpPermissionsEgress: toIpPermissions(
      rules.filter((rule) => rule.isEgress),
      ownerOf,
    ),
    Tags: toTagList(tags),
  };
}

export function toSecurityGroupRule(
  context: RequestContext,
  rule: SecurityGroupRuleRecord,
  ownerId: string,
  tags: ReadonlyMap<string, string> | undefined,
  ownerOf: (groupId: string) => string | undefined,
): SecurityGroupRule {
  return {
    SecurityGroupRuleId: rule.ruleId,
    GroupId: rule.groupId,
    GroupOwnerId: ownerId,
    IsEgress: rule.isEgress,
    IpProtocol: rule.ipProtocol,
    FromPort: rule.fromPort,
    ToPort: rule.toPort,
    ...(rule.cidrIpv4 !== undefined ? { CidrIpv4: rule.cidrIpv4 } : {}),
    ...(rule.referencedGroupId !== undefined ? { ReferencedGroupInfo: { GroupId: rule.referencedGroupId, UserId: ownerOf(rule.referencedGroupId) } } : {}),
    ...(rule.description !== undefined ? { Description: rule.description } : {}),
    SecurityGroupRuleArn: securityGroupRuleArn(context, rule.ruleId),
    Tags: toTagList(tags),
  };
}

/** What DescribeSecurityGroups' filters read: the group as answered. */
const permissionFields = (select: (group: SecurityGroup) => IpPermission[] | undefined): FilterFields<SecurityGroup> => ({
  cidr: (group) => (select(group) ?? []).flatMap((permission) => (permission.IpRanges ?? []).map((range) => range.CidrIp)),
  "from-port": (group) => (select(group) ?? []).map((permission) => permission.FromPort ?? -1),
  "to-port": (group) => (select(group) ?? []).map((permission) => permission.ToPort ?? -1),
  protocol: (group) => (select(group) ?? []).map((permission) => permission.IpProtocol),
  "group-id": (group) => (select(group) ?? []).flatMap((permission) => (permission.UserIdGroupPairs ?? []).map((pair) => pair.GroupId)),
  "user-id": (group) => (select(group) ?? []).flatMap((permission) => (permission.UserIdGroupPairs ?? []).map((pair) => pair.UserId)),
});

const prefixed = (prefix: string, fields: FilterFields<SecurityGroup>): FilterFields<SecurityGroup> =>
  Object.fromEntries(Object.entries(fields).map(([name, field]) => [`${prefix}${name}`, field]));

/** The filters of DescribeSecurityGroups (API_DescribeSecurityGroups.html); tag:<key>, tag-key and tag-value come with the matcher. */
export const SECURITY_GROUP_FILTERS: FilterFields<SecurityGroup> = {
  "group-id": (group) => group.GroupId,
  "group-name": (group) => group.GroupName,
  description: (group) => group.Description,
  "owner-id": (group) => group.OwnerId,
  "vpc-id": (group) => group.VpcId,
  ...prefixed(
    "ip-permission.",
    permissionFields((group) => group.IpPermissions),
  ),
  ...prefixed(
    "egress.ip-permission.",
    permissionFields((group) => group.IpPermissionsEgress),
  ),
};

/** The filters of DescribeSecurityGroupRules (API_DescribeSecurityGroupRules.html). */
export const SECURITY_GROUP_RULE_FILTERS: FilterFields<SecurityGroupRule> = {
  "group-id": (rule) => rule.GroupId,
  "security-group-rule-id": (rule) => rule.SecurityGroupRuleId,
};

// Characters EC2 allows in a group's name and description (API_CreateSecurityGroup.html).
const GROUP_TEXT = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;

/** Checks CreateSecurityGroup's GroupName or Description (both required, up to 255 characters). */
export function checkGroupText(parameter: "GroupName" | "GroupDescription", value: string | undefined): string {
  if (value === undefined || value === "") throw missingParameter(parameter);
  // wording not confirmed against AWS (the next two)
  if (value.length > 255)
    throw invalidParameterValue(`Value (${printable(value)}) for parameter ${parameter} is invalid. Length exceeds maximum of 255 characters.`);
  if (!GROUP_TEXT.test(value)) {
    throw invalidParameterValue(
      `Value (${printable(value)}) for parameter ${parameter} is invalid. Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*`,
    );
  }
  if (parameter === "GroupName" && value.toLowerCase().startsWith("sg-")) {
    throw invalidParameterValue(`Value (${printable(value)}) for parameter GroupName is invalid. Group names may not be in the format sg-*.`);
  }
  return value;
}

export function checkGroupId(groupId: string): string {
  if (!isEc2Id(groupId, "sg")) throw new AwsError("InvalidGroupId.Malformed", `Invalid id: "${printable(groupId)}" (expecting "sg-...")`);
  return groupId;
}

export function checkRuleId(ruleId: string): string {
  if (!isEc2Id(ruleId, "sgr")) throw new AwsError("InvalidSecurityGroupRuleId.Malformed", `Invalid id: "${printable(ruleId)}" (expecting "sgr-...")`);
  return ruleId;
}

export const groupNotFound = (group: string) => new AwsError("InvalidGroup.NotFound", `The security group '${printable(group)}' does not exist`);

export const groupNotFoundInVpc = (name: string, vpcId: string) =>
  new AwsError("InvalidGroup.NotFound", `The security group '${printable(name)}' does not exist in default VPC '${vpcId}'`);

export const ruleIdNotFound = (ruleId: string) =>
  new AwsError("InvalidSecurityGroupRuleId.NotFound", `The security group rule ID '${printable(ruleId)}' does not exist`);

/** MaxResults of the Describe operations: 5 to 1000 (EC2's bounds), everything when absent. */
export function checkMaxResults(maxResults: number | undefined): number {
  if (maxResults === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 1000) {
    throw invalidParameterValue(`Value ( ${maxResults} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.`);
  }
  return maxResults;
}

export const invalidNextToken = () => new AwsError("InvalidPaginationToken", "The specified pagination token is not valid.");
