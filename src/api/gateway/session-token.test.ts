import { test } from "node:test";
import assert from "node:assert/strict";
import { sessionTokenDigest } from "../../control/role-sessions.js";
import { checkSessionToken } from "./authenticate.js";
import type { Principal } from "./authenticate.js";

const root: Principal = {
  secretAccessKey: "x",
  accountId: "123456789012",
  principalArn: "arn:aws:iam::123456789012:root",
  identity: { kind: "root", arn: "arn:aws:iam::123456789012:root", account: "123456789012" },
};
const session = (expiresAt: number): Principal => ({
  ...root,
  session: { tokenSha256: sessionTokenDigest("the-token"), expiresAt, digest: sessionTokenDigest },
});

test("temporary credentials need their own token, and only until they expire", () => {
  const now = 1_000_000;
  checkSessionToken(session(now + 1), "the-token", now);
  assert.throws(() => checkSessionToken(session(now + 1), undefined, now), {
    name: "UnrecognizedClientException",
    message: "The security token included in the request is invalid.",
  });
  assert.throws(() => checkSessionToken(session(now + 1), "the-tokeN", now), { name: "UnrecognizedClientException" });
  assert.throws(() => checkSessionToken(session(now), "the-token", now), {
    name: "ExpiredTokenException",
    message: "The security token included in the request is expired",
  });
});

test("a long-term key takes no session token", () => {
  checkSessionToken(root, undefined, 0);
  assert.throws(() => checkSessionToken(root, "anything", 0), { name: "UnrecognizedClientException" });
});
