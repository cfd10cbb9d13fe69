// The resources IAM's operations are authorized against: the stored entity's own ARN, looked up by
// the name the request gives (IAM names match in any case, and an ARN carries the entity's path:
// a policy on user/admins/* must cover /admins/boss when the request says "BOSS"), the stored
// policy's ARN for a PolicyArn, and for what does not exist yet (CreateUser, CreateRole,
// CreatePolicy) the ARN it would get. UpdateUser needs the permission on the new name and path as
// well as on the old; Attach/Detach*Policy carry iam:PolicyARN; Untag* carry aws:TagKeys.
import type { RequestContext } from "../service-module.js";
import type { OperationAuthorization, ResourceTable } from "./request-authorizer.js";

type Input = Record<string, unknown>;

/** The IAM store's lookups (store.iam). */
export interface IamLookups {
  getRole(name: string): Promise<{ readonly arn: string } | undefined>;
  getUser(name: string): Promise<{ readonly arn: string } | undefined>;
  getPolicy(name: string): Promise<{ readonly arn: string } | undefined>;
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const texts = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);
const arnOf = (context: RequestContext, kind: "role" | "user" | "policy", name: string, path = "/") =>
  `arn:${context.partition}:iam::${context.accountId}:${kind}${path}${name}`;
/** IAM's user operations act on the caller when it names no user (GetUser, ListAccessKeys, CreateAccessKey, …). */
const userOfCaller = (context: RequestContext) => (context.caller.kind === "user" ? context.caller.userName : undefined);
const tagKeys = (input: Input): Record<string, string[]> => (Array.isArray(input.TagKeys) ? { "aws:TagKeys": texts(input.TagKeys) } : {});

export function iamResources(iam: IamLookups): ResourceTable {
  const role = async (input: Input, context: RequestContext): Promise<OperationAuthorization> => {
    const name = text(input.RoleName);
    if (name === undefined) return { resources: ["*"] };
    const stored = await iam.getRole(name);
    return { resources: [stored?.arn ?? arnOf(context, "role", name, text(input.Path))], extra: tagKeys(input) };
  };
  const user = async (input: Input, context: RequestContext): Promise<OperationAuthorization> => {
    const name = text(input.UserName) ?? userOfCaller(context);
    if (name === undefined) return { resources: ["*"] };
    const stored = await iam.getUser(name);
    return { resources: [stored?.arn ?? arnOf(context, "user", name, text(input.Path))], extra: tagKeys(input) };
  };
  const policyArn = async (arn: string): Promise<string> => {
    const name = /:policy\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1];
    const stored = name === undefined || arn.split(":")[4] === "aws" ? undefined : await iam.getPolicy(name);
    return stored !== undefined && stored.arn.toLowerCase() === arn.toLowerCase() ? stored.arn : arn;
  };
  const policy = async (input: Input): Promise<OperationAuthorization> => {
    const arn = text(input.PolicyArn);
    return { resources: [arn === undefined ? "*" : await policyArn(arn)], extra: tagKeys(input) };
  };
  const attaching = (entity: typeof role) => async (input: Input, context: RequestContext) => {
    const target = await entity(input, context);
    const arn = text(input.PolicyArn);
    return arn === undefined ? target : { ...target, extra: { ...target.extra, "iam:PolicyARN": await policyArn(arn) } };
  };
  const roleOps = ["CreateRole", "GetRole", "DeleteRole", "UpdateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy"];
  const roleOps2 = ["ListRolePolicies", "ListAttachedRolePolicies", "TagRole", "UntagRole", "ListRoleTags"];
  const userOps = ["CreateUser", "GetUser", "DeleteUser", "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies"];
  const userOps2 = [
    "ListAttachedUserPolicies",
    "CreateAccessKey",
    "DeleteAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "TagUser",
    "UntagUser",
    "ListUserTags",
  ];
  const policyOps = ["GetPolicy", "DeletePolicy", "CreatePolicyVersion", "GetPolicyVersion", "DeletePolicyVersion", "ListPolicyVersions"];
  const policyOps2 = ["SetDefaultPolicyVersion", "TagPolicy", "UntagPolicy", "ListPolicyTags"];
  return {
    ...Object.fromEntries([...roleOps, ...roleOps2].map((operation) => [operation, role])),
    ...Object.fromEntries([...userOps, ...userOps2].map((operation) => [operation, user])),
    ...Object.fromEntries([...policyOps, ...policyOps2].map((operation) => [operation, policy])),
    AttachRolePolicy: attaching(role),
    DetachRolePolicy: attaching(role),
    AttachUserPolicy: attaching(user),
    DetachUserPolicy: attaching(user),
    UpdateUser: async (input, context) => {
      const current = await user(input, context);
      const name = text(input.UserName);
      const newName = text(input.NewUserName);
      const newPath = text(input.NewPath);
      if (name === undefined || (newName === undefined && newPath === undefined)) return current;
      const currentArn = current.resources[0] ?? "";
      const currentPath = /:user(\/(?:.*\/)?)[^/]+$/.exec(currentArn)?.[1] ?? "/";
      const target = arnOf(context, "user", newName ?? name, newPath ?? currentPath);
      // The new name and path are a resource of the call too (AWS authorizes iam:UpdateUser on both).
      return { ...current, resources: [currentArn, target] };
    },
    CreatePolicy: (input, context) => ({ resources: [arnOf(context, "policy", text(input.PolicyName) ?? "", text(input.Path))] }),
  };
}
