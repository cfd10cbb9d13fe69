import { test } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { CommandLauncher } from "./command-launcher.js";
import { startWithSyncPipe } from "./sync-pipe-start.js";
import type { SyncPipeStarter } from "./sync-pipe-start.js";
import { waitFor } from "../../test/support/wait-for.js";

// Stand-ins for conmon speaking its sync-pipe protocol on fd 3 (named by _OCI_SYNCPIPE).
const created = ["-c", 'echo "{\\"data\\": 4242}" >&$_OCI_SYNCPIPE; sleep 0.2'];
const refused = ["-c", 'echo "runc create failed: no such file" >&2; echo "{\\"data\\": -1, \\"message\\": \\"runc create failed\\"}" >&3; exit 1'];
const silent = ["-c", "echo conmon died >&2; exit 1"];

for (const [where, make] of [
  ["in this process", () => ({ start: startWithSyncPipe, close: () => undefined })],
  [
    "through the command launcher",
    () => {
      const launcher = new CommandLauncher();
      return { start: launcher.startWithSyncPipe, close: () => launcher.close() };
    },
  ],
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

test("a launcher closed while a supervisor is starting keeps reading its sync pipe, so the supervisor does not die writing to it", async () => {
  const { mkdtempSync, readFileSync, rmSync, existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "bth-sync-"));
  try {
    const marker = join(dir, "survived");
    const started = join(dir, "started");
    const launcher = new CommandLauncher();
    // Like conmon: report on the sync pipe (a write with no reader left kills it), then go on.
    const starting = launcher.startWithSyncPipe("sh", ["-c", `echo > ${started}; sleep 0.3; echo '{"data": 4242}' >&3 && echo yes > ${marker}`], {
      cwd: dir,
      timeoutMs: 5_000,
    });
    await waitFor(() => existsSync(started), { what: "the helper to start the supervisor", intervalMs: 5 });
    launcher.close();
    const outcome = await starting.catch((error: Error) => error);
    await waitFor(() => existsSync(marker), { what: "the supervisor's marker", timeoutMs: 1_000, intervalMs: 20 }).catch(() => undefined);
    assert.equal(existsSync(marker) ? readFileSync(marker, "utf8") : "", "yes\n", `the supervisor survived its report (outcome: ${JSON.stringify(outcome)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
