import { test } from "node:test";
import assert from "node:assert/strict";
import { formatJoinToken, parseJoinToken } from "./join-token.js";

const pin = "ab".repeat(32);

test("a join token carries the CA pin after its secret, and only the secret goes on the wire", () => {
  assert.deepEqual(parseJoinToken(formatJoinToken("s3cret-_Token", pin)), { secret: "s3cret-_Token", caSha256: pin });
  assert.deepEqual(parseJoinToken("plain-token\n"), { secret: "plain-token", caSha256: undefined });
  assert.equal(formatJoinToken("t", undefined), "t");
});

test("a mangled pin is refused rather than dropped (the agent would trust the system roots instead)", () => {
  assert.throws(() => parseJoinToken(`tok.sha256:${pin.slice(1)}`), /sha256:<64 hex digits>/);
  assert.throws(() => parseJoinToken(`tok.md5:${pin}`), /sha256/);
  assert.throws(() => parseJoinToken("has space"), /not one/);
});
