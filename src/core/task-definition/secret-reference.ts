// What a container secret's `valueFrom` names, as ECS reads it (the API reference's Secret: "either
// the full ARN of the Secrets Manager secret or the full ARN of the parameter in the SSM Parameter
// Store ... If the SSM Parameter Store parameter exists in the same Region as the task you're
// launching, then you can use either the full ARN or name of the parameter"):
//
//   arn:<p>:secretsmanager:<region>:<account>:secret:<name-suffix>                     the whole value
//   arn:<p>:secretsmanager:<region>:<account>:secret:<name-suffix>:<json-key>:<version-stage>:<version-id>
//                                                                  (each selector may be empty)
//   arn:<p>:ssm:<region>:<account>:parameter/<name>, /<name>, <name>                   a parameter
//
// A Secrets Manager secret is only ever named by ARN (a bare name is a parameter name, as on ECS),
// and its ARN has either no selectors or all three: the ECS agent refuses any other count with the
// message kept here. Pure: the stores decide whether the secret or parameter exists.
import { parseArn } from "../arn.js";

/** Longest valueFrom resolved: Secrets Manager's SecretId is at most 2048 characters, with selectors a little more. */
export const MAX_VALUE_FROM_CHARS = 4096;

export type SecretReference =
  | {
      readonly source: "secretsmanager";
      /** The secret's ARN without selectors: GetSecretValue's SecretId. */
      readonly secretId: string;
      readonly jsonKey?: string;
      readonly versionStage?: string;
      readonly versionId?: string;
    }
  | { readonly source: "ssm"; /** GetParameters' name: a parameter name or ARN, as written. */ readonly name: string }
  | {
      readonly source: "invalid";
      /** Which service's text the refusal takes (a secretsmanager ARN's, or a parameter's). */
      readonly service: "secretsmanager" | "ssm";
      /** Why, in the ECS agent's words. */
      readonly problem: string;
    };

/** The ECS agent's text for a secret ARN with a selector count other than 0 or 3 (amazon-ecs-agent, asmsecret.go). */
export const INVALID_SECRET_ARN = "an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again.";

export function parseSecretReference(valueFrom: string): SecretReference {
  const arn = parseArn(valueFrom);
  const service = arn?.service === "secretsmanager" ? "secretsmanager" : "ssm";
  // Too long, or with a NUL (which no name of either service holds): refused before any store reads it.
  if (valueFrom.length === 0 || valueFrom.length > MAX_VALUE_FROM_CHARS || valueFrom.includes("\0"))
    return { source: "invalid", service, problem: service === "ssm" ? `invalid parameters: ${valueFrom.slice(0, 256)}` : INVALID_SECRET_ARN };
  if (!arn || service === "ssm") return { source: "ssm", name: valueFrom };
  const parts = arn.resource.split(":");
  // "secret:<name>" alone, or with exactly three selectors after it.
  if (parts[0] !== "secret" || !parts[1] || (parts.length !== 2 && parts.length !== 5)) return { source: "invalid", service, problem: INVALID_SECRET_ARN };
  const secretId = `arn:${arn.partition}:${arn.service}:${arn.region}:${arn.accountId}:secret:${parts[1]}`;
  if (parts.length === 2) return { source: "secretsmanager", secretId };
  const [, , jsonKey, versionStage, versionId] = parts as [string, string, string, string, string];
  return {
    source: "secretsmanager",
    secretId,
    ...(jsonKey ? { jsonKey } : {}),
    ...(versionStage ? { versionStage } : {}),
    ...(versionId ? { versionId } : {}),
  };
}

/**
 * Whether `name` can be an environment variable's name in the container: not empty, and without
 * "=" or NUL, which would make the runtime's NAME=value entry set another variable (or end it).
 */
export function isEnvironmentName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !/[=\0]/.test(name);
}
