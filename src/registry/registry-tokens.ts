// The registry's credentials: what GetAuthorizationToken hands out as the password of user "AWS"
// (and the bearer token endpoint hands back). A token is an HMAC-SHA256-signed, expiring claim
// naming the account, so the server verifies it without storing it:
//   "v1." base64url(JSON {a: accountId, e: expiresAtMs, n: nonce, r?, p?, o?}) "." base64url(HMAC(key, payload))
// A token may be narrowed (the pull credentials a task's agent gets): r lists the only repositories
// it opens, p says pull only, o names the role it was issued for (for the record).
// A token issued to an IAM user or role session (not the root) is "v2." with the same layout and
// one more claim, i (token-identity.ts): the /v2/ route asks that identity's policies about each
// request. It is a new version rather than a new claim in v1 so that a server that predates it (a
// replica mid-upgrade) refuses the token instead of ignoring the claim and opening the whole
// account; root tokens and narrowed pull tokens stay "v1", byte for byte what they were.
// The key is 32 random bytes that `berth server` keeps in the store, sealed under the store key
// (src/cli/shared-control-plane-state.ts): every replica verifies what any replica issued, and a
// restart keeps issued tokens valid.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { CallerIdentity } from "../core/iam/index.js";
import { identityClaim, identityOfClaim } from "./token-identity.js";

export interface IssuedToken {
  readonly password: string;
  readonly expiresAt: number;
}

/** What a narrowed token may do; a token without a grant opens the whole account, push included. */
export interface TokenGrant {
  readonly repositories: readonly string[];
  readonly pullOnly: boolean;
  readonly roleArn?: string;
}

/** A user or role session a token was issued to; its policies decide each request. */
export type TokenIdentity = Exclude<CallerIdentity, { kind: "root" }>;

export type TokenCheck =
  | { readonly ok: true; readonly accountId: string; readonly expiresAt: number; readonly grant?: TokenGrant; readonly identity?: TokenIdentity }
  | { readonly ok: false; readonly reason: "invalid" | "expired" };

const VERSION = "v1";
const IDENTITY_VERSION = "v2";

export class RegistryTokens {
  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
  ) {}

  /** A token of `accountId` valid `ttlMs`; with a grant it is narrowed, with an identity that identity's policies decide (never both). */
  issue(accountId: string, ttlMs: number, grant?: TokenGrant, identity?: TokenIdentity): IssuedToken {
    return this.issueUntil(accountId, this.clock.now() + ttlMs, grant, identity);
  }

  /** A token that expires at an instant, not after a span: one that must die with something else reads the clock once. */
  issueUntil(accountId: string, expiresAt: number, grant?: TokenGrant, identity?: TokenIdentity): IssuedToken {
    if (grant && identity) throw new Error("a registry token carries a grant or an identity, not both");
    const claims = {
      a: accountId,
      e: expiresAt,
      n: randomBytes(9).toString("base64url"),
      ...(grant ? { r: [...grant.repositories], p: grant.pullOnly ? 1 : 0, ...(grant.roleArn ? { o: grant.roleArn } : {}) } : {}),
      ...(identity ? { i: identityClaim(identity) } : {}),
    };
    const version = identity ? IDENTITY_VERSION : VERSION;
    const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return { password: `${version}.${payload}.${this.sign(version, payload)}`, expiresAt };
  }

  verify(password: string): TokenCheck {
    const [version, payload, signature, ...rest] = password.split(".");
    if ((version !== VERSION && version !== IDENTITY_VERSION) || !payload || !signature || rest.length > 0) return { ok: false, reason: "invalid" };
    const expected = Buffer.from(this.sign(version, payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "invalid" };
    let claims: { a?: unknown; e?: unknown; r?: unknown; p?: unknown; o?: unknown; i?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
    } catch {
      return { ok: false, reason: "invalid" };
    }
    if (typeof claims.a !== "string" || typeof claims.e !== "number") return { ok: false, reason: "invalid" };
    if (claims.e <= this.clock.now()) return { ok: false, reason: "expired" };
    if (version === IDENTITY_VERSION) {
      // An identity token is exactly that: a grant in it, or an identity that does not decode, is no token of ours.
      const identity = claims.r === undefined ? identityOfClaim(claims.i, claims.a) : undefined;
      return identity ? { ok: true, accountId: claims.a, expiresAt: claims.e, identity } : { ok: false, reason: "invalid" };
    }
    if (claims.i !== undefined) return { ok: false, reason: "invalid" };
    if (claims.r === undefined) return { ok: true, accountId: claims.a, expiresAt: claims.e };
    if (!Array.isArray(claims.r) || !claims.r.every((name) => typeof name === "string")) return { ok: false, reason: "invalid" };
    const grant: TokenGrant = { repositories: claims.r as string[], pullOnly: claims.p !== 0, ...(typeof claims.o === "string" ? { roleArn: claims.o } : {}) };
    return { ok: true, accountId: claims.a, expiresAt: claims.e, grant };
  }

  private sign(version: string, payload: string): string {
    return createHmac("sha256", this.key).update(`${version}.${payload}`).digest("base64url");
  }
}
