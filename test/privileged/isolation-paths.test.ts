// Issue 9's escapes through names that become host paths and through the host's disk, tried
// against the real agent (real runtime, networks, image store) with hostile input handed to it
// directly, as if registration had been bypassed or the registry were the attacker's:
//   - a volume (and a container) named to climb out of the task's storage: refused at create;
//   - a registry on loopback (a small node server of this test) serving digests that are paths,
//     a Docker-Content-Digest header and an index entry that are paths, redirects to another
//     loopback address and to the metadata address, a gzip bomb and an error body with a secret:
//     each pull refused with CannotPullContainerError naming the reason, nothing written outside the
//     image store, and no connection ever made to a redirect target (a spy on every socket connect);
//   - a log bomb: the container's log file stays under the cap while it writes 10× the cap, and the
//     lines shipped keep strictly increasing offsets (none sent twice) up to its last line.
// (Registration's own refusal, through the SDK, is in test/integration/ecs-foundation.test.ts via
// test/support/fargate-rejected-cases.ts.)
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import { createAgent } from "../../src/agent/index.js";
import type { Agent, ImagePort, LogEvent, LogSink } from "../../src/agent/index.js";
import { HostImageAdapter } from "../../src/agent/image-adapter.js";
import { HostNetworkAdapter } from "../../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../../src/agent/runtime-adapter.js";
import { systemClock } from "../../src/core/clock.js";
import { ImageStore } from "../../src/images/index.js";
import { TaskNetworks } from "../../src/network/index.js";
import type { TaskSpec } from "../../src/protocol/index.js";
import { runtimeIdOf, TaskRuntime } from "../../src/runtime/index.js";
import { makeBusyboxLayer } from "../support/busybox-rootfs.js";
import { MemoryReporter } from "../support/agent-fakes.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { hostTaskSpecs, waitUntil } from "../support/host-task-spec.js";
import { BUSYBOX_TEST_DIGEST, LocalBusyboxImages } from "../support/host-agent-parts.js";

const stateDir = mkdtempSync(join(tmpdir(), "berth-isolation-"));
const agentDir = join(stateDir, "agent");
const storeRoot = join(stateDir, "store", "deep", "images");
const layerDir = makeBusyboxLayer(mkdtempSync(join(tmpdir(), "berth-layer-")));
const subnet = { subnetId: "subnet-0bth0isolation001", cidr: "10.213.19.0/24" };
const taskSpec = hostTaskSpecs({ family: "iso", idFiller: "a11e", subnet });
const leaksBefore = new Set(findLeaks());
const LOG_CAP_BYTES = 256 * 1024;
/** Written by nothing: an escape that wrote anything outside its root would show here. */
const canary = join(stateDir, "canary.txt");

/** Every path under stateDir outside the agent's own dirs and the store's two trees. */
function outsideListing(): string[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (path === agentDir || path === join(storeRoot, "layers") || path === join(storeRoot, "images")) continue;
      paths.push(relative(stateDir, path));
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(stateDir);
  return paths.sort();
}

/** Lines shipped per task, and every offset, in order, to check none is sent twice. */
class CountingSink implements LogSink {
  readonly lines = new Map<string, string[]>();
  readonly offsets = new Map<string, number[]>();
  async write(taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void> {
    const offsets = this.offsets.get(taskId) ?? [];
    const lines = this.lines.get(taskId) ?? [];
    for (const event of events) {
      offsets.push(event.offset);
      // The log bomb's millions of lines are counted, not kept.
      if (!event.message.startsWith("yyyy")) lines.push(`${containerName}: ${event.message}`);
    }
    this.offsets.set(taskId, offsets);
    this.lines.set(taskId, lines);
  }
}

// ---------------------------------------------------------------------------------------------
// The hostile registry: plain HTTP on loopback, answering per repository.
const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [] } }));
const smallLayer = gzipSync(Buffer.alloc(1024));
const GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const manifestOf = (layers: { digest: string; size: number }[]) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: layers.map((layer) => ({ mediaType: GZIP_LAYER, ...layer })),
    }),
  );

/** A ustar header for one regular file of `size` bytes (the bomb's content follows it). */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100, "ascii");
  header.write("0000000\0", 108, "ascii");
  header.write("0000000\0", 116, "ascii");
  header.write(size.toString(8).padStart(11, "0") + "\0", 124, "ascii");
  header.write("14524525400\0", 136, "ascii");
  header.write("        ", 148, "ascii");
  header.write("0", 156, "ascii");
  header.write("ustar\x0000", 257, "binary");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return header;
}

