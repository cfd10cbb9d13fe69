import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkStateDir } from "./haproxy-node.js";

test("the state dir must be a directory of ours (no link); a looser mode is put back to 0700", (t) => {
  const root = mkdtempSync(join(tmpdir(), "berth-lb-state-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const loose = join(root, "loose");
  mkdirSync(loose);
  chmodSync(loose, 0o777);
  checkStateDir(loose);
  assert.equal(statSync(loose).mode & 0o777, 0o700);
  symlinkSync(loose, join(root, "link"));
  assert.throws(() => checkStateDir(join(root, "link")), /not a directory owned/);
  if (process.getuid?.() === 0) {
    const foreign = join(root, "foreign");
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    assert.throws(() => checkStateDir(foreign), /not a directory owned/);
  }
});
