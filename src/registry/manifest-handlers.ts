// Manifests, tags and referrers of the distribution API:
//   HEAD/GET/PUT/DELETE /v2/<name>/manifests/<tag|digest>
//   GET /v2/<name>/tags/list?n=&last=        GET /v2/<name>/referrers/<digest>?artifactType=
// A manifest is stored with the exact bytes and media type pushed; its digest is the sha256 of
// those bytes. PUT refuses a manifest that references blobs (or, for an index, manifests) the
// repository does not have, and a tag move in an IMMUTABLE repository.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-manifests
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { DIGEST_PATTERN, TAG_PATTERN } from "../api/ecr/index.js";
import type { ManifestPushOutcome } from "../api/ecr/index.js";
import { BodyTooLargeError, readBody } from "../api/gateway/request-body.js";
import { isTagImmutable } from "../core/ecr/tag-mutability.js";
import type { EcrImageWithManifest, EcrRepositoryRecord } from "../store/ecr-repository.js";
import { parseDigest } from "./blob-store.js";
import { DistributionError, digestInvalid, manifestBlobUnknown, manifestUnknown, sizeInvalid, tagInvalid } from "./distribution-errors.js";
import { MAX_MANIFEST_BYTES, OCI_INDEX, parseManifest } from "./manifests.js";
import type { RegistryContext, RepositoryRequest } from "./registry-context.js";
import { nextLink, pagination, send, sendJson } from "./registry-context.js";

const isDigest = (reference: string) => reference.includes(":");

/** The gateway's reader; an oversized manifest is the distribution API's SIZE_INVALID. */
async function readManifestBody(request: IncomingMessage): Promise<Buffer> {
  return readBody(request, MAX_MANIFEST_BYTES).catch((error: unknown) => {
    throw error instanceof BodyTooLargeError ? sizeInvalid(`manifest exceeds ${MAX_MANIFEST_BYTES} bytes`) : error;
  });
}

async function resolve(context: RegistryContext, repositoryName: string, reference: string): Promise<EcrImageWithManifest> {
  const digest = isDigest(reference) ? reference : await context.repositories.resolveTag(repositoryName, reference);
  const image = digest === undefined ? undefined : await context.repositories.getImage(repositoryName, digest);
  if (!image) throw manifestUnknown(reference);
  return image;
}

export async function headOrGetManifest(context: RegistryContext, { request, response, repository }: RepositoryRequest, reference: string): Promise<void> {
  const image = await resolve(context, repository.name, reference);
  response.writeHead(200, {
    "docker-distribution-api-version": "registry/2.0",
    "content-type": image.mediaType,
    "content-length": image.manifest.length,
    "docker-content-digest": image.digest,
    etag: `"${image.digest}"`,
  });
  response.end(request.method === "HEAD" ? undefined : image.manifest);
}

/**
 * Stores a manifest's exact bytes in a repository, tagged or not: the one path of a push, shared by
 * the distribution API's manifest PUT and ECR's PutImage. Parses it (MANIFEST_INVALID for what is
 * not an accepted format), requires every blob (image) or child manifest (index) it references to
 * be in the repository, honours an IMMUTABLE repository's tags, and runs the lifecycle policy
 * after a tagged push.
 */
export async function storeManifest(
  context: RegistryContext,
  repository: EcrRepositoryRecord,
  bytes: Buffer,
  contentType: string | undefined,
  tag: string | undefined,
): Promise<ManifestPushOutcome> {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const manifest = parseManifest(bytes, contentType);
  const missingBlobs = await context.repositories.missingBlobLinks(
    repository.name,
    manifest.blobs.map((blob) => blob.digest),
  );
  if (missingBlobs.length > 0) return { kind: "missing-blobs", digests: missingBlobs };
  let sizeBytes = manifest.layerBytes;
  if (manifest.kind === "index") {
    const children = await context.repositories.imagesByDigest(
      repository.name,
      manifest.manifests.map((child) => child.digest),
    );
    const present = new Set(children.map((child) => child.digest));
    const missing = manifest.manifests.filter((child) => !present.has(child.digest)).map((child) => child.digest);
    if (missing.length > 0) return { kind: "missing-manifests", digests: missing };
    // ECR: the size of a manifest list is the largest size among its manifests.
    sizeBytes = children.reduce((largest, child) => Math.max(largest, child.sizeBytes), 0);
  }
  const outcome = await context.repositories.putImage(
    {
      repositoryName: repository.name,
      digest,
      mediaType: manifest.mediaType,
      artifactType: manifest.artifactType,
      manifest: bytes,
      sizeBytes,
      pushedAt: context.clock.now(),
      subjectDigest: manifest.subject?.digest ?? null,
      annotations: manifest.annotations ?? null,
      references: [
        ...manifest.blobs.map((blob) => ({ digest: blob.digest, kind: "blob" as const })),
        ...manifest.manifests.map((child) => ({ digest: child.digest, kind: "manifest" as const })),
      ],
    },
    tag,
    // The repository's rule for this tag: its mode, with the exclusion filters' exceptions.
    tag !== undefined && isTagImmutable(repository.tagMutability, repository.tagMutabilityExclusionFilters ?? [], tag),
  );
  if (outcome.kind === "tag-immutable") return outcome;
  // A tagged manifest ends a client's push (an index's children go first, untagged), so the
  // lifecycle policy runs now rather than between the pieces of one push.
  if (tag !== undefined) {
    await context
      .applyLifecyclePolicy(repository.name)
      .catch((error: unknown) => context.logger.error({ err: error, repository: repository.name }, "lifecycle policy after push failed"));
  }
  return {
    kind: "stored",
    digest,
    mediaType: manifest.mediaType,
    created: outcome.created,
    previousDigest: outcome.previousDigest,
    subject: manifest.subject?.digest,
  };
}

