// ECR's PutImage: a manifest stored through the registry's one push path (the /v2/ manifest PUT's),
// so the same formats, size limit, reference checks and tag immutability apply. Together with
// BatchGetImage it is the "retag without pulling" flow:
//   aws ecr batch-get-image … --query 'images[0].imageManifest' > manifest.json
//   aws ecr put-image --repository-name r --image-tag new --image-manifest file://manifest.json
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html
import { createHash } from "node:crypto";
import type { PutImageRequest, PutImageResponse } from "@aws-sdk/client-ecr";
import type { EcrContext } from "./ecr-context.js";
import { requireRepository } from "./ecr-context.js";
import {
  imageAlreadyExists,
  imageDigestDoesNotMatch,
  imageTagAlreadyExists,
  invalidParameter,
  layersNotFound,
  referencedImagesNotFound,
} from "./ecr-errors.js";
import { DIGEST_PATTERN, TAG_PATTERN } from "./images.js";

/** ECR's manifest size limit (imageManifest: length 1 to 4,194,304). */
const MAX_MANIFEST_CHARS = 4 * 1024 * 1024;
const MEDIA_TYPE = /^[\w.+/-]{1,255}$/;

function checkInput(input: PutImageRequest): { manifest: string; tag: string | undefined; digest: string | undefined; mediaType: string | undefined } {
  const manifest = input.imageManifest;
  if (manifest === undefined || manifest.length < 1 || manifest.length > MAX_MANIFEST_CHARS)
    throw invalidParameter("imageManifest", `Member must have length between 1 and ${MAX_MANIFEST_CHARS}`);
  const tag = input.imageTag;
  // ECR allows 300 characters; the distribution API (by which the image is pulled) allows this pattern.
  if (tag !== undefined && !TAG_PATTERN.test(tag))
    throw invalidParameter("imageTag", `Member must satisfy regular expression '${TAG_PATTERN.source.slice(1, -1)}'`); // wording not confirmed
  const digest = input.imageDigest;
  if (digest !== undefined && (digest.length > 1000 || !DIGEST_PATTERN.test(digest)))
    throw invalidParameter("imageDigest", "Member must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'");
  const mediaType = input.imageManifestMediaType;
  if (mediaType !== undefined && !MEDIA_TYPE.test(mediaType)) throw invalidParameter("imageManifestMediaType", "Invalid media type"); // wording not confirmed
  return { manifest, tag, digest, mediaType };
}

export async function putImage(context: EcrContext, input: PutImageRequest): Promise<PutImageResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const { manifest, tag, digest, mediaType } = checkInput(input);
  const bytes = Buffer.from(manifest, "utf8");
  const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (digest !== undefined && digest !== actual) {
    throw imageDigestDoesNotMatch(
      `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'Digest ${digest} does not match the manifest digest ${actual}'`,
    ); // wording not confirmed
  }
  const outcome = await context.images.pushManifest(repository.name, bytes, mediaType, tag);
  const where = `in the repository with name '${repository.name}' in the registry with id '${repository.registryId}'`;
  switch (outcome.kind) {
    case "missing-blobs":
      throw layersNotFound(
        `Layers with digests '[${outcome.digests.join(", ")}]' required for pushing image into repository with name '${repository.name}' in the registry with id '${repository.registryId}' do not exist`,
      ); // wording not confirmed
    case "missing-manifests":
      throw referencedImagesNotFound(`Manifests with digests '[${outcome.digests.join(", ")}]' referenced by the manifest list do not exist ${where}`); // wording not confirmed
    case "tag-immutable":
      throw imageTagAlreadyExists(tag!, repository.name);
    case "stored":
      // Nothing changed: the same image, and the same tag already on it (or no tag asked for).
      if (!outcome.created && (tag === undefined || outcome.previousDigest === outcome.digest))
        throw imageAlreadyExists(outcome.digest, tag, repository.name, repository.registryId);
      return {
        image: {
          registryId: repository.registryId,
          repositoryName: repository.name,
          imageId: { imageDigest: outcome.digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
          imageManifest: manifest,
          imageManifestMediaType: outcome.mediaType,
        },
      };
  }
}
