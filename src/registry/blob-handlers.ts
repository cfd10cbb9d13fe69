// Blob reads and uploads of the distribution API:
//   HEAD/GET  /v2/<name>/blobs/<digest>            (GET honours a single Range → 206)
//   POST      /v2/<name>/blobs/uploads/             start; ?digest= one-request upload;
//                                                   ?mount=<digest>&from=<repo> cross-repo mount
//   GET       /v2/<name>/blobs/uploads/<uuid>       progress (Range: 0-<last byte>), to resume
//   PATCH     /v2/<name>/blobs/uploads/<uuid>       append a chunk (Content-Range optional)
//   PUT       /v2/<name>/blobs/uploads/<uuid>?digest=   last chunk (optional) and finish
//   DELETE    /v2/<name>/blobs/uploads/<uuid>       cancel
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
import type { IncomingMessage } from "node:http";
import type { UploadInfo } from "./blob-store.js";
import { parseDigest } from "./blob-store.js";
import { blobUnknown, blobUploadInvalid, blobUploadUnknown, digestInvalid, rangeInvalid, unsupported } from "./distribution-errors.js";
import type { RegistryContext, RepositoryRequest } from "./registry-context.js";
import { send } from "./registry-context.js";

function requireDigest(value: string | null | undefined): string {
  if (!value) throw digestInvalid("digest parameter is required");
  if (!parseDigest(value)) throw digestInvalid("invalid digest or unsupported algorithm (sha256 and sha512 are supported)", { digest: value });
  return value;
}

const uploadPath = (name: string, uuid: string) => `/v2/${name}/blobs/uploads/${uuid}`;
const blobPath = (name: string, digest: string) => `/v2/${name}/blobs/${digest}`;
const progress = (sizeBytes: number) => (sizeBytes > 0 ? `0-${sizeBytes - 1}` : "0-0");

function hasBody(request: IncomingMessage): boolean {
  return Number(request.headers["content-length"] ?? 0) > 0 || request.headers["transfer-encoding"] !== undefined;
}

/** Content-Range of a chunk: "<start>-<end>" (some clients add "bytes " or "/<total>"). */
function chunkStart(request: IncomingMessage): number | undefined {
  const header = request.headers["content-range"];
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) throw blobUploadInvalid(`malformed Content-Range ${JSON.stringify(header)}`, {}, 416);
  const start = Number(match[1]);
  const end = Number(match[2]);
  const length = request.headers["content-length"];
  if (end < start || (length !== undefined && Number(length) !== end - start + 1))
    throw blobUploadInvalid(`Content-Range ${header} does not match the body length`, {}, 416);
  return start;
}

export async function headOrGetBlob(context: RegistryContext, { request, response, repository }: RepositoryRequest, digestText: string): Promise<void> {
  const digest = requireDigest(digestText);
  const size = await linkedBlobSize(context, repository.name, digest);
  if (size === undefined) throw blobUnknown(digest);
  const headers = {
    "content-type": "application/octet-stream",
    "docker-content-digest": digest,
    etag: `"${digest}"`,
    "accept-ranges": "bytes",
    "cache-control": "max-age=31536000",
  };
  if (request.method === "HEAD") return send(response, 200, { ...headers, "content-length": size });
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = request.headers.range;
  if (range !== undefined) {
    const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!match || (match[1] === "" && match[2] === "")) throw rangeInvalid(size);
    if (match[1] === "") {
      start = Math.max(0, size - Number(match[2])); // suffix range: the last N bytes
    } else {
      start = Number(match[1]);
      if (match[2] !== "") end = Math.min(end, Number(match[2]));
    }
    if (start > end || start >= size) throw rangeInvalid(size);
    status = 206;
  }
  response.writeHead(status, {
    ...headers,
    "docker-distribution-api-version": "registry/2.0",
    "content-length": size === 0 ? 0 : end - start + 1,
    ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
  });
  if (size === 0) return void response.end();
  await new Promise<void>((resolve, reject) => {
    const stream = context.blobs.read(digest, start, end);
    stream.once("error", reject);
    response.once("close", () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(response);
  });
}

