// AssumeRole and GetSessionToken (STS API reference): temporary credentials, issued by
// control/role-sessions.ts, which evaluates the role's trust policy with the caller's own policies
// and bounds the duration (the role's MaxSessionDuration; an hour when a role session assumes a
// role). The answer's Expiration is when the credentials stop working at the gateway.
import type { AssumeRoleRequest, AssumeRoleResponse, GetSessionTokenRequest, GetSessionTokenResponse } from "@aws-sdk/client-sts";
import { AwsError } from "../../core/errors.js";
import type { IssuedSession, RoleSessions } from "../../control/role-sessions.js";
import type { RequestContext } from "../service-module.js";

function credentials(session: IssuedSession) {
  return {
    AccessKeyId: session.accessKeyId,
    SecretAccessKey: session.secretAccessKey,
    SessionToken: session.sessionToken,
    Expiration: new Date(session.expiration),
  };
}

/**
 * Members of AssumeRole Berth does not serve, refused rather than ignored: a session asked for with
 * managed session policies and handed the role's whole permissions would be wider than asked.
 */
function refuseUnserved(input: AssumeRoleRequest): void {
  const unserved: [string, unknown][] = [
    ["PolicyArns", input.PolicyArns?.length ? input.PolicyArns : undefined],
    ["Tags", input.Tags?.length ? input.Tags : undefined],
    ["TransitiveTagKeys", input.TransitiveTagKeys?.length ? input.TransitiveTagKeys : undefined],
    ["SourceIdentity", input.SourceIdentity],
    ["SerialNumber", input.SerialNumber],
    ["TokenCode", input.TokenCode],
    ["ProvidedContexts", input.ProvidedContexts?.length ? input.ProvidedContexts : undefined],
  ];
  for (const [member, value] of unserved) {
    if (value !== undefined) throw new AwsError("ValidationError", `Berth does not support ${member} on AssumeRole.`);
  }
}

export function sessionHandlers(sessions: RoleSessions) {
  return {
    async AssumeRole(input: AssumeRoleRequest, context: RequestContext): Promise<AssumeRoleResponse> {
      refuseUnserved(input);
      const issued = await sessions.assumeRole(context.caller, {
        roleArn: input.RoleArn ?? "",
        roleSessionName: input.RoleSessionName ?? "",
        durationSeconds: input.DurationSeconds,
        externalId: input.ExternalId,
        policy: input.Policy,
        sourceIp: context.sourceIp,
      });
      const identity = issued.identity;
      const assumedRoleId = identity.kind === "role-session" ? `${identity.roleId}:${identity.sessionName}` : "";
      return {
        Credentials: credentials(issued),
        AssumedRoleUser: { AssumedRoleId: assumedRoleId, Arn: identity.arn },
        ...(issued.packedPolicySize !== undefined ? { PackedPolicySize: issued.packedPolicySize } : {}),
        SourceIdentity: undefined,
      };
    },
    async GetSessionToken(input: GetSessionTokenRequest, context: RequestContext): Promise<GetSessionTokenResponse> {
      return { Credentials: credentials(await sessions.getSessionToken(context.caller, input.DurationSeconds)) };
    },
  };
}
