// ECR images: DescribeImages, ListImages, BatchGetImage, BatchDeleteImage, and the deletion path
// shared with lifecycle expiry (delete the images, then release the blobs nothing references).
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Operations.html
import type {
  BatchDeleteImageRequest,
  BatchDeleteImageResponse,
  BatchGetImageRequest,
  BatchGetImageResponse,
  DescribeImagesRequest,
  DescribeImagesResponse,
  ImageDetail,
  ImageFailure,
  ImageIdentifier,
  ListImagesRequest,
  ListImagesResponse,
} from "@aws-sdk/client-ecr";
import type { EcrImageSummary, EcrRepositoryRecord } from "../../store/ecr-repository.js";
import type { EcrContext } from "./ecr-context.js";
import { checkMaxResults, decodeToken, encodeToken, requireRepository } from "./ecr-context.js";
import { imageNotFound, invalidParameter } from "./ecr-errors.js";

export const DIGEST_PATTERN = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

type TagStatus = "TAGGED" | "UNTAGGED" | "ANY";

function tagStatusOf(filter: { tagStatus?: string | undefined } | undefined): TagStatus {
  const status = filter?.tagStatus ?? "ANY";
  if (status !== "TAGGED" && status !== "UNTAGGED" && status !== "ANY")
    throw invalidParameter("filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]");
  return status;
}

const keep = (status: TagStatus, image: EcrImageSummary) => status === "ANY" || (status === "TAGGED") === image.tags.length > 0;

type Resolved = { readonly image: EcrImageSummary; readonly imageId: ImageIdentifier } | { readonly failure: ImageFailure };

const failure = (imageId: ImageIdentifier, failureCode: ImageFailure["failureCode"], failureReason: string): Resolved => ({
  failure: { imageId, failureCode, failureReason },
});

/** An imageId (digest and/or tag) → the image, or ECR's per-image failure. */
async function resolveImageId(context: EcrContext, repository: EcrRepositoryRecord, imageId: ImageIdentifier): Promise<Resolved> {
  const { imageDigest, imageTag } = imageId;
  if (imageDigest === undefined && imageTag === undefined)
    return failure(imageId, "MissingDigestAndTag", "Invalid request: imageId must have either imageDigest or imageTag"); // wording not confirmed
  if (imageDigest !== undefined && !DIGEST_PATTERN.test(imageDigest))
    return failure(imageId, "InvalidImageDigest", "Invalid request: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"); // wording not confirmed
  if (imageTag !== undefined && (imageTag.length < 1 || imageTag.length > 300))
    return failure(imageId, "InvalidImageTag", "Invalid request: image tag should have length between 1 and 300"); // wording not confirmed
  let digest = imageDigest;
  if (imageTag !== undefined) {
    const tagged = await context.repositories.resolveTag(repository.name, imageTag);
    if (tagged === undefined) return failure(imageId, "ImageNotFound", "Requested image not found");
    if (digest !== undefined && digest !== tagged) return failure(imageId, "ImageTagDoesNotMatchDigest", "Invalid request: image tag does not match digest"); // wording not confirmed
    digest = tagged;
  }
  const [image] = await context.repositories.imagesByDigest(repository.name, [digest!]);
  if (!image) return failure(imageId, "ImageNotFound", "Requested image not found");
  return { image, imageId: { imageDigest: image.digest, ...(imageTag !== undefined ? { imageTag } : {}) } };
}

function checkImageIds(imageIds: readonly ImageIdentifier[] | undefined, max: number): readonly ImageIdentifier[] {
  const list = imageIds ?? [];
  if (list.length < 1 || list.length > max) throw invalidParameter("imageIds", `Member must have length between 1 and ${max}`);
  return list;
}

function toDetail(image: EcrImageSummary, registryId: string): ImageDetail {
  return {
    registryId,
    repositoryName: image.repositoryName,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
    imageSizeInBytes: image.sizeBytes,
    imagePushedAt: new Date(image.pushedAt),
    imageManifestMediaType: image.mediaType,
    ...(image.artifactType !== null ? { artifactMediaType: image.artifactType } : {}),
  };
}

interface DigestCursor {
  readonly after: string;
}
const isDigestCursor = (value: unknown): value is DigestCursor => typeof (value as DigestCursor | null)?.after === "string";

export async function describeImages(context: EcrContext, input: DescribeImagesRequest): Promise<DescribeImagesResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const status = tagStatusOf(input.filter);
  if (input.imageIds !== undefined) {
    if (input.maxResults !== undefined || input.nextToken !== undefined)
      throw invalidParameter("maxResults", "maxResults and nextToken cannot be used with imageIds"); // wording not confirmed
    const details: ImageDetail[] = [];
    const seen = new Set<string>();
    for (const imageId of checkImageIds(input.imageIds, 100)) {
      const resolved = await resolveImageId(context, repository, imageId);
      if ("failure" in resolved) {
        if (resolved.failure.failureCode === "ImageNotFound") throw imageNotFound(imageId, repository.name, repository.registryId);
        throw invalidParameter("imageIds", resolved.failure.failureReason ?? "invalid imageId");
      }
      if (seen.has(resolved.image.digest) || !keep(status, resolved.image)) continue;
      seen.add(resolved.image.digest);
      details.push(toDetail(resolved.image, repository.registryId));
    }
    return { imageDetails: details };
  }
  const limit = checkMaxResults(input.maxResults, 1000, 100);
  const cursor = decodeToken(input.nextToken, isDigestCursor);
  const page: EcrImageSummary[] = [];
  let after = cursor?.after;
  let more = false;
  // The tag filter applies after the query, so read batches until a page is full.
  for (;;) {
    const batch = await context.repositories.listImages(repository.name, { ...(after !== undefined ? { afterDigest: after } : {}), limit: limit + 1 });
    for (const image of batch) {
      if (!keep(status, image)) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(image);
    }
    if (more || batch.length <= limit) break;
    after = batch[batch.length - 1]!.digest;
  }
  return {
    imageDetails: page.map((image) => toDetail(image, repository.registryId)),
    nextToken: more ? encodeToken({ after: page[page.length - 1]!.digest }) : undefined,
  };
}

