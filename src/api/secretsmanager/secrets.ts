// Secrets Manager: secrets, their versions and staging labels, deletion and restore, tags.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html
//
// A secret's versions carry staging labels; a label is on at most one version of a secret:
//
//   PutSecretValue(v3, [AWSCURRENT])     v1 —            v1 —
//   v1 AWSPREVIOUS, v2 AWSCURRENT   →    v2 AWSPREVIOUS
//                                        v3 AWSCURRENT
//
// Labels move only under the secret's row lock (SecretsRepository.locked), so racing calls are
// applied one after the other. Lifecycle:  live ──DeleteSecret──▶ scheduled (DeletedDate)
// ──RestoreSecret──▶ live;  scheduled ──purge loop at the deletion date, or ForceDeleteWithout
// Recovery──▶ gone. A scheduled secret answers InvalidRequestException to reads and writes but is
// still described (DescribeSecret shows its DeletedDate).
import { randomBytes, randomUUID } from "node:crypto";
import type {
  CreateSecretRequest,
  CreateSecretResponse,
  DeleteSecretRequest,
  DeleteSecretResponse,
  DescribeSecretRequest,
  DescribeSecretResponse,
  GetSecretValueRequest,
  GetSecretValueResponse,
  PutSecretValueRequest,
  PutSecretValueResponse,
  RestoreSecretRequest,
  RestoreSecretResponse,
  TagResourceRequest,
  UntagResourceRequest,
  UpdateSecretRequest,
  UpdateSecretResponse,
} from "@aws-sdk/client-secrets-manager";
import type { AccountScope } from "../../core/arn.js";
import { buildArn } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { KeySealer } from "../../core/envelope-seal.js";
import { openValue, sealValue } from "../../core/envelope-seal.js";
import type { LockedSecret, SecretRecord, SecretsRepository, SecretVersionRecord } from "../../store/index.js";
import type { SecretValue } from "./secret-inputs.js";
import {
  mergeTags,
  requestValue,
  secretReference,
  validateDescription,
  validateName,
  validateStage,
  validateStages,
  validateTags,
  validateToken,
} from "./secret-inputs.js";
import {
  invalidParameter,
  limitExceeded,
  markedForDeletion,
  nameScheduledForDeletion,
  resourceExists,
  secretExists,
  secretNotFound,
  stageNotFound,
  versionIdNotFound,
} from "./secrets-errors.js";

export interface SecretsContext {
  readonly secrets: SecretsRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly sealer: KeySealer;
}

