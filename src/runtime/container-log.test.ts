import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    const offsets = [...first.lines, ...third.lines].map((line) => line.offset);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
    assert.equal(third.lines[0]!.offset, third.nextOffset);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("after the container exited, a trailing partial line is shipped as a line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
  const path = join(dir, "container.log");
  try {
    writeFileSync(path, "2026-11-22T10:00:00Z stdout F done\n2026-11-22T10:00:01Z stdout P no newline at \n2026-11-22T10:00:01Z stdout P the end\n");
    const running = await readContainerLog(path, 0);
    assert.deepEqual(running.lines.map((line) => line.message), ["done"]);
    const final = await readContainerLog(path, running.nextOffset, { final: true });
    assert.deepEqual(final.lines.map((line) => line.message), ["no newline at the end"]);
    assert.equal(final.nextOffset, Buffer.byteLength(readFileSync(path, "utf8")));
    assert.deepEqual((await readContainerLog(path, final.nextOffset, { final: true })).lines, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a log larger than one read is shipped in pieces, every line exactly once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
  const path = join(dir, "container.log");
  try {
    const records = Array.from({ length: 500 }, (_, i) => `2026-11-22T10:00:00Z ${i % 3 ? "stdout" : "stderr"} F line ${i}\n`);
    writeFileSync(path, records.join(""));
    const seen: string[] = [];
    let offset = 0;
    for (let rounds = 0; rounds < 1000; rounds++) {
      const chunk = await readContainerLog(path, offset, { maxBytes: 1000 });
      if (chunk.lines.length === 0) break;
      seen.push(...chunk.lines.map((line) => line.message));
      offset = chunk.nextOffset;
    }
    assert.deepEqual(seen, records.map((_, i) => `line ${i}`));
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
