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