const CURRENT = "AWSCURRENT";
const PREVIOUS = "AWSPREVIOUS";
/** Versions kept per secret; the oldest without a staging label go first (AWS keeps about 100). */
const MAX_VERSIONS = 100;
/** Staging labels attached to a secret's versions together (Secrets Manager quotas: 20). */
const MAX_LABELS = 20;
const DAY_MS = 86_400_000;
const SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** What ties a sealed value to its secret and version (the envelope's associated data). */
/** What a version's seal is bound to: the secret's stored ARN (its random suffix differs for a secret created again), the version id and the value's kind. */
const associatedData = (arn: string, versionId: string, kind: SecretValue["kind"]) => `secretsmanager\n${arn}\n${versionId}\n${kind}`;

function secretArn(scope: AccountScope, name: string): string {
  const suffix = [...randomBytes(6)].map((byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]).join("");
  return buildArn(scope, "secretsmanager", `secret:${name}-${suffix}`);
}

/** The secret a SecretId names (scheduled for deletion or not). */
export async function findSecret(context: SecretsContext, secretId: string | undefined): Promise<SecretRecord> {
  const reference = secretReference(context.scope, secretId ?? "");
  if (!reference) throw secretNotFound();
  let secret: SecretRecord | undefined;
  if ("name" in reference) secret = await context.secrets.byName(reference.name);
  else if ("arn" in reference) secret = await context.secrets.byArn(reference.arn);
  else {
    // A partial ARN: the name, and the ARN must be this secret's less its suffix.
    secret = await context.secrets.byName(reference.partialArn);
    if (secret && !secret.arn.startsWith(`${secretId}-`)) secret = undefined;
  }
  if (!secret) throw secretNotFound();
  return secret;
}

function requireLive(secret: SecretRecord): void {
  if (secret.deletedAt !== undefined) throw markedForDeletion();
}

/** Runs `work` holding the secret's row; a secret deleted meanwhile is not found. */
async function withLocked<T>(context: SecretsContext, secret: SecretRecord, work: (locked: LockedSecret) => Promise<T>): Promise<T> {
  const done = await context.secrets.locked(secret.arn, work);
  if (!done) throw secretNotFound();
  return done.value;
}

/** The value of one version, read (only its own sealed value) through `read` and opened. */
export async function openVersion(
  context: SecretsContext,
  arn: string,
  version: SecretVersionRecord,
  read: (versionId: string) => Promise<string | undefined>,
): Promise<SecretValue> {
  const sealed = await read(version.versionId);
  if (sealed === undefined) throw versionIdNotFound(version.versionId); // deleted since the versions were listed
  return { kind: version.kind, bytes: openValue(context.sealer, sealed, associatedData(arn, version.versionId, version.kind)) };
}

const sameValue = (a: SecretValue, b: SecretValue) => a.kind === b.kind && a.bytes.equals(b.bytes);

/**
 * Adds version `versionId` with `stages` (moving them off the other versions; AWSCURRENT's old
 * holder gets AWSPREVIOUS). The same token with the same value again changes nothing (a retried
 * request); with another value it is refused.
 */
async function addVersion(
  context: SecretsContext,
  locked: LockedSecret,
  versionId: string,
  value: SecretValue,
  stages: readonly string[],
): Promise<{ stages: readonly string[]; created: boolean }> {
  const arn = locked.secret.arn;
  const versions = await locked.versions();
  const existing = versions.find((version) => version.versionId === versionId);
  if (existing) {
    if (sameValue(await openVersion(context, arn, existing, locked.sealedValue), value)) return { stages: existing.stages, created: false };
    // wording not confirmed
    throw resourceExists(`You can't modify an existing version, you can only create a new version.`);
  }
  const now = context.clock.now();
  await locked.addVersion({
    versionId,
    createdAt: now,
    stages,
    kind: value.kind,
    sealedValue: sealValue(context.sealer, value.bytes, associatedData(arn, versionId, value.kind)),
  });
  await moveStages(locked, versions, versionId, stages);
  await locked.change({ lastChangedAt: now });
  return { stages, created: true };
}

async function moveStages(locked: LockedSecret, others: readonly SecretVersionRecord[], target: string, stages: readonly string[]): Promise<void> {
  const moving = new Set(stages);
  // AWSCURRENT's old holder gets AWSPREVIOUS, unless the request puts AWSPREVIOUS on the new version itself (a label is on one version at most).
  const oldCurrent =
    moving.has(CURRENT) && !moving.has(PREVIOUS) ? others.find((version) => version.versionId !== target && version.stages.includes(CURRENT)) : undefined;
  if (oldCurrent) moving.add(PREVIOUS);
  const kept: SecretVersionRecord[] = [];
  for (const version of others) {
    if (version.versionId === target) continue;
    const next = version.stages.filter((stage) => !moving.has(stage));
    if (version === oldCurrent) next.push(PREVIOUS);
    if (next.length !== version.stages.length || version === oldCurrent) await locked.setStages(version.versionId, next);
    kept.push({ ...version, stages: next });
  }
  checkLabelLimit(kept, stages);
  // The new version counts too: beyond MAX_VERSIONS, the oldest unlabelled versions go.
  const excess = kept.length + 1 - MAX_VERSIONS;
  if (excess > 0) {
    const unlabelled = kept.filter((version) => version.stages.length === 0).slice(0, excess);
    // wording not confirmed (with at most MAX_LABELS labels this cannot happen; kept as a backstop)
    if (unlabelled.length < excess) throw limitExceeded(`A secret can have at most ${MAX_VERSIONS} versions.`);
    await locked.deleteVersions(unlabelled.map((version) => version.versionId));
  }
}

/** At most MAX_LABELS staging labels on a secret's versions together (the Secrets Manager quota), so labelled versions stay few. */
function checkLabelLimit(kept: readonly SecretVersionRecord[], stages: readonly string[]): void {
  const labels = new Set([...stages, ...kept.flatMap((version) => version.stages)]);
  // wording not confirmed
  if (labels.size > MAX_LABELS) throw limitExceeded(`A secret can have at most ${MAX_LABELS} staging labels attached to its versions.`);
}

export async function createSecret(context: SecretsContext, input: CreateSecretRequest): Promise<CreateSecretResponse> {
  const name = validateName(input.Name ?? "");
  const description = validateDescription(input.Description);
  const tags = validateTags(input.Tags);
  const value = requestValue(input);
  const versionId = input.ClientRequestToken === undefined ? randomUUID() : validateToken(input.ClientRequestToken);
  const existing = await context.secrets.byName(name);
  if (existing) return createdAgain(context, existing, versionId, value);
  const now = context.clock.now();
  const arn = secretArn(context.scope, name);
  const record: SecretRecord = {
    arn,
    name,
    description,
    kmsKeyId: input.KmsKeyId,
    tags,
    createdAt: now,
    lastChangedAt: now,
    lastAccessedAt: undefined,
    deletedAt: undefined,
    purgeAt: undefined,
  };
  const first = value && {
    versionId,
    createdAt: now,
    stages: [CURRENT],
    kind: value.kind,
    sealedValue: sealValue(context.sealer, value.bytes, associatedData(arn, versionId, value.kind)),
  };
  if (!(await context.secrets.create(record, first))) {
    const winner = await context.secrets.byName(name);
    if (winner) return createdAgain(context, winner, versionId, value);
    throw secretExists(name);
  }
  return { ARN: arn, Name: name, ...(value ? { VersionId: versionId } : {}), ReplicationStatus: [] };
}

/** CreateSecret of a name that exists: the same request retried (same token and value) answers as the first did. */
async function createdAgain(context: SecretsContext, existing: SecretRecord, versionId: string, value: SecretValue | undefined): Promise<CreateSecretResponse> {
  if (existing.deletedAt !== undefined) throw nameScheduledForDeletion();
  const version = (await context.secrets.versions(existing.arn)).find((one) => one.versionId === versionId);
  if (value && version && sameValue(await openVersion(context, existing.arn, version, (id) => context.secrets.sealedValue(existing.arn, id)), value)) {
    return { ARN: existing.arn, Name: existing.name, VersionId: versionId, ReplicationStatus: [] };
  }
  throw secretExists(existing.name);
}

/** The version a VersionId and/or VersionStage names (AWSCURRENT by default). */
export function chooseVersion(versions: readonly SecretVersionRecord[], versionId: string | undefined, versionStage: string | undefined): SecretVersionRecord {
  if (versionId !== undefined) {
    const version = versions.find((one) => one.versionId === validateToken(versionId, "versionId"));
    if (!version) throw versionIdNotFound(versionId);
    // wording not confirmed
    if (versionStage !== undefined && !version.stages.includes(versionStage))
      throw invalidParameter("You provided a VersionStage that is not associated to the provided VersionId.");
    return version;
  }
  const stage = versionStage === undefined ? CURRENT : validateStage(versionStage);
  const version = versions.find((one) => one.stages.includes(stage));
  if (!version) throw stageNotFound(stage);
  return version;
}

/** The value answer of GetSecretValue and BatchGetSecretValue; stamps the day it was read. */
export async function readValue(context: SecretsContext, secret: SecretRecord, versionId?: string, versionStage?: string): Promise<GetSecretValueResponse> {
  requireLive(secret);
  const version = chooseVersion(await context.secrets.versions(secret.arn), versionId, versionStage);
  const value = await openVersion(context, secret.arn, version, (id) => context.secrets.sealedValue(secret.arn, id));
  const day = Math.floor(context.clock.now() / DAY_MS) * DAY_MS;
  if (version.lastAccessedAt !== day) await context.secrets.touch(secret.arn, version.versionId, day);
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    ...(value.kind === "string" ? { SecretString: value.bytes.toString("utf8") } : { SecretBinary: value.bytes }),
    VersionStages: [...version.stages],
    CreatedDate: new Date(version.createdAt),
  };
}

