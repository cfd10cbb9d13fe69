// IAM roles (IAM API Reference): CreateRole, GetRole, DeleteRole, ListRoles, UpdateRole,
// UpdateAssumeRolePolicy; their inline and attached policies and tags through entity-policies.ts.
// A role's trust policy is checked as IAM checks it (grammar, 2,048-character quota, principals that
// exist); its document is kept as given and answered URL-encoded, as IAM answers it, except that a
// user or role it names is bound to that entity: deleted, it shows as its unique id; renamed, as
// its new ARN (store/iam-trust-bindings.ts).
import type * as iam from "@aws-sdk/client-iam";
import { assertPolicySize } from "../../core/iam/index.js";
import { rebindPrincipal, UNIQUE_PRINCIPAL_ID } from "../../core/iam/principal.js";
import type { IamRepository } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { deleteConflict, CONFLICTS, invalidInput, quotaExceeded, QUOTAS, roleExists, roleNotFound } from "./iam-errors.js";
import { description, maxSessionDuration, page, path, pathPrefix, policyDocument, roleName, tags } from "./iam-inputs.js";
import type { IamServiceOptions } from "./iam-shapes.js";
import { entityArn, principalExists, roleShape, uniqueId } from "./iam-shapes.js";
import * as shared from "./entity-policies.js";

type Handler<In, Out> = (input: In, context: RequestContext) => Promise<Out>;

/**
 * The trust policy to store, checked inside the IAM write lock (`tx`) so that every user or role it
 * names exists when it is saved: the store rewrites a deleted entity's ARN to its unique id in the
 * same lock (store/iam-trust-bindings.ts). A unique id the caller writes must name a live user or
 * role (IAM refuses a deleted one's: `Invalid principal in policy`) and is stored as that entity's
 * ARN, which is what IAM shows for it.
 */
async function trustPolicy(tx: IamRepository, context: RequestContext, input: string | undefined, name: string, member: string): Promise<string> {
  // The size first: it bounds how many principals the existence check looks up.
  assertPolicySize(input ?? "", { kind: "trust", roleName: name });
  const arnsOfIds = new Map<string, string>();
  const exists = async (value: string) => {
    if (!UNIQUE_PRINCIPAL_ID.test(value)) return principalExists(tx, context, value);
    const arn = await tx.arnOfUniqueId(value);
    if (arn !== undefined) arnsOfIds.set(value, arn);
    return arn !== undefined;
  };
  let text = await policyDocument(input, "trust", member, exists);
  for (const [id, arn] of arnsOfIds) text = rebindPrincipal(text, id, arn);
  return text;
}

function createRole(options: IamServiceOptions): Handler<iam.CreateRoleRequest, iam.CreateRoleResponse> {
  return async (input, context) => {
    const name = roleName(input.RoleName);
    const rolePath = path(input.Path);
    const text = description(input.Description);
    const duration = maxSessionDuration(input.MaxSessionDuration) ?? 3600;
    const roleTags = tags(input.Tags);
    // Berth's own refusal: permissions boundaries are not served, and a boundary silently dropped would grant more.
    if (input.PermissionsBoundary !== undefined) throw invalidInput("Permissions boundaries are not supported by Berth.");
    const role = await options.iam.locked(async (tx) => {
      const document = await trustPolicy(tx, context, input.AssumeRolePolicyDocument, name, "assumeRolePolicyDocument");
      if (await tx.getRole(name)) throw roleExists(name);
      if ((await tx.entityCount("role")) >= QUOTAS.RolesPerAccount) throw quotaExceeded("RolesPerAccount");
      const created = {
        arn: entityArn(context, "role", rolePath, name),
        roleId: uniqueId("AROA"),
        name,
        path: rolePath,
        assumeRolePolicyDocument: document,
        maxSessionDuration: duration,
        tags: roleTags,
        createDate: options.clock.now(),
        description: text,
      };
      await tx.createRole(created);
      return created;
    });
    return { Role: roleShape(role, "get") };
  };
}

function getRole(options: IamServiceOptions): Handler<iam.GetRoleRequest, iam.GetRoleResponse> {
  return async (input) => {
    const role = await options.iam.getRole(roleName(input.RoleName));
    if (!role) throw roleNotFound(input.RoleName as string);
    return { Role: roleShape(role, "get") };
  };
}

function deleteRole(options: IamServiceOptions): Handler<iam.DeleteRoleRequest, object> {
  return async (input) => {
    const name = roleName(input.RoleName);
    await options.iam.locked(async (tx) => {
      const role = await tx.getRole(name);
      if (!role) throw roleNotFound(name);
      if ((await tx.attachedPolicies("role", role.name)).length > 0) throw deleteConflict(CONFLICTS.attachedPolicies);
      if ((await tx.inlinePolicies("role", role.name)).length > 0) throw deleteConflict(CONFLICTS.inlinePolicies);
      await tx.deleteRole(role.name);
    });
    return {};
  };
}

