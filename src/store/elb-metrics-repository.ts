// Load balancer metrics per minute, as the control plane keeps what hosts' nodes measured
// (src/control/load-balancer-metrics.ts): sum, sample count, min and max per metric name,
// dimension values and minute, the statistics CloudWatch answers with. A host sends a minute in
// several parts (every sample), each added to the minute's row. Nothing reads them through an API
// yet; a CloudWatch metrics service will publish them. Portable Kysely SQL (INSERT … ON CONFLICT
// DO UPDATE, which SQLite and PostgreSQL both speak).
import type { Kysely } from "kysely";
import { inTransaction } from "./transaction.js";

export interface ElbMetricAggregatesTable {
  metric_namespace: string;
  metric_name: string;
  load_balancer: string;
  target_group: string;
  minute: number;
  value_sum: number;
  sample_count: number;
  value_min: number;
  value_max: number;
}

export interface ElbMetricsTables {
  elb_metric_aggregates: ElbMetricAggregatesTable;
}

/** One minute of one metric: CloudWatch's dimensions LoadBalancer ("app/<name>/<id>") and, for a target group's, TargetGroup. */
export interface ElbMetricAggregate {
  readonly namespace: "AWS/ApplicationELB" | "AWS/NetworkELB";
  readonly metricName: string;
  readonly loadBalancer: string;
  readonly targetGroup?: string | undefined;
  /** The minute's start, in ms since the epoch. */
  readonly minute: number;
  readonly sum: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
}

export interface ElbMetricsRepository {
  /** Adds each aggregate to its minute's row (sum and count added, min and max widened), in one transaction. */
  add(aggregates: readonly ElbMetricAggregate[]): Promise<void>;
  /** Deletes the minutes before `minute`; returns how many rows went. */
  purgeBefore(minute: number): Promise<number>;
  /** The rows of one metric, oldest minute first (for tests and a future metrics API). */
  aggregates(namespace: string, metricName: string): Promise<ElbMetricAggregate[]>;
}

export function createElbMetricsRepository(db: Kysely<ElbMetricsTables>): ElbMetricsRepository {
  return {
    async add(aggregates) {
      if (aggregates.length === 0) return;
      await inTransaction(db, async (tx) => {
        for (const aggregate of aggregates) {
          await tx
            .insertInto("elb_metric_aggregates")
            .values({
              metric_namespace: aggregate.namespace,
              metric_name: aggregate.metricName,
              load_balancer: aggregate.loadBalancer,
              target_group: aggregate.targetGroup ?? "",
              minute: aggregate.minute,
              value_sum: aggregate.sum,
              sample_count: aggregate.count,
              value_min: aggregate.min,
              value_max: aggregate.max,
            })
            .onConflict((oc) =>
              oc.columns(["metric_namespace", "metric_name", "load_balancer", "target_group", "minute"]).doUpdateSet((eb) => ({
                value_sum: eb("elb_metric_aggregates.value_sum", "+", eb.ref("excluded.value_sum")),
                sample_count: eb("elb_metric_aggregates.sample_count", "+", eb.ref("excluded.sample_count")),
                // CASE rather than the two-argument min/max, which PostgreSQL spells LEAST/GREATEST.
                value_min: eb
                  .case()
                  .when("excluded.value_min", "<", eb.ref("elb_metric_aggregates.value_min"))
                  .then(eb.ref("excluded.value_min"))
                  .else(eb.ref("elb_metric_aggregates.value_min"))
                  .end(),
                value_max: eb
                  .case()
                  .when("excluded.value_max", ">", eb.ref("elb_metric_aggregates.value_max"))
                  .then(eb.ref("excluded.value_max"))
                  .else(eb.ref("elb_metric_aggregates.value_max"))
                  .end(),
              })),
            )
            .execute();
        }
      });
    },
    async purgeBefore(minute) {
      const result = await db.deleteFrom("elb_metric_aggregates").where("minute", "<", minute).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async aggregates(namespace, metricName) {
      const rows = await db
        .selectFrom("elb_metric_aggregates")
        .selectAll()
        .where("metric_namespace", "=", namespace)
        .where("metric_name", "=", metricName)
        .orderBy("minute")
        .orderBy("load_balancer")
        .orderBy("target_group")
        .execute();
      return rows.map((row) => ({
        namespace: row.metric_namespace as ElbMetricAggregate["namespace"],
        metricName: row.metric_name,
        loadBalancer: row.load_balancer,
        ...(row.target_group === "" ? {} : { targetGroup: row.target_group }),
        minute: Number(row.minute),
        sum: Number(row.value_sum),
        count: Number(row.sample_count),
        min: Number(row.value_min),
        max: Number(row.value_max),
      }));
    },
  };
}
