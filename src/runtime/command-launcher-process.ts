// The command launcher's helper process (see command-launcher.ts): reads one JSON request per line
// on stdin, runs the command, and writes one JSON answer per line on stdout. It holds no state, so
// a new one can take over at any time; it ends once its parent has closed stdin and every request
// it took has finished.
import { execFile } from "node:child_process";
import { createInterface } from "node:readline";
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
    let child: ReturnType<typeof execFile>;
    try {
      child = execFile(command, args, { timeout: timeoutMs ?? 0, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return answer({ id, stdout, stderr });
        answer({ id, stdout, stderr, failure: { message: error.message, exitCode: typeof error.code === "number" ? error.code : undefined } });
      });
    } catch (error) {
      // Arguments node refuses outright (a NUL byte, say): a failure of this command, not of the helper.
      return answer({ id, stdout: "", stderr: "", failure: { message: (error as Error).message } });
    }
    // A command that does not read its stdin closes it early: that is not a failure.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  })
  .on("close", () => {
    parentGone = true;
    exitWhenIdle();
  });
