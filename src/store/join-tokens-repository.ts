// Agent join tokens the server issued (`berth join-token create`), besides the bootstrap token in
// <data-dir>/agent-token. Only a token's sha256 is stored; a token may expire. Portable Kysely SQL.
import type { Kysely, Migration } from "kysely";

export interface JoinTokensTable {
  token_sha256: string;
  created_at: number;
  /** Milliseconds since the epoch after which the token no longer joins a host; null: never. */
  expires_at: number | null;
  description: string;
}

export interface JoinTokensTables {
  join_tokens: JoinTokensTable;
}

export interface JoinTokensRepository {
  create(token: JoinTokensTable): Promise<void>;
  /** Whether a token with this hash was issued and has not expired at `now`. */
  isValid(tokenSha256: string, now: number): Promise<boolean>;
}

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

export function createJoinTokensRepository(db: Kysely<JoinTokensTables>): JoinTokensRepository {
  return {
    async create(token) {
      await db.insertInto("join_tokens").values(token).execute();
    },
    async isValid(tokenSha256, now) {
      const row = await db.selectFrom("join_tokens").select("expires_at").where("token_sha256", "=", tokenSha256).executeTakeFirst();
      return row !== undefined && (row.expires_at === null || Number(row.expires_at) > now);
    },
  };
}
