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

test("room() does not wait while under the limit, and the digest is node:crypto's", async () => {
  const roomy = new WorkerHash("sha256");
  roomy.update(Buffer.from("abc"));
  let released = false;
  const room = roomy.room().then(() => (released = true));
  await Promise.resolve();
  assert.equal(released, true, "resolved at once, without waiting for the worker");
  await room;
  assert.equal(await roomy.digest(), createHash("sha256").update("abc").digest("hex"));
});
