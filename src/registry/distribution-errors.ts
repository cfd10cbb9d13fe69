// Errors of the OCI distribution API, in the spec's wire form
// {"errors":[{"code","message","detail"}]} with the spec's status codes.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
import type { ServerResponse } from "node:http";

export type DistributionErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "TAG_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "RANGE_INVALID"
  | "PAGINATION_NUMBER_INVALID";

export class DistributionError extends Error {
  constructor(
    readonly code: DistributionErrorCode,
    readonly status: number,
    message: string,
    readonly detail: unknown = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export const blobUnknown = (digest: string) => new DistributionError("BLOB_UNKNOWN", 404, "blob unknown to registry", { digest });
export const blobUploadUnknown = (uuid: string) => new DistributionError("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry", { uuid });
export const blobUploadInvalid = (message: string, headers: Record<string, string> = {}, status = 400) =>
  new DistributionError("BLOB_UPLOAD_INVALID", status, `blob upload invalid: ${message}`, null, headers);
export const digestInvalid = (message: string, detail: unknown = null) => new DistributionError("DIGEST_INVALID", 400, message, detail);
export const manifestBlobUnknown = (digest: string) => new DistributionError("MANIFEST_BLOB_UNKNOWN", 400, "blob unknown to registry", { digest });
export const manifestInvalid = (message: string) => new DistributionError("MANIFEST_INVALID", 400, `manifest invalid: ${message}`);
export const manifestUnknown = (reference: string) => new DistributionError("MANIFEST_UNKNOWN", 404, "manifest unknown", { reference });
export const nameInvalid = (name: string) => new DistributionError("NAME_INVALID", 400, "invalid repository name", { name });
// ECR answers a push to a missing repository this way; the wording is ECR's RepositoryNotFoundException.
export const nameUnknown = (name: string, registryId: string) =>
  new DistributionError("NAME_UNKNOWN", 404, `The repository with name '${name}' does not exist in the registry with id '${registryId}'`, { name });
export const tagInvalid = (message: string) => new DistributionError("TAG_INVALID", 400, message);
export const unsupported = (message: string) => new DistributionError("UNSUPPORTED", 405, message);
/** The spec's code for a client over its rate (here: too many failed authentications from its address). */
export const tooManyRequests = () => new DistributionError("TOOMANYREQUESTS", 429, "too many requests");
export const sizeInvalid = (message: string) => new DistributionError("SIZE_INVALID", 400, message);
export const rangeInvalid = (size: number) =>
  new DistributionError("RANGE_INVALID", 416, "requested range not satisfiable", null, { "content-range": `bytes */${size}` });

export const paginationNumberInvalid = (value: string) =>
  new DistributionError("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested", { n: value });

export function sendDistributionError(response: ServerResponse, error: DistributionError, method: string | undefined): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ errors: [{ code: error.code, message: error.message, detail: error.detail }] });
  response.writeHead(error.status, {
    "content-type": "application/json; charset=utf-8",
    "docker-distribution-api-version": "registry/2.0",
    "content-length": method === "HEAD" ? 0 : Buffer.byteLength(body),
    ...error.headers,
  });
  response.end(method === "HEAD" ? undefined : body);
}
