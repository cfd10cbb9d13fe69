// Durable state of the built-in registry: ECR repositories, images, tags, image references and
// blob links (schema in ecr-migration.ts). Portable Kysely SQL only.
//
// A blob is visible in a repository when it has a link there (made when an upload finishes or a
// blob is mounted). Links stay while some image of the repository references the blob; when the
// last such image goes, the link goes, and a blob without any link anywhere is garbage.
//
// Callers see `EcrRepositoryRecord`s and image summaries; the rows, and the encryption and
// annotation JSON columns, stay here.
import { inTransaction } from "./transaction.js";
import type { EncryptionConfiguration, ImageTagMutability, ImageTagMutabilityExclusionFilter } from "@aws-sdk/client-ecr";
import type { ExpressionBuilder, Kysely, Selectable, Transaction } from "kysely";

export interface EcrRepositoriesTable {
  name: string;
  registry_id: string;
  arn: string;
  created_at: number;
  tag_mutability: string;
  tag_mutability_exclusions_json: string | null;
  scan_on_push: number;
  encryption_json: string;
  lifecycle_policy: string | null;
  lifecycle_updated_at: number | null;
  lifecycle_evaluated_at: number | null;
}

export interface EcrImagesTable {
  repository_name: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  manifest: Buffer;
  size_bytes: number;
  pushed_at: number;
  subject_digest: string | null;
  annotations_json: string | null;
}

export interface EcrTagsTable {
  repository_name: string;
  tag: string;
  digest: string;
  tagged_at: number;
}

export interface EcrImageReferencesTable {
  repository_name: string;
  image_digest: string;
  child_digest: string;
  kind: "blob" | "manifest";
}

export interface EcrBlobLinksTable {
  repository_name: string;
  digest: string;
  size_bytes: number;
  linked_at: number;
}

export interface EcrTables {
  ecr_repositories: EcrRepositoriesTable;
  ecr_images: EcrImagesTable;
  ecr_tags: EcrTagsTable;
  ecr_image_references: EcrImageReferencesTable;
  ecr_blob_links: EcrBlobLinksTable;
}

/** What CreateRepository records. */
export interface NewEcrRepository {
  readonly name: string;
  readonly registryId: string;
  readonly arn: string;
  readonly createdAt: number;
  readonly tagMutability: ImageTagMutability;
  /** The *_WITH_EXCLUSION modes' filters (migration ecr-tag-exclusions-migration.ts); none otherwise. */
  readonly tagMutabilityExclusionFilters?: readonly ImageTagMutabilityExclusionFilter[];
  readonly scanOnPush: boolean;
  /** Kept and echoed as ECR does; the server's disk protection is what applies to the blobs. */
  readonly encryption: EncryptionConfiguration;
}

export interface EcrRepositoryRecord extends NewEcrRepository {
  /** The lifecycle policy's JSON text as the caller put it (ECR echoes it byte for byte); null: none. */
  readonly lifecyclePolicyText: string | null;
  readonly lifecycleUpdatedAt: number | null;
  readonly lifecycleEvaluatedAt: number | null;
}

/** OCI manifest annotations, as a manifest carries them. */
export type ImageAnnotations = Readonly<Record<string, string>>;

/** An image without its manifest bytes, with its tags (sorted). */
export interface EcrImageSummary {
  readonly repositoryName: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly sizeBytes: number;
  readonly pushedAt: number;
  readonly subjectDigest: string | null;
  readonly annotations: ImageAnnotations | null;
  readonly tags: readonly string[];
}

export interface EcrImageWithManifest extends EcrImageSummary {
  readonly manifest: Buffer;
}

export interface NewEcrImage {
  readonly repositoryName: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly manifest: Buffer;
  readonly sizeBytes: number;
  readonly pushedAt: number;
  readonly subjectDigest: string | null;
  readonly annotations: ImageAnnotations | null;
  readonly references: readonly { readonly digest: string; readonly kind: "blob" | "manifest" }[];
}

export type PutImageOutcome =
  | { readonly kind: "stored"; readonly created: boolean; readonly previousDigest: string | undefined }
  | { readonly kind: "tag-immutable"; readonly currentDigest: string };

