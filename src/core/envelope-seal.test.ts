import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { KeySealer } from "./envelope-seal.js";
import { openValue, sealValue } from "./envelope-seal.js";

/** A store-key sealer like the control plane's SecretBox (AES-256-GCM, "v1.iv.tag.ct"). */
function testSealer(key = randomBytes(32)): KeySealer {
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), ct.toString("base64")].join(".");
    },
    unseal(text) {
      const [, iv, tag, ct] = text.split(".") as [string, string, string, string];
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(ct, "base64")), decipher.final()]).toString("utf8");
    },
  };
}

test("a sealed value opens with the same key and associated data, and holds no plaintext", () => {
  const sealer = testSealer();
  const sealed = sealValue(sealer, Buffer.from("s3cr3t-password"), "arn:a\nv1");
  assert.ok(!sealed.includes("s3cr3t"));
  assert.equal(openValue(sealer, sealed, "arn:a\nv1").toString(), "s3cr3t-password");
});

test("each value has its own data key: sealing twice gives different texts", () => {
  const sealer = testSealer();
  assert.notEqual(sealValue(sealer, Buffer.from("x"), "a"), sealValue(sealer, Buffer.from("x"), "a"));
});

test("a value moved to another secret or version (other associated data) does not open", () => {
  const sealer = testSealer();
  const sealed = sealValue(sealer, Buffer.from("value"), "arn:a\nv1");
  assert.throws(() => openValue(sealer, sealed, "arn:a\nv2"));
  assert.throws(() => openValue(sealer, sealed, "arn:b\nv1"));
});

test("another store key does not open a value; a tampered text does not open", () => {
  const sealed = sealValue(testSealer(), Buffer.from("value"), "a");
  assert.throws(() => openValue(testSealer(), sealed, "a"));
  const sealer = testSealer();
  const good = sealValue(sealer, Buffer.from("value"), "a").split(".");
  const flipped = Buffer.from(good[4] as string, "base64url");
  flipped[0] = (flipped[0] as number) ^ 1;
  good[4] = flipped.toString("base64url");
  assert.throws(() => openValue(sealer, good.join("."), "a"));
  assert.throws(() => openValue(sealer, "v1.not.an.envelope", "a"));
});

test("binary values and empty values round-trip", () => {
  const sealer = testSealer();
  const bytes = randomBytes(1000);
  assert.deepEqual(openValue(sealer, sealValue(sealer, bytes, "b"), "b"), bytes);
  assert.equal(openValue(sealer, sealValue(sealer, Buffer.alloc(0), "b"), "b").length, 0);
});

test("a truncated authentication tag or an IV of another length is refused", () => {
  const sealer = testSealer();
  const sealed = sealValue(sealer, Buffer.from("s3cr3t-password"), "arn:a\nv1");
  const parts = sealed.split(".");
  const tag = Buffer.from(parts[3]!, "base64url");
  for (const length of [4, 8, 12, 15]) {
    const truncated = [...parts.slice(0, 3), tag.subarray(0, length).toString("base64url"), parts[4]].join(".");
    assert.throws(() => openValue(sealer, truncated, "arn:a\nv1"), `a ${length}-byte tag`);
  }
  const longIv = [...parts.slice(0, 2), randomBytes(16).toString("base64url"), ...parts.slice(3)].join(".");
  assert.throws(() => openValue(sealer, longIv, "arn:a\nv1"));
});
