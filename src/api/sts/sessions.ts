// AssumeRole and GetSessionToken (STS API reference): temporary credentials, issued by
// control/role-sessions.ts, which evaluates the role's trust policy with the caller's own policies
// and bounds the duration (the role's MaxSessionDuration; an hour when a role session assumes a
// role). The answer's Expiration is when the credentials stop working at the gateway.
import type { AssumeRoleRequest, AssumeRoleResponse, GetSessionTokenRequest, GetSessionTokenResponse } from "@aws-sdk/client-sts";
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

export function sessionHandlers(sessions: RoleSessions) {
  return {
    async AssumeRole(input: AssumeRoleRequest, context: RequestContext): Promise<AssumeRoleResponse> {
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
