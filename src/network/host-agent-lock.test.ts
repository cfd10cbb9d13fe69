import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostAgentLock } from "./host-agent-lock.js";

test("a second agent on the host is refused while the first lives; a dead holder's lock is taken over; release frees it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-lock-"));
  const other = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    const first = HostAgentLock.acquire("/var/lib/berth-a", dir);
    const [file] = readdirSync(dir);
    assert.match(file!, /^agent-netns-\d+\.lock$/);
    first.release();
    assert.equal(existsSync(join(dir, file!)), false);

    // Another live process holds it: refused, naming the holder.
    writeFileSync(join(dir, file!), JSON.stringify({ pid: other.pid, dataDir: "/var/lib/berth-b" }));
    assert.throws(() => HostAgentLock.acquire("/var/lib/berth-a", dir), new RegExp(`another berth agent \\(pid ${other.pid}, data dir /var/lib/berth-b\\)`));
    // The holder is gone: taken over.
    const exited = new Promise((resolve) => other.once("exit", resolve));
    other.kill("SIGKILL");
    await exited;
    const taken = HostAgentLock.acquire("/var/lib/berth-a", dir);
    taken.release();
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    other.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
