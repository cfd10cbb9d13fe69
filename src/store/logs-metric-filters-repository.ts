// CloudWatch Logs metric filters (PutMetricFilter) and the per-minute aggregates (sum, count,
// min, max per metric name, namespace, dimension values and minute) that ingest adds to. Nothing
// reads the aggregates through an API yet; a CloudWatch metrics service will publish them.
// Portable Kysely SQL: the aggregate upsert is INSERT … ON CONFLICT DO UPDATE, which SQLite and
// PostgreSQL both speak.
import { createHash } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { LogsTables } from "./logs-repository.js";
import { inTransaction } from "./transaction.js";

export interface LogMetricFiltersTable {
  id: number | undefined;
  group_id: number;
  filter_name: string;
  filter_pattern: string;
  metric_name: string;
  metric_namespace: string;
  definition_json: string;
  created_at: number;
}

export interface LogMetricAggregatesTable {
  metric_namespace: string;
  metric_name: string;
  dimensions_json: string;
  dimensions_key: string;
  minute: number;
  unit: string | null;
  value_sum: number;
  sample_count: number;
  value_min: number;
  value_max: number;
}

export interface LogMetricFiltersTables {
  log_metric_filters: LogMetricFiltersTable;
  log_metric_aggregates: LogMetricAggregatesTable;
}

/** What the filter transforms a matching event into (AWS's MetricTransformation). */
export interface StoredMetricTransformation {
  readonly metricName: string;
  readonly metricNamespace: string;
  readonly metricValue: string;
  readonly defaultValue?: number;
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly unit?: string;
}

export interface NewMetricFilter {
  readonly groupId: number;
  readonly filterName: string;
  readonly filterPattern: string;
  readonly transformation: StoredMetricTransformation;
  readonly applyOnTransformedLogs?: boolean;
  readonly createdAt: number;
}

export interface MetricFilterRecord extends NewMetricFilter {
  readonly logGroupName: string;
}

/** One minute of one metric (name, namespace, dimension values), as ingest adds to it. */
export interface MetricAggregate {
  readonly metricNamespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** The minute's start, in ms since the epoch. */
  readonly minute: number;
  readonly unit?: string;
  readonly sum: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
}

export interface LogMetricFiltersRepository {
  /**
   * Creates or replaces the group's filter of that name. A new name is refused (returns false)
   * when the group has `maxPerGroup` filters already.
   */
  put(filter: NewMetricFilter, maxPerGroup: number): Promise<boolean>;
  /** The group's filters by name (ingest's read; no paging: at most 100). */
  ofGroup(groupId: number): Promise<MetricFilterRecord[]>;
  list(options: {
    groupId?: number;
    namePrefix?: string;
    metricName?: string;
    metricNamespace?: string;
    /** After this (filter name, then log group name). */
    after?: { logGroupName: string; filterName: string };
    limit: number;
  }): Promise<MetricFilterRecord[]>;
  /** Whether the filter was there to delete. */
  delete(groupId: number, filterName: string): Promise<boolean>;
  /** Adds each aggregate to its row (sum and count added, min and max widened), in one transaction. */
  addAggregates(aggregates: readonly MetricAggregate[]): Promise<void>;
  /** Deletes the aggregates of minutes before `minute`; returns how many rows went. */
  purgeAggregatesBefore(minute: number): Promise<number>;
  /** The aggregates of one metric, oldest minute first (for tests and a future metrics API). */
  aggregates(metricNamespace: string, metricName: string): Promise<MetricAggregate[]>;
}

type JoinedRow = Selectable<LogMetricFiltersTable> & { log_group_name: string };

