import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ID_RANGE_SIZE, ID_RANGE_SLOTS, ID_RANGES_START } from "../core/id-range.js";
import { IdRanges } from "./id-ranges.js";

function scratch(...taskIds: string[]): { root: string; claims: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "berth-id-ranges-"));
  const root = join(dir, "tasks");
  for (const taskId of taskIds) mkdirSync(join(root, taskId), { recursive: true });
  return { root, claims: join(dir, "claims"), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test("each task gets its own 65,536-id range in [0x70000000, 0x7FFE0000), recorded in its directory and claimed host-wide", async () => {
  const { root, claims, done } = scratch("a", "b");
  try {
    const ranges = new IdRanges(root, claims);
    const a = await ranges.acquire("a");
    const b = await ranges.acquire("b");
    for (const range of [a, b]) {
      assert.equal(range.size, 65_536);
      assert.ok(range.base >= ID_RANGES_START && range.base + range.size <= 0x7ffe_0000);
      assert.equal((range.base - ID_RANGES_START) % ID_RANGE_SIZE, 0);
    }
    assert.notEqual(a.base, b.base);
    assert.deepEqual(await ranges.acquire("a"), a, "acquire is idempotent");
    const slotB = (b.base - ID_RANGES_START) / ID_RANGE_SIZE;
    assert.equal(readFileSync(join(root, "b", "id-range"), "utf8"), `${slotB}\n`);
    assert.equal(readFileSync(join(claims, String(slotB)), "utf8"), `${join(root, "b")}\n`);
  } finally {
    done();
  }
});

test("two agents with different data dirs on one host never share a range", async () => {
  const first = scratch();
  const second = scratch();
  try {
    // Both see the same host-wide claims; the second is left a single free slot.
    mkdirSync(first.claims, { recursive: true });
    for (let slot = 0; slot < ID_RANGE_SLOTS - 2; slot++) writeFileSync(join(first.claims, String(slot)), "someone else\n", { flag: "w" });
    const one = await new IdRanges(first.root, first.claims).acquire("t");
    const other = await new IdRanges(second.root, first.claims).acquire("t");
    assert.notEqual(one.base, other.base);
    await assert.rejects(new IdRanges(second.root, first.claims).acquire("u"), /no free user namespace range/);
  } finally {
    first.done();
    second.done();
  }
});

test("a restarted agent finds the ranges its tasks hold; a released range's claim is gone; junk records are ignored", async () => {
  const { root, claims, done } = scratch("running", "new", "junk");
  try {
    writeFileSync(join(root, "running", "id-range"), "7\n");
    writeFileSync(join(root, "junk", "id-range"), "../../etc\n");
    const ranges = new IdRanges(root, claims);
    assert.equal(ranges.held("running")?.base, ID_RANGES_START + 7 * ID_RANGE_SIZE);
    assert.ok(existsSync(join(claims, "7")), "claimed again (as after a reboot)");
    assert.notEqual((await ranges.acquire("new")).base, ID_RANGES_START + 7 * ID_RANGE_SIZE);
    assert.equal(ranges.held("junk"), undefined);
    ranges.release("running");
    assert.equal(ranges.held("running"), undefined);
    assert.equal(existsSync(join(claims, "7")), false);
  } finally {
    done();
  }
});
