import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilters, filtersReadTags, MAX_FILTER_VALUES, MAX_FILTERS, wildcardMatcher } from "./filters.js";

interface Thing {
  readonly id: string;
  readonly cidrs: readonly string[];
  readonly isDefault: boolean;
}
const fields = { "thing-id": (t: Thing) => t.id, cidr: (t: Thing) => t.cidrs, "is-default": (t: Thing) => t.isDefault };
const a: Thing = { id: "vpc-0aa", cidrs: ["10.0.0.0/16"], isDefault: true };
const b: Thing = { id: "vpc-0bb", cidrs: ["10.1.0.0/16", "10.2.0.0/16"], isDefault: false };
const noTags = new Map<string, string>();

test("wildcards: * is any run, ? one character, backslash escapes", () => {
  assert.equal(wildcardMatcher("vpc-*")("vpc-0aa"), true);
  assert.equal(wildcardMatcher("vpc-?aa")("vpc-0aa"), true);
  assert.equal(wildcardMatcher("vpc-?aa")("vpc-00aa"), false);
  assert.equal(wildcardMatcher("*a*b*")("xxaxxbxx"), true);
  assert.equal(wildcardMatcher("*a*b")("xxaxxbxx"), false);
  assert.equal(wildcardMatcher("a\\*")("a*"), true);
  assert.equal(wildcardMatcher("a\\*")("ab"), false);
  assert.equal(wildcardMatcher("")(""), true);
  assert.equal(wildcardMatcher("*")(""), true);
});

test("a pathological pattern stays fast (no regular expression from caller text)", () => {
  const started = Date.now();
  assert.equal(wildcardMatcher("*a".repeat(500) + "b")("a".repeat(1000)), false);
  assert.ok(Date.now() - started < 1000);
});

test("values are OR'ed within a filter, filters AND'ed", () => {
  const either = compileFilters([{ Name: "thing-id", Values: ["vpc-0aa", "vpc-0bb"] }], fields);
  assert.deepEqual(
    [a, b].filter((t) => either(t, noTags)),
    [a, b],
  );
  const both = compileFilters(
    [
      { Name: "thing-id", Values: ["vpc-0aa", "vpc-0bb"] },
      { Name: "is-default", Values: ["false"] },
    ],
    fields,
  );
  assert.deepEqual(
    [a, b].filter((t) => both(t, noTags)),
    [b],
  );
});

test("a multi-valued field matches when any of its values does", () => {
  const match = compileFilters([{ Name: "cidr", Values: ["10.2.*"] }], fields);
  assert.deepEqual(
    [a, b].filter((t) => match(t, noTags)),
    [b],
  );
});

test("tag:<key>, tag-key and tag-value read the resource's tags", () => {
  const tags = new Map([["Name", "web"]]);
  assert.equal(compileFilters([{ Name: "tag:Name", Values: ["w*"] }], fields)(a, tags), true);
  assert.equal(compileFilters([{ Name: "tag:Name", Values: ["db"] }], fields)(a, tags), false);
  assert.equal(compileFilters([{ Name: "tag:Other", Values: ["*"] }], fields)(a, tags), false);
  assert.equal(compileFilters([{ Name: "tag-key", Values: ["Name"] }], fields)(a, tags), true);
  assert.equal(compileFilters([{ Name: "tag-value", Values: ["web"] }], fields)(a, tags), true);
  assert.equal(filtersReadTags([{ Name: "tag:Name", Values: [] }]), true);
  assert.equal(filtersReadTags([{ Name: "thing-id", Values: [] }]), false);
});

test("an unknown filter name is refused as EC2 does", () => {
  assert.throws(() => compileFilters([{ Name: "bogus", Values: ["x"] }], fields), { name: "InvalidParameterValue", message: "The filter 'bogus' is invalid" });
  assert.throws(() => compileFilters([{ Name: "constructor", Values: ["x"] }], fields), { name: "InvalidParameterValue" });
  assert.throws(() => compileFilters([{ Name: "tag:", Values: ["x"] }], fields), { name: "InvalidParameterValue" });
});

test("huge filter lists are refused before any matching", () => {
  const many = Array.from({ length: MAX_FILTERS + 1 }, () => ({ Name: "thing-id", Values: ["x"] }));
  assert.throws(() => compileFilters(many, fields), { name: "InvalidParameterValue" });
  const values = Array.from({ length: MAX_FILTER_VALUES + 1 }, (_, i) => `v${i}`);
  assert.throws(() => compileFilters([{ Name: "thing-id", Values: values }], fields), { name: "InvalidParameterValue" });
});

test("a filter with no values matches nothing", () => {
  assert.equal(compileFilters([{ Name: "thing-id", Values: [] }], fields)(a, noTags), false);
});
