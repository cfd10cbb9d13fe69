// `berth network` prints the default VPC, one subnet per AZ and the default security group,
// signing its request from the usual AWS credential sources (here: the environment).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { startTestServer } from "../support/server.js";

const berth = join(new URL("../..", import.meta.url).pathname, "bin", "berth");

function runNetwork(endpoint: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [berth, "network", "--endpoint", endpoint],
      { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test("berth network lists the VPC, six us-east-1 subnets and the default security group", async () => {
  const server = await startTestServer();
  try {
    const result = await runNetwork(server.endpoint, {
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    assert.deepEqual(lines[0]!.slice(2), ["172.31.0.0/16", "default"]);
    const subnets = lines.filter((line) => line[0] === "subnet");
    assert.deepEqual(
      subnets.map((line) => line[2]),
      ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
    );
    assert.match(subnets[0]![1]!, /^subnet-[0-9a-f]{17}$/);
    assert.equal(lines.filter((line) => line[0] === "security-group").length, 1);
    const refused = await runNetwork(server.endpoint, {
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: "not-the-secret-not-the-secret-not-the-se",
      AWS_REGION: "us-east-1",
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /InvalidSignatureException/);
  } finally {
    await server.stop();
    await server.cleanup();
  }
});
