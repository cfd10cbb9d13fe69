import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { RegistryTokens } from "./registry-tokens.js";

const clockAt = (ms: number): Clock & { ms: number } => {
  const clock = { ms, now: () => clock.ms, sleep: async () => undefined };
  return clock;
};

test("a token verifies until its expiry and names its account", () => {
  const clock = clockAt(1_000_000);
  const tokens = new RegistryTokens(randomBytes(32), clock);
  const issued = tokens.issue("123456789012", 60_000);
  assert.equal(issued.expiresAt, 1_060_000);
  assert.deepEqual(tokens.verify(issued.password), { ok: true, accountId: "123456789012", expiresAt: 1_060_000 });
  clock.ms = 1_060_000;
  assert.deepEqual(tokens.verify(issued.password), { ok: false, reason: "expired" });
});

test("a token issued until an instant expires exactly then, however the clock moves while it is made", () => {
  // A clock that ticks on every read: a span added to a second reading would outlive the instant by a tick.
  const clock = clockAt(1_000_000);
  const ticking = { ...clock, now: () => ++clock.ms };
  const tokens = new RegistryTokens(randomBytes(32), ticking);
  const issued = tokens.issueUntil("123456789012", 1_008_000);
  assert.equal(issued.expiresAt, 1_008_000);
  assert.deepEqual(tokens.verify(issued.password), { ok: true, accountId: "123456789012", expiresAt: 1_008_000 });
});

test("a token signed with another key, or altered, is invalid", () => {
  const clock = clockAt(0);
  const ours = new RegistryTokens(randomBytes(32), clock);
  const theirs = new RegistryTokens(randomBytes(32), clock);
  const issued = theirs.issue("123456789012", 60_000);
  assert.deepEqual(ours.verify(issued.password), { ok: false, reason: "invalid" });
  const [version, payload, signature] = ours.issue("123456789012", 60_000).password.split(".") as [string, string, string];
  // Extend the expiry in the payload and keep the old signature.
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { e: number };
  const forged = Buffer.from(JSON.stringify({ ...claims, e: claims.e * 2 })).toString("base64url");
  assert.deepEqual(ours.verify(`${version}.${forged}.${signature}`), { ok: false, reason: "invalid" });
  assert.deepEqual(ours.verify("garbage"), { ok: false, reason: "invalid" });
  assert.deepEqual(ours.verify(""), { ok: false, reason: "invalid" });
});

test("a narrowed token carries its repositories, pull-only flag and role; a plain one carries no grant", () => {
  const tokens = new RegistryTokens(randomBytes(32), clockAt(0));
  const grant = { repositories: ["web", "team/api"], pullOnly: true, roleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole" };
  assert.deepEqual(tokens.verify(tokens.issue("123456789012", 60_000, grant).password), { ok: true, accountId: "123456789012", expiresAt: 60_000, grant });
  const wide = tokens.verify(tokens.issue("123456789012", 60_000).password);
  assert.ok(wide.ok && wide.grant === undefined);
});

const ACCOUNT = "123456789012";
const user = { kind: "user" as const, arn: `arn:aws:iam::${ACCOUNT}:user/team/alice`, account: ACCOUNT, userName: "alice" };
const roleSession = {
  kind: "role-session" as const,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/builder/ci-42`,
  account: ACCOUNT,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/ci/builder`,
  roleName: "builder",
  roleId: "AROAEXAMPLEEXAMPLE01",
  sessionName: "ci-42",
  sessionPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}',
};

