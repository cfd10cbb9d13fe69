// SSM Parameter Store parameters and their versions (up to 100 kept per parameter). Every write
// to a parameter runs in `locked`, which holds its row for the transaction (created first when the
// caller asks for it), so racing PutParameter calls number their versions one after the other and
// labels move between versions without landing on two. SecureString values arrive sealed by the
// caller; this file never sees their plaintext. Portable Kysely SQL.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { inTransaction } from "./transaction.js";

export interface ParametersTable {
  name: string;
  /** The latest version. */
  version: number;
  /** JSON array of {Key, Value}. */
  tags: string;
  /** Random, made when the parameter's row is created: a SecureString's seal is bound to it, so a deleted and re-created parameter's versions are not the old ones'. */
  incarnation: string;
  revision: number;
}

export interface ParameterVersionsTable {
  name: string;
  version: number;
  type: string;
  value: string;
  description: string | null;
  allowed_pattern: string | null;
  tier: string;
  key_id: string | null;
  data_type: string;
  /** JSON array of labels. */
  labels: string;
  modified_at: number;
  modified_user: string;
}

export interface ParametersTables {
  parameters: ParametersTable;
  parameter_versions: ParameterVersionsTable;
}

export interface ParameterTag {
  readonly Key: string;
  readonly Value: string;
}

export interface ParameterVersionRecord {
  readonly name: string;
  readonly version: number;
  readonly type: string;
  /** The value as stored: sealed for a SecureString. */
  readonly value: string;
  readonly description: string | undefined;
  readonly allowedPattern: string | undefined;
  readonly tier: string;
  readonly keyId: string | undefined;
  readonly dataType: string;
  readonly labels: readonly string[];
  readonly modifiedAt: number;
  readonly modifiedUser: string;
  /** The parameter row's incarnation (read with the version; not stored per version). */
  readonly incarnation: string;
}

/** A parameter's latest version, with the parameter's tags. */
export interface ParameterRecord extends ParameterVersionRecord {
  readonly tags: readonly ParameterTag[];
}

/** What a transaction holding one parameter's row may do to it. */
export interface LockedParameter {
  /** False when the row was created for this transaction (a new parameter). */
  readonly existed: boolean;
  /** The row's incarnation, for the versions this transaction adds. */
  readonly incarnation: string;
  readonly tags: readonly ParameterTag[];
  versions(): Promise<ParameterVersionRecord[]>;
  addVersion(version: ParameterVersionRecord): Promise<void>;
  deleteVersions(versions: readonly number[]): Promise<void>;
  setLabels(version: number, labels: readonly string[]): Promise<void>;
  setTags(tags: readonly ParameterTag[]): Promise<void>;
}

export interface ParametersRepository {
  get(name: string): Promise<ParameterRecord | undefined>;
  version(name: string, version: number): Promise<ParameterVersionRecord | undefined>;
  versions(name: string): Promise<ParameterVersionRecord[]>;
  /** Every parameter's latest version, ordered by name. */
  list(): Promise<ParameterRecord[]>;
  /**
   * Runs `work` in one transaction holding the parameter's row; with `create`, a missing parameter
   * gets a row first (rolled back with the transaction if `work` throws); without it, undefined
   * when there is no such parameter.
   */
  locked<T>(name: string, create: boolean, work: (locked: LockedParameter) => Promise<T>): Promise<{ value: T } | undefined>;
  /** Deletes the parameter and its versions; false when there was none. */
  delete(name: string): Promise<boolean>;
}

const optional = (value: string | null) => (value === null ? undefined : value);

function versionRecord(row: ParameterVersionsTable & { incarnation: string }): ParameterVersionRecord {
  return {
    name: row.name,
    version: Number(row.version),
    type: row.type,
    value: row.value,
    description: optional(row.description),
    allowedPattern: optional(row.allowed_pattern),
    tier: row.tier,
    keyId: optional(row.key_id),
    dataType: row.data_type,
    labels: JSON.parse(row.labels) as string[],
    modifiedAt: Number(row.modified_at),
    modifiedUser: row.modified_user,
    incarnation: row.incarnation,
  };
}

const versionRow = (version: ParameterVersionRecord): ParameterVersionsTable => ({
  name: version.name,
  version: version.version,
  type: version.type,
  value: version.value,
  description: version.description ?? null,
  allowed_pattern: version.allowedPattern ?? null,
  tier: version.tier,
  key_id: version.keyId ?? null,
  data_type: version.dataType,
  labels: JSON.stringify(version.labels),
  modified_at: version.modifiedAt,
  modified_user: version.modifiedUser,
});

