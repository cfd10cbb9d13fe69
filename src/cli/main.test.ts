import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const nodeMajor = Number(process.versions.node.split(".")[0]);

/** Builds an SDK client in a fresh process, after `berth --help` when `throughMain`, and returns its stderr. */
function stderrOfClient(throughMain: boolean): string {
  const script = `${throughMain ? 'const { main } = await import("./src/cli/main.ts"); await main(["--help"]);' : ""}
    const { ECSClient } = await import("@aws-sdk/client-ecs");
    new ECSClient({ region: "us-east-1" });`;
  const env = { ...process.env };
  delete env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"];
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, env, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stderr;
}

test("berth's commands do not print the AWS SDK's Node.js version warning", () => {
  assert.doesNotMatch(stderrOfClient(true), /NodeVersionSupportWarning|will require node/);
});

test(
  "the SDK does print it on this Node.js without the CLI's switch (so the test above means something)",
  { skip: nodeMajor >= 22 && "the SDK warns only before Node.js 22" },
  () => {
    assert.match(stderrOfClient(false), /NodeVersionSupportWarning/);
  },
);
