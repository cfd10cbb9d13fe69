// Durable CloudWatch Logs data: log groups, log streams and their events. Callers see
// `LogGroupRecord`/`LogStreamRecord`/`LogEventRecord`; the rows (and the tags' JSON column) stay
// here. Portable Kysely SQL only (no dialect-specific statements), so the PostgreSQL dialect needs
// no change here.
//
// Events are ordered by (timestamp, id): id is the insertion order, which breaks ties between
// events with the same timestamp and makes pagination tokens stable.
import { inTransaction } from "./transaction.js";
import type { LogGroupClass } from "@aws-sdk/client-cloudwatch-logs";
import type { Kysely, Selectable, SelectQueryBuilder } from "kysely";

export interface LogGroupsTable {
  id: number | undefined;
  name: string;
  created_at: number;
  retention_days: number | null;
  kms_key_id: string | null;
  log_group_class: string;
  tags_json: string;
  stored_bytes: number;
}

export interface LogStreamsTable {
  id: number | undefined;
  group_id: number;
  name: string;
  created_at: number;
  first_event_at: number | null;
  last_event_at: number | null;
  last_ingestion_at: number | null;
  stored_bytes: number;
  /** The agent's log position the stored events reach (appendEvents' sourceOffset); null if none. */
  source_offset: number | null;
}

export interface LogEventsTable {
  id: number | undefined;
  group_id: number;
  stream_id: number;
  timestamp: number;
  ingestion_time: number;
  message: string;
}

export interface LogsTables {
  log_groups: LogGroupsTable;
  log_streams: LogStreamsTable;
  log_events: LogEventsTable;
}

/** What CreateLogGroup (or a container's first line with awslogs-create-group) records. */
export interface NewLogGroup {
  readonly name: string;
  readonly createdAt: number;
  readonly kmsKeyId?: string | undefined;
  readonly logGroupClass: LogGroupClass;
  readonly tags: Readonly<Record<string, string>>;
}

export interface LogGroupRecord extends NewLogGroup {
  readonly id: number;
  /** null: events are kept forever. */
  readonly retentionDays: number | null;
  readonly storedBytes: number;
}

export interface LogStreamRecord {
  readonly id: number;
  readonly groupId: number;
  readonly name: string;
  readonly createdAt: number;
  readonly firstEventAt: number | null;
  readonly lastEventAt: number | null;
  readonly lastIngestionAt: number | null;
  /** The agent's log position the stored events reach (appendEvents' sourceOffset); null if none. */
  readonly sourceOffset: number | null;
}

export interface LogEventRecord {
  /** Insertion order: breaks ties between events with one timestamp. */
  readonly id: number;
  readonly streamId: number;
  readonly timestamp: number;
  readonly ingestionTime: number;
  readonly message: string;
}

export interface NewLogEvent {
  readonly timestamp: number;
  readonly message: string;
  /** Where the line ends in its source (an agent's container log), when it comes from one. */
  readonly sourceOffset?: number;
}

/** A position in a stream or group: events strictly after/before (timestamp, id). */
export interface EventCursor {
  readonly timestamp: number;
  readonly id: number;
}

export interface EventRange {
  readonly startTime?: number | undefined; // inclusive
  readonly endTime?: number | undefined; // exclusive, as GetLogEvents/FilterLogEvents define it
}

export interface LogsRepository {
  /** The group created, or undefined when one of that name exists. */
  createGroup(group: NewLogGroup): Promise<LogGroupRecord | undefined>;
  getGroup(name: string): Promise<LogGroupRecord | undefined>;
  listGroups(options: { namePrefix?: string; nameContains?: string; afterName?: string; limit: number }): Promise<LogGroupRecord[]>;
  deleteGroup(groupId: number): Promise<void>;
  setRetention(groupId: number, retentionDays: number | null): Promise<void>;
  setTags(groupId: number, tags: Record<string, string>): Promise<void>;

