import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readContainerLog, parseLogTime } from "./container-log.js";
import { parseHardLimits } from "./host-limits.js";

test("reads k8s-file records, joins partial lines, and resumes exactly at the returned offset", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
  const path = join(dir, "container.log");
  try {
    writeFileSync(path, "2026-11-22T10:00:00.123456789+00:00 stdout F one\n2026-11-22T10:00:00.2+00:00 stderr P par\n2026-11-22T10:00:00.3+00:00 stderr F tial\n2026-11-22T10:00:01+00:00 stdout P unfinished");
    const first = await readContainerLog(path, 0);
    assert.deepEqual(first.lines.map((line) => `${line.stream}:${line.message}`), ["stdout:one", "stderr:partial"]);
    assert.equal(first.lines[0]!.timestamp, Date.parse("2026-11-22T10:00:00.123Z"));
    appendFileSync(path, " line\n2026-11-22T10:00:01+00:00 stdout P and\n");
    const second = await readContainerLog(path, first.nextOffset);
    assert.deepEqual(second.lines.map((line) => line.message), []);
    appendFileSync(path, "2026-11-22T10:00:02+00:00 stdout F  more\n");
    const third = await readContainerLog(path, second.nextOffset);
    assert.deepEqual(third.lines.map((line) => line.message), ["unfinished lineand more"]);
    assert.deepEqual((await readContainerLog(path, third.nextOffset)).lines, []);
    assert.deepEqual(await readContainerLog(join(dir, "missing.log"), 7), { lines: [], nextOffset: 7 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("log times keep millisecond precision", () => {
  assert.equal(parseLogTime("2026-11-22T10:00:00.987654321Z"), Date.parse("2026-11-22T10:00:00.987Z"));
});

test("host hard limits are read from /proc/self/limits, unlimited ones left out", () => {
  const limits = parseHardLimits(
    "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\nMax stack size            8388608              unlimited            bytes\n",
  );
  assert.deepEqual(limits, { RLIMIT_NOFILE: 20000 });
});