export async function getSecretValue(context: SecretsContext, input: GetSecretValueRequest): Promise<GetSecretValueResponse> {
  return readValue(context, await findSecret(context, input.SecretId), input.VersionId, input.VersionStage);
}

export async function putSecretValue(context: SecretsContext, input: PutSecretValueRequest): Promise<PutSecretValueResponse> {
  const secret = await findSecret(context, input.SecretId);
  const value = requestValue(input);
  // wording not confirmed
  if (!value) throw invalidParameter("You must provide either SecretString or SecretBinary.");
  const versionId = input.ClientRequestToken === undefined ? randomUUID() : validateToken(input.ClientRequestToken);
  const stages = validateStages(input.VersionStages) ?? [CURRENT];
  const added = await withLocked(context, secret, async (locked) => {
    requireLive(locked.secret);
    return addVersion(context, locked, versionId, value, stages);
  });
  return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...added.stages] };
}

export async function updateSecret(context: SecretsContext, input: UpdateSecretRequest): Promise<UpdateSecretResponse> {
  const secret = await findSecret(context, input.SecretId);
  const value = requestValue(input);
  const description = validateDescription(input.Description);
  const versionId = input.ClientRequestToken === undefined ? randomUUID() : validateToken(input.ClientRequestToken);
  await withLocked(context, secret, async (locked) => {
    requireLive(locked.secret);
    if (description !== undefined || input.KmsKeyId !== undefined) {
      await locked.change({
        ...(description === undefined ? {} : { description }),
        ...(input.KmsKeyId === undefined ? {} : { kmsKeyId: input.KmsKeyId }),
        lastChangedAt: context.clock.now(),
      });
    }
    if (value) await addVersion(context, locked, versionId, value, [CURRENT]);
  });
  return { ARN: secret.arn, Name: secret.name, ...(value ? { VersionId: versionId } : {}) };
}

