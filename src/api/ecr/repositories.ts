// ECR repositories: CreateRepository, DescribeRepositories, DeleteRepository,
// PutImageTagMutability, GetAuthorizationToken, the lifecycle policy calls and resource tags.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Operations.html
import type {
  CreateRepositoryRequest,
  CreateRepositoryResponse,
  DeleteLifecyclePolicyRequest,
  DeleteLifecyclePolicyResponse,
  DeleteRepositoryRequest,
  DeleteRepositoryResponse,
  DescribeRepositoriesRequest,
  DescribeRepositoriesResponse,
  GetAuthorizationTokenResponse,
  GetLifecyclePolicyRequest,
  ImageTagMutability,
  ImageTagMutabilityExclusionFilter,
  GetLifecyclePolicyResponse,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  PutImageTagMutabilityRequest,
  PutImageTagMutabilityResponse,
  PutLifecyclePolicyRequest,
  PutLifecyclePolicyResponse,
  Repository,
  Tag,
  TagResourceRequest,
  TagResourceResponse,
  UntagResourceRequest,
  UntagResourceResponse,
} from "@aws-sdk/client-ecr";
import type { EcrRepositoryRecord } from "../../store/ecr-repository.js";
import type { RequestContext } from "../service-module.js";
import type { EcrContext } from "./ecr-context.js";
import {
  checkMaxResults,
  checkRepositoryName,
  decodeToken,
  encodeToken,
  registryIdOf,
  repositoryArnOf,
  repositoryNameFromArn,
  repositoryUri,
  requireRepository,
} from "./ecr-context.js";
import {
  invalidParameter,
  invalidParameterMessage,
  invalidTagParameter,
  lifecyclePolicyNotFound,
  repositoryAlreadyExists,
  repositoryNotEmpty,
  repositoryNotFound,
  tooManyTags,
} from "./ecr-errors.js";
import { parseLifecyclePolicy } from "./lifecycle-policy.js";
import { scanOnPushUnsupported } from "./unsupported-features.js";
import { EXCLUSION_FILTER_PATTERN, MAX_EXCLUSION_FILTERS, TAG_MUTABILITIES } from "../../core/ecr/tag-mutability.js";

const MAX_TAGS = 50;
const WITH_EXCLUSION: readonly string[] = ["IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"];

function toRepository(context: EcrContext, repository: EcrRepositoryRecord): Repository {
  return {
    repositoryArn: repository.arn,
    registryId: repository.registryId,
    repositoryName: repository.name,
    repositoryUri: repositoryUri(context, repository.name),
    createdAt: new Date(repository.createdAt),
    imageTagMutability: repository.tagMutability,
    ...(repository.tagMutabilityExclusionFilters?.length ? { imageTagMutabilityExclusionFilters: [...repository.tagMutabilityExclusionFilters] } : {}),
    // Berth scans nothing (unsupported-features.ts): never reported as on, whatever an older server stored.
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: withDefaultKmsKey(context, repository.encryption),
  };
}

/**
 * ECR names the key of a KMS repository created without one: the AWS managed key for ECR. Berth
 * runs no KMS, so it names that key by its alias's ARN (alias/aws/ecr) rather than inventing a key
 * id; nothing is encrypted with it (README: encryptionConfiguration).
 */
function withDefaultKmsKey(context: EcrContext, encryption: Repository["encryptionConfiguration"]): Repository["encryptionConfiguration"] {
  if (!encryption || encryption.encryptionType === "AES256" || encryption.kmsKey) return encryption;
  const { partition, region, accountId } = context.scope;
  return { ...encryption, kmsKey: `arn:${partition}:kms:${region}:${accountId}:alias/aws/ecr` };
}

interface TagMutabilitySetting {
  readonly mutability: ImageTagMutability;
  readonly filters: ImageTagMutabilityExclusionFilter[];
}

/** The mode and its exclusion filters (model: 1 to 5 WILDCARD filters of [0-9a-zA-Z._*-]{1,128}), given for the *_WITH_EXCLUSION modes only. */
function checkTagMutability(value: string | undefined, filters: readonly ImageTagMutabilityExclusionFilter[] | undefined): TagMutabilitySetting {
  const mutability = value ?? "MUTABLE";
  if (!(TAG_MUTABILITIES as readonly string[]).includes(mutability)) {
    throw invalidParameter("imageTagMutability", `Member must satisfy enum value set: [${TAG_MUTABILITIES.join(", ")}]`);
  }
  const withExclusion = WITH_EXCLUSION.includes(mutability);
  if (filters === undefined || filters.length === 0) {
    if (filters !== undefined) throw invalidParameter("imageTagMutabilityExclusionFilters", "Member must have length greater than or equal to 1");
    if (withExclusion) throw invalidParameterMessage(`Image tag mutability exclusion filters are required when the image tag mutability is ${mutability}.`); // wording not confirmed
    return { mutability: mutability as ImageTagMutability, filters: [] };
  }
  if (!withExclusion) {
    throw invalidParameterMessage(`Image tag mutability exclusion filters can only be used with ${WITH_EXCLUSION.join(" or ")} image tag mutability.`); // wording not confirmed
  }
  if (filters.length > MAX_EXCLUSION_FILTERS) {
    throw invalidParameter("imageTagMutabilityExclusionFilters", `Member must have length less than or equal to ${MAX_EXCLUSION_FILTERS}`);
  }
  const checked = filters.map((filter) => {
    if (filter?.filterType !== "WILDCARD")
      throw invalidParameter("imageTagMutabilityExclusionFilters.member.filterType", "Member must satisfy enum value set: [WILDCARD]");
    if (typeof filter.filter !== "string" || !EXCLUSION_FILTER_PATTERN.test(filter.filter)) {
      throw invalidParameter("imageTagMutabilityExclusionFilters.member.filter", "Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}$");
    }
    return { filterType: filter.filterType, filter: filter.filter };
  });
  return { mutability: mutability as ImageTagMutability, filters: checked };
}

