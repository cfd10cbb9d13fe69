import { test } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { CommandLauncher } from "./command-launcher.js";
import { startWithSyncPipe } from "./sync-pipe-start.js";
import type { SyncPipeStarter } from "./sync-pipe-start.js";

// Stand-ins for conmon speaking its sync-pipe protocol on fd 3 (named by _OCI_SYNCPIPE).
const created = ["-c", 'echo "{\\"data\\": 4242}" >&$_OCI_SYNCPIPE; sleep 0.2'];
const refused = ["-c", 'echo "runc create failed: no such file" >&2; echo "{\\"data\\": -1, \\"message\\": \\"runc create failed\\"}" >&3; exit 1'];
const silent = ["-c", "echo conmon died >&2; exit 1"];

for (const [where, make] of [
  ["in this process", () => ({ start: startWithSyncPipe, close: () => undefined })],
  ["through the command launcher", () => {
    const launcher = new CommandLauncher();
    return { start: launcher.startWithSyncPipe, close: () => launcher.close() };
  }],
] as [string, () => { start: SyncPipeStarter; close: () => void }][]) {
  test(`a sync-pipe start (${where}) answers the pid, the runtime's refusal, or nothing when the supervisor dies first`, async () => {
    const { start, close } = make();
    try {
      const ok = await start("sh", created, { cwd: tmpdir(), timeoutMs: 5_000 });
      assert.deepEqual(ok.message, { data: 4242 });
      const no = await start("sh", refused, { cwd: tmpdir(), timeoutMs: 5_000 });
      assert.equal(no.message?.data, -1);
      assert.equal(no.message?.message, "runc create failed");
      assert.match(no.stderr, /no such file/);
      const gone = await start("sh", silent, { cwd: tmpdir(), timeoutMs: 5_000 });
      assert.equal(gone.message, undefined);
      assert.match(gone.stderr, /conmon died/);
      const late = await start("sh", ["-c", "sleep 2"], { cwd: tmpdir(), timeoutMs: 100 });
      assert.equal(late.message, undefined, "no answer within the time: undefined, not a hang");
    } finally {
      close();
    }
  });
}
