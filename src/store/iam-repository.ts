// IAM roles, users, their inline and attached policies, customer managed policies
// (iam-policies-store.ts) and users' access keys (in access_keys, beside the root key, so SigV4
// verification reads one table). Names are matched case-insensitively, as IAM matches them: rows
// are keyed by the lower-cased name and keep the name as given. Every check-then-write of the IAM
// API runs in `locked`, which holds the one iam_write_lock row for its transaction, so quotas and
// name uniqueness hold across replicas. Portable Kysely SQL.
import type { Kysely } from "kysely";
import { awsManagedPolicy } from "../core/iam/aws-managed-policies.js";
import type { AccessKeysTable } from "./access-keys-repository.js";
import type { IamPolicyStore, IamPolicyTables } from "./iam-policies-store.js";
import { createIamPolicyStore, nameKey, tagsOf, tagsText } from "./iam-policies-store.js";
import { rebindTrustPolicies } from "./iam-trust-bindings.js";
import { inTransaction } from "./transaction.js";

export type { StoredManagedPolicy, StoredPolicyVersion, ManagedPolicyChange } from "./iam-policies-store.js";

export interface IamRolesTable {
  name_key: string;
  name: string;
  path: string;
  role_id: string;
  arn: string;
  assume_role_policy: string;
  description: string | null;
  max_session_duration: number;
  tags: string;
  created_at: number;
}

export interface IamUsersTable {
  name_key: string;
  name: string;
  path: string;
  user_id: string;
  arn: string;
  tags: string;
  created_at: number;
}

export interface IamInlinePoliciesTable {
  owner_kind: string;
  owner_key: string;
  name_key: string;
  name: string;
  document: string;
}

export interface IamAttachmentsTable {
  owner_kind: string;
  owner_key: string;
  policy_arn: string;
}

export type IamTables = IamPolicyTables & {
  iam_write_lock: { id: number; revision: number };
  iam_roles: IamRolesTable;
  iam_users: IamUsersTable;
  iam_inline_policies: IamInlinePoliciesTable;
  iam_attachments: IamAttachmentsTable;
  access_keys: AccessKeysTable;
};

export interface StoredRole {
  readonly arn: string;
  readonly roleId: string;
  readonly name: string;
  readonly path: string;
  /** Raw JSON text. */
  readonly assumeRolePolicyDocument: string;
  /** Seconds. */
  readonly maxSessionDuration: number;
  readonly tags: ReadonlyMap<string, string>;
  /** ms since the epoch. */
  readonly createDate: number;
  readonly description?: string | undefined;
}

export interface StoredUser {
  readonly arn: string;
  readonly userId: string;
  readonly name: string;
  readonly path: string;
  readonly tags: ReadonlyMap<string, string>;
  readonly createDate: number;
}

export type IamEntityKind = "role" | "user";

export interface InlinePolicy {
  readonly name: string;
  readonly document: string;
}

export type AccessKeyStatus = "Active" | "Inactive";

export interface StoredUserAccessKey {
  readonly accessKeyId: string;
  readonly userName: string;
  readonly status: AccessKeyStatus;
  readonly createDate: number;
}

/** A user's new key: its secret sealed by the caller (the store never sees it in the clear). */
export interface NewUserAccessKey {
  readonly accessKeyId: string;
  readonly secretCiphertext: string;
  readonly accountId: string;
  readonly userName: string;
  readonly createDate: number;
}

/** What a role changes to (absent members stay; description null clears it). */
export interface RoleChange {
  readonly description?: string | null;
  readonly maxSessionDuration?: number;
  readonly assumeRolePolicyDocument?: string;
  readonly tags?: ReadonlyMap<string, string>;
}

export interface UserChange {
  readonly name?: string;
  readonly path?: string;
  readonly arn?: string;
  readonly tags?: ReadonlyMap<string, string>;
}

