// CreateRule, DescribeRules, ModifyRule, DeleteRule and SetRulePriorities on the listeners of
// application load balancers. Priorities 1–50000 are unique per listener (PriorityInUse); each
// listener's default rule (priority "default", IsDefault) is created and deleted with it and
// changed only through ModifyListener.
import type {
  CreateRuleCommandInput,
  CreateRuleOutput,
  DeleteRuleOutput,
  DescribeRulesOutput,
  ModifyRuleCommandInput,
  ModifyRuleOutput,
  Rule,
  RuleCondition,
  SetRulePrioritiesOutput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elbv2Repository, StoredListener, StoredRule } from "../../store/index.js";
import type { OperationHandlers } from "../service-module.js";
import { checkActions } from "./actions.js";
import { checkConditions, patternValues, wildcardCount } from "./conditions.js";
import { operationNotPermitted, priorityInUse, ruleNotFound, tooManyRules, tooManyRulesPerLoadBalancer, validationError } from "./elbv2-errors.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { checkArn, checkTags, hexId, page } from "./elbv2-shapes.js";
import { actionContext, existingListener } from "./listeners.js";

/** Rules per listener, the default rule not counted (Elastic Load Balancing quotas). */
export const RULES_PER_LISTENER = 100;
/** Rules over all listeners of one load balancer (the data plane's MAX_RULES_PER_NODE). */
export const RULES_PER_LOAD_BALANCER = 500;
/** Condition values holding a wildcard, over all rules of one listener (the data plane's MAX_WILDCARD_VALUES_PER_LISTENER). */
export const WILDCARD_VALUES_PER_LISTENER = 200;

function checkPriority(priority: number | undefined): number {
  if (priority === undefined || !Number.isInteger(priority) || priority < 1 || priority > 50000) throw validationError("Priority must be between 1 and 50000");
  return priority;
}

async function existingRule(elbv2: Elbv2Repository, arn: string): Promise<StoredRule> {
  checkArn("listener rule", arn);
  const record = await elbv2.getRule(arn);
  if (record === undefined) throw ruleNotFound();
  return record;
}

/** The listener's load balancer, for action checks; rules exist on application load balancers only. */
async function ruleContext(elbv2: Elbv2Repository, listenerArn: string) {
  const listener = await existingListener(elbv2, listenerArn);
  const loadBalancer = await elbv2.getLoadBalancer(listener.loadBalancerArn);
  if (loadBalancer === undefined) throw ruleNotFound();
  if (loadBalancer.loadBalancer.Type !== "application") throw validationError("Rules can only be added to listeners of application load balancers");
  return { listener, context: await actionContext(elbv2, loadBalancer) };
}

/** Numeric priorities first, in order; the default rule last. */
const byPriority = (a: StoredRule, b: StoredRule) => (a.priority === "default" ? 1 : b.priority === "default" ? -1 : Number(a.priority) - Number(b.priority));

/**
 * The data plane's budgets (src/lb/load-balancer-model.ts MAX_RULES_PER_NODE and
 * MAX_WILDCARD_VALUES_PER_LISTENER; copied, src/api does not import src/lb): at most 500 rules over
 * all listeners of a load balancer, and 200 condition values with a wildcard per listener (each is
 * a regex run on every request that reaches it). Past them the proxy would refuse the whole model.
 */
async function refuseOverDataPlaneBudgets(elbv2: Elbv2Repository, listener: StoredListener, rules: readonly StoredRule[], conditions: RuleCondition[]) {
  let total = 1;
  for (const other of await elbv2.listListeners(listener.loadBalancerArn)) {
    const ofListener = other.arn === listener.arn ? rules : await elbv2.listRules(other.arn);
    total += ofListener.filter((rule) => rule.priority !== "default").length;
  }
  if (total > RULES_PER_LOAD_BALANCER) throw tooManyRulesPerLoadBalancer(RULES_PER_LOAD_BALANCER);
  refuseOverWildcardBudget(rules, conditions);
}

/** The listener's other rules' wildcard values and the new conditions' within WILDCARD_VALUES_PER_LISTENER. */
function refuseOverWildcardBudget(others: readonly StoredRule[], conditions: readonly RuleCondition[]): void {
  const wildcardValues = (list: readonly RuleCondition[]) => list.flatMap(patternValues).filter((value) => wildcardCount(value) > 0).length;
  const values = others.reduce((sum, rule) => sum + wildcardValues(rule.rule.Conditions ?? []), wildcardValues(conditions));
  if (values > WILDCARD_VALUES_PER_LISTENER) {
    throw validationError(`A listener's rules can have at most ${WILDCARD_VALUES_PER_LISTENER} condition values with wildcards`); // wording not confirmed
  }
}

async function createRule(options: Elbv2ServiceOptions, input: CreateRuleCommandInput): Promise<CreateRuleOutput> {
  const priority = checkPriority(input.Priority);
  const conditions = checkConditions(input.Conditions);
  const tags = checkTags(input.Tags);
  if (input.Transforms !== undefined && input.Transforms.length > 0) throw validationError("Berth does not support rule transforms");
  return options.store.elbv2.locked(async (elbv2) => {
    const { listener, context } = await ruleContext(elbv2, input.ListenerArn ?? "");
    const actions = await checkActions(input.Actions, context);
    const rules = await elbv2.listRules(listener.arn);
    if (rules.some((rule) => rule.priority === String(priority))) throw priorityInUse(priority);
    if (rules.filter((rule) => rule.priority !== "default").length >= RULES_PER_LISTENER) throw tooManyRules();
    await refuseOverDataPlaneBudgets(elbv2, listener, rules, conditions);
    const arn = listener.arn.replace(":listener/", ":listener-rule/") + `/${hexId()}`;
    const rule: Rule = { RuleArn: arn, Priority: String(priority), Conditions: conditions, Actions: actions, IsDefault: false };
    await elbv2.insertRule({ arn, listenerArn: listener.arn, priority: String(priority), createdAt: options.clock.now(), rule });
    if (tags.size > 0) await elbv2.putTags(arn, tags);
    return { Rules: [rule] };
  });
}

