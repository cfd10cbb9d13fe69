// Logs Insights queries and query definitions (migration logs-insights-migration.ts, 0023).
// A query row is written by the replica that runs it and read by any: its status only leaves
// Scheduled/Running once (a conditional UPDATE), so a StopQuery on one replica and the end of the
// run on another cannot both win. Portable Kysely SQL only.
import type { Kysely, Selectable } from "kysely";
import type { LogEventRecord, LogsTables } from "./logs-repository.js";
import { sql } from "kysely";

export interface LogsInsightsQueriesTable {
  query_id: string;
  query_string: string;
  log_group_names: string;
  start_time: number;
  end_time: number;
  result_limit: number;
  status: string;
  create_time: number;
  statistics_json: string;
  results_json: string | null;
  failure: string | null;
}

export interface LogsQueryDefinitionsTable {
  query_definition_id: string;
  name: string;
  query_string: string;
  log_group_names_json: string;
  last_modified: number;
}

export interface LogsInsightsTables {
  logs_insights_queries: LogsInsightsQueriesTable;
  logs_query_definitions: LogsQueryDefinitionsTable;
}

export type InsightsQueryStatus = "Scheduled" | "Running" | "Complete" | "Failed" | "Cancelled" | "Timeout";

export interface InsightsQueryStatistics {
  readonly recordsMatched: number;
  readonly recordsScanned: number;
  readonly bytesScanned: number;
}

export interface InsightsResultField {
  readonly field: string;
  readonly value: string;
}

export interface NewInsightsQuery {
  readonly queryId: string;
  readonly queryString: string;
  readonly logGroupNames: readonly string[];
  /** Epoch seconds, as StartQuery takes them. */
  readonly startTime: number;
  readonly endTime: number;
  readonly limit: number;
  readonly createTime: number;
}

export interface InsightsQueryRecord extends NewInsightsQuery {
  readonly status: InsightsQueryStatus;
  readonly statistics: InsightsQueryStatistics;
  readonly results: InsightsResultField[][] | undefined;
  readonly failure: string | undefined;
}

export interface QueryDefinitionRecord {
  readonly queryDefinitionId: string;
  readonly name: string;
  readonly queryString: string;
  readonly logGroupNames: readonly string[];
  readonly lastModified: number;
}

const ACTIVE: InsightsQueryStatus[] = ["Scheduled", "Running"];
const NO_STATISTICS: InsightsQueryStatistics = { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 };

export interface LogsInsightsRepository {
  /**
   * Records a new query as Scheduled unless `maxActive` queries created at or after `activeSince`
   * are already Scheduled or Running; false then. The count and the insert are one statement
   * (INSERT … SELECT … WHERE count < max), so on SQLite two StartQuery calls cannot both take the
   * last place; on PostgreSQL two concurrent transactions still may (the account's limit is not a
   * safety bound).
   */
  createQuery(query: NewInsightsQuery, limit: { maxActive: number; activeSince: number }): Promise<boolean>;
  /** Queries still Scheduled or Running that were created before `before` become Timeout (their runner is gone). */
  expireActive(before: number): Promise<void>;
  getQuery(queryId: string): Promise<InsightsQueryRecord | undefined>;
  /** Moves an active query to `status` (with its final figures); false when it had already ended. */
  endQuery(
    queryId: string,
    end: { status: InsightsQueryStatus; statistics?: InsightsQueryStatistics; results?: InsightsResultField[][]; failure?: string },
  ): Promise<boolean>;
  /** Scheduled → Running, and the running figures of an active query; false when it has ended (e.g. was stopped). */
  recordProgress(queryId: string, statistics: InsightsQueryStatistics): Promise<boolean>;
  /** Newest first; `after` is the last (createTime, queryId) of the previous page. */
  listQueries(options: {
    logGroupName?: string;
    status?: InsightsQueryStatus;
    after?: { createTime: number; queryId: string };
    limit: number;
  }): Promise<InsightsQueryRecord[]>;
  /** Deletes queries created before `before`; returns how many went. */
  purgeQueries(before: number): Promise<number>;

