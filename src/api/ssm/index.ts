// The SSM service module, Parameter Store operations only (AWS JSON 1.1, target prefix
// "AmazonSSM", signing name "ssm"). Storage is the store's ParametersRepository; SecureString
// values are sealed with envelope encryption under the store key (core/envelope-seal.ts).
import * as ssmSdk from "@aws-sdk/client-ssm";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { KeySealer } from "../../core/envelope-seal.js";
import type { ParametersRepository } from "../../store/index.js";
import type { JsonServiceModule, RequestContext, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import { describeParameters, getParametersByPath } from "./parameter-queries.js";
import type { ParametersContext } from "./parameters.js";
import { deleteParameter, deleteParameters, getParameter, getParameterHistory, getParameters, labelParameterVersion, putParameter } from "./parameters.js";

export interface SsmServiceOptions {
  readonly parameters: ParametersRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly sealer: KeySealer;
}

type SsmOperations = SdkOperations<typeof ssmSdk>;

export function createSsmService(options: SsmServiceOptions): JsonServiceModule {
  const context: ParametersContext = options;
  const on =
    <I extends object, O extends object>(handler: (context: ParametersContext, input: I, request: RequestContext) => Promise<O>) =>
    (input: I, request: RequestContext): Promise<O> =>
      handler(context, input, request);
  return {
    signingName: "ssm",
    targetPrefix: "AmazonSSM",
    jsonVersion: "1.1",
    schemas: ssmSdk as unknown as Record<string, unknown>,
    missingMemberCode: "ValidationException",
    operations: jsonOperations<SsmOperations>()({
      PutParameter: on(putParameter),
      GetParameter: on(getParameter),
      GetParameters: on(getParameters),
      GetParametersByPath: on(getParametersByPath),
      DeleteParameter: on(deleteParameter),
      DeleteParameters: on(deleteParameters),
      DescribeParameters: on(describeParameters),
      GetParameterHistory: on(getParameterHistory),
      LabelParameterVersion: on(labelParameterVersion),
    }),
  };
}
