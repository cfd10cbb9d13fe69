import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forgetContainerLog, readContainerLog, parseLogTime } from "./container-log.js";
import { parseHardLimits } from "./host-limits.js";

test("reads k8s-file records, joins partial lines, and resumes exactly at the returned offset", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
  const path = join(dir, "container.log");
  try {
    writeFileSync(
      path,
      "2026-11-22T10:00:00.123456789+00:00 stdout F one\n2026-11-22T10:00:00.2+00:00 stderr P par\n2026-11-22T10:00:00.3+00:00 stderr F tial\n2026-11-22T10:00:01+00:00 stdout P unfinished",
    );
    const first = await readContainerLog(path, 0);
    assert.deepEqual(
      first.lines.map((line) => `${line.stream}:${line.message}`),
      ["stdout:one", "stderr:partial"],
    );
    assert.equal(first.lines[0]!.timestamp, Date.parse("2026-11-22T10:00:00.123Z"));
    appendFileSync(path, " line\n2026-11-22T10:00:01+00:00 stdout P and\n");
    const second = await readContainerLog(path, first.nextOffset);
    assert.deepEqual(
      second.lines.map((line) => line.message),
      [],
    );
    appendFileSync(path, "2026-11-22T10:00:02+00:00 stdout F  more\n");
    const third = await readContainerLog(path, second.nextOffset);
    assert.deepEqual(
      third.lines.map((line) => line.message),
      ["unfinished lineand more"],
    );
    assert.deepEqual((await readContainerLog(path, third.nextOffset)).lines, []);
    assert.deepEqual(await readContainerLog(join(dir, "missing.log"), 7), { lines: [], nextOffset: 7 });
    const offsets = [...first.lines, ...third.lines].map((line) => line.offset);
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => a - b),
    );
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
    assert.deepEqual(
      running.lines.map((line) => line.message),
      ["done"],
    );
    const final = await readContainerLog(path, running.nextOffset, { final: true });
    assert.deepEqual(
      final.lines.map((line) => line.message),
      ["no newline at the end"],
    );
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
    assert.deepEqual(
      seen,
      records.map((_, i) => `line ${i}`),
    );
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

describe("a log capped by conmon (a new file renamed over the old one past --log-size-max)", () => {
  const record = (text: string) => `2026-12-04T10:00:00Z stdout F ${text}\n`;
  /** conmon's rotation: a new file renamed over the log (a new inode), the old lines gone. */
  const rotate = (path: string, content: string) => {
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  };

  test("offsets keep growing across rotations, no line is returned twice, and the new file is read from its start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
    const path = join(dir, "container.log");
    try {
      writeFileSync(path, record("a1") + record("a2"));
      const first = await readContainerLog(path, 0);
      assert.deepEqual(
        first.lines.map((line) => line.message),
        ["a1", "a2"],
      );
      // Written to the old file after the last read and lost with it: dropped, never an error.
      appendFileSync(path, record("a3-lost"));
      rotate(path, record("b1"));
      const second = await readContainerLog(path, first.nextOffset);
      assert.deepEqual(
        second.lines.map((line) => line.message),
        ["b1"],
      );
      assert.ok(second.lines[0]!.offset > first.nextOffset, "offsets grow across the rotation");
      appendFileSync(path, record("b2"));
      const third = await readContainerLog(path, second.nextOffset);
      assert.deepEqual(
        third.lines.map((line) => line.message),
        ["b2"],
      );
      assert.deepEqual((await readContainerLog(path, third.nextOffset)).lines, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("lines handed out but not acknowledged before a rotation are not reused as offsets (the sink's de-duplication stays right)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
    const path = join(dir, "container.log");
    try {
      writeFileSync(path, record("x".repeat(50)) + record("y".repeat(50)));
      const sent = await readContainerLog(path, 0);
      // The sink failed: the shipper still holds offset 0, and the old file goes.
      rotate(path, record("z"));
      const again = await readContainerLog(path, 0);
      assert.deepEqual(
        again.lines.map((line) => line.message),
        ["z"],
      );
      assert.ok(again.lines[0]!.offset > sent.nextOffset);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a restarted agent resumes in the right generation from `<log>.rotation`, and a rotation it missed is detected", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
    const path = join(dir, "container.log");
    try {
      writeFileSync(path, record("one"));
      const first = await readContainerLog(path, 0);
      rotate(path, record("two"));
      const second = await readContainerLog(path, first.nextOffset);
      forgetContainerLog(path);
      appendFileSync(path, record("three"));
      const afterRestart = await readContainerLog(path, second.nextOffset);
      assert.deepEqual(
        afterRestart.lines.map((line) => line.message),
        ["three"],
      );
      // Rotated while no agent ran, then forgotten again: still only new lines, offsets still growing.
      forgetContainerLog(path);
      rotate(path, record("four"));
      const missed = await readContainerLog(path, afterRestart.nextOffset);
      assert.deepEqual(
        missed.lines.map((line) => line.message),
        ["four"],
      );
      assert.ok(missed.lines[0]!.offset > afterRestart.nextOffset);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("without a `.rotation` (an agent from before the cap), an offset past the file's end means it was rotated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-log-"));
    const path = join(dir, "container.log");
    try {
      writeFileSync(path, record("new-generation"));
      const chunk = await readContainerLog(path, 10_000);
      assert.deepEqual(
        chunk.lines.map((line) => line.message),
        ["new-generation"],
      );
      assert.ok(chunk.lines[0]!.offset > 10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
