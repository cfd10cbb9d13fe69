// The Secrets Manager tables (secrets-repository.ts), migration 0016. A secret's values live in
// secret_versions, sealed (core/envelope-seal.ts): no column holds a plaintext value.
import type { Kysely, Migration } from "kysely";

export const secretsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("secrets")
      .addColumn("arn", "varchar(2048)", (c) => c.primaryKey())
      .addColumn("name", "varchar(512)", (c) => c.notNull().unique())
      .addColumn("description", "text")
      .addColumn("kms_key_id", "text")
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("last_changed_at", "bigint", (c) => c.notNull())
      .addColumn("last_accessed_at", "bigint")
      .addColumn("deleted_at", "bigint")
      .addColumn("purge_at", "bigint")
      .addColumn("revision", "integer", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("secrets_purge_at").on("secrets").column("purge_at").execute();
    await db.schema
      .createTable("secret_versions")
      .addColumn("secret_arn", "varchar(2048)", (c) => c.notNull().references("secrets.arn").onDelete("cascade"))
      .addColumn("version_id", "varchar(64)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("stages", "text", (c) => c.notNull())
      .addColumn("value_kind", "varchar(8)", (c) => c.notNull())
      .addColumn("sealed_value", "text", (c) => c.notNull())
      .addColumn("last_accessed_at", "bigint")
      .addPrimaryKeyConstraint("secret_versions_pk", ["secret_arn", "version_id"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("secret_versions").execute();
    await db.schema.dropTable("secrets").execute();
  },
};