interface ImageIdCursor {
  readonly digest: string;
  readonly tag: string;
}
const isImageIdCursor = (value: unknown): value is ImageIdCursor =>
  typeof (value as ImageIdCursor | null)?.digest === "string" && typeof (value as ImageIdCursor | null)?.tag === "string";

export async function listImages(context: EcrContext, input: ListImagesRequest): Promise<ListImagesResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const status = tagStatusOf(input.filter);
  const limit = checkMaxResults(input.maxResults, 1000, 100);
  const cursor = decodeToken(input.nextToken, isImageIdCursor);
  // One entry per tag (an untagged image once, with its digest only), ordered by (digest, tag).
  const entries: { digest: string; tag: string }[] = [];
  for (const image of await context.repositories.listImages(repository.name, {})) {
    if (!keep(status, image)) continue;
    if (image.tags.length === 0) entries.push({ digest: image.digest, tag: "" });
    for (const tag of image.tags) entries.push({ digest: image.digest, tag });
  }
  const start = cursor ? entries.findIndex((entry) => entry.digest > cursor.digest || (entry.digest === cursor.digest && entry.tag > cursor.tag)) : 0;
  const page = start === -1 ? [] : entries.slice(start, start + limit);
  const last = page[page.length - 1];
  const more = start !== -1 && start + limit < entries.length;
  return {
    imageIds: page.map((entry) => ({ imageDigest: entry.digest, ...(entry.tag ? { imageTag: entry.tag } : {}) })),
    nextToken: more && last ? encodeToken({ digest: last.digest, tag: last.tag }) : undefined,
  };
}

export async function batchGetImage(context: EcrContext, input: BatchGetImageRequest): Promise<BatchGetImageResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const accepted = input.acceptedMediaTypes;
  if (accepted !== undefined && (accepted.length < 1 || accepted.length > 100))
    throw invalidParameter("acceptedMediaTypes", "Member must have length between 1 and 100");
  const images: object[] = [];
  const failures: ImageFailure[] = [];
  for (const imageId of checkImageIds(input.imageIds, 100)) {
    const resolved = await resolveImageId(context, repository, imageId);
    if ("failure" in resolved) {
      failures.push(resolved.failure);
      continue;
    }
    if (accepted !== undefined && !accepted.includes(resolved.image.mediaType)) {
      // No conversion between manifest formats: an image in a format the caller refuses is not found for it.
      failures.push({
        imageId,
        failureCode: "ImageNotFound",
        failureReason: `Requested image not found in an accepted media type (it is ${resolved.image.mediaType})`,
      }); // wording not confirmed
      continue;
    }
    const stored = await context.repositories.getImage(repository.name, resolved.image.digest);
    if (!stored) {
      failures.push({ imageId, failureCode: "ImageNotFound", failureReason: "Requested image not found" });
      continue;
    }
    images.push({
      registryId: repository.registryId,
      repositoryName: repository.name,
      imageId: resolved.imageId,
      imageManifest: stored.manifest.toString("utf8"),
      imageManifestMediaType: stored.mediaType,
    });
  }
  return { images, failures };
}

/** Deletes images and releases the blobs only they referenced. */
export async function deleteImages(context: EcrContext, repositoryName: string, digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return;
  const released = await context.repositories.deleteImages(repositoryName, digests);
  await context.releaseBlobs(released);
}

export async function batchDeleteImage(context: EcrContext, input: BatchDeleteImageRequest): Promise<BatchDeleteImageResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const deleted: ImageIdentifier[] = [];
  const failures: ImageFailure[] = [];
  const doomed = new Set<string>();
  for (const imageId of checkImageIds(input.imageIds, 100)) {
    const resolved = await resolveImageId(context, repository, imageId);
    if ("failure" in resolved) {
      failures.push(resolved.failure);
      continue;
    }
    const { image } = resolved;
    // By tag: the tag goes; the image goes with its last tag. By digest: the image and all its tags.
    const removesImage = imageId.imageTag === undefined || image.tags.length <= 1 || image.tags.every((tag) => tag === imageId.imageTag);
    if (removesImage && !doomed.has(image.digest)) {
      const parents = (await context.repositories.manifestParents(repository.name, [image.digest])).get(image.digest) ?? [];
      if (parents.some((parent) => !doomed.has(parent))) {
        failures.push({
          imageId,
          failureCode: "ImageReferencedByManifestList",
          failureReason: `Requested image referenced by manifest list: [${parents.join(", ")}]`,
        }); // wording not confirmed
        continue;
      }
    }
    if (removesImage) doomed.add(image.digest);
    else await context.repositories.deleteTag(repository.name, imageId.imageTag!);
    deleted.push(resolved.imageId);
  }
  await deleteImages(context, repository.name, [...doomed]);
  return { imageIds: deleted, failures };
}
