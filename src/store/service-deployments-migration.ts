// Schema of the service deployment history (see service-deployments-repository.ts); portable
// across SQLite and PostgreSQL.
import type { Kysely, Migration } from "kysely";

export const serviceDeploymentsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("service_deployments")
      .addColumn("service_deployment_arn", "varchar(1024)", (c) => c.primaryKey())
      .addColumn("service_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("cluster_arn", "varchar(1024)", (c) => c.notNull())
      // The ecs-svc deployment that started it, and the one carrying it now (its rollback's, once rolling back).
      .addColumn("deployment_id", "varchar(64)", (c) => c.notNull())
      .addColumn("active_deployment_id", "varchar(64)", (c) => c.notNull())
      .addColumn("service_revision_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("status", "varchar(32)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      // The ServiceDeployment and the ServiceRevision the API returns, as JSON.
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("revision", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("service_deployments_service").on("service_deployments").columns(["service_arn", "created_at"]).execute();
    await db.schema.createIndex("service_deployments_active").on("service_deployments").columns(["service_arn", "active_deployment_id"]).execute();
    await db.schema.createIndex("service_deployments_revision").on("service_deployments").columns(["service_revision_arn"]).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("service_deployments").execute();
  },
};
