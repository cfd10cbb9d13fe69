import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { WorkerHash } from "./worker-hash.js";

test("the worker's digest matches node:crypto, and a producer that waits for room never queues more than the limit plus one block", async () => {
  const block = 256 * 1024;
  const blocks = Array.from({ length: 64 }, () => randomBytes(block));
  const hash = new WorkerHash("sha256", { maxQueuedBytes: 4 * block });
  let highest = 0;
  for (const bytes of blocks) {
    hash.update(bytes);
    highest = Math.max(highest, hash.queuedBytes);
    await hash.room();
    assert.ok(hash.queuedBytes <= 4 * block, "room() resolves only once the worker has caught up");
  }
  assert.ok(highest <= 5 * block, `at most the limit plus one block queued (saw ${highest})`);
  const expected = createHash("sha256");
  for (const bytes of blocks) expected.update(bytes);
  assert.equal(await hash.digest(), expected.digest("hex"));
});

test("room() is free while the worker keeps up, and a dropped hash releases a waiting producer", async () => {
  const hash = new WorkerHash("sha512", { maxQueuedBytes: 1 });
  hash.update(randomBytes(1024));
  const waiting = hash.room();
  hash.drop();
  await waiting;
  const roomy = new WorkerHash("sha256");
  roomy.update(Buffer.from("abc"));
  await roomy.room();
  assert.equal(await roomy.digest(), createHash("sha256").update("abc").digest("hex"));
});