export interface IamRepository extends IamPolicyStore {
  getRole(name: string): Promise<StoredRole | undefined>;
  getUser(name: string): Promise<StoredUser | undefined>;
  /**
   * The raw JSON texts of every identity policy in force for the entity: its inline policies and the
   * default version of each attached managed policy (AWS managed ones included). [] when it has
   * none; undefined when the entity does not exist.
   */
  policyDocumentsOf(kind: IamEntityKind, name: string): Promise<readonly string[] | undefined>;
  /** The unique id (AROA…/AIDA…) of the role or user whose ARN this is, for GetCallerIdentity. */
  uniqueIdOf(arn: string): Promise<string | undefined>;
  /** The ARN of the role or user whose unique id this is (a trust policy may name one), or undefined. */
  arnOfUniqueId(id: string): Promise<string | undefined>;
  listRoles(): Promise<StoredRole[]>;
  listUsers(): Promise<StoredUser[]>;
  createRole(role: StoredRole): Promise<void>;
  updateRole(name: string, change: RoleChange): Promise<void>;
  /** Deletes the role; trust policies naming its ARN then name its unique id (iam-trust-bindings.ts). */
  deleteRole(name: string): Promise<boolean>;
  createUser(user: StoredUser): Promise<void>;
  /** Renames and moves the user with everything that names it (policies, attachments, keys, trust policies). */
  updateUser(name: string, change: UserChange): Promise<void>;
  /** Deletes the user; trust policies naming its ARN then name its unique id (iam-trust-bindings.ts). */
  deleteUser(name: string): Promise<boolean>;
  inlinePolicies(kind: IamEntityKind, owner: string): Promise<InlinePolicy[]>;
  inlinePolicy(kind: IamEntityKind, owner: string, policyName: string): Promise<InlinePolicy | undefined>;
  putInlinePolicy(kind: IamEntityKind, owner: string, policy: InlinePolicy): Promise<void>;
  deleteInlinePolicy(kind: IamEntityKind, owner: string, policyName: string): Promise<boolean>;
  /** The ARNs of the managed policies attached to the entity, in ARN order. */
  attachedPolicies(kind: IamEntityKind, owner: string): Promise<string[]>;
  attach(kind: IamEntityKind, owner: string, policyArn: string): Promise<void>;
  detach(kind: IamEntityKind, owner: string, policyArn: string): Promise<boolean>;
  attachmentCount(policyArn: string): Promise<number>;
  /** How many entities each attached policy ARN is attached to (ARNs attached to none are absent). */
  attachmentCounts(): Promise<Map<string, number>>;
  /** How many roles, users and customer managed policies the account has (for IAM's account quotas). */
  entityCount(kind: "role" | "user" | "policy"): Promise<number>;
  userAccessKeys(userName: string): Promise<StoredUserAccessKey[]>;
  userAccessKey(accessKeyId: string): Promise<StoredUserAccessKey | undefined>;
  addUserAccessKey(key: NewUserAccessKey, principalArn: string): Promise<void>;
  setAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus): Promise<void>;
  deleteUserAccessKey(accessKeyId: string): Promise<boolean>;
  /** Runs `work` in one transaction holding the IAM write lock (every IAM write goes through here). */
  locked<T>(work: (tx: IamRepository) => Promise<T>): Promise<T>;
}

function roleRecord(row: IamRolesTable): StoredRole {
  return {
    arn: row.arn,
    roleId: row.role_id,
    name: row.name,
    path: row.path,
    assumeRolePolicyDocument: row.assume_role_policy,
    maxSessionDuration: Number(row.max_session_duration),
    tags: tagsOf(row.tags),
    createDate: Number(row.created_at),
    description: row.description ?? undefined,
  };
}

function userRecord(row: IamUsersTable): StoredUser {
  return { arn: row.arn, userId: row.user_id, name: row.name, path: row.path, tags: tagsOf(row.tags), createDate: Number(row.created_at) };
}

