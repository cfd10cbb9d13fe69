// The agent's position in a container's log, per log stream (see LogsRepository.appendEvents):
// stored with the events it covers, so lines an agent sends again after a crash are recognised
// across control-plane restarts too. Null for streams written only through PutLogEvents.
import type { Kysely, Migration } from "kysely";

export const logStreamOffsetsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("log_streams").addColumn("source_offset", "bigint").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("log_streams").dropColumn("source_offset").execute();
  },
};
