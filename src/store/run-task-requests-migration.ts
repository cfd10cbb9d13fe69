// Schema of remembered RunTask requests (clientToken idempotency, see tasks-repository.ts): the
// outcome of a run is kept whole, failures included, so a replay answers what the first call did
// even when no task was placed. Portable across SQLite and PostgreSQL.
import type { Kysely, Migration } from "kysely";

export const runTaskRequestsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("run_task_requests")
      .addColumn("cluster_arn", "varchar(1024)", (c) => c.notNull())
      .addColumn("client_token", "varchar(64)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("task_arns_json", "text", (c) => c.notNull())
      .addColumn("failures_json", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("run_task_requests_pk", ["cluster_arn", "client_token"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("run_task_requests").execute();
  },
};