function entityReads(db: Kysely<IamTables>) {
  const inlinePolicies = async (kind: IamEntityKind, owner: string) =>
    (
      await db
        .selectFrom("iam_inline_policies")
        .select(["name", "document"])
        .where("owner_kind", "=", kind)
        .where("owner_key", "=", nameKey(owner))
        .orderBy("name_key")
        .execute()
    ).map((row) => ({ name: row.name, document: row.document }));
  const attachedPolicies = async (kind: IamEntityKind, owner: string) =>
    (
      await db
        .selectFrom("iam_attachments")
        .select("policy_arn")
        .where("owner_kind", "=", kind)
        .where("owner_key", "=", nameKey(owner))
        .orderBy("policy_arn")
        .execute()
    ).map((row) => row.policy_arn);
  return {
    async getRole(name: string) {
      const row = await db.selectFrom("iam_roles").selectAll().where("name_key", "=", nameKey(name)).executeTakeFirst();
      return row && roleRecord(row);
    },
    async getUser(name: string) {
      const row = await db.selectFrom("iam_users").selectAll().where("name_key", "=", nameKey(name)).executeTakeFirst();
      return row && userRecord(row);
    },
    inlinePolicies,
    attachedPolicies,
    async policyDocumentsOf(kind: IamEntityKind, name: string, policies: IamPolicyStore) {
      const table = kind === "role" ? "iam_roles" : "iam_users";
      const exists = await db.selectFrom(table).select("name_key").where("name_key", "=", nameKey(name)).executeTakeFirst();
      if (!exists) return undefined;
      const documents = (await inlinePolicies(kind, name)).map((policy) => policy.document);
      for (const arn of await attachedPolicies(kind, name)) {
        const document = awsManagedPolicy(arn)?.document ?? (await policies.defaultDocumentOf(arn));
        if (document !== undefined) documents.push(document);
      }
      return documents;
    },
  };
}

function accessKeyRecord(row: { access_key_id: string; status: string; created_at: number; name: string }): StoredUserAccessKey {
  return { accessKeyId: row.access_key_id, userName: row.name, status: row.status as AccessKeyStatus, createDate: Number(row.created_at) };
}

