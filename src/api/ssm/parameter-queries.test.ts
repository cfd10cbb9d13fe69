import { test } from "node:test";
import assert from "node:assert/strict";
import type { ParameterRecord } from "../../store/index.js";
import { pageOf } from "./parameter-queries.js";

test("paging visits every parameter once whatever order the database returned them in (a non-C collation)", () => {
  // PostgreSQL under en_US ignores punctuation at first: "/a-c" before "/a/b" before "/a/d".
  const collated = ["/a-c", "/a/b", "/a-e", "/a/d", "/a0"].map((name) => ({ name }) as unknown as ParameterRecord);
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = pageOf(collated, 2, token);
    seen.push(...page.shown.map((parameter) => parameter.name));
    token = page.nextToken;
  } while (token);
  assert.deepEqual(seen, ["/a-c", "/a-e", "/a/b", "/a/d", "/a0"]);
});
