// ECR's layer API and PutImage over the registry's own parts (the EcrImageStore port of
// src/api/ecr): upload sessions and the blob store (blob-handlers.ts, upload-sessions.ts) and the
// manifest push path (manifest-handlers.ts storeManifest) that /v2/ uses, so a layer uploaded here
// is a blob /v2/ serves, a manifest put here is an image /v2/ pulls, and the same limits (parts per
// upload, manifest size), digest checks, session expiry and garbage collection apply. The
// distribution API's errors become ECR's.
import { Readable } from "node:stream";
import type { EcrImageStore } from "../api/ecr/index.js";
import { emptyUpload, invalidLayer, invalidLayerPart, invalidParameterMessage, repositoryNotFound, uploadNotFound } from "../api/ecr/ecr-errors.js";
import type { EcrRepositoryRecord } from "../store/ecr-repository.js";
import { completeBlob, linkedBlobSize } from "./blob-handlers.js";
import { parseDigest } from "./blob-store.js";
import { DistributionError } from "./distribution-errors.js";
import type { DownloadUrls } from "./download-urls.js";
import { storeManifest } from "./manifest-handlers.js";
import type { RegistryContext } from "./registry-context.js";

export function createEcrImageStore(context: RegistryContext, downloads: DownloadUrls): EcrImageStore {
  const registryId = context.scope.accountId;
  const repositoryOf = async (name: string): Promise<EcrRepositoryRecord> => {
    const repository = await context.repositories.getRepository(name);
    if (!repository) throw repositoryNotFound(name, registryId);
    return repository;
  };
  const uploadOf = async (name: string, uploadId: string) => {
    const upload = await context.blobs.uploadInfo(uploadId);
    // Another repository's session is no session of this one.
    if (!upload || upload.repository !== name) throw uploadNotFound(uploadId, name, registryId);
    return upload;
  };
  return {
    async startUpload(name) {
      await repositoryOf(name);
      return context.blobs.startUpload(name);
    },

    async appendPart(name, uploadId, firstByte, bytes) {
      const upload = await uploadOf(name, uploadId);
      try {
        return await context.blobs.append(upload, Readable.from([bytes]), firstByte);
      } catch (error) {
        if (!(error instanceof DistributionError)) throw error;
        if (error.code === "BLOB_UPLOAD_UNKNOWN") throw uploadNotFound(uploadId, name, registryId);
        // Not contiguous with what the upload holds, too many parts, or another request writing: the client resumes from the size it is told.
        const size = (await context.blobs.uploadInfo(uploadId))?.sizeBytes ?? 0;
        throw invalidLayerPart(error.message, uploadId, name, registryId, Math.max(size - 1, 0));
      }
    },

    async completeUpload(name, uploadId, digest) {
      const upload = await uploadOf(name, uploadId);
      if (upload.sizeBytes === 0) throw emptyUpload(uploadId);
      if (!parseDigest(digest)) throw invalidLayer(`Unsupported layer digest '${digest}': sha256 and sha512 digests are supported`); // wording not confirmed
      try {
        await completeBlob(context, name, upload, digest);
      } catch (error) {
        if (!(error instanceof DistributionError)) throw error;
        if (error.code === "BLOB_UPLOAD_UNKNOWN") throw uploadNotFound(uploadId, name, registryId);
        if (error.code === "DIGEST_INVALID")
          throw invalidLayer("The layer digest calculation performed by Amazon ECR upon receipt of the image layer does not match the digest specified"); // wording not confirmed
        throw invalidLayer(error.message);
      }
    },

    layerSize: (name, digest) => (parseDigest(digest) ? linkedBlobSize(context, name, digest) : Promise.resolve(undefined)),

    async pushManifest(name, bytes, mediaType, tag) {
      const repository = await repositoryOf(name);
      try {
        return await storeManifest(context, repository, bytes, mediaType, tag);
      } catch (error) {
        if (error instanceof DistributionError && error.code === "MANIFEST_INVALID")
          throw invalidParameterMessage(`Invalid parameter at 'ImageManifest' failed to satisfy constraint: '${error.message}'`); // wording not confirmed
        throw error;
      }
    },

    downloadUrl: (name, digest, caller, secure) =>
      `${secure ? "https" : "http"}://${context.publicHost()}/v2/${name}/blobs/${digest}?${downloads.sign(name, digest, caller)}`,
  };
}
