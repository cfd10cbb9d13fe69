// The IAM service module (AWS query protocol, query flavour, API version 2010-05-08, signing name
// "iam"). One file per resource exports its handlers; this file only gathers them.
import * as iamSdk from "@aws-sdk/client-iam";
import type { QueryServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import { accessKeyHandlers } from "./access-keys.js";
import type { IamServiceOptions } from "./iam-shapes.js";
import { managedPolicyHandlers } from "./managed-policies.js";
import { roleHandlers } from "./roles.js";
import { userHandlers } from "./users.js";

export type { IamServiceOptions } from "./iam-shapes.js";

/** IAM's operations by name, with the request and response shapes of the SDK in package.json. */
export type IamOperations = SdkOperations<typeof iamSdk>;

export const IAM_API_VERSION = "2010-05-08";

export function createIamService(options: IamServiceOptions): QueryServiceModule {
  return {
    protocol: "query",
    signingName: "iam",
    apiVersion: IAM_API_VERSION,
    xmlNamespace: `https://iam.amazonaws.com/doc/${IAM_API_VERSION}/`,
    schemas: iamSdk as unknown as Record<string, unknown>,
    operations: jsonOperations<IamOperations>()({
      ...roleHandlers(options),
      ...userHandlers(options),
      ...managedPolicyHandlers(options),
      ...accessKeyHandlers(options),
    }),
  };
}
