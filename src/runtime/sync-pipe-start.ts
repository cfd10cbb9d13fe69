// Starts a container supervisor (conmon) that reports through a sync pipe: fd 3, named to it by
// _OCI_SYNCPIPE. conmon writes `{"data": <container pid>}` there once `runc create` succeeded, or a
// negative value and the runtime's message when it failed, so nothing needs polling. It runs in its
// own session (detached, no pipes left to us), so it outlives whoever started it.
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

export interface SyncMessage {
  /** The container's pid, or negative on failure. */
  readonly data: number;
  readonly message?: string;
}

export interface SyncPipeOutcome {
  /** conmon's first sync message; undefined when the pipe closed first or the time ran out. */
  readonly message?: SyncMessage;
  /** What conmon wrote on stderr (collected on failure: the runtime's complaint). */
  readonly stderr: string;
}

export type SyncPipeStarter = (command: string, args: readonly string[], options: { cwd: string; timeoutMs: number }) => Promise<SyncPipeOutcome>;

export const startWithSyncPipe: SyncPipeStarter = async (command, args, options) => {
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "ignore", "pipe", "pipe"],
    env: { ...process.env, _OCI_SYNCPIPE: "3" },
  });
  child.unref();
  const syncPipe = child.stdio[3] as Readable;
  const stderrPipe = child.stderr!;
  let stderr = "";
  stderrPipe.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // A binary that cannot be run: "error" instead of "exit"; the pipes close and say so below.
  child.once("error", (error) => (stderr += error.message));
  try {
    const message = await readSyncMessage(syncPipe, options.timeoutMs);
    if (!message || message.data <= 0) {
      // A failed start: conmon exits, and its stderr says why once it has closed.
      if (!stderrPipe.readableEnded && !stderrPipe.destroyed) await Promise.race([new Promise((resolve) => stderrPipe.once("close", resolve)), sleep(1_000)]);
    }
    return { ...(message ? { message } : {}), stderr };
  } finally {
    // Our ends only: conmon keeps running with the container.
    syncPipe.destroy();
    stderrPipe.destroy();
  }
};

/** The first line on the sync pipe, parsed; undefined when the pipe closes first or time runs out. */
function readSyncMessage(pipe: Readable, timeoutMs: number): Promise<SyncMessage | undefined> {
  return new Promise((resolve) => {
    let text = "";
    const finish = (message: SyncMessage | undefined) => {
      clearTimeout(timer);
      pipe.removeAllListeners("data");
      pipe.removeAllListeners("close");
      resolve(message);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    pipe.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf("\n");
      if (end < 0) return;
      try {
        finish(JSON.parse(text.slice(0, end)) as SyncMessage);
      } catch {
        finish({ data: -1, message: `unreadable sync message: ${text.slice(0, end)}` });
      }
    });
    pipe.once("close", () => finish(undefined));
  });
}
