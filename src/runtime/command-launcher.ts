// Runs host tools (ip, mount, runc, mkfs) and starts conmon from a small helper process instead of
// the agent's own.
// Starting a process forks its parent first, and forking copies the parent's page tables: from a
// berth server (control plane, store and agent in one process, 130+ MB resident) every spawn blocked
// the event loop ~2–4 ms, and a launch and a stop run about a dozen of them. The helper is a bare
// Node process (a fraction of that size) that forks for us, on the other core, while the agent
// goes on. Same contract as core's runCommand (which the helper runs): stdout on success, a
// CommandError with the tool's stderr on failure. A helper that dies fails the commands it was running; the next command starts a
// new one.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CommandError } from "../core/command-runner.js";
import type { CommandRunner } from "../core/command-runner.js";
import type { SyncMessage, SyncPipeStarter } from "./sync-pipe-start.js";

export interface LaunchRequest {
  readonly id: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Start the command as a supervisor with a sync pipe (startWithSyncPipe) in this directory. */
  readonly syncPipeCwd?: string;
}

export interface LaunchAnswer {
  readonly id: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly failure?: { readonly message: string; readonly exitCode?: number };
  /** For a sync-pipe start: the supervisor's first message, or null when none came. */
  readonly sync?: SyncMessage | null;
}

interface Pending {
  readonly command: string;
  readonly args: readonly string[];
  readonly settle: (answer: LaunchAnswer) => void;
  readonly reject: (error: Error) => void;
}

// The helper is this folder's command-launcher-process (.js when built, .ts under tsx in tests).
const helperPath = fileURLToPath(new URL(`./command-launcher-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

const LOADER_FLAGS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);

/**
 * The node flags that load code (a loader such as tsx when the agent runs under one), and only
 * those: --inspect, --test or a heap size meant for the agent must not reach the helper.
 */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (LOADER_FLAGS.has(arg) && i + 1 < execArgv.length) kept.push(arg, execArgv[++i]!);
    else if ([...LOADER_FLAGS].some((flag) => arg.startsWith(`${flag}=`))) kept.push(arg);
  }
  return kept;
}

export class CommandLauncher {
  private helper: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  readonly run: CommandRunner = async (command, args, options) => {
    const answer = await this.send({
      command,
      args,
      ...(options?.input !== undefined ? { input: options.input } : {}),
      ...(options?.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    if (!answer.failure) return answer.stdout;
    throw new CommandError({ command, args, exitCode: answer.failure.exitCode, stderr: answer.stderr, reason: answer.failure.message });
  };

  /** startWithSyncPipe, run by the helper: conmon's start forks from it, not from the agent. */
  readonly startWithSyncPipe: SyncPipeStarter = async (command, args, options) => {
    const answer = await this.send({ command, args, timeoutMs: options.timeoutMs, syncPipeCwd: options.cwd });
    return { ...(answer.sync ? { message: answer.sync } : {}), stderr: answer.stderr };
  };

  private send(request: Omit<LaunchRequest, "id">): Promise<LaunchAnswer> {
    return new Promise((settle, reject) => {
      if (this.closed) return reject(new Error(`${request.command}: the command launcher is closed`));
      const helper = this.helper ?? this.startHelper();
      const id = this.nextId++;
      this.pending.set(id, { command: request.command, args: request.args, settle, reject });
      this.holdOpen(true);
      helper.stdin!.write(`${JSON.stringify({ id, ...request } satisfies LaunchRequest)}\n`);
    });
  }

  /**
   * No new commands; the helper exits once the commands it took have finished (their answers are
   * not waited for here: a command in flight rejects when the helper goes).
   */
  close(): void {
    this.closed = true;
    this.helper?.stdin?.end();
  }

  private startHelper(): ChildProcess {
    const helper = spawn(process.execPath, [...loaderArgs(process.execArgv), helperPath], { stdio: ["pipe", "pipe", "inherit"] });
    this.helper = helper;
    helper.stdin!.on("error", () => undefined); // a dead helper is handled on "exit"
    createInterface({ input: helper.stdout! }).on("line", (line) => {
      let answer: LaunchAnswer;
      try {
        answer = JSON.parse(line) as LaunchAnswer;
      } catch {
        return; // not an answer (the helper writes nothing else there); nothing to settle
      }
      this.settle(answer);
    });
    helper.once("exit", (code, signal) => {
      if (this.helper === helper) this.helper = undefined;
      const lost = [...this.pending.values()];
      this.pending.clear();
      for (const waiting of lost)
        waiting.reject(new Error(`${waiting.command} ${waiting.args[0] ?? ""}: the command launcher exited (${signal ?? code}) before it answered`));
    });
    this.holdOpen(this.pending.size > 0);
    return helper;
  }

  private settle(answer: LaunchAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.holdOpen(false);
    waiting.settle(answer);
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