/** A token of `tokens` over claims chosen by the test (what a holder of the key could sign). */
function signed(key: Buffer, version: string, claims: object): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${version}.${payload}.${createHmac("sha256", key).update(`${version}.${payload}`).digest("base64url")}`;
}

test("a token issued to a user or role session is v2 and carries exactly that identity; root and narrowed tokens stay v1", () => {
  const tokens = new RegistryTokens(randomBytes(32), clockAt(0));
  const { sessionPolicy: _, ...withoutPolicy } = roleSession;
  // A user's unique id, when the identity has one, goes with it.
  const withUserId = { ...user, session: true, userId: "AIDAEXAMPLEEXAMPLE01" };
  for (const identity of [user, { ...user, session: true }, withUserId, roleSession, withoutPolicy]) {
    const issued = tokens.issue(ACCOUNT, 60_000, undefined, identity);
    assert.match(issued.password, /^v2\./);
    assert.deepEqual(tokens.verify(issued.password), { ok: true, accountId: ACCOUNT, expiresAt: 60_000, identity });
  }
  assert.match(tokens.issue(ACCOUNT, 60_000).password, /^v1\./);
  assert.match(tokens.issue(ACCOUNT, 60_000, { repositories: ["web"], pullOnly: true }).password, /^v1\./);
  assert.throws(() => tokens.issue(ACCOUNT, 60_000, { repositories: ["web"], pullOnly: true }, user));
});

test("an identity token relabelled v1, a v1 token given an identity, a v2 token without one or with a grant, are invalid", () => {
  const key = randomBytes(32);
  const tokens = new RegistryTokens(key, clockAt(0));
  const [, payload, signature] = tokens.issue(ACCOUNT, 60_000, undefined, user).password.split(".") as [string, string, string];
  // The version is under the signature: the claim cannot be smuggled into a v1 token, whose verifier would ignore it.
  assert.deepEqual(tokens.verify(`v1.${payload}.${signature}`), { ok: false, reason: "invalid" });
  const base = { a: ACCOUNT, e: 60_000, n: "x" };
  const invalid = { ok: false, reason: "invalid" };
  assert.deepEqual(tokens.verify(signed(key, "v1", { ...base, i: { u: user.arn } })), invalid);
  assert.deepEqual(tokens.verify(signed(key, "v2", base)), invalid);
  assert.deepEqual(tokens.verify(signed(key, "v2", { ...base, i: { u: user.arn }, r: ["web"], p: 1 })), invalid);
  assert.deepEqual(tokens.verify(signed(key, "v3", { ...base, i: { u: user.arn } })), invalid);
});

test("an identity claim that does not decode to a principal of the token's own account is invalid", () => {
  const key = randomBytes(32);
  const tokens = new RegistryTokens(key, clockAt(0));
  const base = { a: ACCOUNT, e: 60_000, n: "x" };
  const role = { r: roleSession.arn, o: roleSession.roleArn, d: roleSession.roleId };
  const bad: unknown[] = [
    null,
    "alice",
    [user.arn],
    { u: `arn:aws:iam::${ACCOUNT}:root` }, // the root is never an identity claim
    { u: "arn:aws:iam::210987654321:user/alice" }, // another account
    { u: `arn:aws:iam::${ACCOUNT}:role/builder` },
    { u: user.arn, s: true },
    { u: user.arn, extra: 1 },
    { u: user.arn, d: 5 },
    { ...role, o: `arn:aws:iam::${ACCOUNT}:role/other` }, // the session is not of that role
    { ...role, r: "arn:aws:sts::210987654321:assumed-role/builder/ci-42" },
    { ...role, r: `arn:aws:sts::${ACCOUNT}:assumed-role/builder/x/y` },
    { ...role, d: 7 },
    { ...role, p: {} },
    { ...role, u: user.arn },
  ];
  for (const claim of bad) assert.deepEqual(tokens.verify(signed(key, "v2", { ...base, i: claim })), { ok: false, reason: "invalid" }, JSON.stringify(claim));
  // The same claims well formed decode to the identities.
  const good = tokens.verify(signed(key, "v2", { ...base, i: role }));
  assert.ok(good.ok && good.identity?.kind === "role-session" && good.identity.roleName === "builder" && good.identity.sessionName === "ci-42");
});

test("an identity token expires like any other", () => {
  const clock = clockAt(0);
  const tokens = new RegistryTokens(randomBytes(32), clock);
  const issued = tokens.issue(ACCOUNT, 5_000, undefined, roleSession);
  clock.ms = 5_000;
  assert.deepEqual(tokens.verify(issued.password), { ok: false, reason: "expired" });
});
