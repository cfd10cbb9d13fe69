// The gateway's access-key lookup: long-term keys (the root's, IAM users') in access_keys, and
// temporary credentials (ASIA…, role_sessions) with the digest of their session token and expiry.
// Resolved keys are cached for PRINCIPAL_CACHE_MS: a store read and an unseal per request would cost
// the hot path, and a deleted or deactivated key stops working within that time on every replica.
import type { Principal } from "../api/gateway/gateway.js";
import { identityOfKey, parseCallerIdentity } from "../core/iam/index.js";
import { sessionTokenDigest } from "../control/role-sessions.js";
import type { Store } from "../store/index.js";
import type { SecretBox } from "./root-credentials.js";

/**
 * How long a resolved access key is trusted without a store read. Short, because a key revoked on
 * one replica must stop working on every replica within seconds; a store read and an unseal every
 * 5 s per key in use cost nothing that shows.
 */
const PRINCIPAL_CACHE_MS = 5_000;
const MAX_CACHED = 10_000;

export function principalResolver(
  store: Pick<Store, "accessKeys" | "roleSessions" | "iam">,
  box: SecretBox,
): (accessKeyId: string) => Promise<Principal | undefined> {
  const principals = new Map<string, { principal: Principal | undefined; expiresAt: number }>();
  return async (accessKeyId) => {
    const now = Date.now();
    const cached = principals.get(accessKeyId);
    if (cached && cached.expiresAt > now) return cached.principal;
    principals.delete(accessKeyId);
    const principal = accessKeyId.startsWith("ASIA") ? await sessionPrincipal(store, box, accessKeyId) : await keyPrincipal(store, box, accessKeyId);
    if (principal) {
      if (principals.size >= MAX_CACHED) principals.clear();
      principals.set(accessKeyId, { principal, expiresAt: now + PRINCIPAL_CACHE_MS });
    }
    return principal;
  };
}

async function keyPrincipal(store: Pick<Store, "accessKeys" | "iam">, box: SecretBox, accessKeyId: string): Promise<Principal | undefined> {
  const stored = await store.accessKeys.get(accessKeyId);
  if (!stored) return undefined;
  let identity = identityOfKey(stored.principalArn, stored.accountId);
  if (!identity) return undefined;
  if (identity.kind === "user") {
    // The user's unique id goes with its identity (registry tokens, sessions): a user deleted and
    // made again under the same name is another user.
    const user = await store.iam.getUser(identity.userName);
    if (user === undefined || user.arn !== identity.arn) return undefined;
    identity = { ...identity, userId: user.userId };
  }
  return { secretAccessKey: box.unseal(stored.secretCiphertext), accountId: stored.accountId, principalArn: stored.principalArn, identity };
}

async function sessionPrincipal(store: Pick<Store, "roleSessions">, box: SecretBox, accessKeyId: string): Promise<Principal | undefined> {
  const stored = await store.roleSessions.get(accessKeyId);
  if (!stored) return undefined;
  const identity = parseCallerIdentity(stored.identity);
  if (!identity || identity.arn !== stored.principalArn || identity.account !== stored.accountId) return undefined;
  return {
    secretAccessKey: box.unseal(stored.secretCiphertext),
    accountId: stored.accountId,
    principalArn: stored.principalArn,
    identity,
    session: { tokenSha256: stored.tokenSha256, expiresAt: stored.expiresAt, digest: sessionTokenDigest },
  };
}
