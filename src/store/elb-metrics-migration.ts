// Load balancer metrics kept per minute (elb-metrics-repository.ts): one row per namespace, metric
// name, dimension values and minute, with CloudWatch's statistics (sum, sample count, min, max).
// Portable schema: the dimension values are short (an ARN's "app/<name>/<id>" part), so they are
// key columns themselves, "" for a dimension a metric does not have.
import type { Kysely, Migration } from "kysely";

export const elbMetricsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("elb_metric_aggregates")
      .addColumn("metric_namespace", "varchar(32)", (c) => c.notNull())
      .addColumn("metric_name", "varchar(64)", (c) => c.notNull())
      .addColumn("load_balancer", "varchar(128)", (c) => c.notNull())
      .addColumn("target_group", "varchar(128)", (c) => c.notNull())
      .addColumn("minute", "bigint", (c) => c.notNull())
      .addColumn("value_sum", "double precision", (c) => c.notNull())
      .addColumn("sample_count", "bigint", (c) => c.notNull())
      .addColumn("value_min", "double precision", (c) => c.notNull())
      .addColumn("value_max", "double precision", (c) => c.notNull())
      .addPrimaryKeyConstraint("elb_metric_aggregates_key", ["metric_namespace", "metric_name", "load_balancer", "target_group", "minute"])
      .execute();
    await db.schema.createIndex("elb_metric_aggregates_minute").on("elb_metric_aggregates").column("minute").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("elb_metric_aggregates").execute();
  },
};
