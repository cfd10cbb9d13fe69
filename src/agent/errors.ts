// Failure reasons as Fargate words them in Container.reason / Task.stoppedReason
// (REFERENCE.md "Task lifecycle": start failures and OOM).
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

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