export async function describeSecret(context: SecretsContext, input: DescribeSecretRequest): Promise<DescribeSecretResponse> {
  const secret = await findSecret(context, input.SecretId);
  return describeRecord(secret, await context.secrets.versions(secret.arn));
}

export function describeRecord(secret: SecretRecord, versions: readonly SecretVersionRecord[]): DescribeSecretResponse {
  const labelled = versions.filter((version) => version.stages.length > 0);
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description === undefined ? {} : { Description: secret.description }),
    ...(secret.kmsKeyId === undefined ? {} : { KmsKeyId: secret.kmsKeyId }),
    LastChangedDate: new Date(secret.lastChangedAt),
    ...(secret.lastAccessedAt === undefined ? {} : { LastAccessedDate: new Date(secret.lastAccessedAt) }),
    ...(secret.deletedAt === undefined ? {} : { DeletedDate: new Date(secret.deletedAt) }),
    ...(secret.tags.length === 0 ? {} : { Tags: secret.tags.map((tag) => ({ ...tag })) }),
    VersionIdsToStages: Object.fromEntries(labelled.map((version) => [version.versionId, [...version.stages]])),
    CreatedDate: new Date(secret.createdAt),
  };
}

export async function deleteSecret(context: SecretsContext, input: DeleteSecretRequest): Promise<DeleteSecretResponse> {
  const force = input.ForceDeleteWithoutRecovery === true;
  const days = input.RecoveryWindowInDays ?? 30;
  // Checked first, also beside ForceDeleteWithoutRecovery (AWS answers RecoveryWindowInDays 0 with a force delete so).
  if (!Number.isInteger(days) || days < 7 || days > 30) throw invalidParameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  // wording not confirmed
  if (force && input.RecoveryWindowInDays !== undefined)
    throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  const secret = await findSecret(context, input.SecretId);
  const now = context.clock.now();
  const deletionAt = await withLocked(context, secret, async (locked) => {
    if (force) {
      await locked.remove();
      return now;
    }
    // wording not confirmed (AWS's answer to deleting a secret already scheduled)
    if (locked.secret.deletedAt !== undefined) throw markedForDeletion();
    const purgeAt = now + days * DAY_MS;
    await locked.change({ deletedAt: now, purgeAt });
    return purgeAt;
  });
  return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(deletionAt) };
}

export async function restoreSecret(context: SecretsContext, input: RestoreSecretRequest): Promise<RestoreSecretResponse> {
  const secret = await findSecret(context, input.SecretId);
  await withLocked(context, secret, (locked) => locked.change({ deletedAt: undefined, purgeAt: undefined }));
  return { ARN: secret.arn, Name: secret.name };
}

export async function tagResource(context: SecretsContext, input: TagResourceRequest): Promise<Record<string, never>> {
  const secret = await findSecret(context, input.SecretId);
  const added = validateTags(input.Tags);
  await withLocked(context, secret, async (locked) => {
    requireLive(locked.secret);
    await locked.change({ tags: mergeTags(locked.secret.tags, added) });
  });
  return {};
}

export async function untagResource(context: SecretsContext, input: UntagResourceRequest): Promise<Record<string, never>> {
  const secret = await findSecret(context, input.SecretId);
  const keys = new Set(input.TagKeys ?? []);
  await withLocked(context, secret, async (locked) => {
    requireLive(locked.secret);
    await locked.change({ tags: locked.secret.tags.filter((tag) => !keys.has(tag.Key)) });
  });
  return {};
}
