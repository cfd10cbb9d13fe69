// CloudWatch Logs metric filters, the per-minute aggregates they produce on ingest, and the
// account's Logs resource policies (see logs-metric-filters-repository.ts and
// logs-resource-policies-repository.ts). Portable schema; only the auto-increment key differs.
import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";
import type { SqlDialectName } from "./logs-migration.js";

export function logsMetricFiltersMigration(dialect: SqlDialectName): Migration {
  const idType = dialect === "postgres" ? sql`bigserial` : sql`integer`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("log_metric_filters")
        .addColumn("id", idType, (column) => (dialect === "postgres" ? column.primaryKey() : column.primaryKey().autoIncrement()))
        .addColumn("group_id", "bigint", (c) => c.notNull().references("log_groups.id").onDelete("cascade"))
        .addColumn("filter_name", "varchar(512)", (c) => c.notNull())
        .addColumn("filter_pattern", "text", (c) => c.notNull())
        .addColumn("metric_name", "varchar(255)", (c) => c.notNull())
        .addColumn("metric_namespace", "varchar(255)", (c) => c.notNull())
        // The MetricTransformation (and the filter's other members) as the caller gave them.
        .addColumn("definition_json", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addUniqueConstraint("log_metric_filters_group_name", ["group_id", "filter_name"])
        .execute();
      await db.schema
        .createTable("log_metric_aggregates")
        .addColumn("metric_namespace", "varchar(255)", (c) => c.notNull())
        .addColumn("metric_name", "varchar(255)", (c) => c.notNull())
        // The dimensions as canonical JSON (keys sorted), "{}" for none, and its SHA-256 as the key
        // (values may be long; PostgreSQL's btree entries may not).
        .addColumn("dimensions_json", "text", (c) => c.notNull())
        .addColumn("dimensions_key", "char(64)", (c) => c.notNull())
        .addColumn("minute", "bigint", (c) => c.notNull())
        .addColumn("unit", "varchar(32)")
        .addColumn("value_sum", "double precision", (c) => c.notNull())
        .addColumn("sample_count", "bigint", (c) => c.notNull())
        .addColumn("value_min", "double precision", (c) => c.notNull())
        .addColumn("value_max", "double precision", (c) => c.notNull())
        .addPrimaryKeyConstraint("log_metric_aggregates_key", ["metric_namespace", "metric_name", "dimensions_key", "minute"])
        .execute();
      await db.schema
        .createTable("log_resource_policies")
        .addColumn("policy_name", "varchar(255)", (c) => c.primaryKey())
        .addColumn("policy_document", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("log_resource_policies").execute();
      await db.schema.dropTable("log_metric_aggregates").execute();
      await db.schema.dropTable("log_metric_filters").execute();
    },
  };
}
