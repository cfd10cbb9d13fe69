// The SSM Parameter Store tables (parameters-repository.ts), migration 0017. A SecureString
// version's value is stored sealed (core/envelope-seal.ts), never in plaintext.
import type { Kysely, Migration } from "kysely";

export const parametersMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("parameters")
      .addColumn("name", "varchar(2048)", (c) => c.primaryKey())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("incarnation", "varchar(64)", (c) => c.notNull())
      .addColumn("revision", "integer", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("parameter_versions")
      .addColumn("name", "varchar(2048)", (c) => c.notNull().references("parameters.name").onDelete("cascade"))
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("type", "varchar(16)", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("allowed_pattern", "text")
      .addColumn("tier", "varchar(16)", (c) => c.notNull())
      .addColumn("key_id", "text")
      .addColumn("data_type", "varchar(32)", (c) => c.notNull())
      .addColumn("labels", "text", (c) => c.notNull())
      .addColumn("modified_at", "bigint", (c) => c.notNull())
      .addColumn("modified_user", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("parameter_versions_pk", ["name", "version"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("parameter_versions").execute();
    await db.schema.dropTable("parameters").execute();
  },
};