/** 1 GiB of zeros in a tar, gzipped (~1 MiB): > 1000:1, far past the store's default 100:1. */
async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => gzip.once("end", resolve));
  const size = 1024 ** 3;
  gzip.write(tarHeader("bomb", size));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (let written = 0; written < size; written += zeros.length) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  gzip.end(Buffer.alloc(1024));
  await done;
  return Buffer.concat(chunks);
}

interface Repository {
  readonly manifest: Buffer;
  readonly manifestHeaders?: Record<string, string>;
  readonly manifestStatus?: number;
  readonly blobs?: Record<string, Buffer>;
  readonly redirects?: Record<string, string>;
}

let registry: Server;
let registryAddress = "";
/** A listener on 127.0.0.2 that a redirect names: it must never see a connection. */
let otherLoopback: Server;
let otherLoopbackConnections = 0;
const repositories = new Map<string, Repository>();
const blobRequests: string[] = [];
/** Every socket connect the process makes while a hostile pull runs. */
const connects: string[] = [];
const originalConnect = Socket.prototype.connect;

let agent: Agent;
const sink = new CountingSink();
const store = new ImageStore({ root: storeRoot });

before(async () => {
  writeFileSync(canary, "untouched\n");
  otherLoopback = createServer(() => undefined);
  otherLoopback.on("connection", (socket) => {
    otherLoopbackConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => otherLoopback.listen(0, "127.0.0.2", resolve));
  const otherPort = (otherLoopback.address() as AddressInfo).port;

  const bomb = await gzipBomb();
  const hex = sha256(smallLayer).slice("sha256:".length);
  repositories.set("evil/traversal", { manifest: manifestOf([{ digest: "sha256:../../..", size: smallLayer.length }]) });
  repositories.set("evil/suffix", { manifest: manifestOf([{ digest: `sha256:${hex}:../../../../canary`, size: smallLayer.length }]) });
  repositories.set("evil/header", {
    manifest: manifestOf([{ digest: sha256(smallLayer), size: smallLayer.length }]),
    manifestHeaders: { "docker-content-digest": "sha256:../../../../canary" },
  });
  repositories.set("evil/index", {
    manifest: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:../../../x", size: 10, platform: { os: "linux", architecture: "amd64" } },
        ],
      }),
    ),
  });
  repositories.set("evil/redirect-loopback", {
    manifest: manifestOf([{ digest: sha256(smallLayer), size: smallLayer.length }]),
    redirects: { [sha256(smallLayer)]: `http://127.0.0.2:${otherPort}/blob` },
  });
  repositories.set("evil/redirect-metadata", {
    manifest: manifestOf([{ digest: sha256(smallLayer), size: smallLayer.length }]),
    redirects: { [sha256(smallLayer)]: "https://169.254.169.254/latest/meta-data/iam/security-credentials/" },
  });
  repositories.set("evil/bomb", { manifest: manifestOf([{ digest: sha256(bomb), size: bomb.length }]), blobs: { [sha256(bomb)]: bomb } });
  repositories.set("evil/not-json", { manifest: Buffer.from("SECRET-INTERNAL-DETAIL: not a manifest") });
  repositories.set("evil/error-body", {
    manifest: Buffer.from(
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"SECRET-INTERNAL-DETAIL at /srv/registry","detail":"SECRET"},{"code":"SECRET_CODE"}]}',
    ),
    manifestStatus: 500,
  });

  registry = createServer((request, response) => {
    const url = request.url ?? "";
    if (url === "/v2/") return void response.writeHead(200).end("{}");
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url);
    const repository = match ? repositories.get(match[1]!) : undefined;
    if (!match || !repository) return void response.writeHead(404).end();
    const [, , kind, reference] = match as unknown as [string, string, string, string];
    if (kind === "manifests") {
      const mediaType = repository.manifest.toString().includes('"mediaType"')
        ? (JSON.parse(repository.manifest.toString()) as { mediaType?: string }).mediaType!
        : "application/json";
      return void response.writeHead(repository.manifestStatus ?? 200, { "content-type": mediaType, ...repository.manifestHeaders }).end(repository.manifest);
    }
    blobRequests.push(`${match[1]}@${reference}`);
    if (reference === sha256(config)) return void response.writeHead(200).end(config);
    const redirect = repository.redirects?.[reference];
    if (redirect) return void response.writeHead(307, { location: redirect }).end();
    const blob = repository.blobs?.[reference];
    if (blob) return void response.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
  registryAddress = `127.0.0.1:${(registry.address() as AddressInfo).port}`;

  const local = new LocalBusyboxImages();
  const pulled = new HostImageAdapter(store, { policy: "always" });
  const images: ImagePort = { pull: (image, options) => (image === "busybox" ? local.pull(image) : pulled.pull(image, options)) };
  const runtime = new TaskRuntime({ stateDir: join(agentDir, "runtime"), logSizeMaxBytes: LOG_CAP_BYTES });
  agent = createAgent({
    stateDir: join(agentDir, "tasks"),
    images,
    runtime: new HostRuntimeAdapter(runtime, (digest) =>
      digest === BUSYBOX_TEST_DIGEST ? { layerDirs: [layerDir], config: { env: ["PATH=/bin:/sbin:/usr/bin"] } } : store.get(digest),
    ),
    networks: new HostNetworkAdapter(new TaskNetworks({ stateDir: join(agentDir, "network"), region: "us-east-1" })),
    logSink: sink,
    reporter: new MemoryReporter(),
    clock: systemClock,
    logger: { error: () => undefined, info: () => undefined },
    logPollMs: 100,
  });
  await agent.start();
});