  createStream(groupId: number, name: string, createdAt: number): Promise<LogStreamRecord | undefined>;
  getStream(groupId: number, name: string): Promise<LogStreamRecord | undefined>;
  listStreams(options: {
    groupId: number;
    namePrefix?: string;
    orderBy: "LogStreamName" | "LastEventTime";
    descending: boolean;
    after?: { name: string; lastEventAt: number | null };
    limit: number;
  }): Promise<LogStreamRecord[]>;
  deleteStream(streamId: number): Promise<void>;

  /**
   * Appends events (already validated and sorted) to a stream, in one transaction. Events with a
   * `sourceOffset` (their position in a container's log on an agent) at or below the stream's
   * stored `sourceOffset` are dropped, and the offset moves up to the newest stored, in that
   * same transaction: a line sent again after an agent or control-plane restart is stored once.
   * (A PostgreSQL store will want the stream row locked FOR UPDATE at that read.)
   * Returns the events stored (those not dropped), for what ingest does next (metric filters).
   */
  appendEvents(stream: LogStreamRecord, events: readonly NewLogEvent[], ingestionTime: number): Promise<readonly NewLogEvent[]>;
  /** Events of one stream in (timestamp, id) order; `after`/`before` exclude the cursor itself. */
  streamEvents(options: {
    streamId: number;
    range: EventRange;
    after?: EventCursor;
    before?: EventCursor;
    direction: "forward" | "backward";
    limit: number;
  }): Promise<LogEventRecord[]>;
  /** Events of a group (optionally some streams) in (timestamp, id) order, after a cursor. */
  groupEvents(options: { groupId: number; streamIds?: readonly number[]; range: EventRange; after?: EventCursor; limit: number }): Promise<LogEventRecord[]>;
  streamNames(streamIds: readonly number[]): Promise<Map<number, string>>;
  /**
   * Events of a group in (ingestion time, id) order after the cursor (exclusive) and ingested at or
   * before `until`: what a live tail reads each second, from where it stopped.
   */
  eventsIngestedAfter(groupId: number, after: { ingestionTime: number; id: number }, until: number, limit: number): Promise<LogEventRecord[]>;
  /** Deletes events older than each group's retention; returns how many went. */
  purgeExpired(now: number): Promise<number>;
}

// SQLite allows 32766 bound parameters per statement and PostgreSQL 65535: 5 per row keeps an
// insert chunk well under both.
const INSERT_CHUNK_ROWS = 2000;
const DAY_MS = 86_400_000;