export interface EcrRepository {
  /** The repository created, or undefined when one of that name exists. */
  createRepository(repository: NewEcrRepository): Promise<EcrRepositoryRecord | undefined>;
  getRepository(name: string): Promise<EcrRepositoryRecord | undefined>;
  listRepositories(options: { names?: readonly string[]; afterName?: string; limit: number }): Promise<EcrRepositoryRecord[]>;
  /** Deletes a repository with everything in it; returns the digests of the blobs it linked. */
  deleteRepository(name: string): Promise<string[]>;
  setTagMutability(name: string, mutability: ImageTagMutability, exclusionFilters: readonly ImageTagMutabilityExclusionFilter[]): Promise<void>;
  setLifecyclePolicy(name: string, policyText: string | null, updatedAt: number | null): Promise<void>;
  setLifecycleEvaluatedAt(name: string, evaluatedAt: number): Promise<void>;
  repositoriesWithLifecyclePolicy(): Promise<EcrRepositoryRecord[]>;

  linkBlob(repositoryName: string, digest: string, sizeBytes: number, linkedAt: number): Promise<void>;
  blobLink(repositoryName: string, digest: string): Promise<{ sizeBytes: number } | undefined>;
  /** The ones of `digests` that have no link in this repository. */
  missingBlobLinks(repositoryName: string, digests: readonly string[]): Promise<string[]>;
  isBlobLinkedAnywhere(digest: string): Promise<boolean>;
  /** Links that no image references and that are older than `linkedBefore` (abandoned pushes). */
  unreferencedBlobLinks(linkedBefore: number): Promise<{ repositoryName: string; digest: string }[]>;
  /**
   * Removes those of `links` that are still abandoned: older than `linkedBefore` and referenced by
   * no image. Another replica may have pushed the blob again (a fresher link) or put a manifest
   * that references it since they were listed. Returns the links removed.
   */
  removeBlobLinks(links: readonly { repositoryName: string; digest: string }[], linkedBefore: number): Promise<{ repositoryName: string; digest: string }[]>;

  /**
   * Stores an image (idempotent by digest) and points `tag` at it, in one transaction. With
   * `immutableTags`, moving an existing tag to another digest is refused instead.
   */
  putImage(image: NewEcrImage, tag: string | undefined, immutableTags: boolean): Promise<PutImageOutcome>;
  getImage(repositoryName: string, digest: string): Promise<EcrImageWithManifest | undefined>;
  resolveTag(repositoryName: string, tag: string): Promise<string | undefined>;
  listImages(repositoryName: string, options: { afterDigest?: string; limit?: number }): Promise<EcrImageSummary[]>;
  imagesByDigest(repositoryName: string, digests: readonly string[]): Promise<EcrImageSummary[]>;
  countImages(repositoryName: string): Promise<number>;
  listTags(repositoryName: string, options: { afterTag?: string; limit?: number }): Promise<string[]>;
  deleteTag(repositoryName: string, tag: string): Promise<boolean>;
  /** Digests of the images of this repository (in `among`, or all) that an index of it references. */
  manifestParents(repositoryName: string, childDigests: readonly string[]): Promise<Map<string, string[]>>;
  referrers(repositoryName: string, subjectDigest: string): Promise<EcrImageSummary[]>;
  /**
   * Deletes images (and their tags and references); drops the blob links no remaining image of the
   * repository references and returns those blobs' digests.
   */
  deleteImages(repositoryName: string, digests: readonly string[]): Promise<string[]>;
}

// SQLite allows 32766 bound parameters per statement: chunk IN lists well below that.
const IN_CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += IN_CHUNK) out.push(items.slice(start, start + IN_CHUNK));
  return out;
}

type Db = Kysely<EcrTables> | Transaction<EcrTables>;