function checkTags(tags: readonly Tag[] | undefined): { key: string; value: string }[] {
  const list = tags ?? [];
  if (list.length > MAX_TAGS) throw tooManyTags(`Tag limit exceeded: a resource can have at most ${MAX_TAGS} tags.`); // wording not confirmed
  return list.map((tag) => {
    const key = tag.Key ?? "";
    const value = tag.Value ?? "";
    if (key.length < 1 || key.length > 128) throw invalidTagParameter("Tag keys must be between 1 and 128 characters."); // wording not confirmed
    if (key.toLowerCase().startsWith("aws:")) throw invalidTagParameter("Tag keys may not start with aws:."); // wording not confirmed
    if (value.length > 256) throw invalidTagParameter("Tag values must be at most 256 characters."); // wording not confirmed
    return { key, value };
  });
}

export async function createRepository(context: EcrContext, input: CreateRepositoryRequest): Promise<CreateRepositoryResponse> {
  const registryId = registryIdOf(context, input.registryId);
  const name = checkRepositoryName(input.repositoryName);
  const tagMutability = checkTagMutability(input.imageTagMutability, input.imageTagMutabilityExclusionFilters);
  const tags = checkTags(input.tags);
  if (input.imageScanningConfiguration?.scanOnPush === true) throw scanOnPushUnsupported();
  const encryptionType = input.encryptionConfiguration?.encryptionType ?? "AES256";
  if (encryptionType !== "AES256" && encryptionType !== "KMS" && encryptionType !== "KMS_DSSE") {
    throw invalidParameter("encryptionConfiguration.encryptionType", "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]");
  }
  if (encryptionType === "AES256" && input.encryptionConfiguration?.kmsKey)
    throw invalidParameter("encryptionConfiguration.kmsKey", "kmsKey is only allowed with KMS encryption"); // wording not confirmed
  // Blobs sit on the server's disk; the configuration is kept and echoed as ECR does, and the
  // disk's own protection is what applies.
  const encryption = { encryptionType, ...(input.encryptionConfiguration?.kmsKey ? { kmsKey: input.encryptionConfiguration.kmsKey } : {}) };
  const created = await context.repositories.createRepository({
    name,
    registryId,
    arn: repositoryArnOf(context.scope, name),
    createdAt: context.clock.now(),
    tagMutability: tagMutability.mutability,
    tagMutabilityExclusionFilters: tagMutability.filters,
    scanOnPush: false,
    encryption,
  });
  if (!created) throw repositoryAlreadyExists(name, registryId);
  if (tags.length > 0) await context.tags.put(created.arn, tags);
  return { repository: toRepository(context, created) };
}

interface RepositoryCursor {
  readonly after: string;
}
const isCursor = (value: unknown): value is RepositoryCursor => typeof (value as RepositoryCursor | null)?.after === "string";

export async function describeRepositories(context: EcrContext, input: DescribeRepositoriesRequest): Promise<DescribeRepositoriesResponse> {
  const registryId = registryIdOf(context, input.registryId);
  const names = input.repositoryNames;
  if (names !== undefined) {
    if (names.length < 1 || names.length > 100) throw invalidParameter("repositoryNames", "Member must have length between 1 and 100");
    if (input.maxResults !== undefined || input.nextToken !== undefined)
      throw invalidParameter("maxResults", "maxResults and nextToken cannot be used with repositoryNames"); // wording not confirmed
    const rows = await context.repositories.listRepositories({ names, limit: names.length });
    const found = new Set(rows.map((row) => row.name));
    const missing = names.find((name) => !found.has(name));
    if (missing !== undefined) throw repositoryNotFound(missing, registryId);
    return { repositories: rows.map((row) => toRepository(context, row)) };
  }
  const limit = checkMaxResults(input.maxResults, 1000, 100);
  const cursor = decodeToken(input.nextToken, isCursor);
  const rows = await context.repositories.listRepositories({ ...(cursor ? { afterName: cursor.after } : {}), limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    repositories: page.map((row) => toRepository(context, row)),
    nextToken: rows.length > limit ? encodeToken({ after: page[page.length - 1]!.name }) : undefined,
  };
}

export async function deleteRepository(context: EcrContext, input: DeleteRepositoryRequest): Promise<DeleteRepositoryResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  if (!input.force && (await context.repositories.countImages(repository.name)) > 0) throw repositoryNotEmpty(repository.name, repository.registryId);
  const linked = await context.repositories.deleteRepository(repository.name);
  const tags = await context.tags.list(repository.arn);
  if (tags.length > 0)
    await context.tags.remove(
      repository.arn,
      tags.map((tag) => tag.key),
    );
  await context.releaseBlobs(linked);
  return { repository: toRepository(context, repository) };
}

