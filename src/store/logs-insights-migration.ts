// The Logs Insights tables (logs-insights-repository.ts), migration 0023: queries with their
// status, statistics and results (kept in the store so that any replica answers GetQueryResults
// for a query another started), and saved query definitions.
import type { Kysely, Migration } from "kysely";

export const logsInsightsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("logs_insights_queries")
      .addColumn("query_id", "varchar(64)", (c) => c.primaryKey())
      .addColumn("query_string", "text", (c) => c.notNull())
      // Each name between newlines ("\n/a\n/b\n"), so one group is found with LIKE '%\n/a\n%'.
      .addColumn("log_group_names", "text", (c) => c.notNull())
      .addColumn("start_time", "bigint", (c) => c.notNull())
      .addColumn("end_time", "bigint", (c) => c.notNull())
      .addColumn("result_limit", "integer", (c) => c.notNull())
      .addColumn("status", "varchar(16)", (c) => c.notNull())
      .addColumn("create_time", "bigint", (c) => c.notNull())
      .addColumn("statistics_json", "text", (c) => c.notNull())
      .addColumn("results_json", "text")
      .addColumn("failure", "text")
      .execute();
    await db.schema.createIndex("logs_insights_queries_created").on("logs_insights_queries").columns(["create_time", "query_id"]).execute();
    await db.schema.createIndex("logs_insights_queries_status").on("logs_insights_queries").columns(["status", "create_time"]).execute();
    await db.schema
      .createTable("logs_query_definitions")
      .addColumn("query_definition_id", "varchar(64)", (c) => c.primaryKey())
      .addColumn("name", "varchar(255)", (c) => c.notNull())
      .addColumn("query_string", "text", (c) => c.notNull())
      .addColumn("log_group_names_json", "text", (c) => c.notNull())
      .addColumn("last_modified", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("logs_query_definitions_name").on("logs_query_definitions").columns(["name", "query_definition_id"]).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("logs_query_definitions").execute();
    await db.schema.dropTable("logs_insights_queries").execute();
  },
};
