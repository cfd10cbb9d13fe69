import { test } from "node:test";
import assert from "node:assert/strict";
import type { Filter } from "@aws-sdk/client-secrets-manager";
import type { SecretRecord } from "../../store/index.js";
import { checkFilters, filterMatcher } from "./secret-listing.js";

test("at most 10 filters, each of at most 10 values", () => {
  const ten: Filter[] = Array.from({ length: 10 }, () => ({ Key: "all", Values: ["x"] }));
  assert.equal(checkFilters(ten).length, 10);
  assert.throws(() => checkFilters([...ten, { Key: "name", Values: ["x"] } as Filter]), { name: "ValidationException" });
  assert.throws(() => checkFilters([{ Key: "name" as Filter["Key"], Values: Array.from({ length: 11 }, () => "x") }]), { name: "ValidationException" });
});

test("an 'all' filter matches words of name, description and tags; '!' negates", () => {
  const secret = { name: "credsDatabase#892", description: "Prod thing", tags: [{ Key: "team", Value: "blue" }] } as unknown as SecretRecord;
  assert.equal(filterMatcher(<Filter[]>[{ Key: "all", Values: ["data"] }])(secret), true);
  assert.equal(filterMatcher(<Filter[]>[{ Key: "all", Values: ["prod blu"] }])(secret), true);
  assert.equal(filterMatcher(<Filter[]>[{ Key: "all", Values: ["red"] }])(secret), false);
  assert.equal(filterMatcher(<Filter[]>[{ Key: "all", Values: ["!red"] }])(secret), true);
  assert.equal(
    filterMatcher(<Filter[]>[
      { Key: "name", Values: ["creds"] },
      { Key: "tag-value", Values: ["gre", "bl"] },
    ])(secret),
    true,
  );
});
