// Schema of the CloudWatch Logs tables (see logs-repository.ts). Kysely's schema builder renders
// this for SQLite and PostgreSQL alike; only the auto-increment key differs, and is chosen by the
// caller's dialect.
import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";

export type SqlDialectName = "sqlite" | "postgres";

export function logsMigration(dialect: SqlDialectName): Migration {
  const idType = dialect === "postgres" ? sql`bigserial` : sql`integer`;
  return {
    async up(db: Kysely<unknown>) {
      const serialId = (name: string) =>
        db.schema.createTable(name).addColumn("id", idType, (column) => (dialect === "postgres" ? column.primaryKey() : column.primaryKey().autoIncrement()));
      await serialId("log_groups")
        .addColumn("name", "varchar(512)", (c) => c.notNull().unique())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("retention_days", "integer")
        .addColumn("kms_key_id", "text")
        .addColumn("log_group_class", "varchar(32)", (c) => c.notNull())
        .addColumn("tags_json", "text", (c) => c.notNull())
        .addColumn("stored_bytes", "bigint", (c) => c.notNull())
        .execute();
      await serialId("log_streams")
        .addColumn("group_id", "bigint", (c) => c.notNull().references("log_groups.id").onDelete("cascade"))
        .addColumn("name", "varchar(512)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("first_event_at", "bigint")
        .addColumn("last_event_at", "bigint")
        .addColumn("last_ingestion_at", "bigint")
        .addColumn("stored_bytes", "bigint", (c) => c.notNull())
        .addUniqueConstraint("log_streams_group_name", ["group_id", "name"])
        .execute();
      await serialId("log_events")
        .addColumn("group_id", "bigint", (c) => c.notNull())
        .addColumn("stream_id", "bigint", (c) => c.notNull())
        .addColumn("timestamp", "bigint", (c) => c.notNull())
        .addColumn("ingestion_time", "bigint", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("log_events_stream_time").on("log_events").columns(["stream_id", "timestamp", "id"]).execute();
      await db.schema.createIndex("log_events_group_time").on("log_events").columns(["group_id", "timestamp", "id"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("log_events").execute();
      await db.schema.dropTable("log_streams").execute();
      await db.schema.dropTable("log_groups").execute();
    },
  };
}
