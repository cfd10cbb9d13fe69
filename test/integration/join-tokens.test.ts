// Join tokens the server issues (`berth join-token create`): an agent joins with one of its own
// instead of the bootstrap token; an expired or unknown token is refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { startTestServer } from "../support/server.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const issue = (...args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [berth, "join-token", "create", "--data-dir", server.dataDir, ...args], (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout.trim()))),
  );
const identity = (hostId: string) => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64" as const,
  capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false,
  subnetIds: [],
});

test("an agent joins with a join token the server issued", async () => {
  const token = await issue("--description", "host j1");
  assert.match(token, /^[A-Za-z0-9_-]{32}$/);
  const link = createHttpControlLink({ serverUrl: server.endpoint, token });
  await link.register(identity("host-j1"));
  await link.heartbeat("host-j1");
});

test("an expired or unknown join token is refused", async () => {
  const expired = await issue("--expires-in-hours", "0.000001");
  await new Promise((resolve) => setTimeout(resolve, 20));
  await assert.rejects(createHttpControlLink({ serverUrl: server.endpoint, token: expired }).register(identity("host-j2")), /HTTP 401/);
  await assert.rejects(createHttpControlLink({ serverUrl: server.endpoint, token: "never-issued-token" }).register(identity("host-j3")), /HTTP 401/);
});
