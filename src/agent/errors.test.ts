import { test } from "node:test";
import assert from "node:assert/strict";
import { CommandError } from "../core/command-runner.js";
import { describeError } from "./errors.js";

test("a failed host command reads as its tool and what it said, never its command line's host paths", () => {
  const failure = new CommandError({
    command: "/usr/sbin/runc",
    args: ["--root", "/var/lib/berth/secret-root", "start", "abc"],
    stderr: "container not found\n",
    reason: "exit 1",
  });
  assert.equal(describeError(failure), "runc: container not found");
  assert.ok(failure.message.includes("/var/lib/berth/secret-root"), "the operator's log keeps the whole line");
  assert.equal(describeError(new CommandError({ command: "mkfs.ext4", args: ["/x"], stderr: "", reason: "timed out" })), "mkfs.ext4: timed out");
  assert.equal(describeError(new Error("plain")), "plain");
});
