import { test } from "node:test";
import assert from "node:assert/strict";
import { callerUserId } from "./caller-identity.js";

test("UserId: the account id for root, AROA…:session for an assumed role, AIDA… for a user, stable", () => {
  assert.equal(callerUserId("arn:aws:iam::123456789012:root", "123456789012"), "123456789012");
  const role = callerUserId("arn:aws:sts::123456789012:assumed-role/app/session-1", "123456789012");
  assert.match(role, /^AROA[A-Z2-7]{17}:session-1$/);
  assert.equal(callerUserId("arn:aws:sts::123456789012:assumed-role/app/other", "123456789012").split(":")[0], role.split(":")[0]);
  const user = callerUserId("arn:aws:iam::123456789012:user/alice", "123456789012");
  assert.match(user, /^AIDA[A-Z2-7]{17}$/);
  assert.notEqual(user, callerUserId("arn:aws:iam::123456789012:user/bob", "123456789012"));
});