after(async () => {
  Socket.prototype.connect = originalConnect;
  await agent.close();
  // The VPC router outlives its last task until the next view or the stop (src/network/task-networks.ts).
  await new TaskNetworks({ stateDir: join(agentDir, "network"), region: "us-east-1" }).stop();
  // The runtime refills its pool of formatted ephemeral disks after launches go quiet (at most 2 s
  // later): removing the state dir under a refill would fail it after this file ended.
  const pool = join(agentDir, "runtime", "ephemeral-pool");
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await waitUntil(() => !existsSync(pool) || !readdirSync(pool).some((file) => file.endsWith(".partial")), "the ephemeral pool's refill", 60_000);
  await new Promise((resolve) => registry.close(resolve));
  await new Promise((resolve) => otherLoopback.close(resolve));
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(layerDir, { recursive: true, force: true });
  assertNoNewLeaks(leaksBefore);
});

async function runToEnd(spec: TaskSpec) {
  await agent.runTask(spec);
  await agent.whenStopped(spec.taskArn);
  return agent.describe(spec.taskArn)!;
}

// ---------------------------------------------------------------------------------------------
test("a volume named to climb out of the task's storage is refused at create, and the host's root is never mounted", async () => {
  const before = outsideListing();
  const name = "../../../../../../../../../..";
  const report = await runToEnd(
    taskSpec(
      [
        {
          name: "app",
          image: "busybox",
          command: ["sh", "-c", `cat /host/etc/shadow; echo pwned > /host${canary}`],
          mountPoints: [{ sourceVolume: name, containerPath: "/host" }],
        },
      ],
      { volumes: [{ name }] },
    ),
  );
  assert.equal(report.lastStatus, "STOPPED");
  assert.match(report.stoppedReason ?? "", /^CannotStartContainerError: .*refusing the volume name "\.\.\/\.\.\/\.\.\/.*": it has a slash/);
  assert.deepEqual(sink.lines.get(report.taskArn.split("/").at(-1)!) ?? [], []);
  assert.equal(readFileSync(canary, "utf8"), "untouched\n");
  assert.deepEqual(outsideListing(), before);
});

test("a volume named `..` alone, and a container named to climb, are refused the same way", async () => {
  const dots = await runToEnd(
    taskSpec([{ name: "app", image: "busybox", command: ["true"], mountPoints: [{ sourceVolume: "..", containerPath: "/up" }] }], {
      volumes: [{ name: ".." }],
    }),
  );
  assert.match(dots.stoppedReason ?? "", /^CannotStartContainerError: .*refusing the volume name "\.\.": it is a relative path step/);
  const climber = await runToEnd(taskSpec([{ name: "../../../../escape", image: "busybox", command: ["true"] }]));
  assert.match(
    climber.stoppedReason ?? "",
    /^CannotStartContainerError: .*refusing the (container name|task id or container name) "\.\.\/\.\.\/\.\.\/\.\.\/escape"/,
  );
  assert.equal(existsSync(join(agentDir, "escape")), false);
  assert.equal(existsSync(join(stateDir, "escape")), false);
});

/** Runs one task pulling `repository` and returns its stopped reason; records every socket connect meanwhile. */
async function hostilePull(repository: string): Promise<string> {
  connects.length = 0;
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    const options = args[0] as { host?: string; port?: number } | number;
    connects.push(typeof options === "object" ? `${options.host}:${options.port}` : `${String(args[1])}:${options}`);
    return (originalConnect as (...a: unknown[]) => Socket).apply(this, args);
  } as typeof Socket.prototype.connect;
  try {
    const report = await runToEnd(taskSpec([{ name: "app", image: `${registryAddress}/${repository}:v1` }]));
    assert.equal(report.lastStatus, "STOPPED");
    assert.match(report.containers[0]!.reason ?? "", /^CannotPullContainerError: /);
    return report.stoppedReason ?? "";
  } finally {
    Socket.prototype.connect = originalConnect;
  }
}

