// DescribeSecurityGroupRules, ModifySecurityGroupRules and UpdateSecurityGroupRuleDescriptions-
// Ingress/Egress (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroupRules.html
// and siblings): the rules one by one, as rows with ids.
import type {
  DescribeSecurityGroupRulesRequest,
  DescribeSecurityGroupRulesResult,
  ModifySecurityGroupRulesRequest,
  ModifySecurityGroupRulesResult,
  SecurityGroupRule,
  SecurityGroupRuleRequest,
  UpdateSecurityGroupRuleDescriptionsEgressRequest,
  UpdateSecurityGroupRuleDescriptionsIngressRequest,
  UpdateSecurityGroupRuleDescriptionsIngressResult,
} from "@aws-sdk/client-ec2";
import { compileFilters } from "../../core/ec2/filters.js";
import type { SecurityGroupRuleFields } from "../../core/ec2/security-group-rules.js";
import {
  checkAdditions,
  checkRuleDescription,
  parseCidrIpv4,
  parsePermissions,
  parsePorts,
  parseProtocol,
  printable,
  ruleIdentity,
  ruleNotFound,
} from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { SecurityGroupRuleRecord } from "../../store/index.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import type { RequestContext } from "../service-module.js";
import { invalidParameterValue, missingParameter, refuseDryRun } from "./ec2-errors.js";
import type { SecurityGroupOperationsOptions } from "./security-group-lookup.js";
import { announceNetworkChange, namedGroup, peerGroupId } from "./security-group-lookup.js";
import { permissionsOf } from "./security-group-rule-operations.js";
import { checkMaxResults, checkRuleId, invalidNextToken, ruleIdNotFound, SECURITY_GROUP_RULE_FILTERS, toSecurityGroupRule } from "./security-group-shapes.js";

interface RuleCursor {
  readonly after: string;
}

const isCursor = (value: unknown): value is RuleCursor =>
  typeof value === "object" && value !== null && typeof (value as RuleCursor).after === "string" && (value as RuleCursor).after.length <= 64;

export async function describeSecurityGroupRules(
  options: SecurityGroupOperationsOptions,
  input: DescribeSecurityGroupRulesRequest,
  context: RequestContext,
): Promise<DescribeSecurityGroupRulesResult> {
  refuseDryRun(input);
  const limit = checkMaxResults(input.MaxResults);
  const cursor = decodeToken(input.NextToken, isCursor, invalidNextToken);
  const matches = compileFilters(input.Filters, SECURITY_GROUP_RULE_FILTERS);
  const ruleIds = (input.SecurityGroupRuleIds ?? []).map(checkRuleId);
  const { securityGroups, ec2Tags } = options.store;
  let rules: SecurityGroupRuleRecord[];
  if (ruleIds.length > 0) {
    rules = await securityGroups.getRules(ruleIds);
    const missing = ruleIds.find((id) => !rules.some((rule) => rule.ruleId === id));
    if (missing !== undefined) throw ruleIdNotFound(missing);
  } else {
    rules = await securityGroups.rulesOf();
  }
  // Pages follow rule ids, which never change, so a rule is listed once across pages.
  rules.sort((a, b) => (a.ruleId < b.ruleId ? -1 : 1));
  const groupIds = rules.flatMap((rule) => [rule.groupId, ...(rule.referencedGroupId !== undefined ? [rule.referencedGroupId] : [])]);
  const owners = new Map((await securityGroups.getGroups(groupIds)).map((group) => [group.groupId, group.ownerId]));
  const tags = await ec2Tags.byResource(rules.map((rule) => rule.ruleId));
  const answered: SecurityGroupRule[] = [];
  for (const rule of rules) {
    if (cursor && rule.ruleId <= cursor.after) continue;
    const ruleTags = tags.get(rule.ruleId) ?? new Map<string, string>();
    const shape = toSecurityGroupRule(context, rule, owners.get(rule.groupId) ?? context.accountId, ruleTags, (id) => owners.get(id));
    if (!matches(shape, ruleTags)) continue;
    if (answered.length === limit)
      return { SecurityGroupRules: answered, NextToken: encodeToken({ after: answered[answered.length - 1]?.SecurityGroupRuleId }) };
    answered.push(shape);
  }
  return { SecurityGroupRules: answered };
}

/** One rule of ModifySecurityGroupRules, checked as Authorize checks its permissions. */
function ruleUpdateFields(
  request: SecurityGroupRuleRequest | undefined,
): Omit<SecurityGroupRuleFields, "isEgress" | "referencedGroupId"> & { groupId: string | undefined } {
  if (request === undefined) throw missingParameter("SecurityGroupRule");
  if (request.CidrIpv6 !== undefined) throw invalidParameterValue("Berth does not support IPv6 security group rules (CidrIpv6); use CidrIpv4.");
  if (request.PrefixListId !== undefined)
    throw new AwsError("InvalidPrefixListId.NotFound", `The prefix list ID '${printable(request.PrefixListId)}' does not exist`);
  const sources = [request.CidrIpv4, request.ReferencedGroupId].filter((source) => source !== undefined);
  // wording not confirmed against AWS
  if (sources.length !== 1) throw invalidParameterValue("Specify exactly one of CidrIpv4 and ReferencedGroupId for a security group rule.");
  const ipProtocol = parseProtocol(request.IpProtocol);
  return {
    ipProtocol,
    ...parsePorts(ipProtocol, request.FromPort, request.ToPort),
    cidrIpv4: request.CidrIpv4 !== undefined ? parseCidrIpv4(request.CidrIpv4) : undefined,
    groupId: request.ReferencedGroupId,
    description: checkRuleDescription(request.Description),
  };
}

