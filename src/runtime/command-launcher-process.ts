// The command launcher's helper process (see command-launcher.ts): reads one JSON request per line
// on stdin, runs the command, and writes one JSON answer per line on stdout. It holds no state, so
// a new one can take over at any time; it ends once its parent has closed stdin and every request
// it took has finished.
import { createInterface } from "node:readline";
import { CommandError, runCommand } from "../core/command-runner.js";
import type { LaunchAnswer, LaunchRequest } from "./command-launcher.js";
import { startWithSyncPipe } from "./sync-pipe-start.js";

// Requests not answered yet. When the agent goes (closes our stdin, or dies), those still finish:
// a conmon whose sync pipe lost its reader dies writing to it (EPIPE), leaving a container that
// runc created with no supervisor; so the helper reads every answer before it exits.
let inFlight = 0;
let parentGone = false;
const exitWhenIdle = () => {
  if (parentGone && inFlight === 0) process.exit(0);
};
const answer = (message: LaunchAnswer) => {
  inFlight -= 1;
  // The parent may be gone: nobody reads this any more, and that is fine.
  if (!parentGone) process.stdout.write(`${JSON.stringify(message)}\n`);
  exitWhenIdle();
};
process.stdout.on("error", () => undefined);

createInterface({ input: process.stdin })
  .on("line", (line) => {
    let request: LaunchRequest;
    try {
      request = JSON.parse(line) as LaunchRequest;
    } catch {
      return; // not from our parent; nothing to answer
    }
    const { id, command, args, input, timeoutMs, syncPipeCwd } = request;
    inFlight += 1;
    if (syncPipeCwd !== undefined) {
      startWithSyncPipe(command, args, { cwd: syncPipeCwd, timeoutMs: timeoutMs ?? 30_000 }).then(
        (outcome) => answer({ id, stdout: "", stderr: outcome.stderr, sync: outcome.message ?? null }),
        (error: Error) => answer({ id, stdout: "", stderr: error.message, sync: null }),
      );
      return;
    }
    runCommand(command, args, { ...(input !== undefined ? { input } : {}), ...(timeoutMs ? { timeoutMs } : {}) }).then(
      (stdout) => answer({ id, stdout, stderr: "" }),
      (error: unknown) => {
        const failure = error instanceof CommandError ? error : new CommandError({ command, args, stderr: "", reason: String(error) });
        answer({
          id,
          stdout: "",
          stderr: failure.stderr,
          failure: { message: failure.reason, ...(failure.exitCode !== undefined ? { exitCode: failure.exitCode } : {}) },
        });
      },
    );
  })
  .on("close", () => {
    parentGone = true;
    exitWhenIdle();
  });
