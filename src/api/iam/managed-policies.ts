// Managed policies (IAM API Reference): CreatePolicy, GetPolicy, DeletePolicy, ListPolicies (Scope
// All/AWS/Local, OnlyAttached, PathPrefix), versions (Create, Get, Delete, List, SetDefault; at
// most 5 a policy, numbers never reused) and tags. AWS managed policies (core/iam/aws-managed-
// policies.ts) are listed and read like the account's own but never changed.
import type * as iam from "@aws-sdk/client-iam";
import { assertPolicySize } from "../../core/iam/index.js";
import { AWS_MANAGED_POLICIES } from "../../core/iam/aws-managed-policies.js";
import type { IamRepository, StoredManagedPolicy } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import {
  awsManagedReadOnly,
  CONFLICTS,
  deleteConflict,
  policyExists,
  policyNotFound,
  policyVersionNotFound,
  quotaExceeded,
  QUOTAS,
  tooManyVersions,
} from "./iam-errors.js";
import {
  description,
  encodePolicyDocument,
  mergeTags,
  page,
  path,
  pathPrefix,
  policyArnInput,
  policyDocument,
  policyName,
  removeTags,
  tagList,
  tags,
  versionId,
} from "./iam-inputs.js";
import type { IamServiceOptions, ResolvedPolicy } from "./iam-shapes.js";
import { entityArn, policyShape, resolvePolicy, uniqueId } from "./iam-shapes.js";

async function managedDocument(input: string | undefined): Promise<string> {
  const text = await policyDocument(input, "identity", "policyDocument");
  assertPolicySize(text, { kind: "managed" });
  return text;
}

async function found(options: IamServiceOptions, context: RequestContext, arnInput: string | undefined): Promise<ResolvedPolicy> {
  const arn = policyArnInput(arnInput);
  const resolved = await resolvePolicy(options, context, arn);
  if (!resolved) throw policyNotFound(arn);
  return resolved;
}

/** Runs `work` under the IAM write lock on the account's policy `arn` (an AWS managed one is refused as `action`). */
async function changing<T>(
  options: IamServiceOptions,
  context: RequestContext,
  arnInput: string | undefined,
  action: string,
  work: (tx: IamRepository, policy: StoredManagedPolicy) => Promise<T>,
) {
  return options.iam.locked(async (tx) => {
    const resolved = await found({ ...options, iam: tx }, context, arnInput);
    if (resolved.kind === "aws") throw awsManagedReadOnly(context.principalArn, action, resolved.policy.arn);
    return work(tx, resolved.policy);
  });
}

const versionKey = (id: string) => id.slice(1).padStart(12, "0");

async function createPolicy(options: IamServiceOptions, input: iam.CreatePolicyRequest, context: RequestContext): Promise<iam.CreatePolicyResponse> {
  const name = policyName(input.PolicyName);
  const policyPath = path(input.Path);
  const text = description(input.Description);
  const policyTags = tags(input.Tags);
  const document = await managedDocument(input.PolicyDocument);
  const now = options.clock.now();
  const policy: StoredManagedPolicy = {
    arn: entityArn(context, "policy", policyPath, name),
    policyId: uniqueId("ANPA"),
    name,
    path: policyPath,
    description: text,
    defaultVersionId: "v1",
    nextVersion: 2,
    tags: policyTags,
    createDate: now,
    updateDate: now,
  };
  await options.iam.locked(async (tx) => {
    if (await tx.getPolicy(name)) throw policyExists(name);
    if ((await tx.entityCount("policy")) >= QUOTAS.PoliciesPerAccount) throw quotaExceeded("PoliciesPerAccount");
    await tx.createPolicy(policy, { versionId: "v1", document, createDate: now });
  });
  // CreatePolicy answers no Description (IAM API Reference, CreatePolicy), the tags it was given.
  return { Policy: { ...policyShape({ kind: "local", policy }, 0, true), Description: undefined } };
}

