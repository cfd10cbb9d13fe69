// The hosts' network addresses (issue 12): where other hosts reach a host's VPC routers over the
// overlay, and the address its public tasks leave from. Both optional: a host without them serves
// tasks that reach only their peers on the same host, and no outbound traffic.
import type { Kysely, Migration } from "kysely";

export const hostAddressesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("hosts").addColumn("overlay_address", "varchar(64)").execute();
    await db.schema.alterTable("hosts").addColumn("public_address", "varchar(64)").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("hosts").dropColumn("public_address").execute();
    await db.schema.alterTable("hosts").dropColumn("overlay_address").execute();
  },
};
