// Validation of what Secrets Manager callers send, by the limits of the API reference
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/): names, client request tokens
// (version ids), staging labels, tags, values, and how a SecretId names a secret.
import type { AccountScope } from "../../core/arn.js";
import { parseArn } from "../../core/arn.js";
import type { SecretTag } from "../../store/index.js";
import { bothValues, constraint, invalidParameter, validation } from "./secrets-errors.js";

/** CreateSecret Name: 1–512 of ASCII letters, digits and /_+=.@- (API_CreateSecret). */
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** SecretId: 1–2048 characters (a name or an ARN). */
const MAX_SECRET_ID = 2048;
/** ClientRequestToken / VersionId: 32–64 characters; Berth also refuses control characters and spaces. */
const TOKEN = /^[\x21-\x7e]{32,64}$/;
/** VersionStage: 1–256 characters. */
const STAGE = /^[^\x00-\x1f\x7f]{1,256}$/;
const MAX_STAGES = 20;
/** SecretString and SecretBinary: at most 65,536 (characters, bytes). */
export const MAX_VALUE = 65_536;
export const MAX_TAGS = 50;

export function validateName(name: string): string {
  if (!NAME.test(name)) throw validation("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!");
  return name;
}

/** How a SecretId names a secret: by name, by full ARN, or by an ARN without its 6-character suffix. */
export type SecretReference = { readonly name: string } | { readonly arn: string } | { readonly partialArn: string };

/**
 * A SecretId as a reference, or undefined when it is an ARN of another partition, account, region
 * or service (it names no secret here: ResourceNotFoundException, as for a missing one).
 */
export function secretReference(scope: AccountScope, secretId: string): SecretReference | undefined {
  if (secretId.length < 1 || secretId.length > MAX_SECRET_ID)
    throw constraint("secretId", secretId.slice(0, 64), "Member must have length less than or equal to 2048");
  const arn = parseArn(secretId);
  if (!arn) return { name: secretId };
  if (arn.partition !== scope.partition || arn.service !== "secretsmanager" || arn.region !== scope.region || arn.accountId !== scope.accountId)
    return undefined;
  if (!arn.resource.startsWith("secret:")) return undefined;
  // A full ARN ends in "-" and 6 characters; anything else is taken for a partial ARN (the name alone).
  return /-[A-Za-z0-9]{6}$/.test(arn.resource) ? { arn: secretId } : { partialArn: arn.resource.slice("secret:".length) };
}

export function validateToken(token: string, member = "clientRequestToken"): string {
  if (!TOKEN.test(token)) throw constraint(member, token.replace(/[^\x20-\x7e]/g, "?").slice(0, 64), "Member must have length between 32 and 64");
  return token;
}

export function validateStages(stages: readonly string[] | undefined): string[] | undefined {
  if (stages === undefined) return undefined;
  if (stages.length < 1 || stages.length > MAX_STAGES) throw constraint("versionStages", String(stages.length), "Member must have length between 1 and 20");
  for (const stage of stages)
    if (!STAGE.test(stage)) throw constraint("versionStages", stage.replace(/[\x00-\x1f\x7f]/g, "?"), "Member must have length between 1 and 256");
  return [...new Set(stages)];
}

export function validateStage(stage: string): string {
  if (!STAGE.test(stage)) throw constraint("versionStage", stage.replace(/[\x00-\x1f\x7f]/g, "?"), "Member must have length between 1 and 256");
  return stage;
}

export function validateDescription(description: string | undefined): string | undefined {
  if (description !== undefined && description.length > 2048) throw constraint("description", "…", "Member must have length less than or equal to 2048");
  return description;
}

/** The value a request gives (SecretString or SecretBinary, never both), or undefined for none. */
export function requestValue(input: { SecretString?: string | undefined; SecretBinary?: Uint8Array | string | undefined }): SecretValue | undefined {
  if (input.SecretString !== undefined && input.SecretBinary !== undefined) throw bothValues();
  if (input.SecretString !== undefined) {
    if (input.SecretString.length > MAX_VALUE) throw constraint("secretString", "***", `Member must have length less than or equal to ${MAX_VALUE}`);
    return { kind: "string", bytes: Buffer.from(input.SecretString, "utf8") };
  }
  if (input.SecretBinary !== undefined) {
    // The gateway hands blobs over as the base64 text of the wire.
    const bytes = typeof input.SecretBinary === "string" ? Buffer.from(input.SecretBinary, "base64") : Buffer.from(input.SecretBinary);
    if (bytes.length > MAX_VALUE) throw constraint("secretBinary", "***", `Member must have length less than or equal to ${MAX_VALUE}`);
    return { kind: "binary", bytes };
  }
  return undefined;
}

export interface SecretValue {
  readonly kind: "string" | "binary";
  readonly bytes: Buffer;
}

export function validateTags(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): SecretTag[] {
  // wording not confirmed (the same text as TagResource's limit below)
  if (tags && tags.length > MAX_TAGS) throw invalidParameter(`Number of tags exceeds the limit of ${MAX_TAGS} tags.`);
  const result = new Map<string, SecretTag>();
  for (const tag of tags ?? []) {
    const key = tag.Key ?? "";
    const value = tag.Value ?? "";
    if (key.length < 1 || key.length > 128) throw constraint("tags.member.key", key, "Member must have length between 1 and 128");
    if (value.length > 256) throw constraint("tags.member.value", value.slice(0, 64), "Member must have length less than or equal to 256");
    if (/[\x00-\x1f\x7f]/.test(key + value)) throw invalidParameter("Invalid tag key or value."); // wording not confirmed
    if (key.toLowerCase().startsWith("aws:")) throw invalidParameter("Invalid tag key. Tag keys may not start with 'aws:'."); // wording not confirmed
    result.delete(key); // a key given again takes the new value, in the new place
    result.set(key, { Key: key, Value: value });
  }
  return [...result.values()];
}

/** `tags` with `added` merged in (a key given again takes the new value); at most 50. */
export function mergeTags(tags: readonly SecretTag[], added: readonly SecretTag[]): SecretTag[] {
  const merged = [...tags.filter((tag) => !added.some((one) => one.Key === tag.Key)), ...added];
  // wording not confirmed
  if (merged.length > MAX_TAGS) throw invalidParameter(`Number of tags exceeds the limit of ${MAX_TAGS} tags.`);
  return merged;
}
