// The IAM tables (iam-repository.ts), migration 0018. IAM names are unique case-insensitively
// (IAM User Guide, "IAM identifiers": you cannot have both "PRODROLE" and "prodrole"), so every
// entity is keyed by its lower-cased name (`name_key`) and keeps the name as it was given.
// Users' access keys live in access_keys beside the root key, which SigV4 verification reads;
// this migration gives that table the status, owner and creation date an IAM user's key needs.
import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";

export const iamMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // One row every IAM write updates first: IAM writes run one at a time across replicas, so a
    // quota counted then written (keys per user, versions per policy) or a name checked then taken
    // cannot be raced past.
    await db.schema
      .createTable("iam_write_lock")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("revision", "bigint", (c) => c.notNull())
      .execute();
    await sql`INSERT INTO iam_write_lock (id, revision) VALUES (1, 0)`.execute(db);
    await db.schema
      .createTable("iam_roles")
      .addColumn("name_key", "varchar(64)", (c) => c.primaryKey())
      .addColumn("name", "varchar(64)", (c) => c.notNull())
      .addColumn("path", "varchar(512)", (c) => c.notNull())
      .addColumn("role_id", "varchar(32)", (c) => c.notNull().unique())
      .addColumn("arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("assume_role_policy", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("max_session_duration", "integer", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("iam_users")
      .addColumn("name_key", "varchar(64)", (c) => c.primaryKey())
      .addColumn("name", "varchar(64)", (c) => c.notNull())
      .addColumn("path", "varchar(512)", (c) => c.notNull())
      .addColumn("user_id", "varchar(32)", (c) => c.notNull().unique())
      .addColumn("arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    // Inline policies of roles and users: owner_kind "role" | "user", owner_key the owner's name_key.
    await db.schema
      .createTable("iam_inline_policies")
      .addColumn("owner_kind", "varchar(8)", (c) => c.notNull())
      .addColumn("owner_key", "varchar(64)", (c) => c.notNull())
      .addColumn("name_key", "varchar(128)", (c) => c.notNull())
      .addColumn("name", "varchar(128)", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("iam_inline_policies_pk", ["owner_kind", "owner_key", "name_key"])
      .execute();
    // Customer managed policies (AWS managed ones are built in: src/core/iam/aws-managed-policies.ts).
    await db.schema
      .createTable("iam_policies")
      .addColumn("name_key", "varchar(128)", (c) => c.primaryKey())
      .addColumn("name", "varchar(128)", (c) => c.notNull())
      .addColumn("path", "varchar(512)", (c) => c.notNull())
      .addColumn("policy_id", "varchar(32)", (c) => c.notNull().unique())
      .addColumn("arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("default_version", "varchar(16)", (c) => c.notNull())
      .addColumn("next_version", "integer", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("iam_policy_versions")
      .addColumn("policy_key", "varchar(128)", (c) => c.notNull().references("iam_policies.name_key").onDelete("cascade"))
      .addColumn("version_id", "varchar(16)", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("iam_policy_versions_pk", ["policy_key", "version_id"])
      .execute();
    // Managed policies attached to roles and users, by the policy's ARN as stored (or AWS's).
    await db.schema
      .createTable("iam_attachments")
      .addColumn("owner_kind", "varchar(8)", (c) => c.notNull())
      .addColumn("owner_key", "varchar(64)", (c) => c.notNull())
      .addColumn("policy_arn", "varchar(1024)", (c) => c.notNull())
      .addPrimaryKeyConstraint("iam_attachments_pk", ["owner_kind", "owner_key", "policy_arn"])
      .execute();
    await db.schema.createIndex("iam_attachments_policy").on("iam_attachments").column("policy_arn").execute();
    // An IAM user's key: Active or Inactive (an Inactive key authenticates nothing), its owner's
    // name_key (null for the root key, which IAM neither lists nor deletes).
    await db.schema
      .alterTable("access_keys")
      .addColumn("status", "varchar(16)", (c) => c.notNull().defaultTo("Active"))
      .execute();
    await db.schema.alterTable("access_keys").addColumn("user_key", "varchar(64)").execute();
    await db.schema.createIndex("access_keys_user").on("access_keys").column("user_key").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex("access_keys_user").execute();
    await db.schema.alterTable("access_keys").dropColumn("user_key").execute();
    await db.schema.alterTable("access_keys").dropColumn("status").execute();
    for (const table of ["iam_attachments", "iam_policy_versions", "iam_policies", "iam_inline_policies", "iam_users", "iam_roles", "iam_write_lock"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
