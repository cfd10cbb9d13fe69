import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidDigestError, isContentDigest, parseContentDigest } from "./content-digest.js";

const hex64 = "a".repeat(64);

test("accepts sha256 and sha512 in canonical lowercase hex", () => {
  assert.deepEqual(parseContentDigest(`sha256:${hex64}`, "layer"), { algorithm: "sha256", hex: hex64 });
  assert.deepEqual(parseContentDigest(`sha512:${"0".repeat(128)}`, "layer"), { algorithm: "sha512", hex: "0".repeat(128) });
});

for (const bad of [
  "sha256:../../..",
  `sha256:${hex64}:../../x`,
  `sha256:${hex64}/../x`,
  `sha256:${hex64}\n`,
  `sha256:${hex64.toUpperCase()}`,
  `sha384:${"a".repeat(96)}`,
  `sha256:${hex64.slice(1)}`,
  `sha512:${hex64}`,
  "",
  `md5:${hex64}`,
]) {
  test(`refuses ${JSON.stringify(bad)}`, () => {
    assert.equal(isContentDigest(bad), false);
    assert.throws(
      () => parseContentDigest(bad, "layer"),
      (error: Error) => error instanceof InvalidDigestError && error.message.startsWith(`invalid layer digest ${JSON.stringify(bad)}`),
    );
  });
}

test("refuses what is not a string", () => {
  assert.equal(isContentDigest(undefined), false);
  assert.throws(() => parseContentDigest({ toString: () => "sha256:x" }, "config"), InvalidDigestError);
});
