// IAM's errors (IAM API Reference, "Common Errors" and each action's Errors) in IAM's words. Texts
// seen verbatim in AWS answers quoted in public issue threads are unmarked; the others say
// "wording not confirmed". Statuses: NoSuchEntity 404, EntityAlreadyExists/DeleteConflict/
// LimitExceeded 409, MalformedPolicyDocument/ValidationError/InvalidInput 400, AccessDenied 403.
import { AwsError } from "../../core/errors.js";

export const noSuchEntity = (message: string) => new AwsError("NoSuchEntity", message, { httpStatus: 404 });
export const entityAlreadyExists = (message: string) => new AwsError("EntityAlreadyExists", message, { httpStatus: 409 });
export const deleteConflict = (message: string) => new AwsError("DeleteConflict", message, { httpStatus: 409 });
export const limitExceeded = (message: string) => new AwsError("LimitExceeded", message, { httpStatus: 409 });
export const validationError = (message: string) => new AwsError("ValidationError", message);
export const invalidInput = (message: string) => new AwsError("InvalidInput", message);

export const roleNotFound = (name: string) => noSuchEntity(`The role with name ${name} cannot be found.`);
export const userNotFound = (name: string) => noSuchEntity(`The user with name ${name} cannot be found.`);
export const rolePolicyNotFound = (name: string) => noSuchEntity(`The role policy with name ${name} cannot be found.`);
export const userPolicyNotFound = (name: string) => noSuchEntity(`The user policy with name ${name} cannot be found.`);
export const policyNotFound = (arn: string) => noSuchEntity(`Policy ${arn} was not found.`);
export const policyNotAttachable = (arn: string) => noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
// wording not confirmed (GetPolicyVersion / DeletePolicyVersion of a missing version)
export const policyVersionNotFound = (arn: string, versionId: string) =>
  noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
export const accessKeyNotFound = (id: string) => noSuchEntity(`The Access Key with id ${id} cannot be found.`);

export const roleExists = (name: string) => entityAlreadyExists(`Role with name ${name} already exists.`);
export const userExists = (name: string) => entityAlreadyExists(`User with name ${name} already exists.`);
export const policyExists = (name: string) => entityAlreadyExists(`A policy called ${name} already exists. Duplicate names are not allowed.`);

export const CONFLICTS = {
  inlinePolicies: "Cannot delete entity, must delete policies first.",
  attachedPolicies: "Cannot delete entity, must detach all policies first.",
  accessKeys: "Cannot delete entity, must delete access keys first.",
  policyAttached: "Cannot delete a policy attached to entities.",
  policyVersions:
    "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
  defaultVersion: "Cannot delete the default version of a policy.",
} as const;

/** IAM's account quotas ("IAM and AWS STS quotas"), as LimitExceeded names them. */
export const QUOTAS = {
  RolesPerAccount: 1000,
  UsersPerAccount: 5000,
  PoliciesPerAccount: 1500,
  PoliciesPerRole: 10,
  PoliciesPerUser: 10,
  AccessKeysPerUser: 2,
  VersionsPerPolicy: 5,
} as const;

/** "Cannot exceed quota for AccessKeysPerUser: 2" (the per-account ones: wording not confirmed). */
export const quotaExceeded = (quota: Exclude<keyof typeof QUOTAS, "VersionsPerPolicy">) => limitExceeded(`Cannot exceed quota for ${quota}: ${QUOTAS[quota]}`);

export const tooManyVersions = () =>
  limitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.");

/** An AWS managed policy cannot be changed or deleted. wording not confirmed (AWS's AccessDenied form). */
export const awsManagedReadOnly = (principalArn: string, action: string, arn: string) =>
  new AwsError("AccessDenied", `User: ${principalArn} is not authorized to perform: iam:${action} on resource: policy ${arn}`, { httpStatus: 403 });
