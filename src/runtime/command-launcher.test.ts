import { test } from "node:test";
import assert from "node:assert/strict";
import { CommandLauncher, loaderArgs } from "./command-launcher.js";
import { CommandError } from "../core/command-runner.js";

test("runs commands from the helper: stdout, stdin input, concurrent calls, failures with the tool's stderr", async () => {
  const launcher = new CommandLauncher();
  try {
    assert.equal(await launcher.run("echo", ["hello"]), "hello\n");
    assert.equal(await launcher.run("cat", [], { input: "from stdin" }), "from stdin");
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => launcher.run("sh", ["-c", `sleep 0.0${i % 5}; echo ${i}`])));
    assert.deepEqual(
      many,
      Array.from({ length: 20 }, (_, i) => `${i}\n`),
      "each answer reaches its own caller",
    );
    const failure = await launcher.run("sh", ["-c", "echo it broke >&2; exit 3"]).catch((error: unknown) => error);
    assert.ok(failure instanceof CommandError);
    assert.equal(failure.exitCode, 3);
    assert.equal(failure.stderr, "it broke\n");
    assert.equal(failure.message, "sh -c echo it broke >&2; exit 3: it broke", "the message names the command line and the tool's stderr");
    const missing = await launcher.run("/nonexistent/tool", []).catch((error: unknown) => error);
    assert.ok(missing instanceof CommandError, "a tool that cannot be run is a failure, not a hang");
    const refused = await launcher.run("echo", ["a\u0000b"]).catch((error: unknown) => error);
    assert.ok(refused instanceof CommandError, "arguments node refuses fail that command only");
    assert.equal(await launcher.run("echo", ["still here"]), "still here\n");
    const slow = await launcher.run("sleep", ["5"], { timeoutMs: 100 }).catch((error: unknown) => error);
    assert.ok(slow instanceof CommandError, "the timeout ends the command");
  } finally {
    launcher.close();
  }
});

test("a helper that dies fails its commands in flight, and the next command starts a new one", async () => {
  const launcher = new CommandLauncher();
  try {
    const pid = Number((await launcher.run("sh", ["-c", "echo $PPID"])).trim());
    const inFlight = launcher.run("sleep", ["5"]).catch((error: unknown) => error);
    process.kill(pid, "SIGKILL");
    const lost = await inFlight;
    assert.ok(lost instanceof Error);
    assert.match(lost.message, /the command launcher exited/);
    const again = Number((await launcher.run("sh", ["-c", "echo $PPID"])).trim());
    assert.notEqual(again, pid, "a new helper");
  } finally {
    launcher.close();
  }
});

test("a closed launcher refuses new commands", async () => {
  const launcher = new CommandLauncher();
  launcher.close();
  await assert.rejects(launcher.run("true", []), /closed/);
});

test("the helper gets the agent's code loaders and nothing else", () => {
  assert.deepEqual(loaderArgs(["--import", "tsx", "--inspect=9229", "--max-old-space-size=4096", "--require=./a.cjs", "--test", "-r", "b"]), [
    "--import",
    "tsx",
    "--require=./a.cjs",
    "-r",
    "b",
  ]);
  assert.deepEqual(loaderArgs([]), []);
});
