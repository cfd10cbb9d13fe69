// What roles and users share: inline policies (Put/Get/Delete/List<Kind>Policy), attached managed
// policies (Attach/Detach/ListAttached<Kind>Policies) and tags (Tag/Untag/List<Kind>Tags). Every
// write runs under the IAM write lock (IamRepository.locked) after re-reading its entity there, so
// a quota (10 managed policies, 50 tags) cannot be raced past and an entity deleted meanwhile is
// not written to.
import type { AttachedPolicy, Tag } from "@aws-sdk/client-iam";
import { assertPolicySize } from "../../core/iam/index.js";
import type { IamEntityKind, IamRepository } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { policyNotAttachable, policyNotFound, quotaExceeded, roleNotFound, rolePolicyNotFound, userNotFound, userPolicyNotFound } from "./iam-errors.js";
import { encodePolicyDocument, mergeTags, page, pathPrefix, policyArnInput, policyDocument, policyName, removeTags, tagList, tags } from "./iam-inputs.js";
import type { IamServiceOptions } from "./iam-shapes.js";
import { resolvePolicy } from "./iam-shapes.js";

const notFound = (kind: IamEntityKind, name: string) => (kind === "role" ? roleNotFound(name) : userNotFound(name));

/** The entity's stored name (its case as created), or NoSuchEntity. */
async function entity(iam: IamRepository, kind: IamEntityKind, name: string) {
  const found = kind === "role" ? await iam.getRole(name) : await iam.getUser(name);
  if (!found) throw notFound(kind, name);
  return found;
}

export async function putInlinePolicy(
  options: IamServiceOptions,
  kind: IamEntityKind,
  owner: string,
  nameInput: string | undefined,
  document: string | undefined,
): Promise<void> {
  const name = policyName(nameInput);
  const text = await policyDocument(document, "identity", "policyDocument");
  await options.iam.locked(async (iam) => {
    const found = await entity(iam, kind, owner);
    // The inline quota is the sum of the entity's inline policies (IAM and AWS STS quotas).
    const others = (await iam.inlinePolicies(kind, found.name)).filter((policy) => policy.name.toLowerCase() !== name.toLowerCase());
    const all = [...others.map((policy) => policy.document), text].join("");
    assertPolicySize(all, kind === "role" ? { kind: "role-inline", roleName: found.name } : { kind: "user-inline", userName: found.name });
    await iam.putInlinePolicy(kind, found.name, { name, document: text });
  });
}

export async function getInlinePolicy(options: IamServiceOptions, kind: IamEntityKind, owner: string, nameInput: string | undefined) {
  const name = policyName(nameInput);
  const found = await entity(options.iam, kind, owner);
  const policy = await options.iam.inlinePolicy(kind, found.name, name);
  if (!policy) throw kind === "role" ? rolePolicyNotFound(name) : userPolicyNotFound(name);
  return { ownerName: found.name, policyName: policy.name, document: encodePolicyDocument(policy.document) };
}

export async function deleteInlinePolicy(options: IamServiceOptions, kind: IamEntityKind, owner: string, nameInput: string | undefined): Promise<void> {
  const name = policyName(nameInput);
  await options.iam.locked(async (iam) => {
    const found = await entity(iam, kind, owner);
    if (!(await iam.deleteInlinePolicy(kind, found.name, name))) throw kind === "role" ? rolePolicyNotFound(name) : userPolicyNotFound(name);
  });
}

export async function listInlinePolicies(
  options: IamServiceOptions,
  kind: IamEntityKind,
  owner: string,
  marker: string | undefined,
  maxItems: number | undefined,
) {
  const found = await entity(options.iam, kind, owner);
  const names = (await options.iam.inlinePolicies(kind, found.name)).map((policy) => policy.name);
  const chosen = page(names, (name) => name.toLowerCase(), marker, maxItems);
  return { PolicyNames: chosen.items, IsTruncated: chosen.IsTruncated, Marker: chosen.Marker };
}

export async function attachPolicy(
  options: IamServiceOptions,
  context: RequestContext,
  kind: IamEntityKind,
  owner: string,
  arnInput: string | undefined,
): Promise<void> {
  const arn = policyArnInput(arnInput);
  await options.iam.locked(async (iam) => {
    const found = await entity(iam, kind, owner);
    const resolved = await resolvePolicy({ ...options, iam }, context, arn);
    if (!resolved) throw policyNotAttachable(arn);
    const attached = await iam.attachedPolicies(kind, found.name);
    if (attached.includes(resolved.policy.arn)) return;
    if (attached.length >= 10) throw quotaExceeded(kind === "role" ? "PoliciesPerRole" : "PoliciesPerUser");
    await iam.attach(kind, found.name, resolved.policy.arn);
  });
}

export async function detachPolicy(
  options: IamServiceOptions,
  context: RequestContext,
  kind: IamEntityKind,
  owner: string,
  arnInput: string | undefined,
): Promise<void> {
  const arn = policyArnInput(arnInput);
  await options.iam.locked(async (iam) => {
    const found = await entity(iam, kind, owner);
    const resolved = await resolvePolicy({ ...options, iam }, context, arn);
    if (!resolved || !(await iam.detach(kind, found.name, resolved.policy.arn))) throw policyNotFound(arn);
  });
}

export async function listAttachedPolicies(
  options: IamServiceOptions,
  kind: IamEntityKind,
  owner: string,
  input: { PathPrefix?: string | undefined; Marker?: string | undefined; MaxItems?: number | undefined },
) {
  const prefix = pathPrefix(input.PathPrefix);
  const found = await entity(options.iam, kind, owner);
  const attached: AttachedPolicy[] = [];
  for (const arn of await options.iam.attachedPolicies(kind, found.name)) {
    const name = arn.slice(arn.lastIndexOf("/") + 1);
    const path = arn.slice(arn.indexOf(":policy") + 7, arn.lastIndexOf("/") + 1);
    if (path.startsWith(prefix)) attached.push({ PolicyName: name, PolicyArn: arn });
  }
  const chosen = page(attached, (policy) => policy.PolicyArn ?? "", input.Marker, input.MaxItems);
  return { AttachedPolicies: chosen.items, IsTruncated: chosen.IsTruncated, Marker: chosen.Marker };
}

export async function tagEntity(options: IamServiceOptions, kind: IamEntityKind, owner: string, input: readonly Tag[] | undefined): Promise<void> {
  const added = tags(input);
  await options.iam.locked(async (iam) => {
    const found = await entity(iam, kind, owner);
    const next = mergeTags(found.tags, added);
    await (kind === "role" ? iam.updateRole(found.name, { tags: next }) : iam.updateUser(found.name, { tags: next }));
  });
}

export async function untagEntity(options: IamServiceOptions, kind: IamEntityKind, owner: string, keys: readonly string[] | undefined): Promise<void> {
  await options.iam.locked(async (iam) => {
    const found = await entity(iam, kind, owner);
    const next = removeTags(found.tags, keys);
    await (kind === "role" ? iam.updateRole(found.name, { tags: next }) : iam.updateUser(found.name, { tags: next }));
  });
}

export async function listEntityTags(options: IamServiceOptions, kind: IamEntityKind, owner: string, marker: string | undefined, maxItems: number | undefined) {
  const found = await entity(options.iam, kind, owner);
  const chosen = page(tagList(found.tags), (tag) => tag.Key.toLowerCase(), marker, maxItems);
  return { Tags: chosen.items, IsTruncated: chosen.IsTruncated, Marker: chosen.Marker };
}
