// The role_sessions table (role-sessions-repository.ts): temporary credentials issued by STS
// (AssumeRole, GetSessionToken) and for tasks' roles.
import type { Kysely, Migration } from "kysely";

export const roleSessionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("role_sessions")
      .addColumn("access_key_id", "varchar(32)", (c) => c.primaryKey())
      .addColumn("secret_ciphertext", "text", (c) => c.notNull())
      .addColumn("token_sha256", "varchar(64)", (c) => c.notNull())
      .addColumn("account_id", "varchar(12)", (c) => c.notNull())
      .addColumn("principal_arn", "varchar(2048)", (c) => c.notNull())
      .addColumn("identity", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("role_sessions_expiry").on("role_sessions").column("expires_at").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("role_sessions").execute();
  },
};
