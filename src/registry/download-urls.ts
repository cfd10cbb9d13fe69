// The URLs GetDownloadUrlForLayer answers. ECR's is a pre-signed S3 URL: whoever holds it fetches
// the layer until it expires, with no credentials of their own. Berth's is the same idea on its own
// listener: the /v2/ blob URL with a signature in the query,
//   /v2/<name>/blobs/<digest>?X-Berth-Expires=<ms>&X-Berth-Identity=<claim>&X-Berth-Signature=<HMAC>
// The signature covers the repository, the digest, the expiry and the identity the URL was issued
// to (absent for the root), so it opens that one blob, for that long, and nothing else: not another
// blob, not a push, not the repository's manifests. An identity's policies are asked again when the
// URL is used (distribution-route.ts), as a pre-signed request acts with its signer's permissions
// at the time it is made. The key is derived from the registry token key, so every replica checks
// what any replica signed.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { CallerIdentity } from "../core/iam/index.js";
import type { TokenIdentity } from "./registry-tokens.js";
import { identityClaim, identityOfClaim } from "./token-identity.js";

/** How long a download URL works. ECR does not document its URLs' lifetime; long enough for a slow large layer to start. */
export const DOWNLOAD_URL_TTL_MS = 15 * 60_000;
const EXPIRES = "X-Berth-Expires";
const IDENTITY = "X-Berth-Identity";
const SIGNATURE = "X-Berth-Signature";
/** An identity claim is a few ARNs (and a session policy of at most 2,048 characters): anything longer is not ours. */
const MAX_IDENTITY_PARAM = 8_192;

export type DownloadCheck =
  { readonly ok: true; readonly identity: TokenIdentity | undefined } | { readonly ok: false; readonly reason: "invalid" | "expired" };

export class DownloadUrls {
  private readonly key: Buffer;

  constructor(
    tokenKey: Buffer,
    private readonly clock: Pick<Clock, "now">,
    private readonly accountId: string,
  ) {
    // Its own key: a download signature is never a valid registry password, nor the other way round.
    this.key = createHmac("sha256", tokenKey).update("berth registry layer download urls v1").digest();
  }

  /** The query of a URL that serves `digest` of `repository` to `caller` for DOWNLOAD_URL_TTL_MS. */
  sign(repository: string, digest: string, caller: CallerIdentity): string {
    const expires = String(this.clock.now() + DOWNLOAD_URL_TTL_MS);
    const identity = caller.kind === "root" ? "" : Buffer.from(JSON.stringify(identityClaim(caller))).toString("base64url");
    const query = new URLSearchParams({ [EXPIRES]: expires, ...(identity ? { [IDENTITY]: identity } : {}) });
    query.set(SIGNATURE, this.signature(repository, digest, expires, identity));
    return query.toString();
  }

  /** Whether `url` carries a download signature at all (then it is checked, never ignored). */
  static isSigned(url: URL): boolean {
    return url.searchParams.has(SIGNATURE) || url.searchParams.has(EXPIRES) || url.searchParams.has(IDENTITY);
  }

  verify(url: URL, repository: string, digest: string): DownloadCheck {
    const expires = url.searchParams.get(EXPIRES) ?? "";
    const identity = url.searchParams.get(IDENTITY) ?? "";
    const given = Buffer.from(url.searchParams.get(SIGNATURE) ?? "");
    if (!/^\d{1,15}$/.test(expires) || identity.length > MAX_IDENTITY_PARAM) return { ok: false, reason: "invalid" };
    const expected = Buffer.from(this.signature(repository, digest, expires, identity));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "invalid" };
    if (Number(expires) <= this.clock.now()) return { ok: false, reason: "expired" };
    if (identity === "") return { ok: true, identity: undefined };
    let claim: unknown;
    try {
      claim = JSON.parse(Buffer.from(identity, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "invalid" };
    }
    const decoded = identityOfClaim(claim, this.accountId);
    return decoded ? { ok: true, identity: decoded } : { ok: false, reason: "invalid" };
  }

  private signature(repository: string, digest: string, expires: string, identity: string): string {
    // Fields joined by a byte none of them may contain (names, digests, digits, base64url).
    return createHmac("sha256", this.key).update(`${repository}\n${digest}\n${expires}\n${identity}`).digest("base64url");
  }
}
