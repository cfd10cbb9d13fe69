// The rules of a security group: AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/
// Egress, DescribeSecurityGroupRules, ModifySecurityGroupRules and UpdateSecurityGroupRule-
// DescriptionsIngress/Egress (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/).
//
//   request ──parsePermissions (no store)──▶ requested rules ──┐
//                                                              ▼  Store.exclusively("network")
//          the group, its peers resolved in its VPC, duplicates and quota checked, rows written,
//          network generation bumped and signalled at commit ──▶ hosts re-read their views
//
// Revoking by properties follows EC2's two behaviours: in the default VPC unknown rules are answered
// in UnknownIpPermissions and the known ones revoked; elsewhere one unknown rule is
// InvalidPermission.NotFound and nothing is revoked.
import type {
  AuthorizeSecurityGroupEgressRequest,
  AuthorizeSecurityGroupEgressResult,
  AuthorizeSecurityGroupIngressRequest,
  AuthorizeSecurityGroupIngressResult,
  IpPermission,
  RevokeSecurityGroupEgressRequest,
  RevokeSecurityGroupEgressResult,
  RevokeSecurityGroupIngressRequest,
  RevokeSecurityGroupIngressResult,
  RevokedSecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { newEc2Id } from "../../core/ec2/ec2-ids.js";
import type { RequestedRule, SecurityGroupRuleFields } from "../../core/ec2/security-group-rules.js";
import { checkAdditions, matchRevocations, missingSource, parsePermissions, ruleNotFound } from "../../core/ec2/security-group-rules.js";
import type { Repositories, SecurityGroupRecord, SecurityGroupRuleRecord } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { invalidParameterCombination, missingParameter, refuseDryRun } from "./ec2-errors.js";
import { specifiedTags } from "./ec2-resource-inputs.js";
import type { SecurityGroupOperationsOptions } from "./security-group-lookup.js";
import { announceNetworkChange, defaultVpcId, namedGroup, peerGroupId } from "./security-group-lookup.js";
import { checkRuleId, ruleIdNotFound, toIpPermissions, toSecurityGroupRule } from "./security-group-shapes.js";

type Reads = Pick<Repositories, "securityGroups" | "vpcs">;

/** The members of a request that name rules: IpPermissions, or EC2's older top-level form. */
interface PermissionsRequest {
  readonly IpPermissions?: IpPermission[] | undefined;
  readonly IpProtocol?: string | undefined;
  readonly FromPort?: number | undefined;
  readonly ToPort?: number | undefined;
  readonly CidrIp?: string | undefined;
  readonly SourceSecurityGroupName?: string | undefined;
  readonly SourceSecurityGroupOwnerId?: string | undefined;
}

/**
 * The request's permissions: IpPermissions, or one built from the top-level members (a source
 * group alone grants all protocols, as EC2's older form did). The two forms do not mix.
 */
export function permissionsOf(input: PermissionsRequest): IpPermission[] {
  const legacy = [input.IpProtocol, input.FromPort, input.ToPort, input.CidrIp, input.SourceSecurityGroupName].some((member) => member !== undefined);
  if ((input.IpPermissions?.length ?? 0) > 0) {
    // wording not confirmed against AWS
    if (legacy)
      throw invalidParameterCombination(
        "The parameter 'ipPermissions' may not be used in combination with 'ipProtocol', 'fromPort', 'toPort', 'cidrIp' or 'sourceSecurityGroupName'",
      );
    return input.IpPermissions ?? [];
  }
  if (!legacy) throw missingSource();
  const sourceGroup = input.SourceSecurityGroupName;
  return [
    {
      IpProtocol: input.IpProtocol ?? (sourceGroup !== undefined ? "-1" : undefined),
      FromPort: input.FromPort,
      ToPort: input.ToPort,
      IpRanges: input.CidrIp !== undefined ? [{ CidrIp: input.CidrIp }] : [],
      UserIdGroupPairs: sourceGroup !== undefined ? [{ GroupName: sourceGroup, UserId: input.SourceSecurityGroupOwnerId }] : [],
    },
  ];
}

/** Requested rules with their peer groups resolved in `vpcId`. */
async function resolveRules(tx: Reads, vpcId: string, requested: readonly RequestedRule[], isEgress: boolean): Promise<SecurityGroupRuleFields[]> {
  const rules: SecurityGroupRuleFields[] = [];
  for (const rule of requested) {
    const { peer } = rule;
    const cidrIpv4 = "cidrIpv4" in peer ? peer.cidrIpv4 : undefined;
    const referencedGroupId = "cidrIpv4" in peer ? undefined : await peerGroupId(tx, peer, vpcId);
    rules.push({
      isEgress,
      ipProtocol: rule.ipProtocol,
      fromPort: rule.fromPort,
      toPort: rule.toPort,
      cidrIpv4,
      referencedGroupId,
      description: rule.description,
    });
  }
  return rules;
}

/** Every referenced group is in the rule's group's VPC, and Berth has one account: the owner is the group's. */
const ownerOfPeers = (group: SecurityGroupRecord) => () => group.ownerId;

type AuthorizeRequest = AuthorizeSecurityGroupIngressRequest | AuthorizeSecurityGroupEgressRequest;

async function authorize(
  options: SecurityGroupOperationsOptions,
  input: AuthorizeRequest,
  context: RequestContext,
  isEgress: boolean,
): Promise<AuthorizeSecurityGroupIngressResult> {
  refuseDryRun(input);
  const requested = parsePermissions(permissionsOf(input), context.accountId);
  const tags = specifiedTags(input.TagSpecifications, "security-group-rule");
  const nowMs = options.clock.now();
  return options.store.exclusively("network", async (tx) => {
    const group = await namedGroup(tx, isEgress ? { GroupId: input.GroupId ?? "" } : input);
    const adding = await resolveRules(tx, group.vpcId, requested, isEgress);
    checkAdditions(await tx.securityGroups.rulesOf([group.groupId]), adding);
    // Rules of one request share their creation time; ids drawn in ascending order keep them listed in request order.
    const ruleIds = adding.map(() => newEc2Id("sgr")).sort();
    const records = adding.map((rule, index) => ({ ...rule, ruleId: ruleIds[index]!, groupId: group.groupId, createdAtMs: nowMs }));
    await tx.securityGroups.insertRules(records);
    for (const record of records) await tx.ec2Tags.put(record.ruleId, tags);
    await announceNetworkChange(tx, nowMs);
    return { Return: true, SecurityGroupRules: records.map((record) => toSecurityGroupRule(context, record, group.ownerId, tags, ownerOfPeers(group))) };
  });
}

export const authorizeSecurityGroupIngress = (options: SecurityGroupOperationsOptions, input: AuthorizeSecurityGroupIngressRequest, context: RequestContext) =>
  authorize(options, input, context, false);

export function authorizeSecurityGroupEgress(
  options: SecurityGroupOperationsOptions,
  input: AuthorizeSecurityGroupEgressRequest,
  context: RequestContext,
): Promise<AuthorizeSecurityGroupEgressResult> {
  // Egress rules name their group by id only.
  if (input.GroupId === undefined || input.GroupId === "") throw missingParameter("GroupId");
  return authorize(options, input, context, true);
}

const revokedShape = (rule: SecurityGroupRuleRecord): RevokedSecurityGroupRule => ({
  SecurityGroupRuleId: rule.ruleId,
  GroupId: rule.groupId,
  IsEgress: rule.isEgress,
  IpProtocol: rule.ipProtocol,
  FromPort: rule.fromPort,
  ToPort: rule.toPort,
  ...(rule.cidrIpv4 !== undefined ? { CidrIpv4: rule.cidrIpv4 } : {}),
  ...(rule.referencedGroupId !== undefined ? { ReferencedGroupId: rule.referencedGroupId } : {}),
  ...(rule.description !== undefined ? { Description: rule.description } : {}),
});

type RevokeRequest = RevokeSecurityGroupIngressRequest | RevokeSecurityGroupEgressRequest;

async function revoke(
  options: SecurityGroupOperationsOptions,
  input: RevokeRequest,
  context: RequestContext,
  isEgress: boolean,
): Promise<RevokeSecurityGroupIngressResult> {
  refuseDryRun(input);
  const ruleIds = (input.SecurityGroupRuleIds ?? []).map(checkRuleId);
  const byProperties = ruleIds.length === 0 ? parsePermissions(permissionsOf(input), context.accountId) : undefined;
  if (byProperties === undefined && ((input.IpPermissions?.length ?? 0) > 0 || input.CidrIp !== undefined || input.SourceSecurityGroupName !== undefined)) {
    // wording not confirmed against AWS
    throw invalidParameterCombination("The parameter 'SecurityGroupRuleIds' may not be used in combination with rule properties");
  }
  const nowMs = options.clock.now();
  return options.store.exclusively("network", async (tx) => {
    const group = await namedGroup(tx, isEgress ? { GroupId: input.GroupId ?? "" } : input);
    const existing = (await tx.securityGroups.rulesOf([group.groupId])).filter((rule) => rule.isEgress === isEgress);
    let revoking: SecurityGroupRuleRecord[];
    let unknown: SecurityGroupRuleFields[] = [];
    if (byProperties === undefined) {
      revoking = ruleIds.map((ruleId) => existing.find((rule) => rule.ruleId === ruleId) ?? throwing(ruleIdNotFound(ruleId)));
    } else {
      ({ matched: revoking, unknown } = matchRevocations(existing, await resolveRules(tx, group.vpcId, byProperties, isEgress)));
      if (unknown.length > 0 && group.vpcId !== (await defaultVpcId(tx))) throw ruleNotFound();
    }
    await tx.securityGroups.deleteRules(revoking.map((rule) => rule.ruleId));
    if (revoking.length > 0) await announceNetworkChange(tx, nowMs);
    return {
      Return: true,
      RevokedSecurityGroupRules: revoking.map(revokedShape),
      ...(unknown.length > 0 ? { UnknownIpPermissions: toIpPermissions(unknown, ownerOfPeers(group)) } : {}),
    };
  });
}

function throwing(error: Error): never {
  throw error;
}

export const revokeSecurityGroupIngress = (options: SecurityGroupOperationsOptions, input: RevokeSecurityGroupIngressRequest, context: RequestContext) =>
  revoke(options, input, context, false);

export function revokeSecurityGroupEgress(
  options: SecurityGroupOperationsOptions,
  input: RevokeSecurityGroupEgressRequest,
  context: RequestContext,
): Promise<RevokeSecurityGroupEgressResult> {
  if (input.GroupId === undefined || input.GroupId === "") throw missingParameter("GroupId");
  return revoke(options, input, context, true);
}
