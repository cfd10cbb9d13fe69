// The STS service module (AWS query protocol, query flavour, API version 2011-06-15, signing name
// "sts"). One file per concern exports its handlers; this file only gathers them.
import * as stsSdk from "@aws-sdk/client-sts";
import type { QueryServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import type { RoleSessions } from "../../control/role-sessions.js";
import { callerIdentityHandler } from "./caller-identity.js";
import { sessionHandlers } from "./sessions.js";

/** STS's operations by name, with the request and response shapes of the SDK in package.json. */
export type StsOperations = SdkOperations<typeof stsSdk>;

export const STS_API_VERSION = "2011-06-15";

export function createStsService(sessions: RoleSessions, userIdOf: (userName: string) => Promise<string | undefined>): QueryServiceModule {
  return {
    protocol: "query",
    signingName: "sts",
    apiVersion: STS_API_VERSION,
    xmlNamespace: `https://sts.amazonaws.com/doc/${STS_API_VERSION}/`,
    schemas: stsSdk as unknown as Record<string, unknown>,
    operations: jsonOperations<StsOperations>()({
      GetCallerIdentity: callerIdentityHandler(userIdOf),
      ...sessionHandlers(sessions),
    }),
  };
}
