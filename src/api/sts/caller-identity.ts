// GetCallerIdentity (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html):
// who signed the request. UserId is, as AWS documents it ("Unique identifiers" in the IAM user
// guide): the account id for the root user; the user's unique id (AIDA…) for an IAM user; the
// role's unique id and the session name (AROA…:session) for an assumed role. Berth keeps no IAM
// entities with their own ids, so a user's or role's id is derived from its ARN: stable, unique,
// of AWS's form (a prefix and 17 characters).
import { createHash } from "node:crypto";
import type { GetCallerIdentityRequest, GetCallerIdentityResponse } from "@aws-sdk/client-sts";
import type { RequestContext } from "../service-module.js";

const UNIQUE_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function uniqueId(prefix: "AIDA" | "AROA", arn: string): string {
  const digest = createHash("sha256").update(arn).digest();
  let id = prefix;
  for (let index = 0; index < 17; index++) id += UNIQUE_ID_ALPHABET[(digest[index] as number) & 31];
  return id;
}

/** The UserId AWS reports for a principal ARN. */
export function callerUserId(principalArn: string, accountId: string): string {
  const resource = principalArn.split(":").slice(5).join(":");
  if (resource === "root") return accountId;
  const assumed = /^assumed-role\/([^/]+)\/(.+)$/.exec(resource);
  if (assumed) {
    const [, role = "", session = ""] = assumed;
    const partition = principalArn.split(":")[1] ?? "aws";
    return `${uniqueId("AROA", `arn:${partition}:iam::${accountId}:role/${role}`)}:${session}`;
  }
  return uniqueId("AIDA", principalArn);
}

export async function getCallerIdentity(_input: GetCallerIdentityRequest, context: RequestContext): Promise<GetCallerIdentityResponse> {
  return {
    UserId: callerUserId(context.principalArn, context.accountId),
    Account: context.accountId,
    Arn: context.principalArn,
  };
}
