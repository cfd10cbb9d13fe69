// ELBv2's operation table, from the SDK in package.json (service-module.ts: SdkOperations).
import type * as elbv2Sdk from "@aws-sdk/client-elastic-load-balancing-v2";
import type { SdkOperations } from "../service-module.js";

export type Elbv2Operations = SdkOperations<typeof elbv2Sdk>;
