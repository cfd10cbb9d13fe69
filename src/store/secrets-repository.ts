// Secrets Manager secrets and their versions. A secret's staging labels move between its versions
// only inside `locked`, which holds the secret's row for the whole transaction (an UPDATE of its
// revision: a row lock on PostgreSQL, the one writer on SQLite), so two PutSecretValue calls
// racing to move AWSCURRENT are applied one after the other and no label ends on two versions.
// Values are stored sealed by the caller (core/envelope-seal.ts); this file never sees plaintext.
// Portable Kysely SQL.
import type { Kysely } from "kysely";
import { inTransaction } from "./transaction.js";

export interface SecretsTable {
  arn: string;
  name: string;
  description: string | null;
  kms_key_id: string | null;
  /** JSON array of {Key, Value}, in the order they were added. */
  tags: string;
  created_at: number;
  last_changed_at: number;
  last_accessed_at: number | null;
  /** When DeleteSecret scheduled the deletion; null: not scheduled. */
  deleted_at: number | null;
  /** When the purge loop deletes it for good; null: not scheduled. */
  purge_at: number | null;
  revision: number;
}

export interface SecretVersionsTable {
  secret_arn: string;
  version_id: string;
  created_at: number;
  /** JSON array of staging labels. */
  stages: string;
  value_kind: "string" | "binary";
  sealed_value: string;
  last_accessed_at: number | null;
}

export interface SecretsTables {
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
}

export interface SecretTag {
  readonly Key: string;
  readonly Value: string;
}

export interface SecretRecord {
  readonly arn: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly kmsKeyId: string | undefined;
  readonly tags: readonly SecretTag[];
  readonly createdAt: number;
  readonly lastChangedAt: number;
  readonly lastAccessedAt: number | undefined;
  readonly deletedAt: number | undefined;
  readonly purgeAt: number | undefined;
}

/** A version without its value: what listing, describing and choosing a version need. */
export interface SecretVersionRecord {
  readonly versionId: string;
  readonly createdAt: number;
  readonly stages: readonly string[];
  readonly kind: "string" | "binary";
  readonly lastAccessedAt: number | undefined;
}

export interface NewSecretVersion {
  readonly versionId: string;
  readonly createdAt: number;
  readonly stages: readonly string[];
  readonly kind: "string" | "binary";
  readonly sealedValue: string;
}

export type SecretChange = Partial<Pick<SecretRecord, "description" | "kmsKeyId" | "tags" | "lastChangedAt" | "lastAccessedAt" | "deletedAt" | "purgeAt">>;

/** What a transaction holding one secret's row may do to it. */
export interface LockedSecret {
  readonly secret: SecretRecord;
  versions(): Promise<SecretVersionRecord[]>;
  /** The sealed value of one version; undefined when there is no such version. */
  sealedValue(versionId: string): Promise<string | undefined>;
  addVersion(version: NewSecretVersion): Promise<void>;
  setStages(versionId: string, stages: readonly string[]): Promise<void>;
  deleteVersions(versionIds: readonly string[]): Promise<void>;
  change(change: SecretChange): Promise<void>;
  /** Deletes the secret and its versions. */
  remove(): Promise<void>;
}

export interface SecretsRepository {
  /** Inserts the secret (and its first version); false when a secret of that name exists. */
  create(secret: SecretRecord, firstVersion: NewSecretVersion | undefined): Promise<boolean>;
  byArn(arn: string): Promise<SecretRecord | undefined>;
  byName(name: string): Promise<SecretRecord | undefined>;
  /** Every secret, without values, ordered by creation then ARN. */
  list(): Promise<SecretRecord[]>;
  /** A secret's versions without their values (sealed values are read one at a time by `sealedValue`). */
  versions(arn: string): Promise<SecretVersionRecord[]>;
  sealedValue(arn: string, versionId: string): Promise<string | undefined>;
  /** Runs `work` in one transaction holding the secret's row; undefined when there is no such secret. */
  locked<T>(arn: string, work: (locked: LockedSecret) => Promise<T>): Promise<{ value: T } | undefined>;
  /** Stamps a version (and its secret) as read on `day` when that day differs from the stored one. */
  touch(arn: string, versionId: string, day: number): Promise<void>;
  /** Deletes secrets whose purge time has come; their ARNs. */
  purgeDue(now: number, limit: number): Promise<string[]>;
}

