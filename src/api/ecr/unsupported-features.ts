// ECR features Berth does not have: image scanning (basic or enhanced), replication and pull-through
// cache. Their operations answer ValidationException ("There was an exception validating this
// request.", ECR's error for a request it cannot act on) with a message naming the limitation, so a
// client learns at once that no scan ran and no rule or replica exists, rather than reading an empty
// finding list or a configuration that is never applied. CreateRepository likewise refuses
// scanOnPush: true (repositories.ts), and PutImageScanningConfiguration accepts only what is true
// here: scanOnPush false.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_StartImageScan.html
import type { PutImageScanningConfigurationRequest, PutImageScanningConfigurationResponse } from "@aws-sdk/client-ecr";
import { AwsError } from "../../core/errors.js";
import type { EcrContext } from "./ecr-context.js";
import { requireRepository } from "./ecr-context.js";

const SCANNING = "Berth does not scan images: image scanning (basic and enhanced) is not available in this registry"; // wording not confirmed
const REPLICATION = "Berth does not replicate images: replication configurations are not available in this registry"; // wording not confirmed
const PULL_THROUGH_CACHE = "Berth has no pull-through cache: pull-through cache rules are not available in this registry"; // wording not confirmed

/** The operations, by name, and the limitation each reports. */
export const UNSUPPORTED_FEATURE_OPERATIONS: Readonly<Record<string, string>> = {
  StartImageScan: SCANNING,
  DescribeImageScanFindings: SCANNING,
  GetRegistryScanningConfiguration: SCANNING,
  PutRegistryScanningConfiguration: SCANNING,
  BatchGetRepositoryScanningConfiguration: SCANNING,
  PutReplicationConfiguration: REPLICATION,
  DescribeImageReplicationStatus: REPLICATION,
  CreatePullThroughCacheRule: PULL_THROUGH_CACHE,
  DescribePullThroughCacheRules: PULL_THROUGH_CACHE,
  DeletePullThroughCacheRule: PULL_THROUGH_CACHE,
  UpdatePullThroughCacheRule: PULL_THROUGH_CACHE,
  ValidatePullThroughCacheRule: PULL_THROUGH_CACHE,
};

/** The handler of one of those operations (its answer type is the SDK's, inferred where it is used; it never answers). */
export function unsupportedFeature<O>(operation: string): () => Promise<O> {
  const message = UNSUPPORTED_FEATURE_OPERATIONS[operation];
  if (message === undefined) throw new Error(`${operation} is not an unsupported ECR feature operation`);
  return () => Promise.reject(new AwsError("ValidationException", message));
}

/** Turning scan on push off is what already holds: answered as ECR answers; turning it on is refused. */
export async function putImageScanningConfiguration(
  context: EcrContext,
  input: PutImageScanningConfigurationRequest,
): Promise<PutImageScanningConfigurationResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  if (input.imageScanningConfiguration?.scanOnPush === true) throw scanOnPushUnsupported();
  return { registryId: repository.registryId, repositoryName: repository.name, imageScanningConfiguration: { scanOnPush: false } };
}

export const scanOnPushUnsupported = () => new AwsError("ValidationException", `${SCANNING}; scanOnPush cannot be enabled`); // wording not confirmed
