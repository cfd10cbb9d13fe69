// Schema of the ECS services (see services-repository.ts), and the index the service scheduler
// reads a service's tasks by; portable across SQLite and PostgreSQL.
import type { Kysely, Migration } from "kysely";

export const servicesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("services")
      .addColumn("service_arn", "varchar(1024)", (c) => c.primaryKey())
      .addColumn("cluster_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("service_name", "varchar(255)", (c) => c.notNull())
      // ACTIVE | DRAINING | INACTIVE
      .addColumn("status", "varchar(16)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      // The Service the API returns (deployments and events included), as JSON.
      .addColumn("document", "text", (c) => c.notNull())
      // The scheduler's own bookkeeping (rollback target, launch back-off), as JSON.
      .addColumn("state", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("services_cluster_name").on("services").columns(["cluster_arn", "service_name"]).execute();
    await db.schema.createIndex("services_status").on("services").columns(["status", "service_arn"]).execute();
    await db.schema.createIndex("tasks_cluster_service").on("tasks").columns(["cluster_arn", "service_name", "last_status"]).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex("tasks_cluster_service").execute();
    await db.schema.dropTable("services").execute();
  },
};