async function listPolicies(options: IamServiceOptions, input: iam.ListPoliciesRequest): Promise<iam.ListPoliciesResponse> {
  const prefix = pathPrefix(input.PathPrefix);
  const scope = input.Scope ?? "All";
  const counts = await options.iam.attachmentCounts();
  const all: ResolvedPolicy[] = [
    ...(scope === "Local" ? [] : AWS_MANAGED_POLICIES.map((policy) => ({ kind: "aws" as const, policy }))),
    ...(scope === "AWS" ? [] : (await options.iam.listPolicies()).map((policy) => ({ kind: "local" as const, policy }))),
  ];
  // Berth attaches policies as permissions policies only: none is a permissions boundary.
  const chosen = all.filter(
    (one) =>
      one.policy.path.startsWith(prefix) && (input.OnlyAttached !== true || counts.has(one.policy.arn)) && input.PolicyUsageFilter !== "PermissionsBoundary",
  );
  const paged = page(chosen, (one) => `${one.policy.name.toLowerCase()}\u0000${one.policy.arn}`, input.Marker, input.MaxItems);
  return { Policies: paged.items.map((one) => policyShape(one, counts.get(one.policy.arn) ?? 0, false)), IsTruncated: paged.IsTruncated, Marker: paged.Marker };
}

async function createPolicyVersion(
  options: IamServiceOptions,
  input: iam.CreatePolicyVersionRequest,
  context: RequestContext,
): Promise<iam.CreatePolicyVersionResponse> {
  const document = await managedDocument(input.PolicyDocument);
  const now = options.clock.now();
  return changing(options, context, input.PolicyArn, "CreatePolicyVersion", async (tx, policy) => {
    if ((await tx.policyVersions(policy.name)).length >= QUOTAS.VersionsPerPolicy) throw tooManyVersions();
    const id = `v${policy.nextVersion}`;
    await tx.addPolicyVersion(policy.name, { versionId: id, document, createDate: now });
    await tx.updatePolicy(policy.name, {
      nextVersion: policy.nextVersion + 1,
      ...(input.SetAsDefault === true ? { defaultVersionId: id, updateDate: now } : {}),
    });
    return { PolicyVersion: { VersionId: id, IsDefaultVersion: input.SetAsDefault === true, CreateDate: new Date(now) } };
  });
}

async function getPolicyVersion(
  options: IamServiceOptions,
  input: iam.GetPolicyVersionRequest,
  context: RequestContext,
): Promise<iam.GetPolicyVersionResponse> {
  const id = versionId(input.VersionId);
  const resolved = await found(options, context, input.PolicyArn);
  if (resolved.kind === "aws") {
    if (id !== resolved.policy.defaultVersionId) throw policyVersionNotFound(resolved.policy.arn, id);
    const { document, createDate } = resolved.policy;
    return { PolicyVersion: { Document: encodePolicyDocument(document), VersionId: id, IsDefaultVersion: true, CreateDate: new Date(createDate) } };
  }
  const version = (await options.iam.policyVersions(resolved.policy.name)).find((one) => one.versionId === id);
  if (!version) throw policyVersionNotFound(resolved.policy.arn, id);
  return {
    PolicyVersion: {
      Document: encodePolicyDocument(version.document),
      VersionId: id,
      IsDefaultVersion: id === resolved.policy.defaultVersionId,
      CreateDate: new Date(version.createDate),
    },
  };
}

async function listPolicyVersions(
  options: IamServiceOptions,
  input: iam.ListPolicyVersionsRequest,
  context: RequestContext,
): Promise<iam.ListPolicyVersionsResponse> {
  const resolved = await found(options, context, input.PolicyArn);
  const versions =
    resolved.kind === "aws"
      ? [{ versionId: resolved.policy.defaultVersionId, createDate: resolved.policy.createDate }]
      : await options.iam.policyVersions(resolved.policy.name);
  const paged = page(versions, (version) => versionKey(version.versionId), input.Marker, input.MaxItems);
  return {
    Versions: paged.items.map((version) => ({
      VersionId: version.versionId,
      IsDefaultVersion: version.versionId === resolved.policy.defaultVersionId,
      CreateDate: new Date(version.createDate),
    })),
    IsTruncated: paged.IsTruncated,
    Marker: paged.Marker,
  };
}

