// The account's CloudWatch Logs resource policies (PutResourcePolicy): stored and listed, not
// enforced. Portable Kysely SQL.
import type { Kysely } from "kysely";
import { inTransaction } from "./transaction.js";

export interface LogResourcePoliciesTable {
  policy_name: string;
  policy_document: string;
  updated_at: number;
}

export interface LogResourcePolicyRecord {
  readonly policyName: string;
  readonly policyDocument: string;
  readonly updatedAt: number;
}

export interface LogResourcePoliciesRepository {
  /** Creates or replaces `policyName`; refuses a new one (returns false) when `maxPolicies` exist. */
  put(policy: LogResourcePolicyRecord, maxPolicies: number): Promise<boolean>;
  list(options: { afterName?: string; limit: number }): Promise<LogResourcePolicyRecord[]>;
  /** Whether a policy of that name was there to delete. */
  delete(policyName: string): Promise<boolean>;
}

export function createLogResourcePoliciesRepository(db: Kysely<{ log_resource_policies: LogResourcePoliciesTable }>): LogResourcePoliciesRepository {
  return {
    async put(policy, maxPolicies) {
      const row = { policy_name: policy.policyName, policy_document: policy.policyDocument, updated_at: policy.updatedAt };
      const replaced = await db
        .updateTable("log_resource_policies")
        .set({ policy_document: row.policy_document, updated_at: row.updated_at })
        .where("policy_name", "=", row.policy_name)
        .executeTakeFirst();
      if (Number(replaced.numUpdatedRows) > 0) return true;
      // A new name: count, then insert, in one transaction (SQLite's single writer makes the pair
      // atomic; on PostgreSQL two concurrent puts of new names may both pass the count, as AWS's
      // quota is not exact either).
      return inTransaction(db, async (tx) => {
        const counted = await tx
          .selectFrom("log_resource_policies")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst();
        if (Number(counted?.n ?? 0) >= maxPolicies) return false;
        await tx
          .insertInto("log_resource_policies")
          .values(row)
          .onConflict((oc) => oc.column("policy_name").doUpdateSet({ policy_document: row.policy_document, updated_at: row.updated_at }))
          .execute();
        return true;
      });
    },
    async list({ afterName, limit }) {
      let query = db.selectFrom("log_resource_policies").selectAll().orderBy("policy_name").limit(limit);
      if (afterName !== undefined) query = query.where("policy_name", ">", afterName);
      return (await query.execute()).map((row) => ({ policyName: row.policy_name, policyDocument: row.policy_document, updatedAt: Number(row.updated_at) }));
    },
    async delete(policyName) {
      const result = await db.deleteFrom("log_resource_policies").where("policy_name", "=", policyName).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
