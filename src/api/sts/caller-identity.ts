// GetCallerIdentity (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html):
// who signed the request. UserId is, as AWS documents it ("Unique identifiers" in the IAM user
// guide): the account id for the root user; the user's unique id (AIDA…) for an IAM user; the
// role's unique id and the session name (AROA…:session) for an assumed role. The ids are the ones
// IAM gave the user or role when it was created; callerUserId derives one from an ARN (stable, of
// AWS's form) only for a user key whose user the IAM store no longer knows.
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

/** GetCallerIdentity; a user's UserId is the id IAM gave it when `userIdOf` knows the user, as AWS reports it. */
export function callerIdentityHandler(userIdOf: (userName: string) => Promise<string | undefined>) {
  return async (_input: GetCallerIdentityRequest, context: RequestContext): Promise<GetCallerIdentityResponse> => {
    const caller = context.caller;
    let userId: string;
    if (caller.kind === "role-session") userId = `${caller.roleId}:${caller.sessionName}`;
    else if (caller.kind === "user") userId = (await userIdOf(caller.userName)) ?? callerUserId(caller.arn, caller.account);
    else userId = caller.account;
    return { UserId: userId, Account: context.accountId, Arn: caller.arn };
  };
}
