// Temporary credentials (STS AssumeRole and GetSessionToken, and the credentials of tasks' roles).
// The secret is sealed by the caller (SigV4 needs it in the clear to verify); the session token is
// kept only as its SHA-256: the gateway compares the token a request carries with it. `identity`
// is the caller's JSON description of who the session acts as (the role or user, the session
// name, a session policy), read back by the gateway for every request the session signs.
import type { Kysely } from "kysely";

export interface RoleSessionsTable {
  access_key_id: string;
  secret_ciphertext: string;
  token_sha256: string;
  account_id: string;
  principal_arn: string;
  identity: string;
  created_at: number;
  expires_at: number;
}

export interface StoredRoleSession {
  readonly accessKeyId: string;
  readonly secretCiphertext: string;
  readonly tokenSha256: string;
  readonly accountId: string;
  /** The session's ARN: arn:…:sts::<account>:assumed-role/<role>/<session>, or the user's for GetSessionToken. */
  readonly principalArn: string;
  readonly identity: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface RoleSessionsRepository {
  get(accessKeyId: string): Promise<StoredRoleSession | undefined>;
  put(session: StoredRoleSession): Promise<void>;
  /** Deletes up to `limit` sessions that expired before `now`; how many went. */
  purgeExpired(now: number, limit: number): Promise<number>;
}

export function createRoleSessionsRepository(db: Kysely<{ role_sessions: RoleSessionsTable }>): RoleSessionsRepository {
  return {
    async get(accessKeyId) {
      const row = await db.selectFrom("role_sessions").selectAll().where("access_key_id", "=", accessKeyId).executeTakeFirst();
      if (!row) return undefined;
      return {
        accessKeyId: row.access_key_id,
        secretCiphertext: row.secret_ciphertext,
        tokenSha256: row.token_sha256,
        accountId: row.account_id,
        principalArn: row.principal_arn,
        identity: row.identity,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },
    async put(session) {
      await db
        .insertInto("role_sessions")
        .values({
          access_key_id: session.accessKeyId,
          secret_ciphertext: session.secretCiphertext,
          token_sha256: session.tokenSha256,
          account_id: session.accountId,
          principal_arn: session.principalArn,
          identity: session.identity,
          created_at: session.createdAt,
          expires_at: session.expiresAt,
        })
        .execute();
    },
    async purgeExpired(now, limit) {
      const due = await db.selectFrom("role_sessions").select("access_key_id").where("expires_at", "<", now).limit(limit).execute();
      if (due.length === 0) return 0;
      await db
        .deleteFrom("role_sessions")
        .where(
          "access_key_id",
          "in",
          due.map((row) => row.access_key_id),
        )
        .execute();
      return due.length;
    },
  };
}
