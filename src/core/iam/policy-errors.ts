// IAM's policy validation errors and size quotas, in the words users see. Each text below was
// checked against real AWS responses quoted in public issue threads, unless marked
// "wording not confirmed". Quotas: IAM User Guide, "IAM and AWS STS quotas" (sizes count
// characters, whitespace excluded).

import { AwsError } from "../errors.js";

export const MESSAGES = {
  syntax: "Syntax errors in policy.",
  principalInIdentityPolicy: "Policy document should not specify a principal.",
  prohibitedField: (field: string) => `Has prohibited field ${field}`,
  // CreateRole with a trust statement that has no principal (seen verbatim, internals and all).
  noPrincipal: "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!",
  mustContainActions: "Policy statement must contain actions.",
  mustContainResources: "Policy statement must contain resources.",
  oneColon: "Actions/Condition can contain only one colon.",
  // wording not confirmed
  vendorPrefix: "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
  vendorWildcard: "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards",
  resourceArn: (resource: string) => `Resource ${resource} must be in ARN format or "*".`,
  iamRegion: (resource: string) => `IAM resource ${resource} cannot contain region information.`,
  sidUnique: "Statement IDs (SID) in a single policy must be unique.",
  sidAlphanumeric: "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
  // wording not confirmed (S3 answers "Missing required field Principal" for bucket policies)
  resourcePolicyPrincipal: "Missing required field Principal",
} as const;

/** MalformedPolicyDocument (HTTP 400), the error every IAM write of a bad policy answers. */
export function malformedPolicyDocument(message: string, cause?: unknown): AwsError {
  return new AwsError("MalformedPolicyDocument", message, { httpStatus: 400, cause });
}

/** Where a policy is stored decides its size quota and the LimitExceeded text. */
export type PolicyQuota =
  | { readonly kind: "managed" }
  | { readonly kind: "role-inline"; readonly roleName: string }
  | { readonly kind: "user-inline"; readonly userName: string }
  | { readonly kind: "trust"; readonly roleName: string };

export const POLICY_SIZE_LIMITS = { managed: 6144, "role-inline": 10240, "user-inline": 2048, trust: 2048 } as const;

/** Characters IAM counts toward a policy's size: all but whitespace. */
export function policySize(text: string): number {
  let size = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) size++;
  }
  return size;
}

function limitMessage(quota: PolicyQuota, limit: number): string {
  switch (quota.kind) {
    case "managed":
      return `Cannot exceed quota for PolicySize: ${limit}`;
    case "role-inline":
      return `Maximum policy size of ${limit} bytes exceeded for role ${quota.roleName}`;
    case "user-inline":
      return `Maximum policy size of ${limit} bytes exceeded for user ${quota.userName}`;
    default:
      // wording not confirmed
      return `Cannot exceed quota for ACLSizePerRole: ${limit}`;
  }
}

/** Throws LimitExceeded (HTTP 409, as IAM answers) when `text` is over its quota. */
export function assertPolicySize(text: string, quota: PolicyQuota): void {
  const limit = POLICY_SIZE_LIMITS[quota.kind];
  if (policySize(text) > limit) throw new AwsError("LimitExceeded", limitMessage(quota, limit), { httpStatus: 409 });
}