function listRoles(options: IamServiceOptions): Handler<iam.ListRolesRequest, iam.ListRolesResponse> {
  return async (input) => {
    const prefix = pathPrefix(input.PathPrefix);
    const roles = (await options.iam.listRoles()).filter((role) => role.path.startsWith(prefix));
    const chosen = page(roles, (role) => role.name.toLowerCase(), input.Marker, input.MaxItems);
    return { Roles: chosen.items.map((role) => roleShape(role, "list")), IsTruncated: chosen.IsTruncated, Marker: chosen.Marker };
  };
}

function updateRole(options: IamServiceOptions): Handler<iam.UpdateRoleRequest, iam.UpdateRoleResponse> {
  return async (input) => {
    const name = roleName(input.RoleName);
    const text = description(input.Description);
    const duration = maxSessionDuration(input.MaxSessionDuration);
    await options.iam.locked(async (tx) => {
      const role = await tx.getRole(name);
      if (!role) throw roleNotFound(name);
      await tx.updateRole(role.name, { description: text, maxSessionDuration: duration });
    });
    return {};
  };
}

function updateAssumeRolePolicy(options: IamServiceOptions): Handler<iam.UpdateAssumeRolePolicyRequest, object> {
  return async (input, context) => {
    const name = roleName(input.RoleName);
    await options.iam.locked(async (tx) => {
      const role = await tx.getRole(name);
      if (!role) throw roleNotFound(name);
      const document = await trustPolicy(tx, context, input.PolicyDocument, role.name, "policyDocument");
      await tx.updateRole(role.name, { assumeRolePolicyDocument: document });
    });
    return {};
  };
}

export function roleHandlers(options: IamServiceOptions) {
  return {
    CreateRole: createRole(options),
    GetRole: getRole(options),
    DeleteRole: deleteRole(options),
    ListRoles: listRoles(options),
    UpdateRole: updateRole(options),
    UpdateAssumeRolePolicy: updateAssumeRolePolicy(options),
    PutRolePolicy: async (input: iam.PutRolePolicyRequest): Promise<object> => {
      await shared.putInlinePolicy(options, "role", roleName(input.RoleName), input.PolicyName, input.PolicyDocument);
      return {};
    },
    GetRolePolicy: async (input: iam.GetRolePolicyRequest): Promise<iam.GetRolePolicyResponse> => {
      const found = await shared.getInlinePolicy(options, "role", roleName(input.RoleName), input.PolicyName);
      return { RoleName: found.ownerName, PolicyName: found.policyName, PolicyDocument: found.document };
    },
    DeleteRolePolicy: async (input: iam.DeleteRolePolicyRequest): Promise<object> => {
      await shared.deleteInlinePolicy(options, "role", roleName(input.RoleName), input.PolicyName);
      return {};
    },
    ListRolePolicies: async (input: iam.ListRolePoliciesRequest): Promise<iam.ListRolePoliciesResponse> =>
      shared.listInlinePolicies(options, "role", roleName(input.RoleName), input.Marker, input.MaxItems),
    AttachRolePolicy: async (input: iam.AttachRolePolicyRequest, context: RequestContext): Promise<object> => {
      await shared.attachPolicy(options, context, "role", roleName(input.RoleName), input.PolicyArn);
      return {};
    },
    DetachRolePolicy: async (input: iam.DetachRolePolicyRequest, context: RequestContext): Promise<object> => {
      await shared.detachPolicy(options, context, "role", roleName(input.RoleName), input.PolicyArn);
      return {};
    },
    ListAttachedRolePolicies: async (input: iam.ListAttachedRolePoliciesRequest): Promise<iam.ListAttachedRolePoliciesResponse> =>
      shared.listAttachedPolicies(options, "role", roleName(input.RoleName), input),
    TagRole: async (input: iam.TagRoleRequest): Promise<object> => {
      await shared.tagEntity(options, "role", roleName(input.RoleName), input.Tags);
      return {};
    },
    UntagRole: async (input: iam.UntagRoleRequest): Promise<object> => {
      await shared.untagEntity(options, "role", roleName(input.RoleName), input.TagKeys);
      return {};
    },
    ListRoleTags: async (input: iam.ListRoleTagsRequest): Promise<iam.ListRoleTagsResponse> =>
      shared.listEntityTags(options, "role", roleName(input.RoleName), input.Marker, input.MaxItems),
  };
}
