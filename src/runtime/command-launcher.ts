// Runs host tools (ip, mount, runc, mkfs) from a small helper process instead of the agent's own.
// Starting a process forks its parent first, and forking copies the parent's page tables: from a
// berth server (control plane, store and agent in one process, 130+ MB resident) every spawn blocked
// the event loop ~2–4 ms, and a launch and a stop run about a dozen of them. The helper is a bare
// Node process (a fraction of that size) that forks for us, on the other core, while the agent
// goes on. Same contract as runCommand: stdout on success, a CommandError with the tool's stderr
// on failure. A helper that dies fails the commands it was running; the next command starts a
// new one.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CommandError } from "./run-command.js";
import type { CommandRunner } from "./run-command.js";

export interface LaunchRequest {
  readonly id: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly input?: string;
  readonly timeoutMs?: number;
}

export interface LaunchAnswer {
  readonly id: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly failure?: { readonly message: string; readonly exitCode?: number };
}

interface Pending {
  readonly command: string;
  readonly args: readonly string[];
  readonly resolve: (stdout: string) => void;
  readonly reject: (error: Error) => void;
}

// The helper is this folder's command-launcher-process (.js when built, .ts under tsx in tests).
const helperPath = fileURLToPath(new URL(`./command-launcher-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export class CommandLauncher {
  private helper: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  readonly run: CommandRunner = (command, args, options) =>
    new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error(`${command}: the command launcher is closed`));
      const helper = this.helper ?? this.startHelper();
      const id = this.nextId++;
      this.pending.set(id, { command, args, resolve, reject });
      this.holdOpen(true);
      const request: LaunchRequest = { id, command, args, ...(options?.input !== undefined ? { input: options.input } : {}), ...(options?.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
      helper.stdin!.write(`${JSON.stringify(request)}\n`);
    });

  /** Ends the helper once its commands are answered (it exits when its stdin closes). */
  close(): void {
    this.closed = true;
    this.helper?.stdin?.end();
  }

  private startHelper(): ChildProcess {
    // execArgv carries a loader such as tsx when the agent itself runs under one.
    const helper = spawn(process.execPath, [...process.execArgv, helperPath], { stdio: ["pipe", "pipe", "inherit"] });
    this.helper = helper;
    helper.stdin!.on("error", () => undefined); // a dead helper is handled on "exit"
    createInterface({ input: helper.stdout! }).on("line", (line) => this.settle(JSON.parse(line) as LaunchAnswer));
    helper.once("exit", (code, signal) => {
      if (this.helper === helper) this.helper = undefined;
      const lost = [...this.pending.values()];
      this.pending.clear();
      for (const waiting of lost) waiting.reject(new Error(`${waiting.command} ${waiting.args[0] ?? ""}: the command launcher exited (${signal ?? code}) before it answered`));
    });
    this.holdOpen(this.pending.size > 0);
    return helper;
  }

  private settle(answer: LaunchAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.holdOpen(false);
    if (!answer.failure) return waiting.resolve(answer.stdout);
    waiting.reject(new CommandError(`${waiting.command} ${waiting.args[0] ?? ""}: ${answer.stderr.trim() || answer.failure.message}`, answer.failure.exitCode, answer.stderr));
  }

  /** An idle helper must not keep the agent's process alive; one with commands in flight must. */
  private holdOpen(hold: boolean): void {
    const helper = this.helper;
    if (!helper) return;
    for (const handle of [helper, helper.stdin, helper.stdout] as ({ ref(): void; unref(): void } | null)[]) {
      if (hold) handle?.ref();
      else handle?.unref();
    }
  }
}
