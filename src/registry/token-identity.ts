// Who a registry token was issued to (GetAuthorizationToken called by an IAM user, a GetSessionToken
// session or a role session), as the token's compact claim "i". Only what cannot be derived is kept:
//   user:         {u: userArn, s?: 1 (a GetSessionToken session), d?: userId}   userName = the ARN's last segment
//   role session: {r: sessionArn, o: roleArn, d: roleId, p?: session policy}
//                 roleName = roleArn's last segment, sessionName = sessionArn's last segment
// The claim is signed, but decoding still checks every field (a key leak or a bug must not turn a
// malformed claim into some other principal): anything unexpected is no identity, and the token is refused.
// The unique ids (roleId, and a user's id when the identity knows it) let the Authorizer tell the
// entity the token was issued to from another one later made under the same name.
import type { CallerIdentity } from "../core/iam/index.js";
import { identityOfKey } from "../core/iam/index.js";

export type IdentityClaim =
  { readonly u: string; readonly s?: 1; readonly d?: string } | { readonly r: string; readonly o: string; readonly d: string; readonly p?: string };

/** The claim of a non-root identity; the root has none (its tokens stay what they always were). */
export function identityClaim(identity: Exclude<CallerIdentity, { kind: "root" }>): IdentityClaim {
  if (identity.kind === "user") {
    // A user identity may carry its unique id (sessions record it); when it does, so does the claim.
    const userId = "userId" in identity && typeof identity.userId === "string" ? identity.userId : undefined;
    return { u: identity.arn, ...(identity.session ? { s: 1 as const } : {}), ...(userId !== undefined ? { d: userId } : {}) };
  }
  return { r: identity.arn, o: identity.roleArn, d: identity.roleId, ...(identity.sessionPolicy !== undefined ? { p: identity.sessionPolicy } : {}) };
}

const ROLE_ARN = /^arn:([^:]+):iam::(\d{12}):role\/(?:[^:]*\/)?([\w+=,.@-]{1,64})$/;
const SESSION_ARN = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;

/** The identity a claim of account `account` names, or undefined when it is not a well-formed one. */
export function identityOfClaim(claim: unknown, account: string): Exclude<CallerIdentity, { kind: "root" }> | undefined {
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) return undefined;
  const fields = claim as Record<string, unknown>;
  const keys = Object.keys(fields);
  if (typeof fields.u === "string") {
    if (!keys.every((key) => ["u", "s", "d"].includes(key)) || (fields.s !== undefined && fields.s !== 1)) return undefined;
    if (fields.d !== undefined && typeof fields.d !== "string") return undefined;
    const identity = identityOfKey(fields.u, account);
    if (identity?.kind !== "user") return undefined;
    // Built apart from the return so it holds whichever fields the user variant of CallerIdentity declares.
    const decoded = { ...identity, ...(fields.s === 1 ? { session: true } : {}), ...(typeof fields.d === "string" ? { userId: fields.d } : {}) };
    return decoded;
  }
  if (typeof fields.r !== "string" || typeof fields.o !== "string" || typeof fields.d !== "string") return undefined;
  if (!keys.every((key) => ["r", "o", "d", "p"].includes(key)) || (fields.p !== undefined && typeof fields.p !== "string")) return undefined;
  const role = ROLE_ARN.exec(fields.o);
  const session = SESSION_ARN.exec(fields.r);
  if (!role || !session || role[2] !== account || session[2] !== account || role[1] !== session[1] || role[3] !== session[3]) return undefined;
  return {
    kind: "role-session",
    arn: fields.r,
    account,
    roleArn: fields.o,
    roleName: role[3] as string,
    roleId: fields.d,
    sessionName: session[4] as string,
    ...(typeof fields.p === "string" ? { sessionPolicy: fields.p } : {}),
  };
}
