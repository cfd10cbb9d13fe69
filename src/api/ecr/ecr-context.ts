// What every ECR operation receives: the store, the clock, the account, and the registry's ports
// (tokens, blob release, lifecycle) — src/api may not import src/registry, so the registry hands
// them in when it builds this module.
import type { AccountScope } from "../../core/arn.js";
import { buildArn, parseArn } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { CallerIdentity } from "../../core/iam/index.js";
import type { EcrRepository, EcrRepositoryRecord } from "../../store/ecr-repository.js";
import type { EcrPoliciesRepository, TagsRepository } from "../../store/index.js";
import { invalidParameter, repositoryNotFound } from "./ecr-errors.js";
import { decodeToken as decodeTokenAs } from "../pagination-token.js";

export interface AuthorizationToken {
  /** base64("AWS:<password>"), as ECR's GetAuthorizationToken returns it. */
  readonly authorizationToken: string;
  readonly expiresAt: number;
}

/** What pushing a manifest came to (the registry's one push path, shared with /v2/ manifest PUTs). */
export type ManifestPushOutcome =
  | {
      readonly kind: "stored";
      readonly digest: string;
      readonly mediaType: string;
      readonly created: boolean;
      readonly previousDigest: string | undefined;
      readonly subject: string | undefined;
    }
  | { readonly kind: "missing-blobs"; readonly digests: readonly string[] }
  | { readonly kind: "missing-manifests"; readonly digests: readonly string[] }
  | { readonly kind: "tag-immutable"; readonly currentDigest: string };

/**
 * The registry's blob store, upload sessions and manifest store as ECR's layer API and PutImage use
 * them (src/registry/ecr-image-store.ts): the same code, limits and garbage collection as /v2/.
 * Failures are ECR's errors (UploadNotFoundException, InvalidLayerPartException, …).
 */
export interface EcrImageStore {
  /** A new upload session of the repository; its id. */
  startUpload(repositoryName: string): Promise<string>;
  /** Appends a part that must start at the upload's size; the new size. */
  appendPart(repositoryName: string, uploadId: string, firstByte: number, bytes: Buffer): Promise<number>;
  /** Verifies the upload against `digest` and makes it a blob of the repository. */
  completeUpload(repositoryName: string, uploadId: string, digest: string): Promise<void>;
  /** The size of a blob the repository links, undefined when it has none of that digest. */
  layerSize(repositoryName: string, digest: string): Promise<number | undefined>;
  /** Stores a manifest (`mediaType` as its Content-Type), tagged or not. A malformed one is InvalidParameterException. */
  pushManifest(repositoryName: string, bytes: Buffer, mediaType: string | undefined, tag: string | undefined): Promise<ManifestPushOutcome>;
  /** A time-limited URL of the registry that serves the blob, signed for `caller` (whose policies are asked again when it is used). */
  downloadUrl(repositoryName: string, digest: string, caller: CallerIdentity, secure: boolean): string;
}

export interface EcrContext {
  readonly repositories: EcrRepository;
  readonly tags: TagsRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
  /** host:port clients reach the registry at (known only once the server listens). */
  readonly publicHost: () => string;
  /**
   * A registry password for the account; one issued to a non-root caller carries who it is (the
   * registry asks that identity's policies about each request) and expires no later than `notAfter`
   * (the caller's temporary credentials).
   */
  readonly issueAuthorizationToken: (accountId: string, issuedTo?: { readonly identity: CallerIdentity; readonly notAfter?: number }) => AuthorizationToken;
  /** Blobs whose last link went: the registry deletes those no repository links any more. */
  readonly releaseBlobs: (digests: readonly string[]) => Promise<void>;
  readonly images: EcrImageStore;
  /** Repository and registry policies (the Authorizer reads the repositories' too, to decide). */
  readonly policies: EcrPoliciesRepository;
  /** Whether a user or role ARN a policy names as its principal exists (another account's: yes, it cannot be known). */
  readonly principalExists: (arn: string) => Promise<boolean>;
}

// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
export const REPOSITORY_NAME_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function checkRepositoryName(name: string | undefined): string {
  const value = name ?? "";
  if (value.length < 2 || value.length > 256) invalidName("Member must have length between 2 and 256");
  if (!REPOSITORY_NAME_PATTERN.test(value)) invalidName(`must satisfy regular expression '${REPOSITORY_NAME_PATTERN.source.slice(1, -1)}'`);
  return value;
}

function invalidName(constraint: string): never {
  throw invalidParameter("repositoryName", constraint);
}

export const repositoryArnOf = (scope: AccountScope, name: string) => buildArn(scope, "ecr", `repository/${name}`);

export function registryIdOf(context: EcrContext, registryId: string | undefined): string {
  // One registry per account here; another account's registry id names nothing this server holds.
  if (registryId !== undefined && registryId !== context.scope.accountId) {
    throw invalidParameter("registryId", `Registry ${registryId} is not accessible`); // wording not confirmed
  }
  return context.scope.accountId;
}

export async function requireRepository(context: EcrContext, name: string | undefined, registryId?: string): Promise<EcrRepositoryRecord> {
  const id = registryIdOf(context, registryId);
  const repository = name ? await context.repositories.getRepository(name) : undefined;
  if (!repository) throw repositoryNotFound(name ?? "", id);
  return repository;
}

/** Repository name from an ECR repository ARN, or undefined when the ARN names no repository. */
export function repositoryNameFromArn(scope: AccountScope, arn: string | undefined): string | undefined {
  const parsed = arn === undefined ? undefined : parseArn(arn);
  if (!parsed || parsed.service !== "ecr" || parsed.accountId !== scope.accountId) return undefined;
  const match = /^repository\/(.+)$/.exec(parsed.resource);
  return match?.[1];
}

export function repositoryUri(context: EcrContext, name: string): string {
  return `${context.publicHost()}/${name}`;
}

export function checkMaxResults(maxResults: number | undefined, max: number, fallback: number): number {
  if (maxResults === undefined) return fallback;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > max) throw invalidParameter("maxResults", `Member must have value between 1 and ${max}`);
  return maxResults;
}

export { encodeToken } from "../pagination-token.js";

/** A nextToken of this service, checked by `valid`; a bad one is this service's InvalidParameter. */
export function decodeToken<T>(token: string | undefined, valid: (value: unknown) => value is T): T | undefined {
  return decodeTokenAs(token, valid, () => invalidParameter("nextToken", "Invalid pagination token")); // wording not confirmed
}
