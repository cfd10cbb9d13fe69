// Failure reasons as Fargate words them in Container.reason / Task.stoppedReason
// (REFERENCE.md "Task lifecycle": start failures and OOM).
import { basename } from "node:path";
import { CommandError } from "../core/command-runner.js";

export class TaskStartError extends Error {
  constructor(
    readonly reasonPrefix: "CannotPullContainerError" | "CannotStartContainerError" | "ResourceInitializationError",
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${reasonPrefix}: ${detail}`, options);
  }
}

export const oomReason = "OutOfMemoryError: Container killed due to memory usage";
export const oomExitCode = 137;

/**
 * An error as a task's reason reads it. A failed host command is named by its tool and what it
 * said, not by its whole command line: the command line holds host paths (runc's root, bundles,
 * mounts) that API users have no business reading; operators get the full line in the log.
 */
export function describeError(error: unknown): string {
  if (error instanceof CommandError) return `${basename(error.command)}: ${error.stderr.trim() || error.reason}`;
  return error instanceof Error ? error.message : String(error);
}