  putDefinition(definition: QueryDefinitionRecord): Promise<void>;
  getDefinition(queryDefinitionId: string): Promise<QueryDefinitionRecord | undefined>;
  countDefinitions(): Promise<number>;
  listDefinitions(options: { namePrefix?: string; after?: { name: string; queryDefinitionId: string }; limit: number }): Promise<QueryDefinitionRecord[]>;
  deleteDefinition(queryDefinitionId: string): Promise<boolean>;

  /** One event of a group by its id, with its stream's and group's names (GetLogRecord's @ptr). */
  getEvent(groupId: number, eventId: number): Promise<{ event: LogEventRecord; streamName: string; groupName: string } | undefined>;
}

// One object literal over its db handle, the interface above implemented method by method (as
// logs-repository.ts): each method is short, and splitting the literal would only scatter it.
// eslint-disable-next-line max-lines-per-function -- see above
export function createLogsInsightsRepository(db: Kysely<LogsInsightsTables & LogsTables>): LogsInsightsRepository {
  return {
    async createQuery(query, { maxActive, activeSince }) {
      // CASTs: PostgreSQL types the parameters of a SELECT without FROM as text otherwise.
      const result = await sql`
        INSERT INTO logs_insights_queries
          (query_id, query_string, log_group_names, start_time, end_time, result_limit, status, create_time, statistics_json, results_json, failure)
        SELECT ${query.queryId}, ${query.queryString}, ${`\n${query.logGroupNames.join("\n")}\n`}, CAST(${query.startTime} AS BIGINT),
          CAST(${query.endTime} AS BIGINT), CAST(${query.limit} AS INTEGER), 'Scheduled', CAST(${query.createTime} AS BIGINT),
          ${JSON.stringify(NO_STATISTICS)}, NULL, NULL
        WHERE (SELECT count(*) FROM logs_insights_queries WHERE status IN ('Scheduled', 'Running') AND create_time >= CAST(${activeSince} AS BIGINT))
          < CAST(${maxActive} AS INTEGER)`.execute(db);
      return Number(result.numAffectedRows ?? 0) === 1;
    },
    async expireActive(before) {
      await db.updateTable("logs_insights_queries").set({ status: "Timeout" }).where("status", "in", ACTIVE).where("create_time", "<", before).execute();
    },
    async getQuery(queryId) {
      const row = await db.selectFrom("logs_insights_queries").selectAll().where("query_id", "=", queryId).executeTakeFirst();
      return row ? queryOf(row) : undefined;
    },
    async endQuery(queryId, end) {
      const result = await db
        .updateTable("logs_insights_queries")
        .set({
          status: end.status,
          ...(end.statistics ? { statistics_json: JSON.stringify(end.statistics) } : {}),
          ...(end.results ? { results_json: JSON.stringify(end.results) } : {}),
          ...(end.failure !== undefined ? { failure: end.failure } : {}),
        })
        .where("query_id", "=", queryId)
        .where("status", "in", ACTIVE)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async recordProgress(queryId, statistics) {
      const result = await db
        .updateTable("logs_insights_queries")
        .set({ status: "Running", statistics_json: JSON.stringify(statistics) })
        .where("query_id", "=", queryId)
        .where("status", "in", ACTIVE)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listQueries({ logGroupName, status, after, limit }) {
      let query = db.selectFrom("logs_insights_queries").selectAll().orderBy("create_time", "desc").orderBy("query_id", "desc").limit(limit);
      if (status) query = query.where("status", "=", status);
      // Names may hold _ (any one character to LIKE): escaped, with an ESCAPE clause both dialects read alike.
      if (logGroupName !== undefined) query = query.where(sql<boolean>`log_group_names LIKE ${`%\n${escapeLike(logGroupName)}\n%`} ESCAPE '\\'`);
      if (after) {
        query = query.where((eb) =>
          eb.or([eb("create_time", "<", after.createTime), eb.and([eb("create_time", "=", after.createTime), eb("query_id", "<", after.queryId)])]),
        );
      }
      return (await query.execute()).map(queryOf);
    },
    async purgeQueries(before) {
      const result = await db.deleteFrom("logs_insights_queries").where("create_time", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async putDefinition(definition) {
      const values = {
        name: definition.name,
        query_string: definition.queryString,
        log_group_names_json: JSON.stringify(definition.logGroupNames),
        last_modified: definition.lastModified,
      };
      await db
        .insertInto("logs_query_definitions")
        .values({ query_definition_id: definition.queryDefinitionId, ...values })
        .onConflict((oc) => oc.column("query_definition_id").doUpdateSet(values))
        .execute();
    },
    async getDefinition(queryDefinitionId) {
      const row = await db.selectFrom("logs_query_definitions").selectAll().where("query_definition_id", "=", queryDefinitionId).executeTakeFirst();
      return row ? definitionOf(row) : undefined;
    },
    async countDefinitions() {
      const row = await db
        .selectFrom("logs_query_definitions")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },
    async listDefinitions({ namePrefix, after, limit }) {
      let query = db.selectFrom("logs_query_definitions").selectAll().orderBy("name").orderBy("query_definition_id").limit(limit);
      if (namePrefix) query = query.where("name", ">=", namePrefix).where("name", "<", prefixUpperBound(namePrefix));
      if (after) {
        query = query.where((eb) =>
          eb.or([eb("name", ">", after.name), eb.and([eb("name", "=", after.name), eb("query_definition_id", ">", after.queryDefinitionId)])]),
        );
      }
      return (await query.execute()).map(definitionOf);
    },
    async deleteDefinition(queryDefinitionId) {
      const result = await db.deleteFrom("logs_query_definitions").where("query_definition_id", "=", queryDefinitionId).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async getEvent(groupId, eventId) {
      const row = await db
        .selectFrom("log_events")
        .innerJoin("log_streams", "log_streams.id", "log_events.stream_id")
        .innerJoin("log_groups", "log_groups.id", "log_events.group_id")
        .select([
          "log_events.id as id",
          "log_events.stream_id as stream_id",
          "log_events.timestamp as timestamp",
          "log_events.ingestion_time as ingestion_time",
          "log_events.message as message",
          "log_streams.name as stream_name",
          "log_groups.name as group_name",
        ])
        .where("log_events.group_id", "=", groupId)
        .where("log_events.id", "=", eventId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        event: {
          id: Number(row.id),
          streamId: Number(row.stream_id),
          timestamp: Number(row.timestamp),
          ingestionTime: Number(row.ingestion_time),
          message: row.message,
        },
        streamName: row.stream_name,
        groupName: row.group_name,
      };
    },
  };
}

function queryOf(row: Selectable<LogsInsightsQueriesTable>): InsightsQueryRecord {
  return {
    queryId: row.query_id,
    queryString: row.query_string,
    logGroupNames: row.log_group_names.split("\n").filter((name) => name !== ""),
    startTime: Number(row.start_time),
    endTime: Number(row.end_time),
    limit: row.result_limit,
    createTime: Number(row.create_time),
    status: row.status as InsightsQueryStatus,
    statistics: JSON.parse(row.statistics_json) as InsightsQueryStatistics,
    results: row.results_json === null ? undefined : (JSON.parse(row.results_json) as InsightsResultField[][]),
    failure: row.failure ?? undefined,
  };
}

function definitionOf(row: Selectable<LogsQueryDefinitionsTable>): QueryDefinitionRecord {
  return {
    queryDefinitionId: row.query_definition_id,
    name: row.name,
    queryString: row.query_string,
    logGroupNames: JSON.parse(row.log_group_names_json) as string[],
    lastModified: Number(row.last_modified),
  };
}

/** The smallest string greater than every string starting with `prefix`. */
function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

function escapeLike(text: string): string {
  return text.replace(/[%_\\]/g, (c) => `\\${c}`);
}
