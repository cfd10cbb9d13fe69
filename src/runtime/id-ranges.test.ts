import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ID_RANGE_SIZE, ID_RANGES_START } from "../core/id-range.js";
import { IdRanges } from "./id-ranges.js";

function tasksRoot(...taskIds: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "berth-id-ranges-"));
  for (const taskId of taskIds) mkdirSync(join(root, taskId));
  return root;
}

test("each task gets its own 65,536-id range above 2^30, recorded in its directory", async () => {
  const root = tasksRoot("a", "b");
  try {
    const ranges = new IdRanges(root);
    const a = await ranges.acquire("a");
    const b = await ranges.acquire("b");
    assert.equal(a.base, ID_RANGES_START);
    assert.equal(b.base, ID_RANGES_START + ID_RANGE_SIZE);
    assert.equal(a.size, 65_536);
    assert.deepEqual(await ranges.acquire("a"), a, "acquire is idempotent");
    assert.equal(readFileSync(join(root, "b", "id-range"), "utf8"), "1\n");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a restarted agent finds the ranges its tasks hold and never hands them out again", async () => {
  const root = tasksRoot("running", "new");
  try {
    writeFileSync(join(root, "running", "id-range"), "0\n");
    const ranges = new IdRanges(root);
    assert.equal(ranges.held("running")?.base, ID_RANGES_START);
    assert.notEqual((await ranges.acquire("new")).base, ID_RANGES_START);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a released range is reused only after every other slot (round robin), and junk records are ignored", async () => {
  const root = tasksRoot("a", "b", "c", "junk");
  try {
    writeFileSync(join(root, "junk", "id-range"), "../../etc\n");
    const ranges = new IdRanges(root);
    const a = await ranges.acquire("a");
    ranges.release("a");
    assert.equal(ranges.held("a"), undefined);
    const b = await ranges.acquire("b");
    assert.notEqual(b.base, a.base);
    assert.equal(ranges.held("junk"), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
