import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilters, filtersReadTags, MAX_FILTER_VALUE_LENGTH, MAX_FILTER_VALUES, MAX_FILTERS, wildcardMatcher } from "./filters.js";

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
  const tooMany = { name: "FilterLimitExceeded", message: "The maximum number of filter values specified on a single call is 200" };
  assert.throws(() => compileFilters([{ Name: "thing-id", Values: values }], fields), tooMany);
  // EC2 counts the values of the whole call, not of each filter.
  const split = [
    { Name: "thing-id", Values: values.slice(0, 100) },
    { Name: "cidr", Values: values.slice(100) },
  ];
  assert.throws(() => compileFilters(split, fields), tooMany);
  const long = { Name: "thing-id", Values: ["x".repeat(MAX_FILTER_VALUE_LENGTH + 1)] };
  assert.throws(() => compileFilters([long], fields), { name: "FilterLimitExceeded", message: "The maximum length for a filter value is 255 characters" });
});

test("hostile wildcard values against long tag values are cut off by the request's step budget, not the event loop", () => {
  // `*a…ab` against `a…a` costs |pattern| × |text| steps per match, and each filter value is tried
  // against each tag of each resource: without a shared budget this ran for tens of seconds.
  const hostile = "*" + "a".repeat(128) + "b";
  const tags = new Map(Array.from({ length: 49 }, (_, i) => [`k${i}`, "a".repeat(256)] as const));
  const started = Date.now();
  assert.throws(
    () =>
      compileFilters(
        Array.from({ length: 24 }, () => ({ Name: "tag-value", Values: Array(199).fill(hostile) })),
        fields,
      ),
    {
      name: "FilterLimitExceeded",
    },
  );
  const matches = compileFilters([{ Name: "tag-value", Values: Array(MAX_FILTER_VALUES).fill(hostile) }], fields);
  assert.throws(() => Array.from({ length: 20 }, () => a).filter((thing) => matches(thing, tags)), {
    name: "InvalidParameterValue",
    message: /too costly/,
  });
  // Without the budget this takes tens of seconds; with it, well under a second on a quiet machine.
  // The bound leaves room for a loaded 2-core CI machine (634 ms was seen there) and still fails
  // without the budget.
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
});

test("an honest filter set over many resources stays within the budget", () => {
  const tags = new Map([["Name", "web-server-0001"]]);
  const ids = Array.from({ length: MAX_FILTER_VALUES - 1 }, (_, i) => `vpc-${i}`);
  const matches = compileFilters(
    [
      { Name: "thing-id", Values: ids },
      { Name: "tag:Name", Values: ["web-*"] },
    ],
    fields,
  );
  const things = Array.from({ length: 10_000 }, (_, i) => ({ ...a, id: `vpc-${i % 400}` }));
  assert.equal(things.filter((thing) => matches(thing, tags)).length, 25 * ids.length);
});

test("a filter with no values matches nothing", () => {
  assert.equal(compileFilters([{ Name: "thing-id", Values: [] }], fields)(a, noTags), false);
});
