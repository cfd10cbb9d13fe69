// The ELBv2 service module (AWS query protocol, query flavour, API version 2015-12-01, signing name
// "elasticloadbalancing"). One file per resource exports its handlers; this file only gathers them.
// The API keeps the model (load balancers, target groups, targets, listeners, rules) in the store;
// every operation that changes it tells `onChange` (the control plane recompiles the load balancers'
// nodes, src/control/load-balancer-nodes.ts, and the hosts running them apply the change).
import * as elbv2Sdk from "@aws-sdk/client-elastic-load-balancing-v2";
import type { JsonOperationHandler, QueryServiceModule } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { listenerHandlers } from "./listeners.js";
import { loadBalancerHandlers } from "./load-balancers.js";
import { loadBalancerSettingHandlers } from "./load-balancer-settings.js";
import { ruleHandlers } from "./rules.js";
import { sslPolicyHandlers } from "./ssl-policies.js";
import { tagHandlers } from "./tags.js";
import { targetGroupHandlers } from "./target-groups.js";
import { targetHandlers } from "./targets.js";

export type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
export type { Elbv2Operations } from "./elbv2-operations.js";

export const ELBV2_API_VERSION = "2015-12-01";

export function createElbv2Service(options: Elbv2ServiceOptions): QueryServiceModule {
  return {
    protocol: "query",
    signingName: "elasticloadbalancing",
    apiVersion: ELBV2_API_VERSION,
    xmlNamespace: `http://elasticloadbalancing.amazonaws.com/doc/${ELBV2_API_VERSION}/`,
    schemas: elbv2Sdk as unknown as Record<string, unknown>,
    operations: notifyingChanges(
      options.onChange,
      jsonOperations<Elbv2Operations>()({
        ...loadBalancerHandlers(options),
        ...loadBalancerSettingHandlers(options),
        ...targetGroupHandlers(options),
        ...targetHandlers(options),
        ...listenerHandlers(options),
        ...ruleHandlers(options),
        ...tagHandlers(options.store.elbv2),
        ...sslPolicyHandlers(),
      }),
    ),
  };
}

/** Reads (Describe*) and tags change nothing a node serves; every other operation that succeeds may have. */
function notifyingChanges(
  onChange: (() => void) | undefined,
  operations: Readonly<Record<string, JsonOperationHandler>>,
): Readonly<Record<string, JsonOperationHandler>> {
  if (!onChange) return operations;
  return Object.fromEntries(
    Object.entries(operations).map(([name, handler]) => [
      name,
      name.startsWith("Describe") || name === "AddTags" || name === "RemoveTags"
        ? handler
        : async (input: Record<string, unknown>, context: Parameters<JsonOperationHandler>[1]) => {
            const answer = await handler(input, context);
            onChange();
            return answer;
          },
    ]),
  );
}
