import { test } from "node:test";
import assert from "node:assert/strict";
import { planImageCollection } from "./image-gc.js";

const MINUTE = 60_000;
const now = 100 * MINUTE;
const images = [
  { manifestDigest: "old", layerDirs: ["base", "old-top"], lastUsedMs: now - 60 * MINUTE },
  { manifestDigest: "mid", layerDirs: ["base", "mid-top"], lastUsedMs: now - 30 * MINUTE },
  { manifestDigest: "running", layerDirs: ["base", "run-top"], lastUsedMs: now - 90 * MINUTE },
  { manifestDigest: "fresh", layerDirs: ["fresh-top"], lastUsedMs: now - MINUTE },
];
const layerBytes = new Map([
  ["base", 100],
  ["old-top", 50],
  ["mid-top", 50],
  ["run-top", 50],
  ["fresh-top", 50],
  ["orphan", 10],
]);
const input = { images, layerBytes, inUse: new Set(["running"]), nowMs: now, minIdleMs: 10 * MINUTE, highWaterBytes: 250, lowWaterBytes: 220 };

test("under the high-water mark nothing is collected", () => {
  const plan = planImageCollection({ ...input, highWaterBytes: 310 });
  assert.deepEqual([plan.images, plan.layerDirs, plan.bytesAfter], [[], [], 310]);
});

test("over it: orphans first, then the least recently used idle image, down to the low-water mark; shared layers stay", () => {
  const plan = planImageCollection({ ...input, lowWaterBytes: 250 });
  assert.deepEqual(plan.images, ["old"]);
  assert.deepEqual(plan.layerDirs, ["orphan", "old-top"]);
  assert.equal(plan.bytesAfter, 250);
});

test("an image in use by a task, or used within minIdleMs, is never collected even when the store stays over", () => {
  const plan = planImageCollection({ ...input, lowWaterBytes: 0 });
  assert.deepEqual(plan.images, ["old", "mid"]);
  assert.ok(!plan.layerDirs.includes("base"), "base is still the running image's");
  assert.ok(!plan.layerDirs.includes("fresh-top"));
  assert.equal(plan.bytesAfter, 200);
});
