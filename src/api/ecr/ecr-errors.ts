// ECR's error names (from the @aws-sdk/client-ecr model) and messages as ECR words them. The
// repository, lifecycle and image messages match those AWS returns; the ones marked otherwise
// could not be confirmed against a real response.
import { AwsError } from "../../core/errors.js";

const ecrError = (code: string, message: string) => new AwsError(code, message);

export const repositoryNotFound = (name: string, registryId: string) =>
  ecrError("RepositoryNotFoundException", `The repository with name '${name}' does not exist in the registry with id '${registryId}'`);

export const repositoryAlreadyExists = (name: string, registryId: string) =>
  ecrError("RepositoryAlreadyExistsException", `The repository with name '${name}' already exists in the registry with id '${registryId}'`);

export const repositoryNotEmpty = (name: string, registryId: string) =>
  ecrError(
    "RepositoryNotEmptyException",
    `The repository with name '${name}' in registry with id '${registryId}' cannot be deleted because it still contains images`,
  );

export const lifecyclePolicyNotFound = (name: string, registryId: string) =>
  ecrError(
    "LifecyclePolicyNotFoundException",
    `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${registryId}'`,
  );

export function imageNotFound(imageId: { imageDigest?: string | undefined; imageTag?: string | undefined }, name: string, registryId: string): AwsError {
  // wording not confirmed (the imageId rendering)
  const rendered = `{imageDigest:'${imageId.imageDigest ?? "null"}', imageTag:'${imageId.imageTag ?? "null"}'}`;
  return ecrError(
    "ImageNotFoundException",
    `The image with imageId ${rendered} does not exist within the repository with name '${name}' in the registry with id '${registryId}'`,
  );
}

export const imageTagAlreadyExists = (tag: string, name: string) =>
  // wording not confirmed
  ecrError(
    "ImageTagAlreadyExistsException",
    `The image tag '${tag}' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
  );

/** ECR's constraint-violation form for a request member. */
export const invalidParameter = (member: string, constraint: string) =>
  // wording not confirmed
  ecrError("InvalidParameterException", `Invalid parameter at '${member}' failed to satisfy constraint: '${constraint}'`);

export const invalidParameterMessage = (message: string) => ecrError("InvalidParameterException", message);

export const invalidTagParameter = (message: string) => ecrError("InvalidTagParameterException", message);

export const tooManyTags = (message: string) => ecrError("TooManyTagsException", message);

// The layer API and PutImage. ECR's texts for these could not be confirmed against real responses.
const ecrErrorWith = (code: string, message: string, extra: Record<string, unknown>) => new AwsError(code, message, { extra });

export const uploadNotFound = (uploadId: string, name: string, registryId: string) =>
  // wording not confirmed
  ecrErrorWith(
    "UploadNotFoundException",
    `Upload with id '${uploadId}' does not exist in the repository with name '${name}' in the registry with id '${registryId}'`,
    {
      registryId,
      repositoryName: name,
      uploadId,
    },
  );

export const invalidLayerPart = (message: string, uploadId: string, name: string, registryId: string, lastValidByteReceived: number) =>
  // wording not confirmed
  ecrErrorWith("InvalidLayerPartException", message, { registryId, repositoryName: name, uploadId, lastValidByteReceived });

export const invalidLayer = (message: string) => ecrError("InvalidLayerException", message);

export const emptyUpload = (uploadId: string) =>
  // wording not confirmed
  ecrError("EmptyUploadException", `The upload with id '${uploadId}' does not contain any layer parts`);

export const layerAlreadyExists = (digest: string, name: string, registryId: string) =>
  // wording not confirmed
  ecrError(
    "LayerAlreadyExistsException",
    `Layer with digest '${digest}' already exists in the repository with name '${name}' in the registry with id '${registryId}'`,
  );

export const layersNotFound = (message: string) => ecrError("LayersNotFoundException", message);

export const referencedImagesNotFound = (message: string) => ecrError("ReferencedImagesNotFoundException", message);

/** The tagged form is ECR's text as PutImage answers it (seen verbatim in users' reports); the untagged one follows it. */
export const imageAlreadyExists = (digest: string, tag: string | undefined, name: string, registryId: string) =>
  ecrError(
    "ImageAlreadyExistsException",
    tag === undefined
      ? `Image with digest '${digest}' already exists in the repository with name '${name}' in registry with id '${registryId}'` // wording not confirmed
      : `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${name}' in registry with id '${registryId}'`,
  );

export const imageDigestDoesNotMatch = (message: string) => ecrError("ImageDigestDoesNotMatchException", message);
