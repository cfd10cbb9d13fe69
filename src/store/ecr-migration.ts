// Schema of the built-in registry (see ecr-repository.ts): ECR repositories, images (manifest
// bytes kept exactly as pushed), tags, what each image references, and which blobs each repository
// may serve. Blob bytes live on disk, content-addressed (src/registry/blob-store.ts); these tables
// are what makes a blob visible in a repository and what garbage collection counts.
import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";
import type { SqlDialectName } from "./logs-migration.js";

export function ecrMigration(dialect: SqlDialectName): Migration {
  // Manifest bytes must come back byte for byte (their digest is their identity): a binary column.
  const bytesType = dialect === "postgres" ? sql`bytea` : sql`blob`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("ecr_repositories")
        .addColumn("name", "varchar(256)", (c) => c.primaryKey())
        .addColumn("registry_id", "varchar(12)", (c) => c.notNull())
        .addColumn("arn", "varchar(1024)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("tag_mutability", "varchar(32)", (c) => c.notNull())
        .addColumn("scan_on_push", "integer", (c) => c.notNull())
        .addColumn("encryption_json", "text", (c) => c.notNull())
        .addColumn("lifecycle_policy", "text")
        .addColumn("lifecycle_updated_at", "bigint")
        .addColumn("lifecycle_evaluated_at", "bigint")
        .execute();
      await db.schema
        .createTable("ecr_images")
        .addColumn("repository_name", "varchar(256)", (c) => c.notNull())
        .addColumn("digest", "varchar(160)", (c) => c.notNull())
        .addColumn("media_type", "varchar(256)", (c) => c.notNull())
        .addColumn("artifact_type", "varchar(256)")
        .addColumn("manifest", bytesType, (c) => c.notNull())
        .addColumn("size_bytes", "bigint", (c) => c.notNull())
        .addColumn("pushed_at", "bigint", (c) => c.notNull())
        .addColumn("subject_digest", "varchar(160)")
        .addColumn("annotations_json", "text")
        .addPrimaryKeyConstraint("ecr_images_pk", ["repository_name", "digest"])
        .execute();
      await db.schema.createIndex("ecr_images_subject").on("ecr_images").columns(["repository_name", "subject_digest"]).execute();
      await db.schema
        .createTable("ecr_tags")
        .addColumn("repository_name", "varchar(256)", (c) => c.notNull())
        .addColumn("tag", "varchar(128)", (c) => c.notNull())
        .addColumn("digest", "varchar(160)", (c) => c.notNull())
        .addColumn("tagged_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("ecr_tags_pk", ["repository_name", "tag"])
        .execute();
      await db.schema.createIndex("ecr_tags_digest").on("ecr_tags").columns(["repository_name", "digest"]).execute();
      // kind "blob": a config or layer the image needs; kind "manifest": a child of an index.
      await db.schema
        .createTable("ecr_image_references")
        .addColumn("repository_name", "varchar(256)", (c) => c.notNull())
        .addColumn("image_digest", "varchar(160)", (c) => c.notNull())
        .addColumn("child_digest", "varchar(160)", (c) => c.notNull())
        .addColumn("kind", "varchar(16)", (c) => c.notNull())
        .addPrimaryKeyConstraint("ecr_image_references_pk", ["repository_name", "image_digest", "child_digest"])
        .execute();
      await db.schema.createIndex("ecr_image_references_child").on("ecr_image_references").columns(["repository_name", "child_digest"]).execute();
      await db.schema
        .createTable("ecr_blob_links")
        .addColumn("repository_name", "varchar(256)", (c) => c.notNull())
        .addColumn("digest", "varchar(160)", (c) => c.notNull())
        .addColumn("size_bytes", "bigint", (c) => c.notNull())
        .addColumn("linked_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("ecr_blob_links_pk", ["repository_name", "digest"])
        .execute();
      await db.schema.createIndex("ecr_blob_links_digest").on("ecr_blob_links").columns(["digest"]).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ["ecr_blob_links", "ecr_image_references", "ecr_tags", "ecr_images", "ecr_repositories"]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
