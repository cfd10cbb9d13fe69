// Access keys the gateway verifies SigV4 signatures with. The secret is stored encrypted
// (`secretCiphertext`, produced and read by the caller): SigV4 is an HMAC keyed by the secret, so the
// server needs the plaintext to verify and a one-way hash cannot be used. IAM users' keys live here
// too (iam-repository.ts, migration 0018): an Inactive key is not one SigV4 may verify with, so
// `get` does not find it, exactly as it does not find an unknown or deleted key.
import type { ColumnType, Kysely } from "kysely";

export interface AccessKeysTable {
  access_key_id: string;
  secret_ciphertext: string;
  account_id: string;
  principal_arn: string;
  created_at: number;
  /** "Active" | "Inactive" (0018-iam; Active when not given). */
  status: ColumnType<string, string | undefined, string>;
  /** The IAM user's lower-cased name; null for the root key, which IAM neither lists nor deletes. */
  user_key: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface StoredAccessKey {
  readonly accessKeyId: string;
  readonly secretCiphertext: string;
  readonly accountId: string;
  readonly principalArn: string;
  readonly createdAt: number;
}

export interface AccessKeysRepository {
  /** The key SigV4 may verify with: an Inactive user key is not found. */
  get(accessKeyId: string): Promise<StoredAccessKey | undefined>;
  put(key: StoredAccessKey): Promise<void>;
  count(): Promise<number>;
}

export function createAccessKeysRepository(db: Kysely<{ access_keys: AccessKeysTable }>): AccessKeysRepository {
  return {
    async get(accessKeyId) {
      const row = await db.selectFrom("access_keys").selectAll().where("access_key_id", "=", accessKeyId).where("status", "=", "Active").executeTakeFirst();
      return row
        ? {
            accessKeyId: row.access_key_id,
            secretCiphertext: row.secret_ciphertext,
            accountId: row.account_id,
            principalArn: row.principal_arn,
            createdAt: row.created_at,
          }
        : undefined;
    },
    async put(key) {
      const values = { secret_ciphertext: key.secretCiphertext, account_id: key.accountId, principal_arn: key.principalArn, created_at: key.createdAt };
      await db
        .insertInto("access_keys")
        .values({ access_key_id: key.accessKeyId, ...values })
        .onConflict((oc) => oc.column("access_key_id").doUpdateSet(values))
        .execute();
    },
    async count() {
      const row = await db
        .selectFrom("access_keys")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
