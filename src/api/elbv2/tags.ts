// AddTags, RemoveTags and DescribeTags on load balancers, target groups, listeners and rules (the
// resource's kind read from its ARN; one that does not exist is its kind's NotFound error), and
// DescribeAccountLimits: the quotas Berth enforces.
import type { AddTagsOutput, DescribeAccountLimitsOutput, DescribeTagsOutput, RemoveTagsOutput } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elbv2Repository } from "../../store/index.js";
import type { OperationHandlers } from "../service-module.js";
import { listenerNotFound, loadBalancerNotFound, ruleNotFound, targetGroupNotFound, validationError } from "./elbv2-errors.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import { checkTags } from "./elbv2-shapes.js";
import { LISTENERS_PER_LOAD_BALANCER } from "./listeners.js";
import { RULES_PER_LISTENER } from "./rules.js";
import { TARGETS_PER_GROUP } from "./targets.js";

const ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:(loadbalancer|targetgroup|listener|listener-rule)\/[A-Za-z0-9/-]+$/;

/** Throws the NotFound error of the ARN's kind unless the resource exists. */
async function assertExists(elbv2: Elbv2Repository, arn: string): Promise<void> {
  const kind = arn.length <= 256 ? ARN.exec(arn)?.[1] : undefined;
  if (kind === undefined) throw validationError(`'${arn.slice(0, 256)}' is not a valid resource ARN`);
  const lookups = {
    loadbalancer: async () => ((await elbv2.getLoadBalancer(arn)) === undefined ? loadBalancerNotFound() : undefined),
    targetgroup: async () => ((await elbv2.getTargetGroup(arn)) === undefined ? targetGroupNotFound() : undefined),
    listener: async () => ((await elbv2.getListener(arn)) === undefined ? listenerNotFound() : undefined),
    "listener-rule": async () => ((await elbv2.getRule(arn)) === undefined ? ruleNotFound() : undefined),
  } as const;
  const missing = await lookups[kind as keyof typeof lookups]();
  if (missing !== undefined) throw missing;
}

function checkArns(arns: readonly string[] | undefined): readonly string[] {
  if (arns === undefined || arns.length === 0) throw validationError("At least one resource ARN must be specified");
  if (arns.length > 20) throw validationError("A maximum of 20 resource ARNs can be specified");
  return arns;
}

export function tagHandlers(elbv2: Elbv2Repository): OperationHandlers<Elbv2Operations> {
  return {
    AddTags: async (input): Promise<AddTagsOutput> => {
      const arns = checkArns(input.ResourceArns);
      if ((input.Tags ?? []).length === 0) throw validationError("At least one tag must be specified");
      await elbv2.locked(async (tx) => {
        for (const arn of arns) {
          await assertExists(tx, arn);
          const existing = (await tx.tagsOf([arn])).get(arn) ?? new Map<string, string>();
          await tx.putTags(arn, checkTags(input.Tags, existing));
        }
      });
      return {};
    },
    RemoveTags: async (input): Promise<RemoveTagsOutput> => {
      const arns = checkArns(input.ResourceArns);
      const keys = input.TagKeys ?? [];
      if (keys.length === 0) throw validationError("At least one tag key must be specified");
      // A resource holds at most 50 tags and a key is at most 128 characters (AWS's TagKey): more is never useful input. Wording not confirmed.
      if (keys.length > 50) throw validationError("A maximum of 50 tag keys can be specified");
      if (keys.some((key) => key.length > 128)) throw validationError("Tag keys must be at most 128 characters");
      await elbv2.locked(async (tx) => {
        for (const arn of arns) {
          await assertExists(tx, arn);
          await tx.removeTags(arn, keys);
        }
      });
      return {};
    },
    DescribeTags: async (input): Promise<DescribeTagsOutput> => {
      const arns = checkArns(input.ResourceArns);
      for (const arn of arns) await assertExists(elbv2, arn);
      const tags = await elbv2.tagsOf(arns);
      return { TagDescriptions: arns.map((arn) => ({ ResourceArn: arn, Tags: [...(tags.get(arn) ?? [])].map(([Key, Value]) => ({ Key, Value })) })) };
    },
    DescribeAccountLimits: async (): Promise<DescribeAccountLimitsOutput> => ({
      Limits: [
        { Name: "listeners-per-application-load-balancer", Max: String(LISTENERS_PER_LOAD_BALANCER) },
        { Name: "listeners-per-network-load-balancer", Max: String(LISTENERS_PER_LOAD_BALANCER) },
        { Name: "rules-per-application-load-balancer", Max: String(RULES_PER_LISTENER) },
        { Name: "targets-per-application-load-balancer", Max: String(TARGETS_PER_GROUP) },
        { Name: "condition-values-per-alb-rule", Max: "5" },
        { Name: "tags-per-resource", Max: "50" },
      ],
    }),
  };
}
