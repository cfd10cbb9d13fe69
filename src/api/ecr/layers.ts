// ECR's layer API: BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart,
// CompleteLayerUpload, GetDownloadUrlForLayer. The bytes go through the registry's own upload
// sessions and blob store (context.images), so a layer pushed here is a blob of /v2/ and the other
// way round, under the same digest checks, part bounds, session expiry and garbage collection.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UploadLayerPart.html
import type {
  BatchCheckLayerAvailabilityRequest,
  BatchCheckLayerAvailabilityResponse,
  CompleteLayerUploadRequest,
  CompleteLayerUploadResponse,
  GetDownloadUrlForLayerRequest,
  GetDownloadUrlForLayerResponse,
  InitiateLayerUploadRequest,
  InitiateLayerUploadResponse,
  Layer,
  LayerFailure,
  UploadLayerPartRequest,
  UploadLayerPartResponse,
} from "@aws-sdk/client-ecr";
import type { RequestContext } from "../service-module.js";
import type { EcrContext } from "./ecr-context.js";
import { requireRepository } from "./ecr-context.js";
import { invalidLayerPart, invalidParameter, layerAlreadyExists, layersNotFound } from "./ecr-errors.js";

/**
 * The part size InitiateLayerUpload asks for. ECR's own is larger, but a part travels base64 in
 * a JSON body that the gateway bounds (2 MiB by default): 1 MiB parts fit with room to spare.
 * Smaller parts are accepted (no LayerPartTooSmallException: the last part of any layer is small anyway).
 */
export const LAYER_PART_BYTES = 1024 * 1024;
/** ECR's pattern for a layer digest (API_Layer): checked before anything is looked up. */
const LAYER_DIGEST_PATTERN = /^[a-zA-Z0-9_+.-]+:[a-fA-F0-9]+$/;
/** The only digest forms a blob can have here (blob-store.ts SUPPORTED_ALGORITHMS). */
const SUPPORTED_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkDigestList(digests: readonly string[] | undefined, member: string): readonly string[] {
  const list = digests ?? [];
  if (list.length < 1 || list.length > 100) throw invalidParameter(member, "Member must have length between 1 and 100");
  return list;
}

const digestValid = (digest: string) => digest.length <= 1000 && LAYER_DIGEST_PATTERN.test(digest);

export async function batchCheckLayerAvailability(
  context: EcrContext,
  input: BatchCheckLayerAvailabilityRequest,
): Promise<BatchCheckLayerAvailabilityResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const layers: Layer[] = [];
  const failures: LayerFailure[] = [];
  for (const digest of checkDigestList(input.layerDigests, "layerDigests")) {
    if (digest === "") {
      failures.push({ layerDigest: digest, failureCode: "MissingLayerDigest", failureReason: "The layer digest is missing" }); // wording not confirmed
      continue;
    }
    if (!digestValid(digest)) {
      failures.push({ layerDigest: digest, failureCode: "InvalidLayerDigest", failureReason: "Invalid layer digest" }); // wording not confirmed
      continue;
    }
    const size = SUPPORTED_DIGEST.test(digest) ? await context.images.layerSize(repository.name, digest) : undefined;
    layers.push(
      size === undefined
        ? { layerDigest: digest, layerAvailability: "UNAVAILABLE" }
        : // A blob's media type is its manifests' to say, and the blob store keeps none: omitted (the member is optional).
          { layerDigest: digest, layerAvailability: "AVAILABLE", layerSize: size },
    );
  }
  return { layers, failures };
}

export async function initiateLayerUpload(context: EcrContext, input: InitiateLayerUploadRequest): Promise<InitiateLayerUploadResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const uploadId = await context.images.startUpload(repository.name);
  return { uploadId, partSize: LAYER_PART_BYTES };
}

/** layerPartBlob as the gateway hands it: base64 text (JSON protocol), or bytes. */
function partBytes(blob: unknown): Buffer {
  if (blob instanceof Uint8Array) return Buffer.from(blob);
  if (typeof blob === "string") return Buffer.from(blob, "base64");
  throw invalidParameter("layerPartBlob", "Member must not be null");
}

function checkUploadId(uploadId: string | undefined): string {
  if (uploadId === undefined || !UPLOAD_ID.test(uploadId))
    throw invalidParameter("uploadId", "Member must satisfy regular expression '[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}'");
  return uploadId;
}

function checkByte(value: number | undefined, member: string): number {
  if (value === undefined || !Number.isSafeInteger(value) || value < 0) throw invalidParameter(member, "Member must have value greater than or equal to 0");
  return value;
}

export async function uploadLayerPart(context: EcrContext, input: UploadLayerPartRequest): Promise<UploadLayerPartResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const uploadId = checkUploadId(input.uploadId);
  const first = checkByte(input.partFirstByte, "partFirstByte");
  const last = checkByte(input.partLastByte, "partLastByte");
  const bytes = partBytes(input.layerPartBlob);
  if (bytes.length === 0 || last < first || last - first + 1 !== bytes.length) {
    throw invalidLayerPart(
      `The layer part spans bytes ${first} to ${last} but carries ${bytes.length} bytes`, // wording not confirmed
      uploadId,
      repository.name,
      repository.registryId,
      Math.max(first - 1, 0),
    );
  }
  const size = await context.images.appendPart(repository.name, uploadId, first, bytes);
  return { registryId: repository.registryId, repositoryName: repository.name, uploadId, lastByteReceived: size - 1 };
}

export async function completeLayerUpload(context: EcrContext, input: CompleteLayerUploadRequest): Promise<CompleteLayerUploadResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const uploadId = checkUploadId(input.uploadId);
  const digests = [...new Set(checkDigestList(input.layerDigests, "layerDigests"))];
  for (const digest of digests) {
    if (!digestValid(digest)) throw invalidParameter("layerDigests", "Member must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'");
  }
  // One upload makes one blob under one name; several different digests cannot all be its name.
  if (digests.length !== 1) throw invalidParameter("layerDigests", "Berth verifies an upload against exactly one layer digest"); // wording not confirmed
  const digest = digests[0]!;
  if ((await context.images.layerSize(repository.name, digest)) !== undefined) throw layerAlreadyExists(digest, repository.name, repository.registryId);
  await context.images.completeUpload(repository.name, uploadId, digest);
  return { registryId: repository.registryId, repositoryName: repository.name, uploadId, layerDigest: digest };
}

export async function getDownloadUrlForLayer(
  context: EcrContext,
  input: GetDownloadUrlForLayerRequest,
  request: Pick<RequestContext, "caller" | "secureTransport">,
): Promise<GetDownloadUrlForLayerResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const digest = input.layerDigest ?? "";
  if (!digestValid(digest)) throw invalidParameter("layerDigest", "Member must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'");
  if (!SUPPORTED_DIGEST.test(digest) || (await context.images.layerSize(repository.name, digest)) === undefined) {
    throw layersNotFound(
      `The layer with digest '${digest}' does not exist in the repository with name '${repository.name}' in the registry with id '${repository.registryId}'`,
    ); // wording not confirmed
  }
  // The registry shares the API's listener: the URL takes the scheme this request came in on (TLS or not).
  return { downloadUrl: context.images.downloadUrl(repository.name, digest, request.caller, request.secureTransport === true), layerDigest: digest };
}
