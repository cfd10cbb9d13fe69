// What every IAM handler shares: its dependencies, unique ids and ARNs, the answers' shapes
// (stored records → the SDK's Role, User, Policy) and resolving a policy ARN to a customer managed
// policy or a built-in AWS managed one.
import { randomBytes } from "node:crypto";
import type { Policy, Role, User } from "@aws-sdk/client-iam";
import type { Clock } from "../../core/clock.js";
import type { KeySealer } from "../../core/envelope-seal.js";
import type { AwsManagedPolicy } from "../../core/iam/aws-managed-policies.js";
import { awsManagedPolicy } from "../../core/iam/aws-managed-policies.js";
import type { IamRepository, StoredManagedPolicy, StoredRole, StoredUser } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { invalidInput } from "./iam-errors.js";
import { encodePolicyDocument, tagList } from "./iam-inputs.js";

export interface IamServiceOptions {
  readonly iam: IamRepository;
  readonly clock: Clock;
  /** Seals users' secret access keys under the store key (SigV4 needs them back in the clear). */
  readonly sealer: KeySealer;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** IAM's unique ids: a type prefix (AROA role, AIDA user, ANPA policy, AKIA key) and 16–17 random characters. */
export function uniqueId(prefix: "AROA" | "AIDA" | "ANPA" | "AKIA", length = 17): string {
  return prefix + [...randomBytes(length)].map((byte) => ID_ALPHABET[byte & 31]).join("");
}

export const entityArn = (context: RequestContext, type: "role" | "user" | "policy", path: string, name: string) =>
  `arn:${context.partition}:iam::${context.accountId}:${type}${path}${name}`;

export function roleShape(role: StoredRole, detail: "get" | "list"): Role {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: new Date(role.createDate),
    AssumeRolePolicyDocument: encodePolicyDocument(role.assumeRolePolicyDocument),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    // ListRoles answers no tags (IAM API Reference, ListRoles); GetRole and CreateRole do.
    Tags: detail === "get" && role.tags.size > 0 ? tagList(role.tags) : undefined,
    RoleLastUsed: detail === "get" ? {} : undefined,
  };
}

export function userShape(user: StoredUser, detail: "get" | "list"): User {
  return {
    Path: user.path,
    UserName: user.name,
    UserId: user.userId,
    Arn: user.arn,
    CreateDate: new Date(user.createDate),
    Tags: detail === "get" && user.tags.size > 0 ? tagList(user.tags) : undefined,
  };
}

export type ResolvedPolicy = { readonly kind: "aws"; readonly policy: AwsManagedPolicy } | { readonly kind: "local"; readonly policy: StoredManagedPolicy };

export function policyShape(resolved: ResolvedPolicy, attachmentCount: number, withTags: boolean): Policy {
  const { policy } = resolved;
  const tags = resolved.kind === "local" ? resolved.policy.tags : new Map<string, string>();
  return {
    PolicyName: policy.name,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: policy.description,
    CreateDate: new Date(policy.createDate),
    UpdateDate: new Date(policy.updateDate),
    Tags: withTags && tags.size > 0 ? tagList(tags) : undefined,
  };
}

const POLICY_ARN = /^arn:([a-z-]+):iam::([0-9]{12}|aws):policy(\/|\/[\u0021-\u007e]*\/)([\w+=,.@-]{1,128})$/;

/** The policy an ARN names (an AWS managed one or this account's), undefined for none; InvalidInput for no policy ARN at all. */
export async function resolvePolicy(options: IamServiceOptions, context: RequestContext, arn: string): Promise<ResolvedPolicy | undefined> {
  const match = POLICY_ARN.exec(arn);
  // wording not confirmed
  if (!match) throw invalidInput(`ARN ${arn} is not valid.`);
  const [, partition, account, , name = ""] = match;
  if (account === "aws") {
    const managed = awsManagedPolicy(arn);
    return managed && { kind: "aws", policy: managed };
  }
  if (partition !== context.partition || account !== context.accountId) return undefined;
  const policy = await options.iam.getPolicy(name);
  // Names are matched in any case, the path too must be the policy's.
  return policy && policy.arn.toLowerCase() === arn.toLowerCase() ? { kind: "local", policy } : undefined;
}

/**
 * Whether a user or role ARN named as a trust policy's principal exists (other accounts' cannot be
 * known: yes). Ask with the transaction that saves the policy: an entity deleted between the check
 * and the write would leave its ARN in the policy, and a new entity of that name would be trusted.
 */
export async function principalExists(iam: IamRepository, context: Pick<RequestContext, "accountId">, arn: string): Promise<boolean> {
  const match = /^arn:[a-z-]+:iam::([0-9]{12}):(user|role)(\/(?:.*\/)?)([^/]+)$/.exec(arn);
  if (!match) return true;
  const [, account, type, , name = ""] = match;
  if (account !== context.accountId) return true;
  const entity = type === "role" ? await iam.getRole(name) : await iam.getUser(name);
  return entity !== undefined && entity.arn === arn;
}
