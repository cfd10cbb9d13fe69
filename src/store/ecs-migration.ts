// Schema of access keys and the ECS tables (see ecs-repositories.ts, access-keys-repository.ts);
// portable across SQLite and PostgreSQL.
import type { Kysely, Migration } from "kysely";

export const ecsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("access_keys")
      .addColumn("access_key_id", "varchar(128)", (c) => c.primaryKey())
      .addColumn("secret_ciphertext", "text", (c) => c.notNull())
      .addColumn("account_id", "varchar(12)", (c) => c.notNull())
      .addColumn("principal_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("clusters")
      .addColumn("cluster_name", "varchar(255)", (c) => c.primaryKey())
      .addColumn("cluster_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("status", "varchar(32)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("task_definition_families")
      .addColumn("family", "varchar(255)", (c) => c.primaryKey())
      .addColumn("last_revision", "integer", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("task_definitions")
      .addColumn("family", "varchar(255)", (c) => c.notNull())
      .addColumn("revision", "integer", (c) => c.notNull())
      .addColumn("task_definition_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("status", "varchar(32)", (c) => c.notNull())
      .addColumn("registered_at", "bigint", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("task_definitions_pk", ["family", "revision"])
      .execute();
    await db.schema.createIndex("task_definitions_status").on("task_definitions").columns(["status", "family", "revision"]).execute();
    await db.schema
      .createTable("tags")
      .addColumn("resource_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("tag_key", "varchar(128)", (c) => c.notNull())
      .addColumn("tag_value", "varchar(256)", (c) => c.notNull())
      .addPrimaryKeyConstraint("tags_pk", ["resource_arn", "tag_key"])
      .execute();
    await db.schema
      .createTable("account_settings")
      .addColumn("principal_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("name", "varchar(128)", (c) => c.notNull())
      .addColumn("value", "varchar(256)", (c) => c.notNull())
      .addPrimaryKeyConstraint("account_settings_pk", ["principal_arn", "name"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ["account_settings", "tags", "task_definitions", "task_definition_families", "clusters", "access_keys"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
