// Customer managed policies and their versions (part of the IAM repository, iam-repository.ts).
// A policy is keyed by its lower-cased name: IAM names are unique in an account whatever their
// case and path. AWS managed policies are not rows: they are built in (core/iam/aws-managed-policies.ts).
import type { Kysely } from "kysely";

export interface IamPoliciesTable {
  name_key: string;
  name: string;
  path: string;
  policy_id: string;
  arn: string;
  description: string | null;
  default_version: string;
  /** The number the next version gets (v1, v2, …: numbers are never reused, as IAM does). */
  next_version: number;
  /** JSON array of [key, value]. */
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface IamPolicyVersionsTable {
  policy_key: string;
  version_id: string;
  document: string;
  created_at: number;
}

export interface IamPolicyTables {
  iam_policies: IamPoliciesTable;
  iam_policy_versions: IamPolicyVersionsTable;
}

export interface StoredManagedPolicy {
  readonly arn: string;
  readonly policyId: string;
  readonly name: string;
  readonly path: string;
  readonly description: string | undefined;
  readonly defaultVersionId: string;
  readonly nextVersion: number;
  readonly tags: ReadonlyMap<string, string>;
  readonly createDate: number;
  readonly updateDate: number;
}

export interface StoredPolicyVersion {
  readonly versionId: string;
  /** Raw JSON text, as the caller gave it. */
  readonly document: string;
  readonly createDate: number;
}

/** What a managed policy's row changes to (absent members stay). */
export interface ManagedPolicyChange {
  readonly defaultVersionId?: string;
  readonly nextVersion?: number;
  readonly tags?: ReadonlyMap<string, string>;
  readonly updateDate?: number;
}

export const tagsText = (tags: ReadonlyMap<string, string>) => JSON.stringify([...tags]);
export const tagsOf = (text: string): ReadonlyMap<string, string> => new Map(JSON.parse(text) as [string, string][]);
export const nameKey = (name: string) => name.toLowerCase();

function policyRecord(row: IamPoliciesTable): StoredManagedPolicy {
  return {
    arn: row.arn,
    policyId: row.policy_id,
    name: row.name,
    path: row.path,
    description: row.description ?? undefined,
    defaultVersionId: row.default_version,
    nextVersion: Number(row.next_version),
    tags: tagsOf(row.tags),
    createDate: Number(row.created_at),
    updateDate: Number(row.updated_at),
  };
}

export interface IamPolicyStore {
  /** The policy named `name` (any case), or undefined. */
  getPolicy(name: string): Promise<StoredManagedPolicy | undefined>;
  /** Every customer managed policy, by lower-cased name. */
  listPolicies(): Promise<StoredManagedPolicy[]>;
  createPolicy(policy: StoredManagedPolicy, first: StoredPolicyVersion): Promise<void>;
  updatePolicy(name: string, change: ManagedPolicyChange): Promise<void>;
  /** Deletes the policy with its versions; false when there was none. */
  deletePolicy(name: string): Promise<boolean>;
  policyVersions(name: string): Promise<StoredPolicyVersion[]>;
  addPolicyVersion(name: string, version: StoredPolicyVersion): Promise<void>;
  deletePolicyVersion(name: string, versionId: string): Promise<boolean>;
  /** The default version's document of the customer managed policy `arn`, or undefined. */
  defaultDocumentOf(arn: string): Promise<string | undefined>;
}

export function createIamPolicyStore(db: Kysely<IamPolicyTables>): IamPolicyStore {
  return {
    async getPolicy(name) {
      const row = await db.selectFrom("iam_policies").selectAll().where("name_key", "=", nameKey(name)).executeTakeFirst();
      return row && policyRecord(row);
    },
    async listPolicies() {
      return (await db.selectFrom("iam_policies").selectAll().orderBy("name_key").execute()).map(policyRecord);
    },
    async createPolicy(policy, first) {
      await db
        .insertInto("iam_policies")
        .values({
          name_key: nameKey(policy.name),
          name: policy.name,
          path: policy.path,
          policy_id: policy.policyId,
          arn: policy.arn,
          description: policy.description ?? null,
          default_version: policy.defaultVersionId,
          next_version: policy.nextVersion,
          tags: tagsText(policy.tags),
          created_at: policy.createDate,
          updated_at: policy.updateDate,
        })
        .execute();
      await db
        .insertInto("iam_policy_versions")
        .values({ policy_key: nameKey(policy.name), version_id: first.versionId, document: first.document, created_at: first.createDate })
        .execute();
    },
    async updatePolicy(name, change) {
      const set: Partial<IamPoliciesTable> = {};
      if (change.defaultVersionId !== undefined) set.default_version = change.defaultVersionId;
      if (change.nextVersion !== undefined) set.next_version = change.nextVersion;
      if (change.tags !== undefined) set.tags = tagsText(change.tags);
      if (change.updateDate !== undefined) set.updated_at = change.updateDate;
      if (Object.keys(set).length > 0) await db.updateTable("iam_policies").set(set).where("name_key", "=", nameKey(name)).execute();
    },
    async deletePolicy(name) {
      // Versions first: SQLite enforces the cascade, but only with foreign_keys on; say it outright.
      await db.deleteFrom("iam_policy_versions").where("policy_key", "=", nameKey(name)).execute();
      const result = await db.deleteFrom("iam_policies").where("name_key", "=", nameKey(name)).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async policyVersions(name) {
      const rows = await db.selectFrom("iam_policy_versions").selectAll().where("policy_key", "=", nameKey(name)).execute();
      return rows
        .map((row) => ({ versionId: row.version_id, document: row.document, createDate: Number(row.created_at) }))
        .sort((a, b) => Number(a.versionId.slice(1)) - Number(b.versionId.slice(1)));
    },
    async addPolicyVersion(name, version) {
      await db
        .insertInto("iam_policy_versions")
        .values({ policy_key: nameKey(name), version_id: version.versionId, document: version.document, created_at: version.createDate })
        .execute();
    },
    async deletePolicyVersion(name, versionId) {
      const result = await db.deleteFrom("iam_policy_versions").where("policy_key", "=", nameKey(name)).where("version_id", "=", versionId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async defaultDocumentOf(arn) {
      const row = await db
        .selectFrom("iam_policies")
        .innerJoin("iam_policy_versions", (join) =>
          join
            .onRef("iam_policy_versions.policy_key", "=", "iam_policies.name_key")
            .onRef("iam_policy_versions.version_id", "=", "iam_policies.default_version"),
        )
        .select("iam_policy_versions.document")
        .where("iam_policies.arn", "=", arn)
        .executeTakeFirst();
      return row?.document;
    },
  };
}
