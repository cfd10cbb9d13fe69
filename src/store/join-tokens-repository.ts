// Agent join tokens: the ones `berth join-token create` issues and the server's bootstrap token in
// <data-dir>/agent-token. Only a token's sha256 is stored; its id (the first 12 hex digits of that
// hash) names it in `berth join-token list/revoke` without revealing it. A token expires and can be
// revoked; either stops it joining new hosts, never a host already registered (hosts hold secrets
// of their own). Portable Kysely SQL.
import type { Kysely } from "kysely";

export interface JoinTokensTable {
  token_sha256: string;
  created_at: number;
  /** Milliseconds since the epoch after which the token no longer joins a host; null: never. */
  expires_at: number | null;
  description: string;
  /** When `berth join-token revoke` was run for it; null: not revoked. */
  revoked_at: number | null;
}

export interface JoinTokensTables {
  join_tokens: JoinTokensTable;
}

export type JoinTokenStatus = "valid" | "expired" | "revoked" | "unknown";

/** What issuing a token records (the token itself is never stored, only its sha256). */
export interface NewJoinToken {
  readonly tokenSha256: string;
  readonly createdAt: number;
  /** Milliseconds since the epoch after which the token no longer joins a host; null: never. */
  readonly expiresAt: number | null;
  readonly description: string;
}

export interface StoredJoinToken extends NewJoinToken {
  /** The first JOIN_TOKEN_ID_LENGTH hex digits of the hash: names the token without revealing it. */
  readonly id: string;
  readonly revokedAt: number | null;
}

export interface JoinTokensRepository {
  create(token: NewJoinToken): Promise<void>;
  /** What a presented token (by its sha256) is worth at `now`. */
  status(tokenSha256: string, now: number): Promise<JoinTokenStatus>;
  /** Whether a token with this hash was issued, is not revoked and has not expired at `now`. */
  isValid(tokenSha256: string, now: number): Promise<boolean>;
  list(): Promise<StoredJoinToken[]>;
  /** Revokes the tokens whose id starts with `idPrefix` (callers insist on exactly one match); returns them. */
  revoke(idPrefix: string, now: number): Promise<StoredJoinToken[]>;
}

export const JOIN_TOKEN_ID_LENGTH = 12;

function stored(row: JoinTokensTable): StoredJoinToken {
  return {
    id: row.token_sha256.slice(0, JOIN_TOKEN_ID_LENGTH),
    tokenSha256: row.token_sha256,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    description: row.description,
  };
}

export function createJoinTokensRepository(db: Kysely<JoinTokensTables>): JoinTokensRepository {
  const status = async (tokenSha256: string, now: number): Promise<JoinTokenStatus> => {
    const row = await db.selectFrom("join_tokens").selectAll().where("token_sha256", "=", tokenSha256).executeTakeFirst();
    if (!row) return "unknown";
    if (row.revoked_at !== null) return "revoked";
    return row.expires_at === null || Number(row.expires_at) > now ? "valid" : "expired";
  };
  return {
    async create(token) {
      await db
        .insertInto("join_tokens")
        .values({ token_sha256: token.tokenSha256, created_at: token.createdAt, expires_at: token.expiresAt, description: token.description, revoked_at: null })
        .execute();
    },
    status,
    async isValid(tokenSha256, now) {
      return (await status(tokenSha256, now)) === "valid";
    },
    async list() {
      return (await db.selectFrom("join_tokens").selectAll().orderBy("created_at").execute()).map(stored);
    },
    async revoke(idPrefix, now) {
      if (!/^[0-9a-f]{4,64}$/.test(idPrefix)) return [];
      const matching = await db.selectFrom("join_tokens").selectAll().where("token_sha256", "like", `${idPrefix}%`).execute();
      if (matching.length !== 1) return matching.map(stored);
      await db
        .updateTable("join_tokens")
        .set({ revoked_at: now })
        .where("token_sha256", "=", matching[0]!.token_sha256)
        .where("revoked_at", "is", null)
        .execute();
      return [stored({ ...matching[0]!, revoked_at: matching[0]!.revoked_at ?? now })];
    },
  };
}