// eslint-disable-next-line max-lines-per-function -- one object literal implementing the interface, as logs-repository.ts
export function createLogMetricFiltersRepository(db: Kysely<LogMetricFiltersTables & Pick<LogsTables, "log_groups">>): LogMetricFiltersRepository {
  const joined = () =>
    db
      .selectFrom("log_metric_filters")
      .innerJoin("log_groups", "log_groups.id", "log_metric_filters.group_id")
      .selectAll("log_metric_filters")
      .select("log_groups.name as log_group_name");
  return {
    async put(filter, maxPerGroup) {
      const row = {
        group_id: filter.groupId,
        filter_name: filter.filterName,
        filter_pattern: filter.filterPattern,
        metric_name: filter.transformation.metricName,
        metric_namespace: filter.transformation.metricNamespace,
        definition_json: JSON.stringify({ transformation: filter.transformation, applyOnTransformedLogs: filter.applyOnTransformedLogs }),
        created_at: filter.createdAt,
      };
      return inTransaction(db, async (tx) => {
        const replaced = await tx
          .updateTable("log_metric_filters")
          .set({
            filter_pattern: row.filter_pattern,
            metric_name: row.metric_name,
            metric_namespace: row.metric_namespace,
            definition_json: row.definition_json,
          })
          .where("group_id", "=", row.group_id)
          .where("filter_name", "=", row.filter_name)
          .executeTakeFirst();
        if (Number(replaced.numUpdatedRows) > 0) return true;
        const counted = await tx
          .selectFrom("log_metric_filters")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("group_id", "=", row.group_id)
          .executeTakeFirst();
        if (Number(counted?.n ?? 0) >= maxPerGroup) return false;
        await tx
          .insertInto("log_metric_filters")
          .values(row)
          .onConflict((oc) => oc.columns(["group_id", "filter_name"]).doUpdateSet({ filter_pattern: row.filter_pattern, definition_json: row.definition_json }))
          .execute();
        return true;
      });
    },
    async ofGroup(groupId) {
      return (await joined().where("log_metric_filters.group_id", "=", groupId).orderBy("log_metric_filters.filter_name").execute()).map(filterOf);
    },
    async list({ groupId, namePrefix, metricName, metricNamespace, after, limit }) {
      // AWS: "The results are ASCII-sorted by filter name" (then by group, for a stable order).
      let query = joined().orderBy("log_metric_filters.filter_name").orderBy("log_groups.name").limit(limit);
      if (groupId !== undefined) query = query.where("log_metric_filters.group_id", "=", groupId);
      if (namePrefix)
        query = query.where("log_metric_filters.filter_name", ">=", namePrefix).where("log_metric_filters.filter_name", "<", prefixUpperBound(namePrefix));
      if (metricName !== undefined) query = query.where("log_metric_filters.metric_name", "=", metricName);
      if (metricNamespace !== undefined) query = query.where("log_metric_filters.metric_namespace", "=", metricNamespace);
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb("log_metric_filters.filter_name", ">", after.filterName),
            eb.and([eb("log_metric_filters.filter_name", "=", after.filterName), eb("log_groups.name", ">", after.logGroupName)]),
          ]),
        );
      }
      return (await query.execute()).map(filterOf);
    },
    async delete(groupId, filterName) {
      const result = await db.deleteFrom("log_metric_filters").where("group_id", "=", groupId).where("filter_name", "=", filterName).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async addAggregates(aggregates) {
      if (aggregates.length === 0) return;
      await inTransaction(db, async (tx) => {
        for (const aggregate of aggregates) {
          const dimensionsJson = canonicalDimensions(aggregate.dimensions);
          await tx
            .insertInto("log_metric_aggregates")
            .values({
              metric_namespace: aggregate.metricNamespace,
              metric_name: aggregate.metricName,
              dimensions_json: dimensionsJson,
              dimensions_key: createHash("sha256").update(dimensionsJson).digest("hex"),
              minute: aggregate.minute,
              unit: aggregate.unit ?? null,
              value_sum: aggregate.sum,
              sample_count: aggregate.count,
              value_min: aggregate.min,
              value_max: aggregate.max,
            })
            .onConflict((oc) =>
              oc.columns(["metric_namespace", "metric_name", "dimensions_key", "minute"]).doUpdateSet((eb) => ({
                value_sum: eb("log_metric_aggregates.value_sum", "+", eb.ref("excluded.value_sum")),
                sample_count: eb("log_metric_aggregates.sample_count", "+", eb.ref("excluded.sample_count")),
                // CASE rather than the two-argument min/max, which PostgreSQL spells LEAST/GREATEST.
                value_min: eb
                  .case()
                  .when("excluded.value_min", "<", eb.ref("log_metric_aggregates.value_min"))
                  .then(eb.ref("excluded.value_min"))
                  .else(eb.ref("log_metric_aggregates.value_min"))
                  .end(),
                value_max: eb
                  .case()
                  .when("excluded.value_max", ">", eb.ref("log_metric_aggregates.value_max"))
                  .then(eb.ref("excluded.value_max"))
                  .else(eb.ref("log_metric_aggregates.value_max"))
                  .end(),
              })),
            )
            .execute();
        }
      });
    },
    async purgeAggregatesBefore(minute) {
      const result = await db.deleteFrom("log_metric_aggregates").where("minute", "<", minute).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async aggregates(metricNamespace, metricName) {
      const rows = await db
        .selectFrom("log_metric_aggregates")
        .selectAll()
        .where("metric_namespace", "=", metricNamespace)
        .where("metric_name", "=", metricName)
        .orderBy("minute")
        .orderBy("dimensions_json")
        .execute();
      return rows.map((row) => ({
        metricNamespace: row.metric_namespace,
        metricName: row.metric_name,
        dimensions: JSON.parse(row.dimensions_json) as Record<string, string>,
        minute: Number(row.minute),
        ...(row.unit === null ? {} : { unit: row.unit }),
        sum: Number(row.value_sum),
        count: Number(row.sample_count),
        min: Number(row.value_min),
        max: Number(row.value_max),
      }));
    },
  };
}

function filterOf(row: JoinedRow): MetricFilterRecord {
  const definition = JSON.parse(row.definition_json) as { transformation: StoredMetricTransformation; applyOnTransformedLogs?: boolean };
  return {
    groupId: Number(row.group_id),
    logGroupName: row.log_group_name,
    filterName: row.filter_name,
    filterPattern: row.filter_pattern,
    transformation: definition.transformation,
    ...(definition.applyOnTransformedLogs === undefined ? {} : { applyOnTransformedLogs: definition.applyOnTransformedLogs }),
    createdAt: Number(row.created_at),
  };
}

/** Dimensions as JSON with sorted keys: one row per set of values, whatever order they came in. */
export function canonicalDimensions(dimensions: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
