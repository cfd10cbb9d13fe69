import { test } from "node:test";
import assert from "node:assert/strict";
import { isTagImmutable, matchesWildcard } from "./tag-mutability.js";

test("a pattern without a star matches only itself", () => {
  assert.equal(matchesWildcard("latest", "latest"), true);
  assert.equal(matchesWildcard("latest", "latest2"), false);
  assert.equal(matchesWildcard("latest", "Latest"), false);
});

test("stars match any run of characters, the empty one too", () => {
  assert.equal(matchesWildcard("dev-*", "dev-"), true);
  assert.equal(matchesWildcard("dev-*", "dev-123"), true);
  assert.equal(matchesWildcard("dev-*", "prod-dev-1"), false);
  assert.equal(matchesWildcard("*-rc", "1.0-rc"), true);
  assert.equal(matchesWildcard("*-rc", "1.0-rc1"), false);
  assert.equal(matchesWildcard("*", "anything"), true);
  assert.equal(matchesWildcard("a*b*c", "abc"), true);
  assert.equal(matchesWildcard("a*b*c", "aXbYbZc"), true);
  assert.equal(matchesWildcard("a*b*c", "acb"), false);
  assert.equal(matchesWildcard("ab*ba", "aba"), false);
  assert.equal(matchesWildcard("**x**", "x"), true);
});

test("a hostile pattern costs no more than the tag and pattern lengths allow", () => {
  const pattern = `${"a*".repeat(63)}b`;
  const tag = "a".repeat(128);
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) assert.equal(matchesWildcard(pattern, tag), false);
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});

test("exclusion filters invert the repository's rule for the tags they match", () => {
  const filters = [{ filterType: "WILDCARD" as const, filter: "dev-*" }];
  assert.equal(isTagImmutable("MUTABLE", filters, "dev-1"), false);
  assert.equal(isTagImmutable("IMMUTABLE", filters, "dev-1"), true);
  assert.equal(isTagImmutable("IMMUTABLE_WITH_EXCLUSION", filters, "dev-1"), false);
  assert.equal(isTagImmutable("IMMUTABLE_WITH_EXCLUSION", filters, "v1.0"), true);
  assert.equal(isTagImmutable("MUTABLE_WITH_EXCLUSION", filters, "dev-1"), true);
  assert.equal(isTagImmutable("MUTABLE_WITH_EXCLUSION", filters, "v1.0"), false);
});