const optional = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

function secretRecord(row: SecretsTable): SecretRecord {
  return {
    arn: row.arn,
    name: row.name,
    description: optional(row.description),
    kmsKeyId: optional(row.kms_key_id),
    tags: JSON.parse(row.tags) as SecretTag[],
    createdAt: Number(row.created_at),
    lastChangedAt: Number(row.last_changed_at),
    lastAccessedAt: row.last_accessed_at === null ? undefined : Number(row.last_accessed_at),
    deletedAt: row.deleted_at === null ? undefined : Number(row.deleted_at),
    purgeAt: row.purge_at === null ? undefined : Number(row.purge_at),
  };
}

function versionRecord(row: Omit<SecretVersionsTable, "sealed_value">): SecretVersionRecord {
  return {
    versionId: row.version_id,
    createdAt: Number(row.created_at),
    stages: JSON.parse(row.stages) as string[],
    kind: row.value_kind,
    lastAccessedAt: row.last_accessed_at === null ? undefined : Number(row.last_accessed_at),
  };
}

const versionRow = (arn: string, version: NewSecretVersion): SecretVersionsTable => ({
  secret_arn: arn,
  version_id: version.versionId,
  created_at: version.createdAt,
  stages: JSON.stringify(version.stages),
  value_kind: version.kind,
  sealed_value: version.sealedValue,
  last_accessed_at: null,
});

function changeRow(change: SecretChange): Partial<SecretsTable> {
  const row: Partial<SecretsTable> = {};
  if ("description" in change) row.description = change.description ?? null;
  if ("kmsKeyId" in change) row.kms_key_id = change.kmsKeyId ?? null;
  if (change.tags !== undefined) row.tags = JSON.stringify(change.tags);
  if (change.lastChangedAt !== undefined) row.last_changed_at = change.lastChangedAt;
  if (change.lastAccessedAt !== undefined) row.last_accessed_at = change.lastAccessedAt;
  if ("deletedAt" in change) row.deleted_at = change.deletedAt ?? null;
  if ("purgeAt" in change) row.purge_at = change.purgeAt ?? null;
  return row;
}

async function readVersions(db: Kysely<SecretsTables>, arn: string): Promise<SecretVersionRecord[]> {
  const rows = await db
    .selectFrom("secret_versions")
    .select(["secret_arn", "version_id", "created_at", "stages", "value_kind", "last_accessed_at"])
    .where("secret_arn", "=", arn)
    .orderBy("created_at")
    .orderBy("version_id")
    .execute();
  return rows.map(versionRecord);
}

async function readSealedValue(db: Kysely<SecretsTables>, arn: string, versionId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("secret_versions")
    .select("sealed_value")
    .where("secret_arn", "=", arn)
    .where("version_id", "=", versionId)
    .executeTakeFirst();
  return row?.sealed_value;
}

function lockedSecret(tx: Kysely<SecretsTables>, secret: SecretRecord): LockedSecret {
  const arn = secret.arn;
  return {
    secret,
    versions: () => readVersions(tx, arn),
    sealedValue: (versionId) => readSealedValue(tx, arn, versionId),
    addVersion: async (version) => void (await tx.insertInto("secret_versions").values(versionRow(arn, version)).execute()),
    setStages: async (versionId, stages) =>
      void (await tx
        .updateTable("secret_versions")
        .set({ stages: JSON.stringify(stages) })
        .where("secret_arn", "=", arn)
        .where("version_id", "=", versionId)
        .execute()),
    deleteVersions: async (versionIds) => {
      if (versionIds.length > 0)
        await tx
          .deleteFrom("secret_versions")
          .where("secret_arn", "=", arn)
          .where("version_id", "in", [...versionIds])
          .execute();
    },
    change: async (change) => void (await tx.updateTable("secrets").set(changeRow(change)).where("arn", "=", arn).execute()),
    remove: async () => {
      await tx.deleteFrom("secret_versions").where("secret_arn", "=", arn).execute();
      await tx.deleteFrom("secrets").where("arn", "=", arn).execute();
    },
  };
}