async function modifyRule(options: Elbv2ServiceOptions, input: ModifyRuleCommandInput): Promise<ModifyRuleOutput> {
  return options.store.elbv2.locked(async (elbv2) => {
    const record = await existingRule(elbv2, input.RuleArn ?? "");
    // wording not confirmed
    if (record.priority === "default")
      throw operationNotPermitted("The default rule cannot be modified: change the listener's default actions with ModifyListener");
    const { context } = await ruleContext(elbv2, record.listenerArn);
    if (input.Transforms !== undefined && input.Transforms.length > 0) throw validationError("Berth does not support rule transforms");
    const rule: Rule = {
      ...record.rule,
      Conditions: input.Conditions === undefined ? record.rule.Conditions : checkConditions(input.Conditions),
      Actions: input.Actions === undefined ? record.rule.Actions : await checkActions(input.Actions, context),
    };
    if (input.Conditions !== undefined) {
      refuseOverWildcardBudget(
        (await elbv2.listRules(record.listenerArn)).filter((other) => other.arn !== record.arn),
        rule.Conditions ?? [],
      );
    }
    await elbv2.updateRule({ ...record, rule });
    return { Rules: [rule] };
  });
}

async function setRulePriorities(options: Elbv2ServiceOptions, input: Elbv2Operations["SetRulePriorities"]["input"]): Promise<SetRulePrioritiesOutput> {
  const wanted = (input.RulePriorities ?? []).map((entry) => ({ arn: entry.RuleArn ?? "", priority: String(checkPriority(entry.Priority)) }));
  if (wanted.length === 0) throw validationError("At least one rule priority must be specified");
  if (new Set(wanted.map((entry) => entry.arn)).size < wanted.length) throw validationError("A rule can be named only once");
  if (new Set(wanted.map((entry) => entry.priority)).size < wanted.length)
    throw priorityInUse(Number(wanted.find((entry, index) => wanted.findIndex((other) => other.priority === entry.priority) !== index)!.priority));
  return options.store.elbv2.locked(async (elbv2) => {
    const records = await Promise.all(wanted.map((entry) => existingRule(elbv2, entry.arn)));
    // wording not confirmed
    if (records.some((record) => record.priority === "default")) throw operationNotPermitted("The priority of a default rule cannot be changed");
    const listeners = new Set(records.map((record) => record.listenerArn));
    if (listeners.size > 1) throw validationError("The rules must all belong to the same listener");
    const others = (await elbv2.listRules(records[0]!.listenerArn)).filter((rule) => !wanted.some((entry) => entry.arn === rule.arn));
    for (const entry of wanted) if (others.some((rule) => rule.priority === entry.priority)) throw priorityInUse(Number(entry.priority));
    // Two moves: first out of the way (negative placeholders), so swapped priorities never meet the unique constraint.
    for (const [index, record] of records.entries()) await elbv2.updateRule({ ...record, priority: String(-1 - index) });
    const updated = records.map((record, index) => ({
      ...record,
      priority: wanted[index]!.priority,
      rule: { ...record.rule, Priority: wanted[index]!.priority },
    }));
    for (const record of updated) await elbv2.updateRule(record);
    return { Rules: updated.map((record) => record.rule) };
  });
}

export function ruleHandlers(options: Elbv2ServiceOptions): OperationHandlers<Elbv2Operations> {
  return {
    CreateRule: (input) => createRule(options, input),
    ModifyRule: (input) => modifyRule(options, input),
    SetRulePriorities: (input) => setRulePriorities(options, input),
    DescribeRules: async (input): Promise<DescribeRulesOutput> => {
      const arns = input.RuleArns ?? [];
      if (arns.length > 0 === (input.ListenerArn !== undefined)) throw validationError("You must specify either rule ARNs or a listener ARN");
      if (arns.length > 20) throw validationError("A maximum of 20 rules can be specified");
      const elbv2 = options.store.elbv2;
      let found: StoredRule[];
      if (input.ListenerArn !== undefined) {
        await existingListener(elbv2, input.ListenerArn);
        found = (await elbv2.listRules(input.ListenerArn)).sort(byPriority);
      } else {
        found = await Promise.all(arns.map((arn) => existingRule(elbv2, arn)));
      }
      const { items, nextMarker } = page(found, input.Marker, input.PageSize);
      return { Rules: items.map((record) => record.rule), NextMarker: nextMarker };
    },
    DeleteRule: async (input): Promise<DeleteRuleOutput> => {
      await options.store.elbv2.locked(async (elbv2) => {
        const record = await existingRule(elbv2, input.RuleArn ?? "");
        // wording not confirmed
        if (record.priority === "default") throw operationNotPermitted("A default rule cannot be deleted");
        await elbv2.deleteRule(record.arn);
      });
      return {};
    },
  };
}
