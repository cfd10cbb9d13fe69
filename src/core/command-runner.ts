// The one way Berth runs a host tool (ip, nft, sysctl, mount, mkfs, runc, openssl, python3) and
// waits for it: stdout on success, a CommandError carrying the tool's own stderr on failure. That
// stderr is what an operator or a task's stopped reason gets to read (nft and ip name the failing
// line of a batch there), so the error's message is "<command line>: <stderr>".
//
// The port is a plain function type so that a caller can be handed another runner: the agent
// passes its command launcher's (a helper process forks for it, src/runtime/command-launcher.ts),
// tests wrap one in `nsenter`/`ip netns exec`. This is the only I/O in src/core: runtime and
// network may import core alone, and both need the same runner.
import { execFile } from "node:child_process";

export interface CommandOptions {
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
  /** The command is killed (and fails) after this long; none when absent or 0. */
  readonly timeoutMs?: number;
}

export type CommandRunner = (command: string, args: readonly string[], options?: CommandOptions) => Promise<string>;

/** Long command lines (a dozen overlay layers, a python3 -c script) are cut in the message only. */
const MAX_MESSAGE_ARGS_CHARS = 200;
/** Output kept per stream: `ip -json` or an nft listing of a busy host stays well under this. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export class CommandError extends Error {
  readonly command: string;
  readonly args: readonly string[];
  /** The exit status, when the command ran and exited (not for a kill, a timeout or a missing tool). */
  readonly exitCode: number | undefined;
  readonly stderr: string;
  /** Why it failed when stderr says nothing (spawn failure, signal, timeout). */
  readonly reason: string;

  constructor(failure: { command: string; args: readonly string[]; exitCode?: number | undefined; stderr: string; reason: string }) {
    super(`${commandLine(failure.command, failure.args)}: ${failure.stderr.trim() || failure.reason}`);
    this.name = "CommandError";
    this.command = failure.command;
    this.args = failure.args;
    this.exitCode = failure.exitCode;
    this.stderr = failure.stderr;
    this.reason = failure.reason;
  }
}

function commandLine(command: string, args: readonly string[]): string {
  const joined = [command, ...args].join(" ");
  return joined.length > MAX_MESSAGE_ARGS_CHARS ? `${joined.slice(0, MAX_MESSAGE_ARGS_CHARS)}…` : joined;
}

/** The real runner: runs the command as a child of this process. */
export const runCommand: CommandRunner = (command, args, options) =>
  new Promise((resolve, reject) => {
    let child: ReturnType<typeof execFile>;
    try {
      child = execFile(command, [...args], { timeout: options?.timeoutMs ?? 0, maxBuffer: MAX_OUTPUT_BYTES }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        reject(new CommandError({ command, args, exitCode: typeof error.code === "number" ? error.code : undefined, stderr, reason: error.message }));
      });
    } catch (error) {
      // Arguments node refuses outright (a NUL byte, say): a failure of this command like any other.
      return reject(new CommandError({ command, args, stderr: "", reason: (error as Error).message }));
    }
    // A command that does not read its stdin closes it early: that is not a failure.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options?.input);
  });
