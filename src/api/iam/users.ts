// IAM users (IAM API Reference): CreateUser, GetUser (without UserName: the caller), DeleteUser,
// ListUsers, UpdateUser (a new name or path, carried to its policies and keys); their inline and
// attached policies and tags through entity-policies.ts. Access keys: access-keys.ts.
import type * as iam from "@aws-sdk/client-iam";
import type { RequestContext } from "../service-module.js";
import { CONFLICTS, deleteConflict, invalidInput, quotaExceeded, QUOTAS, userExists, userNotFound, validationError } from "./iam-errors.js";
import { page, path, pathPrefix, tags, userName } from "./iam-inputs.js";
import type { IamServiceOptions } from "./iam-shapes.js";
import { entityArn, userShape, uniqueId } from "./iam-shapes.js";
import * as shared from "./entity-policies.js";

type Handler<In, Out> = (input: In, context: RequestContext) => Promise<Out>;

function createUser(options: IamServiceOptions): Handler<iam.CreateUserRequest, iam.CreateUserResponse> {
  return async (input, context) => {
    const name = userName(input.UserName);
    const userPath = path(input.Path);
    const userTags = tags(input.Tags);
    if (input.PermissionsBoundary !== undefined) throw invalidInput("Permissions boundaries are not supported by Berth.");
    const user = {
      arn: entityArn(context, "user", userPath, name),
      userId: uniqueId("AIDA"),
      name,
      path: userPath,
      tags: userTags,
      createDate: options.clock.now(),
    };
    await options.iam.locked(async (tx) => {
      if (await tx.getUser(name)) throw userExists(name);
      if ((await tx.entityCount("user")) >= QUOTAS.UsersPerAccount) throw quotaExceeded("UsersPerAccount");
      await tx.createUser(user);
    });
    return { User: userShape(user, "get") };
  };
}

/** GetUser without UserName answers for the caller: the user who signed, or the account's root. */
async function caller(options: IamServiceOptions, context: RequestContext): Promise<iam.User> {
  if (context.principalArn === `arn:${context.partition}:iam::${context.accountId}:root`) {
    // AWS answers the root "user" with its account id as UserId and no UserName or Path.
    return { UserId: context.accountId, Arn: context.principalArn, CreateDate: undefined } as unknown as iam.User;
  }
  const key = await options.iam.userAccessKey(context.accessKeyId);
  const user = key && (await options.iam.getUser(key.userName));
  if (!user) throw validationError("Must specify userName when calling with non-User credentials");
  return userShape(user, "get");
}

function getUser(options: IamServiceOptions): Handler<iam.GetUserRequest, iam.GetUserResponse> {
  return async (input, context) => {
    if (input.UserName === undefined) return { User: await caller(options, context) };
    const user = await options.iam.getUser(userName(input.UserName));
    if (!user) throw userNotFound(input.UserName as string);
    return { User: userShape(user, "get") };
  };
}

function deleteUser(options: IamServiceOptions): Handler<iam.DeleteUserRequest, object> {
  return async (input) => {
    const name = userName(input.UserName);
    await options.iam.locked(async (tx) => {
      const user = await tx.getUser(name);
      if (!user) throw userNotFound(name);
      if ((await tx.userAccessKeys(user.name)).length > 0) throw deleteConflict(CONFLICTS.accessKeys);
      if ((await tx.attachedPolicies("user", user.name)).length > 0) throw deleteConflict(CONFLICTS.attachedPolicies);
      if ((await tx.inlinePolicies("user", user.name)).length > 0) throw deleteConflict(CONFLICTS.inlinePolicies);
      await tx.deleteUser(user.name);
    });
    return {};
  };
}

function listUsers(options: IamServiceOptions): Handler<iam.ListUsersRequest, iam.ListUsersResponse> {
  return async (input) => {
    const prefix = pathPrefix(input.PathPrefix);
    const users = (await options.iam.listUsers()).filter((user) => user.path.startsWith(prefix));
    const chosen = page(users, (user) => user.name.toLowerCase(), input.Marker, input.MaxItems);
    return { Users: chosen.items.map((user) => userShape(user, "list")), IsTruncated: chosen.IsTruncated, Marker: chosen.Marker };
  };
}

function updateUser(options: IamServiceOptions): Handler<iam.UpdateUserRequest, object> {
  return async (input, context) => {
    const name = userName(input.UserName);
    const newName = input.NewUserName === undefined ? undefined : userName(input.NewUserName, "newUserName");
    const newPath = input.NewPath === undefined ? undefined : path(input.NewPath, "newPath");
    await options.iam.locked(async (tx) => {
      const user = await tx.getUser(name);
      if (!user) throw userNotFound(name);
      if (newName !== undefined && newName.toLowerCase() !== user.name.toLowerCase() && (await tx.getUser(newName))) throw userExists(newName);
      const finalName = newName ?? user.name;
      const finalPath = newPath ?? user.path;
      await tx.updateUser(user.name, { name: finalName, path: finalPath, arn: entityArn(context, "user", finalPath, finalName) });
    });
    return {};
  };
}

export function userHandlers(options: IamServiceOptions) {
  return {
    CreateUser: createUser(options),
    GetUser: getUser(options),
    DeleteUser: deleteUser(options),
    ListUsers: listUsers(options),
    UpdateUser: updateUser(options),
    PutUserPolicy: async (input: iam.PutUserPolicyRequest): Promise<object> => {
      await shared.putInlinePolicy(options, "user", userName(input.UserName), input.PolicyName, input.PolicyDocument);
      return {};
    },
    GetUserPolicy: async (input: iam.GetUserPolicyRequest): Promise<iam.GetUserPolicyResponse> => {
      const found = await shared.getInlinePolicy(options, "user", userName(input.UserName), input.PolicyName);
      return { UserName: found.ownerName, PolicyName: found.policyName, PolicyDocument: found.document };
    },
    DeleteUserPolicy: async (input: iam.DeleteUserPolicyRequest): Promise<object> => {
      await shared.deleteInlinePolicy(options, "user", userName(input.UserName), input.PolicyName);
      return {};
    },
    ListUserPolicies: async (input: iam.ListUserPoliciesRequest): Promise<iam.ListUserPoliciesResponse> =>
      shared.listInlinePolicies(options, "user", userName(input.UserName), input.Marker, input.MaxItems),
    AttachUserPolicy: async (input: iam.AttachUserPolicyRequest, context: RequestContext): Promise<object> => {
      await shared.attachPolicy(options, context, "user", userName(input.UserName), input.PolicyArn);
      return {};
    },
    DetachUserPolicy: async (input: iam.DetachUserPolicyRequest, context: RequestContext): Promise<object> => {
      await shared.detachPolicy(options, context, "user", userName(input.UserName), input.PolicyArn);
      return {};
    },
    ListAttachedUserPolicies: async (input: iam.ListAttachedUserPoliciesRequest): Promise<iam.ListAttachedUserPoliciesResponse> =>
      shared.listAttachedPolicies(options, "user", userName(input.UserName), input),
    TagUser: async (input: iam.TagUserRequest): Promise<object> => {
      await shared.tagEntity(options, "user", userName(input.UserName), input.Tags);
      return {};
    },
    UntagUser: async (input: iam.UntagUserRequest): Promise<object> => {
      await shared.untagEntity(options, "user", userName(input.UserName), input.TagKeys);
      return {};
    },
    ListUserTags: async (input: iam.ListUserTagsRequest): Promise<iam.ListUserTagsResponse> =>
      shared.listEntityTags(options, "user", userName(input.UserName), input.Marker, input.MaxItems),
  };
}
