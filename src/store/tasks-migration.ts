// Schema of the ECS task records (see tasks-repository.ts); portable across SQLite and PostgreSQL.
import type { Kysely, Migration } from "kysely";

export const tasksMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("tasks")
      .addColumn("task_arn", "varchar(1024)", (c) => c.primaryKey())
      .addColumn("task_id", "varchar(64)", (c) => c.notNull())
      .addColumn("cluster_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("family", "varchar(255)", (c) => c.notNull())
      .addColumn("started_by", "varchar(128)")
      .addColumn("service_name", "varchar(255)")
      .addColumn("launch_type", "varchar(16)", (c) => c.notNull())
      .addColumn("desired_status", "varchar(16)", (c) => c.notNull())
      .addColumn("last_status", "varchar(16)", (c) => c.notNull())
      .addColumn("host_id", "varchar(128)")
      .addColumn("cpu_units", "integer", (c) => c.notNull())
      .addColumn("memory_mib", "integer", (c) => c.notNull())
      .addColumn("ephemeral_gib", "integer", (c) => c.notNull())
      .addColumn("client_token", "varchar(64)")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("stopped_at", "bigint")
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("report_sequence", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("spec", "text")
      .execute();
    await db.schema.createIndex("tasks_cluster_desired").on("tasks").columns(["cluster_arn", "desired_status", "task_arn"]).execute();
    await db.schema.createIndex("tasks_cluster_token").on("tasks").columns(["cluster_arn", "client_token"]).execute();
    await db.schema.createIndex("tasks_host").on("tasks").columns(["host_id", "last_status"]).execute();
    await db.schema.createIndex("tasks_stopped").on("tasks").columns(["last_status", "stopped_at"]).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("tasks").execute();
  },
};