async function tagsOf(db: Db, repositoryName: string, digests: readonly string[]): Promise<Map<string, string[]>> {
  const byDigest = new Map<string, string[]>();
  for (const part of chunks(digests)) {
    if (part.length === 0) continue;
    const rows = await db
      .selectFrom("ecr_tags")
      .select(["digest", "tag"])
      .where("repository_name", "=", repositoryName)
      .where("digest", "in", part)
      .orderBy("tag")
      .execute();
    for (const row of rows) {
      const list = byDigest.get(row.digest) ?? [];
      list.push(row.tag);
      byDigest.set(row.digest, list);
    }
  }
  return byDigest;
}

const summaryColumns = ["repository_name", "digest", "media_type", "artifact_type", "size_bytes", "pushed_at", "subject_digest", "annotations_json"] as const;

type SummaryRow = Pick<Selectable<EcrImagesTable>, (typeof summaryColumns)[number]>;

function toSummary(row: SummaryRow, tags: readonly string[]): EcrImageSummary {
  return {
    repositoryName: row.repository_name,
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    sizeBytes: Number(row.size_bytes),
    pushedAt: Number(row.pushed_at),
    subjectDigest: row.subject_digest,
    annotations: row.annotations_json === null ? null : (JSON.parse(row.annotations_json) as ImageAnnotations),
    tags,
  };
}

const exclusionsJson = (filters: readonly ImageTagMutabilityExclusionFilter[]): string | null =>
  filters.length === 0 ? null : JSON.stringify(filters.map((filter) => ({ filterType: filter.filterType, filter: filter.filter })));

function repositoryOf(row: Selectable<EcrRepositoriesTable>): EcrRepositoryRecord {
  return {
    name: row.name,
    registryId: row.registry_id,
    arn: row.arn,
    createdAt: Number(row.created_at),
    tagMutability: row.tag_mutability as ImageTagMutability,
    tagMutabilityExclusionFilters:
      row.tag_mutability_exclusions_json === null ? [] : (JSON.parse(row.tag_mutability_exclusions_json) as ImageTagMutabilityExclusionFilter[]),
    scanOnPush: Boolean(row.scan_on_push),
    encryption: JSON.parse(row.encryption_json) as EncryptionConfiguration,
    lifecyclePolicyText: row.lifecycle_policy,
    lifecycleUpdatedAt: row.lifecycle_updated_at === null ? null : Number(row.lifecycle_updated_at),
    lifecycleEvaluatedAt: row.lifecycle_evaluated_at === null ? null : Number(row.lifecycle_evaluated_at),
  };
}

async function withTags(db: Db, repositoryName: string, rows: readonly SummaryRow[]): Promise<EcrImageSummary[]> {
  const tags = await tagsOf(
    db,
    repositoryName,
    rows.map((row) => row.digest),
  );
  return rows.map((row) => toSummary(row, tags.get(row.digest) ?? []));
}

/** For a query on "ecr_blob_links as l": no image of the link's repository references its blob. */
function referencedByNoImage({ not, exists, selectFrom }: ExpressionBuilder<EcrTables & { l: EcrTables["ecr_blob_links"] }, "l">) {
  return not(
    exists(
      selectFrom("ecr_image_references as r")
        .select("r.child_digest")
        .whereRef("r.repository_name", "=", "l.repository_name")
        .whereRef("r.child_digest", "=", "l.digest"),
    ),
  );
}

