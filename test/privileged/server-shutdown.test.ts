// `berth server` (embedded agent) stopped with SIGTERM while a task runs: it must exit promptly
// (the agent used to keep waiting on the running container's exit, so the process never ended),
// leave the container running under conmon, and find it again on the next start.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { startRegistry } from "../support/registry.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const dataDir = mkdtempSync(join(tmpdir(), "berth-sigterm-"));
const leaksBefore = new Set(findLeaks());
const serverArgs = ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"];
let server: TestServer | undefined;

after(() => {
  rmSync(dataDir, { recursive: true, force: true });
  assertNoNewLeaks(leaksBefore);
});

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server!, args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

async function waitFor(arn: string, status: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = ((await cli(["ecs", "describe-tasks", "--cluster", "sig", "--tasks", arn])).tasks as { lastStatus: string }[])[0]!;
    if (task.lastStatus === status) return;
    if (Date.now() > deadline) throw new Error(`task is ${task.lastStatus}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test("SIGTERM with a task running ends the server within seconds; the task runs on and is found after a restart", async () => {
  const registry = await startRegistry();
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [berth, "image", "build", "--tag", `${registry.address}/sleeper:v1`, "--cmd", '["sh","-c","trap \'exit 0\' TERM; sleep 600 & wait"]', "--push"], (error, _out, stderr) =>
        error ? reject(new Error(stderr)) : resolve(),
      ),
    );
    server = await startTestServer({ agent: true, dataDir, args: serverArgs });
    const subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
    await cli(["ecs", "create-cluster", "--cluster-name", "sig"]);
    const definition = join(dataDir, "td.json");
    writeFileSync(
      definition,
      JSON.stringify({ family: "sleeper", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], cpu: "256", memory: "512", containerDefinitions: [{ name: "sleeper", image: `${registry.address}/sleeper:v1`, essential: true }] }),
    );
    await cli(["ecs", "register-task-definition", "--cli-input-json", `file://${definition}`]);
    const answer = await cli(["ecs", "run-task", "--cluster", "sig", "--task-definition", "sleeper", "--launch-type", "FARGATE", "--network-configuration", `awsvpcConfiguration={subnets=[${subnetId}]}`]);
    const arn = (answer.tasks as { taskArn: string }[])[0]!.taskArn;
    await waitFor(arn, "RUNNING");

    const started = Date.now();
    const code = await Promise.race([server.stop(), new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 15_000))]);
    if (code === "hung") await server.kill();
    assert.notEqual(code, "hung", "berth server did not exit within 15 s of SIGTERM");
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 15_000);

    server = await startTestServer({ agent: true, dataDir, args: serverArgs });
    await waitFor(arn, "RUNNING");
    await cli(["ecs", "stop-task", "--cluster", "sig", "--task", arn]);
    await waitFor(arn, "STOPPED");
    assert.equal(await server.stop(), 0);
  } finally {
    if (server?.process.exitCode === null) await server.kill();
    await registry.stop();
  }
});
