// The security-group operations of the EC2 module, bound to the store and clock they need; the
// module (index.ts) spreads this object into its operation table, which checks every handler's
// input and answer against the SDK's types.
import type { RequestContext } from "../service-module.js";
import type { SecurityGroupOperationsOptions } from "./security-group-lookup.js";
import {
  describeSecurityGroupRules,
  modifySecurityGroupRules,
  updateSecurityGroupRuleDescriptionsEgress,
  updateSecurityGroupRuleDescriptionsIngress,
} from "./security-group-rule-edits.js";
import {
  authorizeSecurityGroupEgress,
  authorizeSecurityGroupIngress,
  revokeSecurityGroupEgress,
  revokeSecurityGroupIngress,
} from "./security-group-rule-operations.js";
import { createSecurityGroup, deleteSecurityGroup, describeSecurityGroups } from "./security-groups.js";

export type { SecurityGroupOperationsOptions } from "./security-group-lookup.js";

const bind =
  <I, O>(options: SecurityGroupOperationsOptions, handler: (options: SecurityGroupOperationsOptions, input: I, context: RequestContext) => Promise<O>) =>
  (input: I, context: RequestContext): Promise<O> =>
    handler(options, input, context);

export function securityGroupOperations(options: SecurityGroupOperationsOptions) {
  return {
    CreateSecurityGroup: bind(options, createSecurityGroup),
    DeleteSecurityGroup: bind(options, deleteSecurityGroup),
    DescribeSecurityGroups: bind(options, describeSecurityGroups),
    DescribeSecurityGroupRules: bind(options, describeSecurityGroupRules),
    AuthorizeSecurityGroupIngress: bind(options, authorizeSecurityGroupIngress),
    AuthorizeSecurityGroupEgress: bind(options, authorizeSecurityGroupEgress),
    RevokeSecurityGroupIngress: bind(options, revokeSecurityGroupIngress),
    RevokeSecurityGroupEgress: bind(options, revokeSecurityGroupEgress),
    ModifySecurityGroupRules: bind(options, modifySecurityGroupRules),
    UpdateSecurityGroupRuleDescriptionsIngress: bind(options, updateSecurityGroupRuleDescriptionsIngress),
    UpdateSecurityGroupRuleDescriptionsEgress: bind(options, updateSecurityGroupRuleDescriptionsEgress),
  };
}