function latest(db: Kysely<ParametersTables>) {
  return db
    .selectFrom("parameters")
    .innerJoin("parameter_versions", (join) =>
      join.onRef("parameter_versions.name", "=", "parameters.name").onRef("parameter_versions.version", "=", "parameters.version"),
    )
    .selectAll("parameter_versions")
    .select(["parameters.tags", "parameters.incarnation"]);
}

/** Versions with their parameter's incarnation. */
function withIncarnation(db: Kysely<ParametersTables>) {
  return db
    .selectFrom("parameter_versions")
    .innerJoin("parameters", "parameters.name", "parameter_versions.name")
    .selectAll("parameter_versions")
    .select("parameters.incarnation");
}

const parameterRecord = (row: ParameterVersionsTable & { tags: string; incarnation: string }): ParameterRecord => ({
  ...versionRecord(row),
  tags: JSON.parse(row.tags) as ParameterTag[],
});

async function readVersions(db: Kysely<ParametersTables>, name: string): Promise<ParameterVersionRecord[]> {
  return (await withIncarnation(db).where("parameter_versions.name", "=", name).orderBy("parameter_versions.version").execute()).map(versionRecord);
}

/** Takes the parameter's row lock (an UPDATE); false when it has no row. */
async function lockRow(tx: Kysely<ParametersTables>, name: string): Promise<boolean> {
  const result = await tx
    .updateTable("parameters")
    .set((eb) => ({ revision: eb("revision", "+", 1) }))
    .where("name", "=", name)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

function lockedParameter(tx: Kysely<ParametersTables>, name: string, existed: boolean, incarnation: string, tags: readonly ParameterTag[]): LockedParameter {
  return {
    existed,
    incarnation,
    tags,
    versions: () => readVersions(tx, name),
    async addVersion(version) {
      await tx.insertInto("parameter_versions").values(versionRow(version)).execute();
      await tx.updateTable("parameters").set({ version: version.version }).where("name", "=", name).execute();
    },
    async deleteVersions(versions) {
      if (versions.length > 0)
        await tx
          .deleteFrom("parameter_versions")
          .where("name", "=", name)
          .where("version", "in", [...versions])
          .execute();
    },
    setLabels: async (version, labels) =>
      void (await tx
        .updateTable("parameter_versions")
        .set({ labels: JSON.stringify(labels) })
        .where("name", "=", name)
        .where("version", "=", version)
        .execute()),
    setTags: async (next) =>
      void (await tx
        .updateTable("parameters")
        .set({ tags: JSON.stringify(next) })
        .where("name", "=", name)
        .execute()),
  };
}

export function createParametersRepository(db: Kysely<ParametersTables>): ParametersRepository {
  return {
    async get(name) {
      const row = await latest(db).where("parameters.name", "=", name).executeTakeFirst();
      return row && parameterRecord(row);
    },
    async version(name, version) {
      const row = await withIncarnation(db).where("parameter_versions.name", "=", name).where("parameter_versions.version", "=", version).executeTakeFirst();
      return row && versionRecord(row);
    },
    versions: (name) => readVersions(db, name),
    async list() {
      return (await latest(db).orderBy("parameters.name").execute()).map(parameterRecord);
    },
    async locked(name, create, work) {
      return inTransaction(db, async (tx) => {
        let existed = await lockRow(tx, name);
        if (!existed) {
          if (!create) return undefined;
          const inserted = await tx
            .insertInto("parameters")
            .values({ name, version: 0, tags: "[]", incarnation: randomUUID(), revision: 0 })
            .onConflict((conflict) => conflict.doNothing())
            .executeTakeFirst();
          // Another transaction created it meanwhile: wait for its row like any other writer.
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) existed = await lockRow(tx, name);
        }
        const row = await tx.selectFrom("parameters").select(["tags", "version", "incarnation"]).where("name", "=", name).executeTakeFirstOrThrow();
        // A row without versions is one this transaction (or a rolled-back one) just made.
        const live = existed && Number(row.version) > 0;
        return { value: await work(lockedParameter(tx, name, live, row.incarnation, JSON.parse(row.tags) as ParameterTag[])) };
      });
    },
    async delete(name) {
      const result = await db.deleteFrom("parameters").where("name", "=", name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
