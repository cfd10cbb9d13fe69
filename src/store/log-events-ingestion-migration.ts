// Live tail (StartLiveTail) reads a log group's events by when they were ingested, not by their own
// timestamps (an event may carry a time days old): an index on (group, ingestion time, id) makes
// each second's read a seek to the session's window.
import type { Kysely, Migration } from "kysely";

export const logEventsIngestionMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex("log_events_group_ingestion").on("log_events").columns(["group_id", "ingestion_time", "id"]).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex("log_events_group_ingestion").execute();
  },
};
