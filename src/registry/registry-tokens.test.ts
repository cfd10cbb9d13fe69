import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
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