test("hostile registry digests, headers, index entries, redirects, a gzip bomb and an error body: each pull refused, nothing written outside the store", async () => {
  const before = outsideListing();
  const cases: [string, RegExp][] = [
    ["evil/traversal", /^CannotPullContainerError: .*invalid layer digest "sha256:\.\.\/\.\.\/\.\.": not sha256:<64 hex> or sha512:<128 hex>/],
    ["evil/suffix", /^CannotPullContainerError: .*invalid layer digest "sha256:[0-9a-f]{64}:\.\.\/\.\.\/\.\.\/\.\.\/canary"/],
    ["evil/header", /^CannotPullContainerError: .*invalid manifest digest "sha256:\.\.\/\.\.\/\.\.\/\.\.\/canary"/],
    ["evil/index", /^CannotPullContainerError: .*invalid manifest digest "sha256:\.\.\/\.\.\/\.\.\/x"/],
    ["evil/redirect-loopback", /^CannotPullContainerError: .*redirect to http:\/\/127\.0\.0\.2:\d+ refused: a loopback address, not the registry's host/],
    ["evil/redirect-metadata", /^CannotPullContainerError: .*redirect to https:\/\/169\.254\.169\.254 refused: a link-local address, not the registry's host/],
    [
      "evil/bomb",
      /^CannotPullContainerError: .*failed to copy layer sha256:[0-9a-f]{64} .*layer decompresses to more than 100 times its compressed size .*decompression bomb/,
    ],
    ["evil/error-body", /^CannotPullContainerError: .*unexpected status 500: MANIFEST_UNKNOWN: manifest unknown$/],
    ["evil/not-json", /^CannotPullContainerError: .*manifest is not valid JSON$/],
  ];
  for (const [repository, expected] of cases) {
    const reason = await hostilePull(repository);
    assert.match(reason, expected, repository);
    assert.doesNotMatch(reason, /SECRET/, repository);
    // Only the registry itself was ever connected to: a refused redirect is refused before connecting.
    assert.deepEqual(
      connects.filter((target) => !target.startsWith("127.0.0.1:") && !target.startsWith("undefined")),
      [],
      `${repository} connected to ${connects.join(", ")}`,
    );
    assert.ok(!connects.some((target) => target.startsWith("127.0.0.2") || target.startsWith("169.254.")), repository);
  }
  assert.equal(otherLoopbackConnections, 0);
  // No layer of a refused path-digest was ever asked for; the redirects' and the bomb's were.
  assert.ok(!blobRequests.some((request) => request.includes("..")), blobRequests.join(", "));
  assert.ok(blobRequests.some((request) => request.startsWith("evil/bomb@")));
  // The store holds nothing of them, the bomb's partial unpack included; outside it nothing changed.
  const layers = join(storeRoot, "layers");
  const storedLayers = existsSync(layers) ? readdirSync(layers).flatMap((algorithm) => readdirSync(join(layers, algorithm))) : [];
  assert.deepEqual(storedLayers, []);
  assert.equal(readFileSync(canary, "utf8"), "untouched\n");
  assert.deepEqual(outsideListing(), before);
});

test("a log bomb keeps its log file under the cap, and the lines shipped never repeat an offset", async () => {
  const line = "y".repeat(99);
  // ~40× the cap through conmon (100-byte lines), then one last line that must arrive.
  const lineCount = Math.ceil((40 * LOG_CAP_BYTES) / 100);
  const spec = taskSpec([{ name: "bomb", image: "busybox", command: ["sh", "-c", `yes ${line} | head -n ${lineCount}; echo bomb-done`] }]);
  const logFile = join(agentDir, "runtime", "containers", runtimeIdOf(spec.taskId, "bomb"), "container.log");
  let largest = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    try {
      largest = Math.max(largest, statSync(logFile).size);
      samples += 1;
    } catch {
      // Not created yet, or removed with the container.
    }
  }, 2);
  let report;
  try {
    report = await runToEnd(spec);
  } finally {
    clearInterval(sampler);
  }
  assert.equal(report.containers[0]!.exitCode, 0, report.stoppedReason);
  assert.ok(samples > 10, `the log file was sampled (${samples} samples)`);
  assert.ok(largest > 0 && largest <= LOG_CAP_BYTES, `largest log file ${largest} bytes, cap ${LOG_CAP_BYTES}`);
  const offsets = sink.offsets.get(spec.taskId) ?? [];
  assert.ok(offsets.length > 0);
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!, `offset ${offsets[i]} after ${offsets[i - 1]} (line ${i})`);
  assert.deepEqual(sink.lines.get(spec.taskId)?.at(-1), "bomb: bomb-done");
  // Lines past the cap may be dropped (that is what bounds the disk), never invented.
  assert.ok(offsets.length <= lineCount + 1);
});
