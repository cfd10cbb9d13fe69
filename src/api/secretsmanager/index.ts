// The Secrets Manager service module (AWS JSON 1.1, target prefix "secretsmanager", signing name
// "secretsmanager"). Storage is the store's SecretsRepository; values are sealed with envelope
// encryption under the store key (core/envelope-seal.ts); the gateway validates input shapes.
import * as secretsSdk from "@aws-sdk/client-secrets-manager";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { KeySealer } from "../../core/envelope-seal.js";
import type { SecretsRepository } from "../../store/index.js";
import type { JsonServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import { randomPassword } from "./random-password.js";
import { batchGetSecretValue, listSecrets } from "./secret-listing.js";
import type { SecretsContext } from "./secrets.js";
import {
  createSecret,
  deleteSecret,
  describeSecret,
  getSecretValue,
  putSecretValue,
  restoreSecret,
  tagResource,
  untagResource,
  updateSecret,
} from "./secrets.js";

export interface SecretsManagerOptions {
  readonly secrets: SecretsRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
  /** Seals each value's data key under the store key. */
  readonly sealer: KeySealer;
}

type SecretsOperations = SdkOperations<typeof secretsSdk>;

export function createSecretsManagerService(options: SecretsManagerOptions): JsonServiceModule {
  const context: SecretsContext = options;
  const on =
    <I extends object, O extends object>(handler: (context: SecretsContext, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      handler(context, input);
  return {
    signingName: "secretsmanager",
    targetPrefix: "secretsmanager",
    jsonVersion: "1.1",
    schemas: secretsSdk as unknown as Record<string, unknown>,
    // wording not confirmed (Secrets Manager answers an invalid name with ValidationException; a missing member too, by the same request validation)
    missingMemberCode: "ValidationException",
    operations: jsonOperations<SecretsOperations>()({
      CreateSecret: on(createSecret),
      GetSecretValue: on(getSecretValue),
      PutSecretValue: on(putSecretValue),
      UpdateSecret: on(updateSecret),
      DescribeSecret: on(describeSecret),
      ListSecrets: on(listSecrets),
      DeleteSecret: on(deleteSecret),
      RestoreSecret: on(restoreSecret),
      TagResource: on(tagResource),
      UntagResource: on(untagResource),
      BatchGetSecretValue: on(batchGetSecretValue),
      GetRandomPassword: on(async (_context, input: secretsSdk.GetRandomPasswordRequest): Promise<secretsSdk.GetRandomPasswordResponse> => ({
        RandomPassword: randomPassword(input),
      })),
    }),
  };
}
