// Schema of ECR's resource policies (see ecr-policies-repository.ts): one policy per repository,
// bound to the repository's creation time so that a repository deleted and made again under the
// same name does not inherit the old one's grants or denials, and the registry's own policy.
import type { Kysely, Migration } from "kysely";

export const ecrPoliciesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("ecr_repository_policies")
      .addColumn("repository_name", "varchar(256)", (c) => c.primaryKey())
      .addColumn("repository_created_at", "bigint", (c) => c.notNull())
      .addColumn("policy_text", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("ecr_registry_policies")
      .addColumn("registry_id", "varchar(12)", (c) => c.primaryKey())
      .addColumn("policy_text", "text", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("ecr_registry_policies").execute();
    await db.schema.dropTable("ecr_repository_policies").execute();
  },
};