export async function putImageTagMutability(context: EcrContext, input: PutImageTagMutabilityRequest): Promise<PutImageTagMutabilityResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  if (input.imageTagMutability === undefined) throw invalidParameter("imageTagMutability", "Member must not be null");
  const { mutability, filters } = checkTagMutability(input.imageTagMutability, input.imageTagMutabilityExclusionFilters);
  await context.repositories.setTagMutability(repository.name, mutability, filters);
  return {
    registryId: repository.registryId,
    repositoryName: repository.name,
    imageTagMutability: mutability,
    ...(filters.length > 0 ? { imageTagMutabilityExclusionFilters: filters } : {}),
  };
}

export function getAuthorizationToken(context: EcrContext, request: Pick<RequestContext, "caller" | "credentialsExpireAt">): GetAuthorizationTokenResponse {
  // The token speaks for whoever asked: a user's or role session's requests to /v2/ are decided by its policies.
  const issuedTo = { identity: request.caller, ...(request.credentialsExpireAt !== undefined ? { notAfter: request.credentialsExpireAt } : {}) };
  const issued = context.issueAuthorizationToken(context.scope.accountId, issuedTo);
  return {
    authorizationData: [
      { authorizationToken: issued.authorizationToken, expiresAt: new Date(issued.expiresAt), proxyEndpoint: `http://${context.publicHost()}` },
    ],
  };
}

export async function putLifecyclePolicy(context: EcrContext, input: PutLifecyclePolicyRequest): Promise<PutLifecyclePolicyResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const text = input.lifecyclePolicyText ?? "";
  parseLifecyclePolicy(text);
  await context.repositories.setLifecyclePolicy(repository.name, text, context.clock.now());
  return { registryId: repository.registryId, repositoryName: repository.name, lifecyclePolicyText: text };
}

async function existingPolicy(context: EcrContext, input: { repositoryName?: string | undefined; registryId?: string | undefined }) {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  if (repository.lifecyclePolicyText === null) throw lifecyclePolicyNotFound(repository.name, repository.registryId);
  return {
    registryId: repository.registryId,
    repositoryName: repository.name,
    lifecyclePolicyText: repository.lifecyclePolicyText,
    lastEvaluatedAt: repository.lifecycleEvaluatedAt === null ? undefined : new Date(repository.lifecycleEvaluatedAt),
  };
}

export async function getLifecyclePolicy(context: EcrContext, input: GetLifecyclePolicyRequest): Promise<GetLifecyclePolicyResponse> {
  return existingPolicy(context, input);
}

export async function deleteLifecyclePolicy(context: EcrContext, input: DeleteLifecyclePolicyRequest): Promise<DeleteLifecyclePolicyResponse> {
  const policy = await existingPolicy(context, input);
  await context.repositories.setLifecyclePolicy(policy.repositoryName, null, null);
  return policy;
}

async function taggedRepository(context: EcrContext, resourceArn: string | undefined): Promise<EcrRepositoryRecord> {
  const name = repositoryNameFromArn(context.scope, resourceArn);
  if (name === undefined) throw invalidParameter("resourceArn", "Invalid ARN"); // wording not confirmed
  const repository = await context.repositories.getRepository(name);
  if (!repository) throw repositoryNotFound(name, context.scope.accountId);
  return repository;
}

export async function tagResource(context: EcrContext, input: TagResourceRequest): Promise<TagResourceResponse> {
  const repository = await taggedRepository(context, input.resourceArn);
  const tags = checkTags(input.tags);
  const keys = new Set([...(await context.tags.list(repository.arn)).map((tag) => tag.key), ...tags.map((tag) => tag.key)]);
  if (keys.size > MAX_TAGS) throw tooManyTags(`Tag limit exceeded: a resource can have at most ${MAX_TAGS} tags.`); // wording not confirmed
  await context.tags.put(repository.arn, tags);
  return {};
}

export async function untagResource(context: EcrContext, input: UntagResourceRequest): Promise<UntagResourceResponse> {
  const repository = await taggedRepository(context, input.resourceArn);
  await context.tags.remove(repository.arn, input.tagKeys ?? []);
  return {};
}

export async function listTagsForResource(context: EcrContext, input: ListTagsForResourceRequest): Promise<ListTagsForResourceResponse> {
  const repository = await taggedRepository(context, input.resourceArn);
  return { tags: (await context.tags.list(repository.arn)).map(({ key, value }) => ({ Key: key, Value: value })) };
}