function userKeys(db: Kysely<IamTables>) {
  const keys = () =>
    db
      .selectFrom("access_keys")
      .innerJoin("iam_users", "iam_users.name_key", "access_keys.user_key")
      .select(["access_key_id", "status", "access_keys.created_at", "iam_users.name"]);
  return {
    async userAccessKeys(userName: string) {
      return (await keys().where("access_keys.user_key", "=", nameKey(userName)).orderBy("access_keys.created_at").orderBy("access_key_id").execute()).map(
        accessKeyRecord,
      );
    },
    async userAccessKey(accessKeyId: string) {
      const row = await keys().where("access_key_id", "=", accessKeyId).executeTakeFirst();
      return row && accessKeyRecord(row);
    },
    async addUserAccessKey(key: NewUserAccessKey, principalArn: string) {
      await db
        .insertInto("access_keys")
        .values({
          access_key_id: key.accessKeyId,
          secret_ciphertext: key.secretCiphertext,
          account_id: key.accountId,
          principal_arn: principalArn,
          created_at: key.createDate,
          status: "Active",
          user_key: nameKey(key.userName),
        })
        .execute();
    },
    async setAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus) {
      await db.updateTable("access_keys").set({ status }).where("access_key_id", "=", accessKeyId).where("user_key", "is not", null).execute();
    },
    async deleteUserAccessKey(accessKeyId: string) {
      // Only a user's key: the root key (user_key null) is never deleted through IAM.
      const result = await db.deleteFrom("access_keys").where("access_key_id", "=", accessKeyId).where("user_key", "is not", null).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

function roleWrites(db: Kysely<IamTables>) {
  return {
    async createRole(role: StoredRole) {
      await db
        .insertInto("iam_roles")
        .values({
          name_key: nameKey(role.name),
          name: role.name,
          path: role.path,
          role_id: role.roleId,
          arn: role.arn,
          assume_role_policy: role.assumeRolePolicyDocument,
          description: role.description ?? null,
          max_session_duration: role.maxSessionDuration,
          tags: tagsText(role.tags),
          created_at: role.createDate,
        })
        .execute();
    },
    async updateRole(name: string, change: RoleChange) {
      const set: Partial<IamRolesTable> = {};
      if (change.description !== undefined) set.description = change.description;
      if (change.maxSessionDuration !== undefined) set.max_session_duration = change.maxSessionDuration;
      if (change.assumeRolePolicyDocument !== undefined) set.assume_role_policy = change.assumeRolePolicyDocument;
      if (change.tags !== undefined) set.tags = tagsText(change.tags);
      if (Object.keys(set).length > 0) await db.updateTable("iam_roles").set(set).where("name_key", "=", nameKey(name)).execute();
    },
    async deleteRole(name: string) {
      const role = await db.selectFrom("iam_roles").select(["arn", "role_id"]).where("name_key", "=", nameKey(name)).executeTakeFirst();
      if (!role) return false;
      await db.deleteFrom("iam_roles").where("name_key", "=", nameKey(name)).execute();
      await rebindTrustPolicies(db, role.arn, role.role_id);
      return true;
    },
  };
}

function userWrites(db: Kysely<IamTables>) {
  return {
    async createUser(user: StoredUser) {
      await db
        .insertInto("iam_users")
        .values({
          name_key: nameKey(user.name),
          name: user.name,
          path: user.path,
          user_id: user.userId,
          arn: user.arn,
          tags: tagsText(user.tags),
          created_at: user.createDate,
        })
        .execute();
    },
    async updateUser(name: string, change: UserChange) {
      const key = nameKey(name);
      const set: Partial<IamUsersTable> = {};
      if (change.name !== undefined) Object.assign(set, { name: change.name, name_key: nameKey(change.name) });
      if (change.path !== undefined) set.path = change.path;
      if (change.arn !== undefined) set.arn = change.arn;
      if (change.tags !== undefined) set.tags = tagsText(change.tags);
      if (Object.keys(set).length === 0) return;
      const before = await db.selectFrom("iam_users").select("arn").where("name_key", "=", key).executeTakeFirst();
      if (!before) return;
      await db.updateTable("iam_users").set(set).where("name_key", "=", key).execute();
      if (change.arn !== undefined) await rebindTrustPolicies(db, before.arn, change.arn);
      const newKey = set.name_key ?? key;
      if (newKey !== key) {
        await db.updateTable("iam_inline_policies").set({ owner_key: newKey }).where("owner_kind", "=", "user").where("owner_key", "=", key).execute();
        await db.updateTable("iam_attachments").set({ owner_key: newKey }).where("owner_kind", "=", "user").where("owner_key", "=", key).execute();
        await db.updateTable("access_keys").set({ user_key: newKey }).where("user_key", "=", key).execute();
      }
      // The keys authenticate as the user's ARN, which a new name or path changes.
      if (change.arn !== undefined) await db.updateTable("access_keys").set({ principal_arn: change.arn }).where("user_key", "=", newKey).execute();
    },
    async deleteUser(name: string) {
      const user = await db.selectFrom("iam_users").select(["arn", "user_id"]).where("name_key", "=", nameKey(name)).executeTakeFirst();
      if (!user) return false;
      await db.deleteFrom("iam_users").where("name_key", "=", nameKey(name)).execute();
      await rebindTrustPolicies(db, user.arn, user.user_id);
      return true;
    },
  };
}

function policyLinks(db: Kysely<IamTables>) {
  return {
    async inlinePolicy(kind: IamEntityKind, owner: string, policyName: string) {
      const row = await db
        .selectFrom("iam_inline_policies")
        .select(["name", "document"])
        .where("owner_kind", "=", kind)
        .where("owner_key", "=", nameKey(owner))
        .where("name_key", "=", nameKey(policyName))
        .executeTakeFirst();
      return row && { name: row.name, document: row.document };
    },
    async putInlinePolicy(kind: IamEntityKind, owner: string, policy: InlinePolicy) {
      const key = { owner_kind: kind, owner_key: nameKey(owner), name_key: nameKey(policy.name) };
      await db
        .insertInto("iam_inline_policies")
        .values({ ...key, name: policy.name, document: policy.document })
        .onConflict((conflict) => conflict.columns(["owner_kind", "owner_key", "name_key"]).doUpdateSet({ document: policy.document }))
        .execute();
    },
    async deleteInlinePolicy(kind: IamEntityKind, owner: string, policyName: string) {
      const result = await db
        .deleteFrom("iam_inline_policies")
        .where("owner_kind", "=", kind)
        .where("owner_key", "=", nameKey(owner))
        .where("name_key", "=", nameKey(policyName))
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async attach(kind: IamEntityKind, owner: string, policyArn: string) {
      await db
        .insertInto("iam_attachments")
        .values({ owner_kind: kind, owner_key: nameKey(owner), policy_arn: policyArn })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
    },
    async detach(kind: IamEntityKind, owner: string, policyArn: string) {
      const result = await db
        .deleteFrom("iam_attachments")
        .where("owner_kind", "=", kind)
        .where("owner_key", "=", nameKey(owner))
        .where("policy_arn", "=", policyArn)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async attachmentCount(policyArn: string) {
      const row = await db
        .selectFrom("iam_attachments")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("policy_arn", "=", policyArn)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async attachmentCounts() {
      const rows = await db
        .selectFrom("iam_attachments")
        .select((eb) => ["policy_arn", eb.fn.countAll<number>().as("n")])
        .groupBy("policy_arn")
        .execute();
      return new Map(rows.map((row) => [row.policy_arn, Number(row.n)]));
    },
  };
}

export function createIamRepository(db: Kysely<IamTables>): IamRepository {
  const policies = createIamPolicyStore(db as unknown as Kysely<IamPolicyTables>);
  const reads = entityReads(db);
  const repository: IamRepository = {
    ...policies,
    ...reads,
    ...userKeys(db),
    ...roleWrites(db),
    ...userWrites(db),
    ...policyLinks(db),
    policyDocumentsOf: (kind, name) => reads.policyDocumentsOf(kind, name, policies),
    async uniqueIdOf(arn) {
      const role = await db.selectFrom("iam_roles").select("role_id").where("arn", "=", arn).executeTakeFirst();
      if (role) return role.role_id;
      return (await db.selectFrom("iam_users").select("user_id").where("arn", "=", arn).executeTakeFirst())?.user_id;
    },
    async arnOfUniqueId(id) {
      const role = await db.selectFrom("iam_roles").select("arn").where("role_id", "=", id).executeTakeFirst();
      if (role) return role.arn;
      return (await db.selectFrom("iam_users").select("arn").where("user_id", "=", id).executeTakeFirst())?.arn;
    },
    async entityCount(kind) {
      const table = kind === "role" ? "iam_roles" : kind === "user" ? "iam_users" : "iam_policies";
      const row = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    listRoles: async () => (await db.selectFrom("iam_roles").selectAll().orderBy("name_key").execute()).map(roleRecord),
    listUsers: async () => (await db.selectFrom("iam_users").selectAll().orderBy("name_key").execute()).map(userRecord),
    locked: (work) =>
      inTransaction(db, async (tx) => {
        // The row lock every IAM write takes first (PostgreSQL: held to commit; SQLite: the write lock).
        await tx
          .updateTable("iam_write_lock")
          .set((eb) => ({ revision: eb("revision", "+", 1) }))
          .where("id", "=", 1)
          .execute();
        return work(createIamRepository(tx));
      }),
  };
  return repository;
}
