import { test } from "node:test";
import assert from "node:assert/strict";
import type { CallerIdentity } from "../core/iam/index.js";
import { DOWNLOAD_URL_TTL_MS, DownloadUrls } from "./download-urls.js";

const ACCOUNT = "123456789012";
const DIGEST = `sha256:${"a".repeat(64)}`;
const root: CallerIdentity = { kind: "root", arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT };
const user: CallerIdentity = { kind: "user", arn: `arn:aws:iam::${ACCOUNT}:user/ci`, account: ACCOUNT, userName: "ci" };

function urls(now: { value: number }, key = Buffer.alloc(32, 7)) {
  return new DownloadUrls(key, { now: () => now.value }, ACCOUNT);
}
const urlOf = (query: string, path = `/v2/app/blobs/${DIGEST}`) => new URL(`http://registry.invalid${path}?${query}`);

test("a signed URL opens its repository's blob for its lifetime, for the identity it names", () => {
  const now = { value: 1_000_000 };
  const signer = urls(now);
  const asRoot = signer.verify(urlOf(signer.sign("app", DIGEST, root)), "app", DIGEST);
  assert.deepEqual(asRoot, { ok: true, identity: undefined });
  const asUser = signer.verify(urlOf(signer.sign("app", DIGEST, user)), "app", DIGEST);
  assert.equal(asUser.ok && asUser.identity?.arn, user.arn);
  const query = signer.sign("app", DIGEST, root);
  now.value += DOWNLOAD_URL_TTL_MS;
  assert.deepEqual(signer.verify(urlOf(query), "app", DIGEST), { ok: false, reason: "expired" });
});

test("a URL checked against another blob, repository, key, expiry or identity is invalid", () => {
  const now = { value: 1_000_000 };
  const signer = urls(now);
  const query = signer.sign("app", DIGEST, user);
  assert.equal(signer.verify(urlOf(query), "app", `sha256:${"b".repeat(64)}`).ok, false);
  assert.equal(signer.verify(urlOf(query), "other", DIGEST).ok, false);
  assert.equal(urls(now, Buffer.alloc(32, 8)).verify(urlOf(query), "app", DIGEST).ok, false);
  const later = new URLSearchParams(query);
  later.set("X-Berth-Expires", String(now.value + 10 * DOWNLOAD_URL_TTL_MS));
  assert.equal(signer.verify(urlOf(later.toString()), "app", DIGEST).ok, false);
  const anonymous = new URLSearchParams(query);
  anonymous.delete("X-Berth-Identity");
  assert.equal(signer.verify(urlOf(anonymous.toString()), "app", DIGEST).ok, false, "dropping the identity does not make a root URL");
  for (const expires of ["", "-1", "1e99", "9".repeat(40)]) {
    const bad = new URLSearchParams(query);
    bad.set("X-Berth-Expires", expires);
    assert.equal(signer.verify(urlOf(bad.toString()), "app", DIGEST).ok, false, expires);
  }
  const huge = new URLSearchParams(query);
  huge.set("X-Berth-Identity", "A".repeat(100_000));
  assert.deepEqual(signer.verify(urlOf(huge.toString()), "app", DIGEST), { ok: false, reason: "invalid" });
  assert.equal(DownloadUrls.isSigned(urlOf("X-Berth-Signature=")), true);
  assert.equal(DownloadUrls.isSigned(urlOf("n=1")), false);
});