export function managedPolicyHandlers(options: IamServiceOptions) {
  return {
    CreatePolicy: (input: iam.CreatePolicyRequest, context: RequestContext) => createPolicy(options, input, context),
    GetPolicy: async (input: iam.GetPolicyRequest, context: RequestContext): Promise<iam.GetPolicyResponse> => {
      const resolved = await found(options, context, input.PolicyArn);
      return { Policy: policyShape(resolved, await options.iam.attachmentCount(resolved.policy.arn), true) };
    },
    DeletePolicy: async (input: iam.DeletePolicyRequest, context: RequestContext): Promise<object> => {
      await changing(options, context, input.PolicyArn, "DeletePolicy", async (tx, policy) => {
        if ((await tx.attachmentCount(policy.arn)) > 0) throw deleteConflict(CONFLICTS.policyAttached);
        if ((await tx.policyVersions(policy.name)).length > 1) throw deleteConflict(CONFLICTS.policyVersions);
        await tx.deletePolicy(policy.name);
      });
      return {};
    },
    ListPolicies: (input: iam.ListPoliciesRequest) => listPolicies(options, input),
    CreatePolicyVersion: (input: iam.CreatePolicyVersionRequest, context: RequestContext) => createPolicyVersion(options, input, context),
    GetPolicyVersion: (input: iam.GetPolicyVersionRequest, context: RequestContext) => getPolicyVersion(options, input, context),
    ListPolicyVersions: (input: iam.ListPolicyVersionsRequest, context: RequestContext) => listPolicyVersions(options, input, context),
    DeletePolicyVersion: async (input: iam.DeletePolicyVersionRequest, context: RequestContext): Promise<object> => {
      const id = versionId(input.VersionId);
      await changing(options, context, input.PolicyArn, "DeletePolicyVersion", async (tx, policy) => {
        if (id === policy.defaultVersionId) throw deleteConflict(CONFLICTS.defaultVersion);
        if (!(await tx.deletePolicyVersion(policy.name, id))) throw policyVersionNotFound(policy.arn, id);
      });
      return {};
    },
    SetDefaultPolicyVersion: async (input: iam.SetDefaultPolicyVersionRequest, context: RequestContext): Promise<object> => {
      const id = versionId(input.VersionId);
      const now = options.clock.now();
      await changing(options, context, input.PolicyArn, "SetDefaultPolicyVersion", async (tx, policy) => {
        if (!(await tx.policyVersions(policy.name)).some((version) => version.versionId === id)) throw policyVersionNotFound(policy.arn, id);
        await tx.updatePolicy(policy.name, { defaultVersionId: id, updateDate: now });
      });
      return {};
    },
    TagPolicy: async (input: iam.TagPolicyRequest, context: RequestContext): Promise<object> => {
      const added = tags(input.Tags);
      await changing(options, context, input.PolicyArn, "TagPolicy", (tx, policy) => tx.updatePolicy(policy.name, { tags: mergeTags(policy.tags, added) }));
      return {};
    },
    UntagPolicy: async (input: iam.UntagPolicyRequest, context: RequestContext): Promise<object> => {
      await changing(options, context, input.PolicyArn, "UntagPolicy", (tx, policy) =>
        tx.updatePolicy(policy.name, { tags: removeTags(policy.tags, input.TagKeys) }),
      );
      return {};
    },
    ListPolicyTags: async (input: iam.ListPolicyTagsRequest, context: RequestContext): Promise<iam.ListPolicyTagsResponse> => {
      const resolved = await found(options, context, input.PolicyArn);
      const list = resolved.kind === "local" ? tagList(resolved.policy.tags) : [];
      const paged = page(list, (tag) => tag.Key.toLowerCase(), input.Marker, input.MaxItems);
      return { Tags: paged.items, IsTruncated: paged.IsTruncated, Marker: paged.Marker };
    },
  };
}
