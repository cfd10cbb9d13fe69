// Tasks whose images come through the agent's real pull path (HostImageAdapter over the host
// ImageStore) from Debian's docker-registry on loopback, run by the real runtime: a registry behind
// the bearer-token challenge (a token server of the test's own), an unreachable registry, and a
// layer corrupted on the wire.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "../../src/agent/index.js";
import type { Agent } from "../../src/agent/index.js";
import { HostImageAdapter } from "../../src/agent/image-adapter.js";
import { HostNetworkAdapter } from "../../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../../src/agent/runtime-adapter.js";
import { systemClock } from "../../src/core/clock.js";
import { buildImage, ImageStore, pushImage } from "../../src/images/index.js";
import { TaskNetworks } from "../../src/network/index.js";
import type { TaskSpec } from "../../src/protocol/index.js";
import { TaskRuntime } from "../../src/runtime/index.js";
import { MemoryReporter } from "../support/agent-fakes.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { freePort, startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { startTokenServer } from "../support/token-server.js";
import type { TokenServer } from "../support/token-server.js";
import { hostTaskSpecs } from "../support/host-task-spec.js";
import { TaskLogs, runTaskToCompletion } from "../support/host-agent-parts.js";

const stateDir = mkdtempSync(join(tmpdir(), "berth-pulltask-"));
const subnet = { subnetId: "subnet-0bth0pulltask0001", cidr: "10.213.12.0/24" };
const taskSpec = hostTaskSpecs({ family: "pt", idFiller: "beef", subnet });
const credentials = { username: "berth", password: "bearer-s3cret" };
const leaksBefore = new Set(findLeaks());

const logs = new TaskLogs();
const store = new ImageStore({ root: join(stateDir, "images") });
let tokens: TokenServer;
let secured: TestRegistry;
let plain: TestRegistry;
let agent: Agent;

before(async () => {
  tokens = await startTokenServer(credentials);
  secured = await startRegistry({ token: tokens });
  plain = await startRegistry();
  agent = createAgent({
    stateDir: join(stateDir, "tasks"),
    // The secured registry's credentials, as repositoryCredentials would resolve them.
    images: new HostImageAdapter(store, { policy: "always", credentialsFor: async (image) => (image.startsWith(secured.address) ? credentials : undefined) }),
    runtime: new HostRuntimeAdapter(new TaskRuntime({ stateDir: join(stateDir, "runtime") }), (digest) => store.get(digest)),
    networks: new HostNetworkAdapter(new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" })),
    logSink: logs,
    reporter: new MemoryReporter(),
    clock: systemClock,
    logger: { error: () => undefined, info: () => undefined },
    logPollMs: 100,
  });
  await agent.start();
});

after(async () => {
  await agent.close();
  // The VPC router outlives its last task until the next view or the stop (src/network/task-networks.ts).
  await new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" }).stop();
  await secured.stop();
  await plain.stop();
  await tokens.stop();
  rmSync(stateDir, { recursive: true, force: true });
  assertNoNewLeaks(leaksBefore);
});

const runToCompletion = (spec: TaskSpec) => runTaskToCompletion(agent, logs, spec);

test("an image behind the bearer-token challenge is pulled with the task's registry credentials and runs", async () => {
  const image = await buildImage({ busybox: true, directories: [], architecture: "amd64", cmd: ["sh", "-c", "echo pulled-through-bearer-token"] });
  await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, `${secured.address}/private/app:v1`, { credentials });
  tokens.requests.length = 0;
  const { report, lines } = await runToCompletion(taskSpec([{ name: "app", image: `${secured.address}/private/app:v1` }], { pullPolicy: "always" }));
  assert.deepEqual(lines, ["app: pulled-through-bearer-token"], report.stoppedReason);
  assert.equal(report.containers[0]!.exitCode, 0);
  assert.equal(report.containers[0]!.imageDigest, image.manifest.digest);
  assert.ok(tokens.requests.includes("repository:private/app:pull"), `token scopes asked: ${tokens.requests.join(", ")}`);
});

test("an unreachable registry stops the task with CannotPullContainerError", async () => {
  const closedPort = await freePort();
  const { report } = await runToCompletion(taskSpec([{ name: "app", image: `127.0.0.1:${closedPort}/nothing:v1` }], { pullPolicy: "always" }));
  assert.equal(report.stopCode, "TaskFailedToStart");
  assert.match(report.stoppedReason ?? "", /^CannotPullContainerError: .*ECONNREFUSED/);
  assert.match(report.containers[0]!.reason ?? "", /^CannotPullContainerError: /);
  assert.equal(report.containers[0]!.lastStatus, "STOPPED");
});

test("a layer corrupted on the wire is refused: CannotPullContainerError, nothing stored", async () => {
  // A layer of its own (the store already holds the plain busybox layer from the first test).
  const content = mkdtempSync(join(stateDir, "content-"));
  writeFileSync(join(content, "marker"), `corrupt-test-${Date.now()}`);
  const image = await buildImage({ busybox: true, directories: [{ source: content, destination: "/marker" }], architecture: "amd64", cmd: ["true"] });
  await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, `${plain.address}/corrupt:v1`, {});
  const layerDigest = image.layers[0]!.digest;
  // Serves the real registry but flips one byte of the layer blob (gzip's CRC or the digest catches it).
  const proxy = createServer((request, response) => {
    // A failed upstream fetch ends the client's connection (it sees a failed pull), never an unhandled rejection.
    (async () => {
      const upstream = await fetch(`http://${plain.address}${request.url}`, { headers: { accept: request.headers.accept ?? "*/*" } });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (request.url?.endsWith(layerDigest)) body[body.length - 100] = (body[body.length - 100] ?? 0) ^ 0xff;
      response.writeHead(
        upstream.status,
        Object.fromEntries([...upstream.headers].filter(([name]) => name !== "content-encoding" && name !== "transfer-encoding")),
      );
      response.end(body);
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  try {
    const address = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const { report } = await runToCompletion(taskSpec([{ name: "app", image: `${address}/corrupt:v1` }], { pullPolicy: "always" }));
    assert.equal(report.stopCode, "TaskFailedToStart");
    assert.match(report.stoppedReason ?? "", /^CannotPullContainerError: .*(digest mismatch|incorrect data check|unexpected end|incorrect header)/);
    assert.equal(
      readdirSync(join(stateDir, "images", "layers", "sha256")).filter((entry) => entry.startsWith(layerDigest.slice(7))).length,
      0,
      "no layer left behind",
    );
  } finally {
    proxy.close();
  }
});
