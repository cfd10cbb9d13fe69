// `berth server` exits promptly on SIGTERM even while a remote agent holds a long poll open: the
// poll is answered "shutting down" (503) so the agent backs off instead of holding the listener.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { protocolVersion } from "../../src/protocol/index.js";
import { startTestServer } from "../support/server.js";

test("SIGTERM with a remote agent long-polling: the poll is answered and the server exits within seconds", async () => {
  const server = await startTestServer();
  try {
    const link = createHttpControlLink({ serverUrl: server.endpoint, token: readFileSync(join(server.dataDir, "agent-token"), "utf8").trim() });
    await link.register({
      protocolVersion,
      hostId: "host-lp",
      agentVersion: "test",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 },
      machine: { cpuCount: 8, memoryMiB: 16384 },
      overcommit: false,
      subnetIds: [],
    });
    const first = await link.poll("host-lp", -1);
    const waiting = link.poll("host-lp", first.generation).then(
      () => "answered",
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // the poll is parked on the server
    const started = Date.now();
    const code = await server.stop();
    const tookMs = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(tookMs < 1_500, `server.stop() took ${tookMs} ms`);
    assert.match(await waiting, /HTTP 503: The control plane is shutting down/);
  } finally {
    await server.cleanup();
  }
});
