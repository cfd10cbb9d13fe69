// Runs a host tool (mount, mkfs.ext4, runc) and resolves with its stdout; a failure carries the
// tool's own stderr, which is what ends up in a task's stopped reason.
import { execFile } from "node:child_process";

export type CommandRunner = (command: string, args: readonly string[], options?: { timeoutMs?: number; input?: string }) => Promise<string>;

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export const runCommand: CommandRunner = (command, args, options) =>
  new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { timeout: options?.timeoutMs ?? 0, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = typeof error.code === "number" ? error.code : undefined;
      reject(new CommandError(`${command} ${args[0] ?? ""}: ${stderr.trim() || error.message}`, code, stderr));
    });
    if (options?.input !== undefined) {
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input);
    }
  });
