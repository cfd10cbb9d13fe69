// CreateSecurityGroup, DeleteSecurityGroup and DescribeSecurityGroups
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html and siblings).
// A new group has no inbound rule and AWS's one outbound rule (all traffic to 0.0.0.0/0); names
// are unique per VPC, case-insensitively. A VPC's "default" group cannot be deleted, nor a group
// an interface is in or another group's rule names. Writes run under the store's "network" lock,
// so a check and the write it guards are one step for every replica.
import type {
  CreateSecurityGroupRequest,
  CreateSecurityGroupResult,
  DeleteSecurityGroupRequest,
  DeleteSecurityGroupResult,
  DescribeSecurityGroupsRequest,
  DescribeSecurityGroupsResult,
  SecurityGroup,
} from "@aws-sdk/client-ec2";
import { newEc2Id } from "../../core/ec2/ec2-ids.js";
import { compileFilters } from "../../core/ec2/filters.js";
import { newGroupRules, printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { Repositories } from "../../store/index.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import type { RequestContext } from "../service-module.js";
import { refuseDryRun } from "./ec2-errors.js";
import { specifiedTags, toTagList } from "./ec2-resource-inputs.js";
import type { SecurityGroupOperationsOptions } from "./security-group-lookup.js";
import { announceNetworkChange, defaultVpcId, namedGroup, noDefaultVpc } from "./security-group-lookup.js";
import {
  checkGroupId,
  checkGroupText,
  checkMaxResults,
  groupNotFound,
  groupNotFoundInVpc,
  invalidNextToken,
  SECURITY_GROUP_FILTERS,
  securityGroupArn,
  toSecurityGroup,
} from "./security-group-shapes.js";

/** EC2's default quota of security groups per VPC ("VPC security groups per Region" is 2,500). */
export const GROUPS_PER_VPC = 2500;

export async function createSecurityGroup(
  options: SecurityGroupOperationsOptions,
  input: CreateSecurityGroupRequest,
  context: RequestContext,
): Promise<CreateSecurityGroupResult> {
  refuseDryRun(input);
  const groupName = checkGroupText("GroupName", input.GroupName);
  const description = checkGroupText("GroupDescription", input.Description);
  const tags = specifiedTags(input.TagSpecifications, "security-group");
  const groupId = newEc2Id("sg");
  const nowMs = options.clock.now();
  await options.store.exclusively("network", async (tx) => {
    const vpcId = await targetVpc(tx, input.VpcId);
    if (await tx.securityGroups.findByName(vpcId, groupName)) {
      throw new AwsError("InvalidGroup.Duplicate", `The security group '${printable(groupName)}' already exists for VPC '${vpcId}'`);
    }
    if ((await tx.securityGroups.countGroups(vpcId)) >= GROUPS_PER_VPC) {
      throw new AwsError("SecurityGroupLimitExceeded", "The maximum number of security groups has been reached.");
    }
    await tx.securityGroups.insertGroup({ groupId, vpcId, ownerId: context.accountId, groupName, description, createdAtMs: nowMs });
    await tx.securityGroups.insertRules(newGroupRules().map((rule) => ({ ...rule, ruleId: newEc2Id("sgr"), groupId, createdAtMs: nowMs })));
    await tx.ec2Tags.put(groupId, tags);
  });
  return { GroupId: groupId, Tags: toTagList(tags), SecurityGroupArn: securityGroupArn(context, groupId) };
}

/** The VPC a new group goes in: the one named (it must exist) or the default VPC. */
async function targetVpc(tx: Pick<Repositories, "vpcs">, vpcId: string | undefined): Promise<string> {
  if (vpcId === undefined || vpcId === "") {
    const found = await defaultVpcId(tx);
    if (found === undefined) throw noDefaultVpc();
    return found;
  }
  if (!(await tx.vpcs.getVpc(vpcId))) throw new AwsError("InvalidVpcID.NotFound", `The vpc ID '${printable(vpcId)}' does not exist`);
  return vpcId;
}

export async function deleteSecurityGroup(
  options: SecurityGroupOperationsOptions,
  input: DeleteSecurityGroupRequest,
  _context: RequestContext,
): Promise<DeleteSecurityGroupResult> {
  refuseDryRun(input);
  const nowMs = options.clock.now();
  return options.store.exclusively("network", async (tx) => {
    const group = await namedGroup(tx, input);
    if (group.groupName === "default") {
      throw new AwsError("CannotDelete", `the specified group: "${group.groupId}" name: "default" cannot be deleted by a user`);
    }
    // An interface in the group, another group's rule naming it, or a load balancer using it is a dependent object.
    if (
      (await tx.securityGroups.countInterfaces(group.groupId)) > 0 ||
      (await tx.securityGroups.rulesReferencing(group.groupId)).length > 0 ||
      (await tx.elbv2.usesNetworkResource(group.groupId))
    ) {
      throw new AwsError("DependencyViolation", `resource ${group.groupId} has a dependent object`);
    }
    await tx.securityGroups.deleteGroup(group.groupId);
    await announceNetworkChange(tx, nowMs);
    return { Return: true, GroupId: group.groupId };
  });
}

interface DescribeCursor {
  readonly after: string;
}

const isCursor = (value: unknown): value is DescribeCursor =>
  typeof value === "object" && value !== null && typeof (value as DescribeCursor).after === "string" && (value as DescribeCursor).after.length <= 64;

export async function describeSecurityGroups(
  options: SecurityGroupOperationsOptions,
  input: DescribeSecurityGroupsRequest,
  context: RequestContext,
): Promise<DescribeSecurityGroupsResult> {
  refuseDryRun(input);
  const limit = checkMaxResults(input.MaxResults);
  const cursor = decodeToken(input.NextToken, isCursor, invalidNextToken);
  const matches = compileFilters(input.Filters, SECURITY_GROUP_FILTERS);
  const groupIds = (input.GroupIds ?? []).map(checkGroupId);
  const { store } = options;
  const named = await namedGroups(store, groupIds, input.GroupNames ?? []);
  const groups = (named ?? (await store.securityGroups.listGroups())).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  const rules = await store.securityGroups.rulesOf(groups.map((group) => group.groupId));
  const rulesByGroup = new Map<string, typeof rules>();
  for (const rule of rules) rulesByGroup.set(rule.groupId, [...(rulesByGroup.get(rule.groupId) ?? []), rule]);
  const tags = await store.ec2Tags.byResource(groups.map((group) => group.groupId));
  const owners = new Map(
    (await store.securityGroups.getGroups(rules.flatMap((rule) => rule.referencedGroupId ?? []))).map((group) => [group.groupId, group.ownerId]),
  );
  const answered: SecurityGroup[] = [];
  for (const group of groups) {
    if (cursor && group.groupId <= cursor.after) continue;
    const shape = toSecurityGroup(context, group, rulesByGroup.get(group.groupId) ?? [], tags.get(group.groupId), (id) => owners.get(id));
    if (!matches(shape, tags.get(group.groupId) ?? new Map())) continue;
    if (answered.length === limit) return { SecurityGroups: answered, NextToken: encodeToken({ after: answered[answered.length - 1]?.GroupId }) };
    answered.push(shape);
  }
  return { SecurityGroups: answered };
}

/** The groups GroupIds and GroupNames name (every one must exist), or undefined when they name none. */
async function namedGroups(store: Pick<Repositories, "securityGroups" | "vpcs">, groupIds: readonly string[], groupNames: readonly string[]) {
  if (groupIds.length === 0 && groupNames.length === 0) return undefined;
  const found = await store.securityGroups.getGroups(groupIds);
  const missing = groupIds.find((id) => !found.some((group) => group.groupId === id));
  if (missing !== undefined) throw groupNotFound(missing);
  if (groupNames.length > 0) {
    const vpcId = await defaultVpcId(store);
    if (vpcId === undefined) throw noDefaultVpc();
    for (const name of new Set(groupNames)) {
      const group = await store.securityGroups.findByName(vpcId, name);
      if (!group) throw groupNotFoundInVpc(name, vpcId);
      if (!found.some((candidate) => candidate.groupId === group.groupId)) found.push(group);
    }
  }
  return found;
}