export async function modifySecurityGroupRules(
  options: SecurityGroupOperationsOptions,
  input: ModifySecurityGroupRulesRequest,
  _context: RequestContext,
): Promise<ModifySecurityGroupRulesResult> {
  refuseDryRun(input);
  if (input.GroupId === undefined || input.GroupId === "") throw missingParameter("GroupId");
  const updates = (input.SecurityGroupRules ?? []).map((update) => ({
    ruleId: checkRuleId(update.SecurityGroupRuleId ?? ""),
    fields: ruleUpdateFields(update.SecurityGroupRule),
  }));
  if (updates.length === 0) throw missingParameter("SecurityGroupRules");
  const nowMs = options.clock.now();
  return options.store.exclusively("network", async (tx) => {
    const group = await namedGroup(tx, { GroupId: input.GroupId });
    const existing = await tx.securityGroups.rulesOf([group.groupId]);
    const replaced = new Map<string, SecurityGroupRuleFields>();
    for (const { ruleId, fields } of updates) {
      const current = existing.find((rule) => rule.ruleId === ruleId);
      if (!current) throw ruleIdNotFound(ruleId);
      const referencedGroupId = fields.groupId !== undefined ? await peerGroupId(tx, { groupId: fields.groupId }, group.vpcId) : undefined;
      replaced.set(ruleId, { ...fields, isEgress: current.isEgress, referencedGroupId });
    }
    // The group's rules after the change may hold no duplicate.
    checkAdditions(
      [],
      existing.map((rule) => replaced.get(rule.ruleId) ?? rule),
    );
    for (const [ruleId, fields] of replaced) await tx.securityGroups.updateRule(ruleId, fields);
    await announceNetworkChange(tx, nowMs);
    return { Return: true };
  });
}

type DescriptionsRequest = UpdateSecurityGroupRuleDescriptionsIngressRequest | UpdateSecurityGroupRuleDescriptionsEgressRequest;

async function updateDescriptions(
  options: SecurityGroupOperationsOptions,
  input: DescriptionsRequest,
  context: RequestContext,
  isEgress: boolean,
): Promise<UpdateSecurityGroupRuleDescriptionsIngressResult> {
  refuseDryRun(input);
  const byId = (input.SecurityGroupRuleDescriptions ?? []).map((entry) => ({
    ruleId: checkRuleId(entry.SecurityGroupRuleId ?? ""),
    description: checkRuleDescription(entry.Description),
  }));
  const byProperties = byId.length === 0 ? parsePermissions(permissionsOf({ IpPermissions: input.IpPermissions }), context.accountId) : [];
  return options.store.exclusively("network", async (tx) => {
    const group = await namedGroup(tx, input);
    const existing = (await tx.securityGroups.rulesOf([group.groupId])).filter((rule) => rule.isEgress === isEgress);
    const changes = byId.map(({ ruleId, description }) => {
      if (!existing.some((rule) => rule.ruleId === ruleId)) throw ruleIdNotFound(ruleId);
      return { ruleId, description };
    });
    for (const rule of byProperties) {
      const { peer } = rule;
      const referencedGroupId = "cidrIpv4" in peer ? undefined : await peerGroupId(tx, peer, group.vpcId);
      const identity = ruleIdentity({ ...rule, isEgress, cidrIpv4: "cidrIpv4" in peer ? peer.cidrIpv4 : undefined, referencedGroupId });
      const found = existing.find((candidate) => ruleIdentity(candidate) === identity);
      if (!found) throw ruleNotFound();
      changes.push({ ruleId: found.ruleId, description: rule.description });
    }
    // Descriptions are not enforced: hosts need not hear of this change.
    for (const { ruleId, description } of changes) await tx.securityGroups.setRuleDescription(ruleId, description);
    return { Return: true };
  });
}

export const updateSecurityGroupRuleDescriptionsIngress = (
  options: SecurityGroupOperationsOptions,
  input: UpdateSecurityGroupRuleDescriptionsIngressRequest,
  context: RequestContext,
) => updateDescriptions(options, input, context, false);

export const updateSecurityGroupRuleDescriptionsEgress = (
  options: SecurityGroupOperationsOptions,
  input: UpdateSecurityGroupRuleDescriptionsEgressRequest,
  context: RequestContext,
) => updateDescriptions(options, input, context, true);
