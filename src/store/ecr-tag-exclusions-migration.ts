// ECR repositories' image tag mutability exclusion filters (issue 16): the filters of an
// IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION repository, as JSON (at most five of at most
// 128 characters each); null for MUTABLE and IMMUTABLE repositories.
import type { Kysely, Migration } from "kysely";

export const ecrTagExclusionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("ecr_repositories").addColumn("tag_mutability_exclusions_json", "text").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("ecr_repositories").dropColumn("tag_mutability_exclusions_json").execute();
  },
};
