// The ELBv2 service module (AWS query protocol, query flavour, API version 2015-12-01, signing name
// "elasticloadbalancing"). One file per resource exports its handlers; this file only gathers them.
// The API keeps the model (load balancers, target groups, targets, listeners, rules) in the store;
// the data plane that serves traffic from it (src/lb) is not wired to it yet.
import * as elbv2Sdk from "@aws-sdk/client-elastic-load-balancing-v2";
import type { QueryServiceModule } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { listenerHandlers } from "./listeners.js";
import { loadBalancerHandlers } from "./load-balancers.js";
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
    operations: jsonOperations<Elbv2Operations>()({
      ...loadBalancerHandlers(options),
      ...targetGroupHandlers(options),
      ...targetHandlers(options),
      ...listenerHandlers(options),
      ...ruleHandlers(options),
      ...tagHandlers(options.store.elbv2),
      ...sslPolicyHandlers(),
    }),
  };
}