// A repository is one object literal over its db handle, the interface above implemented method
// by method; each method is short, and splitting the literal would only scatter the interface.
// eslint-disable-next-line max-lines-per-function -- see above
export function createEcrRepository(db: Kysely<EcrTables>): EcrRepository {
  return {
    async createRepository(repository) {
      const row = {
        name: repository.name,
        registry_id: repository.registryId,
        arn: repository.arn,
        created_at: repository.createdAt,
        tag_mutability: repository.tagMutability,
        tag_mutability_exclusions_json: exclusionsJson(repository.tagMutabilityExclusionFilters ?? []),
        scan_on_push: repository.scanOnPush ? 1 : 0,
        encryption_json: JSON.stringify(repository.encryption),
        lifecycle_policy: null,
        lifecycle_updated_at: null,
        lifecycle_evaluated_at: null,
      };
      const inserted = await db
        .insertInto("ecr_repositories")
        .values(row)
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0 ? repositoryOf(row) : undefined;
    },
    async getRepository(name) {
      const row = await db.selectFrom("ecr_repositories").selectAll().where("name", "=", name).executeTakeFirst();
      return row ? repositoryOf(row) : undefined;
    },
    async listRepositories({ names, afterName, limit }) {
      let query = db.selectFrom("ecr_repositories").selectAll().orderBy("name").limit(limit);
      if (names) query = query.where("name", "in", names.length > 0 ? [...names] : [""]);
      if (afterName !== undefined) query = query.where("name", ">", afterName);
      return (await query.execute()).map(repositoryOf);
    },
    async deleteRepository(name) {
      return inTransaction(db, async (tx) => {
        const links = await tx.selectFrom("ecr_blob_links").select("digest").where("repository_name", "=", name).execute();
        for (const table of ["ecr_blob_links", "ecr_image_references", "ecr_tags", "ecr_images", "ecr_repositories"] as const) {
          if (table === "ecr_repositories") await tx.deleteFrom(table).where("name", "=", name).execute();
          else await tx.deleteFrom(table).where("repository_name", "=", name).execute();
        }
        return links.map((link) => link.digest);
      });
    },
    async setTagMutability(name, mutability, exclusionFilters) {
      await db
        .updateTable("ecr_repositories")
        .set({ tag_mutability: mutability, tag_mutability_exclusions_json: exclusionsJson(exclusionFilters) })
        .where("name", "=", name)
        .execute();
    },
    async setLifecyclePolicy(name, policyText, updatedAt) {
      await db
        .updateTable("ecr_repositories")
        .set({ lifecycle_policy: policyText, lifecycle_updated_at: updatedAt, lifecycle_evaluated_at: null })
        .where("name", "=", name)
        .execute();
    },
    async setLifecycleEvaluatedAt(name, evaluatedAt) {
      await db.updateTable("ecr_repositories").set({ lifecycle_evaluated_at: evaluatedAt }).where("name", "=", name).execute();
    },
    async repositoriesWithLifecyclePolicy() {
      return (await db.selectFrom("ecr_repositories").selectAll().where("lifecycle_policy", "is not", null).orderBy("name").execute()).map(repositoryOf);
    },

    async linkBlob(repositoryName, digest, sizeBytes, linkedAt) {
      // A new link refreshes linked_at so an in-flight push is never mistaken for an abandoned one.
      await db
        .insertInto("ecr_blob_links")
        .values({ repository_name: repositoryName, digest, size_bytes: sizeBytes, linked_at: linkedAt })
        .onConflict((oc) => oc.columns(["repository_name", "digest"]).doUpdateSet({ linked_at: linkedAt }))
        .execute();
    },
    async blobLink(repositoryName, digest) {
      const row = await db
        .selectFrom("ecr_blob_links")
        .select("size_bytes")
        .where("repository_name", "=", repositoryName)
        .where("digest", "=", digest)
        .executeTakeFirst();
      return row ? { sizeBytes: Number(row.size_bytes) } : undefined;
    },
    async missingBlobLinks(repositoryName, digests) {
      const present = new Set<string>();
      for (const part of chunks([...new Set(digests)])) {
        const rows = await db.selectFrom("ecr_blob_links").select("digest").where("repository_name", "=", repositoryName).where("digest", "in", part).execute();
        for (const row of rows) present.add(row.digest);
      }
      return [...new Set(digests)].filter((digest) => !present.has(digest));
    },
    async isBlobLinkedAnywhere(digest) {
      return (await db.selectFrom("ecr_blob_links").select("digest").where("digest", "=", digest).limit(1).executeTakeFirst()) !== undefined;
    },
    async unreferencedBlobLinks(linkedBefore) {
      const rows = await db
        .selectFrom("ecr_blob_links as l")
        .select(["l.repository_name", "l.digest"])
        .where("l.linked_at", "<", linkedBefore)
        .where(referencedByNoImage)
        .execute();
      return rows.map((row) => ({ repositoryName: row.repository_name, digest: row.digest }));
    },
    async removeBlobLinks(links, linkedBefore) {
      return inTransaction(db, async (tx) => {
        const removed: { repositoryName: string; digest: string }[] = [];
        for (const link of links) {
          const deleted = await tx
            .deleteFrom("ecr_blob_links as l")
            .where("l.repository_name", "=", link.repositoryName)
            .where("l.digest", "=", link.digest)
            .where("l.linked_at", "<", linkedBefore)
            .where(referencedByNoImage)
            .executeTakeFirst();
          if (Number(deleted.numDeletedRows) > 0) removed.push(link);
        }
        return removed;
      });
    },

    async putImage(image, tag, immutableTags) {
      return inTransaction(db, async (tx): Promise<PutImageOutcome> => {
        let previousDigest: string | undefined;
        let tagSettled = false;
        if (tag !== undefined) {
          const current = await tx
            .selectFrom("ecr_tags")
            .select("digest")
            .where("repository_name", "=", image.repositoryName)
            .where("tag", "=", tag)
            .executeTakeFirst();
          previousDigest = current?.digest;
          if (current && current.digest !== image.digest && immutableTags) return { kind: "tag-immutable", currentDigest: current.digest };
          if (!current && immutableTags) {
            // Two replicas pushing the same new immutable tag at once: the tag is claimed by one
            // statement (the second waits for the first's commit on the key), and the loser is
            // refused as if the tag had been there all along.
            const claimed = await tx
              .insertInto("ecr_tags")
              .values({ repository_name: image.repositoryName, tag, digest: image.digest, tagged_at: image.pushedAt })
              .onConflict((oc) => oc.columns(["repository_name", "tag"]).doNothing())
              .executeTakeFirst();
            if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) {
              const winner = await tx
                .selectFrom("ecr_tags")
                .select("digest")
                .where("repository_name", "=", image.repositoryName)
                .where("tag", "=", tag)
                .executeTakeFirst();
              if (winner && winner.digest !== image.digest) return { kind: "tag-immutable", currentDigest: winner.digest };
            }
            tagSettled = true; // claimed (or already ours): nothing left to move
          }
        }
        const inserted = await tx
          .insertInto("ecr_images")
          .values({
            repository_name: image.repositoryName,
            digest: image.digest,
            media_type: image.mediaType,
            artifact_type: image.artifactType,
            manifest: image.manifest,
            size_bytes: image.sizeBytes,
            pushed_at: image.pushedAt,
            subject_digest: image.subjectDigest,
            annotations_json: image.annotations === null ? null : JSON.stringify(image.annotations),
          })
          .onConflict((oc) => oc.columns(["repository_name", "digest"]).doNothing())
          .executeTakeFirst();
        const created = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
        if (created && image.references.length > 0) {
          const unique = new Map(image.references.map((reference) => [reference.digest, reference.kind]));
          for (const part of chunks([...unique])) {
            await tx
              .insertInto("ecr_image_references")
              .values(part.map(([digest, kind]) => ({ repository_name: image.repositoryName, image_digest: image.digest, child_digest: digest, kind })))
              .onConflict((oc) => oc.doNothing())
              .execute();
          }
        }
        if (tag !== undefined && !tagSettled && previousDigest !== image.digest) {
          await tx
            .insertInto("ecr_tags")
            .values({ repository_name: image.repositoryName, tag, digest: image.digest, tagged_at: image.pushedAt })
            .onConflict((oc) => oc.columns(["repository_name", "tag"]).doUpdateSet({ digest: image.digest, tagged_at: image.pushedAt }))
            .execute();
        }
        return { kind: "stored", created, previousDigest };
      });
    },
    async getImage(repositoryName, digest) {
      const row = await db.selectFrom("ecr_images").selectAll().where("repository_name", "=", repositoryName).where("digest", "=", digest).executeTakeFirst();
      if (!row) return undefined;
      const tags = await tagsOf(db, repositoryName, [digest]);
      return { ...toSummary(row, tags.get(digest) ?? []), manifest: Buffer.from(row.manifest) };
    },
    async resolveTag(repositoryName, tag) {
      const row = await db.selectFrom("ecr_tags").select("digest").where("repository_name", "=", repositoryName).where("tag", "=", tag).executeTakeFirst();
      return row?.digest;
    },
    async listImages(repositoryName, { afterDigest, limit }) {
      let query = db.selectFrom("ecr_images").select(summaryColumns).where("repository_name", "=", repositoryName).orderBy("digest");
      if (afterDigest !== undefined) query = query.where("digest", ">", afterDigest);
      if (limit !== undefined) query = query.limit(limit);
      return withTags(db, repositoryName, await query.execute());
    },
    async imagesByDigest(repositoryName, digests) {
      const rows: SummaryRow[] = [];
      for (const part of chunks([...new Set(digests)])) {
        rows.push(
          ...(await db.selectFrom("ecr_images").select(summaryColumns).where("repository_name", "=", repositoryName).where("digest", "in", part).execute()),
        );
      }
      return withTags(db, repositoryName, rows);
    },
    async countImages(repositoryName) {
      const row = await db
        .selectFrom("ecr_images")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("repository_name", "=", repositoryName)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },
    async listTags(repositoryName, { afterTag, limit }) {
      let query = db.selectFrom("ecr_tags").select("tag").where("repository_name", "=", repositoryName).orderBy("tag");
      if (afterTag !== undefined) query = query.where("tag", ">", afterTag);
      if (limit !== undefined) query = query.limit(limit);
      return (await query.execute()).map((row) => row.tag);
    },
    async deleteTag(repositoryName, tag) {
      const deleted = await db.deleteFrom("ecr_tags").where("repository_name", "=", repositoryName).where("tag", "=", tag).executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    },
    async manifestParents(repositoryName, childDigests) {
      const parents = new Map<string, string[]>();
      for (const part of chunks([...new Set(childDigests)])) {
        const rows = await db
          .selectFrom("ecr_image_references")
          .select(["image_digest", "child_digest"])
          .where("repository_name", "=", repositoryName)
          .where("kind", "=", "manifest")
          .where("child_digest", "in", part)
          .execute();
        for (const row of rows) parents.set(row.child_digest, [...(parents.get(row.child_digest) ?? []), row.image_digest]);
      }
      return parents;
    },
    async referrers(repositoryName, subjectDigest) {
      const rows = await db
        .selectFrom("ecr_images")
        .select(summaryColumns)
        .where("repository_name", "=", repositoryName)
        .where("subject_digest", "=", subjectDigest)
        .orderBy("digest")
        .execute();
      return withTags(db, repositoryName, rows);
    },
    async deleteImages(repositoryName, digests) {
      if (digests.length === 0) return [];
      return inTransaction(db, async (tx) => {
        const released = new Set<string>();
        for (const part of chunks([...new Set(digests)])) {
          const references = await tx
            .selectFrom("ecr_image_references")
            .select("child_digest")
            .where("repository_name", "=", repositoryName)
            .where("kind", "=", "blob")
            .where("image_digest", "in", part)
            .execute();
          for (const reference of references) released.add(reference.child_digest);
          await tx.deleteFrom("ecr_image_references").where("repository_name", "=", repositoryName).where("image_digest", "in", part).execute();
          await tx.deleteFrom("ecr_tags").where("repository_name", "=", repositoryName).where("digest", "in", part).execute();
          await tx.deleteFrom("ecr_images").where("repository_name", "=", repositoryName).where("digest", "in", part).execute();
        }
        const dropped: string[] = [];
        for (const part of chunks([...released])) {
          const stillUsed = await tx
            .selectFrom("ecr_image_references")
            .select("child_digest")
            .where("repository_name", "=", repositoryName)
            .where("child_digest", "in", part)
            .execute();
          const used = new Set(stillUsed.map((row) => row.child_digest));
          const unused = part.filter((digest) => !used.has(digest));
          if (unused.length === 0) continue;
          await tx.deleteFrom("ecr_blob_links").where("repository_name", "=", repositoryName).where("digest", "in", unused).execute();
          dropped.push(...unused);
        }
        return dropped;
      });
    },
  };
}