export async function putManifest(context: RegistryContext, { request, response, repository }: RepositoryRequest, reference: string): Promise<void> {
  const tag = isDigest(reference) ? undefined : reference;
  if (tag !== undefined && !TAG_PATTERN.test(tag)) throw tagInvalid(`invalid tag ${JSON.stringify(tag)}`);
  const bytes = await readManifestBody(request);
  if (tag === undefined) {
    const parsed = parseDigest(reference);
    if (!parsed) throw digestInvalid("invalid digest", { digest: reference });
    // Images are identified by their sha256 digest, as on ECR (imageDigest is always sha256), so a
    // manifest pushed by another algorithm could not be fetched back by the reference it was
    // pushed under: refused with the spec's DIGEST_INVALID rather than stored under another name.
    if (parsed.algorithm !== "sha256")
      throw digestInvalid(`unsupported digest algorithm ${parsed.algorithm}: manifests are identified by sha256`, { digest: reference });
    const actual = `${parsed.algorithm}:${createHash(parsed.algorithm).update(bytes).digest("hex")}`;
    if (actual !== reference) throw digestInvalid("provided digest did not match uploaded content", { expected: reference, actual });
  }
  const outcome = await storeManifest(context, repository, bytes, request.headers["content-type"], tag);
  switch (outcome.kind) {
    case "missing-blobs":
    case "missing-manifests":
      throw manifestBlobUnknown(outcome.digests[0]!);
    case "tag-immutable":
      // ECR's wording for the same refusal (ImageTagAlreadyExistsException); wording not confirmed.
      throw tagInvalid(
        `The image tag '${tag}' already exists in the '${repository.name}' repository and cannot be overwritten because the repository is immutable.`,
      );
    case "stored":
      return send(response, 201, {
        location: `/v2/${repository.name}/manifests/${outcome.digest}`,
        "docker-content-digest": outcome.digest,
        ...(outcome.subject !== undefined ? { "oci-subject": outcome.subject } : {}),
      });
  }
}

export async function deleteManifest(context: RegistryContext, { response, repository }: RepositoryRequest, reference: string): Promise<void> {
  if (!isDigest(reference)) {
    // OCI 1.1: deleting by tag removes the tag only; the image stays (untagged if it was the last).
    if (!(await context.repositories.deleteTag(repository.name, reference))) throw manifestUnknown(reference);
    return send(response, 202, {});
  }
  const image = await resolve(context, repository.name, reference);
  const parents = (await context.repositories.manifestParents(repository.name, [image.digest])).get(image.digest) ?? [];
  if (parents.length > 0) throw new DistributionError("DENIED", 409, `manifest is referenced by manifest list ${parents.join(", ")}`, { parents });
  await context.deleteImages(repository.name, [image.digest]);
  send(response, 202, {});
}

export async function listTags(context: RegistryContext, { request, response, url, repository }: RepositoryRequest): Promise<void> {
  const { limit, last } = pagination(url);
  const tags = await context.repositories.listTags(repository.name, {
    ...(last !== undefined ? { afterTag: last } : {}),
    ...(limit !== undefined ? { limit: limit + 1 } : {}),
  });
  const page = limit === undefined ? tags : tags.slice(0, limit);
  const more = limit !== undefined && tags.length > limit && page.length > 0;
  sendJson(
    response,
    200,
    { name: repository.name, tags: page },
    more ? { link: nextLink(`/v2/${repository.name}/tags/list`, limit, page[page.length - 1]!) } : {},
    request.method,
  );
}

export async function listReferrers(context: RegistryContext, { request, response, url, repository }: RepositoryRequest, digest: string): Promise<void> {
  if (!DIGEST_PATTERN.test(digest) || !parseDigest(digest)) throw digestInvalid("invalid digest", { digest });
  const artifactType = url.searchParams.get("artifactType");
  const manifests = [];
  for (const referrer of await context.repositories.referrers(repository.name, digest)) {
    if (artifactType !== null && referrer.artifactType !== artifactType) continue;
    const stored = await context.repositories.getImage(repository.name, referrer.digest);
    if (!stored) continue;
    manifests.push({
      mediaType: referrer.mediaType,
      digest: referrer.digest,
      size: stored.manifest.length,
      ...(referrer.artifactType !== null ? { artifactType: referrer.artifactType } : {}),
      ...(referrer.annotations !== null ? { annotations: referrer.annotations } : {}),
    });
  }
  sendJson(
    response,
    200,
    { schemaVersion: 2, mediaType: OCI_INDEX, manifests },
    { "content-type": OCI_INDEX, ...(artifactType !== null ? { "oci-filters-applied": "artifactType" } : {}) },
    request.method,
  );
}

export function manifestReferenceValid(reference: string): boolean {
  return isDigest(reference) ? parseDigest(reference) !== undefined : TAG_PATTERN.test(reference);
}
