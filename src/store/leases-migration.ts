// Schema of the control loops' leases (see leases-repository.ts): one row per loop name.
import type { Kysely, Migration } from "kysely";

export const leasesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("leases")
      .addColumn("name", "varchar(128)", (c) => c.primaryKey())
      .addColumn("holder", "varchar(256)", (c) => c.notNull())
      // Grows by one each time the lease changes hands: the fencing token a holder's writes check.
      .addColumn("fencing_token", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("leases").execute();
  },
};
