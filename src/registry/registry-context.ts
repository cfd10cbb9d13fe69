// What the /v2/ handlers share: the store, the blob store, and small HTTP helpers.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { AccountScope } from "../core/arn.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { EcrRepository, EcrRepositoryRecord } from "../store/ecr-repository.js";
import type { BlobStore } from "./blob-store.js";
import { paginationNumberInvalid } from "./distribution-errors.js";

export interface RegistryContext {
  readonly repositories: EcrRepository;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly publicHost: () => string;
  readonly logger: Pick<Logger, "info" | "warn" | "error">;
  /** Deletes images and releases the blobs only they referenced. */
  readonly deleteImages: (repositoryName: string, digests: readonly string[]) => Promise<void>;
  /** Runs the repository's lifecycle policy (after a tagged push). */
  readonly applyLifecyclePolicy: (repositoryName: string) => Promise<void>;
}

/** One /v2/<name>/… request with its repository resolved. */
export interface RepositoryRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  readonly repository: EcrRepositoryRecord;
}

export const API_VERSION_HEADER = { "docker-distribution-api-version": "registry/2.0" } as const;

export function send(response: ServerResponse, status: number, headers: OutgoingHttpHeaders, body?: Buffer | string): void {
  const length = body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.length;
  response.writeHead(status, { ...API_VERSION_HEADER, "content-length": length, ...headers });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}, method?: string): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { ...API_VERSION_HEADER, "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
  response.end(method === "HEAD" ? undefined : body);
}

/** The `n` and `last` pagination parameters of the tags and catalog lists. */
export function pagination(url: URL): { limit: number | undefined; last: string | undefined } {
  const n = url.searchParams.get("n");
  const last = url.searchParams.get("last") ?? undefined;
  if (n === null || n === "") return { limit: undefined, last };
  if (!/^\d+$/.test(n)) throw paginationNumberInvalid(n);
  return { limit: Number(n), last };
}

/** A Link header to the next page, as the distribution spec defines it. */
export function nextLink(path: string, limit: number, last: string): string {
  return `<${path}?n=${limit}&last=${encodeURIComponent(last)}>; rel="next"`;
}