export function createSecretsRepository(db: Kysely<SecretsTables>): SecretsRepository {
  return {
    async create(secret, firstVersion) {
      return inTransaction(db, async (tx) => {
        const taken = await tx.selectFrom("secrets").select("arn").where("name", "=", secret.name).executeTakeFirst();
        if (taken) return false;
        const inserted = await tx
          .insertInto("secrets")
          .values({
            arn: secret.arn,
            name: secret.name,
            description: secret.description ?? null,
            kms_key_id: secret.kmsKeyId ?? null,
            tags: JSON.stringify(secret.tags),
            created_at: secret.createdAt,
            last_changed_at: secret.lastChangedAt,
            last_accessed_at: null,
            deleted_at: null,
            purge_at: null,
            revision: 0,
          })
          // Two creates racing past the check: the unique name lets one row in; the other inserts nothing.
          .onConflict((conflict) => conflict.doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
        if (firstVersion) await tx.insertInto("secret_versions").values(versionRow(secret.arn, firstVersion)).execute();
        return true;
      });
    },
    async byArn(arn) {
      const row = await db.selectFrom("secrets").selectAll().where("arn", "=", arn).executeTakeFirst();
      return row && secretRecord(row);
    },
    async byName(name) {
      const row = await db.selectFrom("secrets").selectAll().where("name", "=", name).executeTakeFirst();
      return row && secretRecord(row);
    },
    async list() {
      return (await db.selectFrom("secrets").selectAll().orderBy("created_at").orderBy("arn").execute()).map(secretRecord);
    },
    versions: (arn) => readVersions(db, arn),
    sealedValue: (arn, versionId) => readSealedValue(db, arn, versionId),
    async locked(arn, work) {
      return inTransaction(db, async (tx) => {
        const locked = await tx
          .updateTable("secrets")
          .set((eb) => ({ revision: eb("revision", "+", 1) }))
          .where("arn", "=", arn)
          .executeTakeFirst();
        if (Number(locked.numUpdatedRows) === 0) return undefined;
        const row = await tx.selectFrom("secrets").selectAll().where("arn", "=", arn).executeTakeFirstOrThrow();
        return { value: await work(lockedSecret(tx, secretRecord(row))) };
      });
    },
    async touch(arn, versionId, day) {
      await db
        .updateTable("secret_versions")
        .set({ last_accessed_at: day })
        .where("secret_arn", "=", arn)
        .where("version_id", "=", versionId)
        .where((eb) => eb.or([eb("last_accessed_at", "is", null), eb("last_accessed_at", "<>", day)]))
        .execute();
      await db
        .updateTable("secrets")
        .set({ last_accessed_at: day })
        .where("arn", "=", arn)
        .where((eb) => eb.or([eb("last_accessed_at", "is", null), eb("last_accessed_at", "<>", day)]))
        .execute();
    },
    async purgeDue(now, limit) {
      // One statement: a secret restored meanwhile no longer matches and is kept (its versions go with it by ON DELETE CASCADE).
      const due = db.selectFrom("secrets").select("arn").where("purge_at", "<=", now).orderBy("purge_at").limit(limit);
      const purged = await db.deleteFrom("secrets").where("arn", "in", due).where("purge_at", "<=", now).returning("arn").execute();
      return purged.map((row) => row.arn);
    },
  };
}
