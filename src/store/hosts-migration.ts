// Schema of the fleet's hosts (see hosts-repository.ts); portable across SQLite and PostgreSQL.
import type { Kysely, Migration } from "kysely";

export const hostsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("hosts")
      .addColumn("host_id", "varchar(128)", (c) => c.primaryKey())
      .addColumn("availability_zone", "varchar(64)", (c) => c.notNull())
      .addColumn("architecture", "varchar(16)", (c) => c.notNull())
      .addColumn("cpu_units", "integer", (c) => c.notNull())
      .addColumn("memory_mib", "integer", (c) => c.notNull())
      .addColumn("task_slots", "integer", (c) => c.notNull())
      .addColumn("ephemeral_gib", "integer", (c) => c.notNull())
      .addColumn("status", "varchar(16)", (c) => c.notNull())
      .addColumn("registered_at", "bigint", (c) => c.notNull())
      .addColumn("last_heartbeat_at", "bigint", (c) => c.notNull())
      .addColumn("token_sha256", "varchar(64)", (c) => c.notNull())
      .addColumn("agent_version", "varchar(64)", (c) => c.notNull())
      .addColumn("subnets_json", "text", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("hosts").execute();
  },
};
