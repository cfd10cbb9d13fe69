// The ECR service module (AWS JSON 1.1, target prefix AmazonEC2ContainerRegistry_V20150921,
// signing name "ecr"). The registry (src/registry) builds it with its ports: tokens the /v2/ API
// accepts, and the blob store that releases what no image references any more.
import * as ecrSdk from "@aws-sdk/client-ecr";
import type { JsonServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import type { EcrContext } from "./ecr-context.js";
import { batchDeleteImage, batchGetImage, describeImages, listImages } from "./images.js";
import { batchCheckLayerAvailability, completeLayerUpload, getDownloadUrlForLayer, initiateLayerUpload, uploadLayerPart } from "./layers.js";
import {
  deleteRegistryPolicy,
  deleteRepositoryPolicy,
  describeRegistry,
  getRegistryPolicy,
  getRepositoryPolicy,
  putRegistryPolicy,
  setRepositoryPolicy,
} from "./policies.js";
import { putImage } from "./put-image.js";
import { putImageScanningConfiguration, unsupportedFeature } from "./unsupported-features.js";
import {
  createRepository,
  deleteLifecyclePolicy,
  deleteRepository,
  describeRepositories,
  getAuthorizationToken,
  getLifecyclePolicy,
  listTagsForResource,
  putImageTagMutability,
  putLifecyclePolicy,
  tagResource,
  untagResource,
} from "./repositories.js";

export type { AuthorizationToken, EcrContext, EcrImageStore, ManifestPushOutcome } from "./ecr-context.js";
export { checkRepositoryName, repositoryArnOf, REPOSITORY_NAME_PATTERN } from "./ecr-context.js";
export { deleteImages, DIGEST_PATTERN, TAG_PATTERN } from "./images.js";
export { checkResourcePolicy } from "./policies.js";
export { imageTagAlreadyExists } from "./ecr-errors.js";
export type { LifecycleImage, LifecyclePolicy } from "./lifecycle-policy.js";
export { imagesExpiredByPolicy, parseLifecyclePolicy } from "./lifecycle-policy.js";

/** ECR's operations by name, with the request and response shapes of the SDK in package.json. */
type EcrOperations = SdkOperations<typeof ecrSdk>;

export function createEcrService(context: EcrContext): JsonServiceModule {
  // Binds a handler to the module's context; the operation table checks its input and answer.
  const on =
    <I extends object, O extends object>(handler: (context: EcrContext, input: I) => Promise<O> | O) =>
    async (input: I): Promise<O> =>
      handler(context, input);
  return {
    signingName: "ecr",
    targetPrefix: "AmazonEC2ContainerRegistry_V20150921",
    jsonVersion: "1.1",
    schemas: ecrSdk as unknown as Record<string, unknown>,
    operations: jsonOperations<EcrOperations>()({
      CreateRepository: on(createRepository),
      DescribeRepositories: on(describeRepositories),
      DeleteRepository: on(deleteRepository),
      GetAuthorizationToken: async (_input, request) => getAuthorizationToken(context, request),
      DescribeImages: on(describeImages),
      ListImages: on(listImages),
      BatchGetImage: on(batchGetImage),
      BatchDeleteImage: on(batchDeleteImage),
      PutImageTagMutability: on(putImageTagMutability),
      PutLifecyclePolicy: on(putLifecyclePolicy),
      GetLifecyclePolicy: on(getLifecyclePolicy),
      DeleteLifecyclePolicy: on(deleteLifecyclePolicy),
      TagResource: on(tagResource),
      UntagResource: on(untagResource),
      ListTagsForResource: on(listTagsForResource),
      BatchCheckLayerAvailability: on(batchCheckLayerAvailability),
      InitiateLayerUpload: on(initiateLayerUpload),
      UploadLayerPart: on(uploadLayerPart),
      CompleteLayerUpload: on(completeLayerUpload),
      GetDownloadUrlForLayer: async (input, request) => getDownloadUrlForLayer(context, input, request),
      PutImage: on(putImage),
      SetRepositoryPolicy: async (input, request) => setRepositoryPolicy(context, input, request),
      GetRepositoryPolicy: on(getRepositoryPolicy),
      DeleteRepositoryPolicy: on(deleteRepositoryPolicy),
      PutRegistryPolicy: on(putRegistryPolicy),
      GetRegistryPolicy: async () => getRegistryPolicy(context),
      DeleteRegistryPolicy: async () => deleteRegistryPolicy(context),
      DescribeRegistry: async () => describeRegistry(context),
      StartImageScan: unsupportedFeature("StartImageScan"),
      DescribeImageScanFindings: unsupportedFeature("DescribeImageScanFindings"),
      PutImageScanningConfiguration: on(putImageScanningConfiguration),
      GetRegistryScanningConfiguration: unsupportedFeature("GetRegistryScanningConfiguration"),
      PutRegistryScanningConfiguration: unsupportedFeature("PutRegistryScanningConfiguration"),
      BatchGetRepositoryScanningConfiguration: unsupportedFeature("BatchGetRepositoryScanningConfiguration"),
      PutReplicationConfiguration: unsupportedFeature("PutReplicationConfiguration"),
      DescribeImageReplicationStatus: unsupportedFeature("DescribeImageReplicationStatus"),
      CreatePullThroughCacheRule: unsupportedFeature("CreatePullThroughCacheRule"),
      DescribePullThroughCacheRules: unsupportedFeature("DescribePullThroughCacheRules"),
      DeletePullThroughCacheRule: unsupportedFeature("DeletePullThroughCacheRule"),
      UpdatePullThroughCacheRule: unsupportedFeature("UpdatePullThroughCacheRule"),
      ValidatePullThroughCacheRule: unsupportedFeature("ValidatePullThroughCacheRule"),
    }),
  };
}