// A repository is one object literal over its db handle, the interface above implemented method
// by method; each method is short, and splitting the literal would only scatter the interface.
// eslint-disable-next-line max-lines-per-function -- see above
export function createLogsRepository(db: Kysely<LogsTables>): LogsRepository {
  const asGroup = (row: Selectable<LogGroupsTable> | undefined) => (row ? groupOf(row) : undefined);
  const asStream = (row: Selectable<LogStreamsTable> | undefined) => (row ? streamOf(row) : undefined);

  return {
    async createGroup(group) {
      const inserted = await db
        .insertInto("log_groups")
        .values({
          name: group.name,
          created_at: group.createdAt,
          retention_days: null,
          kms_key_id: group.kmsKeyId ?? null,
          log_group_class: group.logGroupClass,
          tags_json: JSON.stringify(group.tags),
          stored_bytes: 0,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .returningAll()
        .executeTakeFirst();
      return asGroup(inserted);
    },
    async getGroup(name) {
      return asGroup(await db.selectFrom("log_groups").selectAll().where("name", "=", name).executeTakeFirst());
    },
    async listGroups({ namePrefix, nameContains, afterName, limit }) {
      let query = db.selectFrom("log_groups").selectAll().orderBy("name").limit(limit);
      if (namePrefix) query = query.where("name", ">=", namePrefix).where("name", "<", prefixUpperBound(namePrefix));
      if (nameContains) query = query.where("name", "like", `%${escapeLike(nameContains)}%`);
      if (afterName !== undefined) query = query.where("name", ">", afterName);
      return (await query.execute()).map(groupOf);
    },
    async deleteGroup(groupId) {
      await inTransaction(db, async (tx) => {
        await tx.deleteFrom("log_events").where("group_id", "=", groupId).execute();
        await tx.deleteFrom("log_streams").where("group_id", "=", groupId).execute();
        await tx.deleteFrom("log_groups").where("id", "=", groupId).execute();
      });
    },
    async setRetention(groupId, retentionDays) {
      await db.updateTable("log_groups").set({ retention_days: retentionDays }).where("id", "=", groupId).execute();
    },
    async setTags(groupId, tags) {
      await db
        .updateTable("log_groups")
        .set({ tags_json: JSON.stringify(tags) })
        .where("id", "=", groupId)
        .execute();
    },

    async createStream(groupId, name, createdAt) {
      const inserted = await db
        .insertInto("log_streams")
        .values({
          group_id: groupId,
          name,
          created_at: createdAt,
          first_event_at: null,
          last_event_at: null,
          last_ingestion_at: null,
          stored_bytes: 0,
          source_offset: null,
        })
        .onConflict((oc) => oc.columns(["group_id", "name"]).doNothing())
        .returningAll()
        .executeTakeFirst();
      return asStream(inserted);
    },
    async getStream(groupId, name) {
      return asStream(await db.selectFrom("log_streams").selectAll().where("group_id", "=", groupId).where("name", "=", name).executeTakeFirst());
    },
    async listStreams({ groupId, namePrefix, orderBy, descending, after, limit }) {
      const direction = descending ? "desc" : "asc";
      let query = db.selectFrom("log_streams").selectAll().where("group_id", "=", groupId).limit(limit);
      if (namePrefix) query = query.where("name", ">=", namePrefix).where("name", "<", prefixUpperBound(namePrefix));
      if (orderBy === "LogStreamName") {
        query = query.orderBy("name", direction);
        if (after) query = query.where("name", descending ? "<" : ">", after.name);
      } else {
        // Streams without events sort as time 0, like streams that never received one.
        query = query.orderBy((eb) => eb.fn.coalesce("last_event_at", eb.lit(0)), direction).orderBy("name", direction);
        if (after) {
          const at = after.lastEventAt ?? 0;
          query = query.where((eb) => {
            const lastEvent = eb.fn.coalesce("last_event_at", eb.lit(0));
            return eb.or([eb(lastEvent, descending ? "<" : ">", at), eb.and([eb(lastEvent, "=", at), eb("name", descending ? "<" : ">", after.name)])]);
          });
        }
      }
      return (await query.execute()).map(streamOf);
    },
    async deleteStream(streamId) {
      await inTransaction(db, async (tx) => {
        await tx.deleteFrom("log_events").where("stream_id", "=", streamId).execute();
        await tx.deleteFrom("log_streams").where("id", "=", streamId).execute();
      });
    },

    async appendEvents(stream, events, ingestionTime) {
      if (events.length === 0) return [];
      return inTransaction(db, async (tx) => {
        // Events from a source with positions (an agent's container log) that the stream already
        // holds are dropped here, against the offset read in this same transaction: two deliveries
        // of one batch (a retry racing the original, on two replicas) cannot both store it. The
        // no-op update takes the stream's row lock first (PostgreSQL: the second delivery waits for
        // the first's commit, then reads its offset; SQLite: the write lock), in portable SQL.
        const positioned = events.some((event) => event.sourceOffset !== undefined);
        if (positioned) {
          await tx
            .updateTable("log_streams")
            .set((eb) => ({ source_offset: eb.ref("source_offset") }))
            .where("id", "=", stream.id)
            .execute();
        }
        const storedUpTo = positioned
          ? ((await tx.selectFrom("log_streams").select("source_offset").where("id", "=", stream.id).executeTakeFirst())?.source_offset ?? -1)
          : -1;
        const fresh = positioned ? events.filter((event) => event.sourceOffset === undefined || event.sourceOffset > storedUpTo) : events;
        if (fresh.length === 0) return fresh;
        let bytes = 0;
        let first = Number.POSITIVE_INFINITY;
        let last = Number.NEGATIVE_INFINITY;
        let newest = -1;
        for (const event of fresh) {
          bytes += Buffer.byteLength(event.message) + 26; // AWS counts 26 bytes of overhead per event
          if (event.timestamp < first) first = event.timestamp;
          if (event.timestamp > last) last = event.timestamp;
          if (event.sourceOffset !== undefined && event.sourceOffset > newest) newest = event.sourceOffset;
        }
        for (let start = 0; start < fresh.length; start += INSERT_CHUNK_ROWS) {
          const rows = fresh.slice(start, start + INSERT_CHUNK_ROWS).map((event) => ({
            group_id: stream.groupId,
            stream_id: stream.id,
            timestamp: event.timestamp,
            ingestion_time: ingestionTime,
            message: event.message,
          }));
          await tx.insertInto("log_events").values(rows).execute();
        }
        await tx
          .updateTable("log_streams")
          .set((eb) => ({
            // CASE rather than the two-argument min/max, which PostgreSQL spells LEAST/GREATEST.
            first_event_at: eb
              .case()
              .when(eb.or([eb("first_event_at", "is", null), eb("first_event_at", ">", first)]))
              .then(first)
              .else(eb.ref("first_event_at"))
              .end(),
            last_event_at: eb
              .case()
              .when(eb.or([eb("last_event_at", "is", null), eb("last_event_at", "<", last)]))
              .then(last)
              .else(eb.ref("last_event_at"))
              .end(),
            last_ingestion_at: ingestionTime,
            stored_bytes: eb("stored_bytes", "+", bytes),
            // Only ever forward, whatever order deliveries commit in.
            ...(newest >= 0
              ? {
                  source_offset: eb
                    .case()
                    .when(eb.or([eb("source_offset", "is", null), eb("source_offset", "<", newest)]))
                    .then(newest)
                    .else(eb.ref("source_offset"))
                    .end(),
                }
              : {}),
          }))
          .where("id", "=", stream.id)
          .execute();
        await tx
          .updateTable("log_groups")
          .set((eb) => ({ stored_bytes: eb("stored_bytes", "+", bytes) }))
          .where("id", "=", stream.groupId)
          .execute();
        return fresh;
      });
    },
    async streamEvents({ streamId, range, after, before, direction, limit }) {
      const order = direction === "forward" ? "asc" : "desc";
      let query = db.selectFrom("log_events").selectAll().where("stream_id", "=", streamId).orderBy("timestamp", order).orderBy("id", order).limit(limit);
      query = withTimeBounds(query, range, after, before);
      if (after)
        query = query.where((eb) => eb.or([eb("timestamp", ">", after.timestamp), eb.and([eb("timestamp", "=", after.timestamp), eb("id", ">", after.id)])]));
      if (before)
        query = query.where((eb) =>
          eb.or([eb("timestamp", "<", before.timestamp), eb.and([eb("timestamp", "=", before.timestamp), eb("id", "<", before.id)])]),
        );
      return (await query.execute()).map(eventOf);
    },
    async groupEvents({ groupId, streamIds, range, after, limit }) {
      let query = db.selectFrom("log_events").selectAll().where("group_id", "=", groupId).orderBy("timestamp", "asc").orderBy("id", "asc").limit(limit);
      if (streamIds) query = query.where("stream_id", "in", streamIds.length > 0 ? [...streamIds] : [-1]);
      query = withTimeBounds(query, range, after, undefined);
      if (after)
        query = query.where((eb) => eb.or([eb("timestamp", ">", after.timestamp), eb.and([eb("timestamp", "=", after.timestamp), eb("id", ">", after.id)])]));
      return (await query.execute()).map(eventOf);
    },
    async eventsIngestedAfter(groupId, after, until, limit) {
      const rows = await db
        .selectFrom("log_events")
        .selectAll()
        .where("group_id", "=", groupId)
        .where("ingestion_time", ">=", after.ingestionTime)
        .where("ingestion_time", "<=", until)
        .where((eb) => eb.or([eb("ingestion_time", ">", after.ingestionTime), eb("id", ">", after.id)]))
        .orderBy("ingestion_time", "asc")
        .orderBy("id", "asc")
        .limit(limit)
        .execute();
      return rows.map(eventOf);
    },
    async streamNames(streamIds) {
      if (streamIds.length === 0) return new Map();
      const rows = await db
        .selectFrom("log_streams")
        .select(["id", "name"])
        .where("id", "in", [...streamIds])
        .execute();
      return new Map(rows.map((row) => [row.id as number, row.name]));
    },
    async purgeExpired(now) {
      const groups = await db.selectFrom("log_groups").select(["id", "retention_days"]).where("retention_days", "is not", null).execute();
      let removed = 0;
      for (const group of groups) {
        const cutoff = now - (group.retention_days as number) * DAY_MS;
        const result = await db
          .deleteFrom("log_events")
          .where("group_id", "=", group.id as number)
          .where("timestamp", "<", cutoff)
          .executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
      return removed;
    },
  };
}

/**
 * One lower and one upper bound on timestamp, the tighter of the range's and the cursor's: what the
 * (…, timestamp, id) indexes seek on. With the cursor only inside an OR (or beside a looser bound
 * the planner may pick instead), every page re-reads the events before the cursor: a scan of a
 * group that is quadratic in its events.
 */
function withTimeBounds<Q extends SelectQueryBuilder<LogsTables, "log_events", Selectable<LogEventsTable>>>(
  query: Q,
  range: EventRange,
  after: EventCursor | undefined,
  before: EventCursor | undefined,
): Q {
  const lower = Math.max(range.startTime ?? Number.NEGATIVE_INFINITY, after?.timestamp ?? Number.NEGATIVE_INFINITY);
  const upper = Math.min(range.endTime ?? Number.POSITIVE_INFINITY, before ? before.timestamp + 1 : Number.POSITIVE_INFINITY);
  let bounded = query;
  if (lower !== Number.NEGATIVE_INFINITY) bounded = bounded.where("timestamp", ">=", lower) as Q;
  if (upper !== Number.POSITIVE_INFINITY) bounded = bounded.where("timestamp", "<", upper) as Q;
  return bounded;
}

function groupOf(row: Selectable<LogGroupsTable>): LogGroupRecord {
  return {
    id: row.id as number,
    name: row.name,
    createdAt: Number(row.created_at),
    retentionDays: row.retention_days,
    ...(row.kms_key_id === null ? {} : { kmsKeyId: row.kms_key_id }),
    logGroupClass: row.log_group_class as LogGroupClass,
    tags: JSON.parse(row.tags_json) as Record<string, string>,
    storedBytes: Number(row.stored_bytes),
  };
}

function streamOf(row: Selectable<LogStreamsTable>): LogStreamRecord {
  return {
    id: row.id as number,
    groupId: row.group_id,
    name: row.name,
    createdAt: Number(row.created_at),
    firstEventAt: nullableNumber(row.first_event_at),
    lastEventAt: nullableNumber(row.last_event_at),
    lastIngestionAt: nullableNumber(row.last_ingestion_at),
    sourceOffset: nullableNumber(row.source_offset),
  };
}

function eventOf(row: Selectable<LogEventsTable>): LogEventRecord {
  return { id: row.id as number, streamId: row.stream_id, timestamp: Number(row.timestamp), ingestionTime: Number(row.ingestion_time), message: row.message };
}

// A PostgreSQL bigint may come back as a string; the records always carry numbers.
function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}

/** The smallest string greater than every string starting with `prefix` (for index-friendly prefix scans). */
function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

function escapeLike(text: string): string {
  return text.replace(/[%_\\]/g, (c) => `\\${c}`);
}