export function deleteBlob(): never {
  // ECR removes layers only through image deletion and garbage collection.
  throw unsupported("blob deletion is not supported; delete the images that reference it");
}

/** Verifies an upload against `digest`, makes it a blob and links it to the repository (the /v2/ PUT and ECR's CompleteLayerUpload). */
export async function completeBlob(context: RegistryContext, repositoryName: string, upload: UploadInfo, digest: string): Promise<void> {
  await context.blobs.finish(upload, digest, (sizeBytes) => context.repositories.linkBlob(repositoryName, digest, sizeBytes, context.clock.now()));
}

/** The size of a blob the repository links (and whose bytes are there), undefined otherwise. */
export async function linkedBlobSize(context: RegistryContext, repositoryName: string, digest: string): Promise<number | undefined> {
  const link = await context.repositories.blobLink(repositoryName, digest);
  return link ? context.blobs.size(digest) : undefined;
}

async function finishUpload(context: RegistryContext, { response, repository }: RepositoryRequest, upload: UploadInfo, digest: string): Promise<void> {
  await completeBlob(context, repository.name, upload, digest);
  send(response, 201, { location: blobPath(repository.name, digest), "docker-content-digest": digest });
}

export async function startUpload(context: RegistryContext, target: RepositoryRequest): Promise<void> {
  const { request, response, url, repository } = target;
  const mount = url.searchParams.get("mount");
  const from = url.searchParams.get("from");
  if (mount !== null && from !== null) {
    const digest = requireDigest(mount);
    const source = await context.repositories.getRepository(from);
    const link = source ? await context.repositories.blobLink(source.name, digest) : undefined;
    if (link && (await context.blobs.size(digest)) !== undefined) {
      await context.repositories.linkBlob(repository.name, digest, link.sizeBytes, context.clock.now());
      request.resume();
      return send(response, 201, { location: blobPath(repository.name, digest), "docker-content-digest": digest });
    }
    // Not mountable: the spec says to fall back to an ordinary upload session.
  }
  const digestParam = url.searchParams.get("digest");
  const uuid = await context.blobs.startUpload(repository.name);
  const upload = (await context.blobs.uploadInfo(uuid))!;
  if (digestParam !== null) {
    const digest = requireDigest(digestParam);
    await context.blobs.append(upload, request);
    return finishUpload(context, target, upload, digest);
  }
  request.resume();
  send(response, 202, { location: uploadPath(repository.name, uuid), "docker-upload-uuid": uuid, range: "0-0" });
}

async function requireUpload(context: RegistryContext, repositoryName: string, uuid: string): Promise<UploadInfo> {
  const upload = await context.blobs.uploadInfo(uuid);
  if (!upload || upload.repository !== repositoryName) throw blobUploadUnknown(uuid);
  return upload;
}

export async function continueUpload(context: RegistryContext, target: RepositoryRequest, uuid: string): Promise<void> {
  const { request, response, url, repository } = target;
  const upload = await requireUpload(context, repository.name, uuid);
  const headers = (sizeBytes: number) => ({ location: uploadPath(repository.name, uuid), "docker-upload-uuid": uuid, range: progress(sizeBytes) });
  switch (request.method) {
    case "GET":
      return send(response, 204, headers(upload.sizeBytes));
    case "PATCH": {
      const sizeBytes = await context.blobs.append(upload, request, chunkStart(request));
      return send(response, 202, headers(sizeBytes));
    }
    case "PUT": {
      const digest = requireDigest(url.searchParams.get("digest"));
      if (hasBody(request)) await context.blobs.append(upload, request, chunkStart(request));
      return finishUpload(context, target, upload, digest);
    }
    case "DELETE":
      await context.blobs.cancel(uuid);
      return send(response, 204, {});
    default:
      throw unsupported(`${request.method} is not supported on an upload`);
  }
}
