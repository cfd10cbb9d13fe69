// The join_tokens table (join-tokens-repository.ts): issued in 0007, revocable from 0009.
import type { Kysely, Migration } from "kysely";

export const joinTokensMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("join_tokens")
      .addColumn("token_sha256", "varchar(64)", (c) => c.primaryKey())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint")
      .addColumn("description", "varchar(256)", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("join_tokens").execute();
  },
};

export const joinTokenRevocationMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("join_tokens").addColumn("revoked_at", "bigint").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("join_tokens").dropColumn("revoked_at").execute();
  },
};
