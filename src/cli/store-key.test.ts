import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { SecretBox } from "./store-key.js";

test("SecretBox refuses a truncated authentication tag and an IV of another length", () => {
  const box = SecretBox.withKey(randomBytes(32));
  const sealed = box.seal("the data key");
  assert.equal(box.unseal(sealed), "the data key");
  const [version, iv, tag, ct] = sealed.split(".") as [string, string, string, string];
  for (const length of [4, 8, 12, 15]) {
    const truncated = [version, iv, Buffer.from(tag, "base64").subarray(0, length).toString("base64"), ct].join(".");
    assert.throws(() => box.unseal(truncated), `a ${length}-byte tag`);
    assert.equal(box.tryUnseal(truncated), undefined);
  }
  assert.throws(() => box.unseal([version, randomBytes(16).toString("base64"), tag, ct].join(".")));
});
