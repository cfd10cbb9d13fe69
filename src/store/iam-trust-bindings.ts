// Trust policies bound to the user or role they name, not to its name (IAM User Guide, "Example
// policies": AWS transforms a principal's ARN to the entity's unique id when the policy is saved, so
// a user or role deleted and made again under the same name is not trusted; a renamed user stays
// trusted). Berth keeps the ARN while the entity lives, so the store rewrites every role's trust
// policy in the transaction that deletes or renames the entity: the ARN becomes the unique id (which
// matches no caller) or the new ARN. Every role is read: a principal may be written with JSON escapes
// ("user\/alice"), which no SQL filter on the text would see.
import type { Kysely } from "kysely";
import { rebindPrincipal } from "../core/iam/principal.js";
import type { IamTables } from "./iam-repository.js";

/** Makes every trust policy's "AWS" principal equal to `from` say `to` (call inside the IAM write lock). */
export async function rebindTrustPolicies(db: Kysely<IamTables>, from: string, to: string): Promise<void> {
  if (from === to) return;
  const roles = await db.selectFrom("iam_roles").select(["name_key", "assume_role_policy"]).execute();
  for (const role of roles) {
    const rebound = rebindPrincipal(role.assume_role_policy, from, to);
    if (rebound !== role.assume_role_policy)
      await db.updateTable("iam_roles").set({ assume_role_policy: rebound }).where("name_key", "=", role.name_key).execute();
  }
}
