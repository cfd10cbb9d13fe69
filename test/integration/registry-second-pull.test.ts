// "A second pull of an image already on the host transfers 0 bytes of layers", measured against
// the built-in registry: a host image store pulls through a counting proxy in front of a real
// `berth server`; the first pull moves the layers, the second (pull behaviour "always", as Fargate)
// only the manifest and config; an image sharing a layer moves only its new layer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageStore } from "../../src/images/index.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startCountingProxy } from "../support/counting-proxy.js";
import type { CountingProxy } from "../support/counting-proxy.js";
import { buildImage, gzipLayer, loginPassword, pushImage } from "./registry-fixtures.js";

let server: TestServer;
let proxy: CountingProxy;
let password: string;
const storeDir = mkdtempSync(join(tmpdir(), "berth-second-pull-"));
const base = gzipLayer({ "base.bin": randomBytes(512 * 1024) }, 1);
const app = gzipLayer({ "app.bin": randomBytes(128 * 1024) }, 1);
const first = buildImage([base], { os: "linux", architecture: "amd64" }, "first");
const second = buildImage([base, app], { os: "linux", architecture: "amd64" }, "second");

before(async () => {
  server = await startTestServer();
  password = await loginPassword(server);
  assert.equal((await awsCli(server, ["ecr", "create-repository", "--repository-name", "app"])).code, 0);
  assert.equal((await pushImage(server, password, "app", "v1", first)).status, 201);
  assert.equal((await pushImage(server, password, "app", "v2", second)).status, 201);
  const url = new URL(server.endpoint);
  proxy = await startCountingProxy({ host: url.hostname, port: Number(url.port) });
});

after(async () => {
  await proxy.close();
  await server.stop();
  await server.cleanup();
  rmSync(storeDir, { recursive: true, force: true });
});

const layerBytes = (digests: readonly string[]) =>
  [...proxy.bytes].filter(([key]) => digests.some((digest) => key.endsWith(`/blobs/${digest}`))).reduce((sum, [, bytes]) => sum + bytes, 0);
const totalBytes = () => [...proxy.bytes.values()].reduce((sum, bytes) => sum + bytes, 0);

test("the second pull of an image already on the host transfers 0 bytes of layers from the built-in registry", async () => {
  const store = new ImageStore({ root: storeDir });
  const pull = (tag: string) =>
    store.pull(`${proxy.address}/app:${tag}`, {
      platform: { os: "linux", architecture: "amd64" },
      policy: "always",
      credentials: { username: "AWS", password },
    });
  const layerDigest = first.layers[0]!.digest;

  await pull("v1");
  assert.equal(layerBytes([layerDigest]), base.length, "the first pull moves the layer once");
  proxy.reset();

  const again = await pull("v1");
  assert.equal(again.manifestDigest, first.manifest.digest);
  assert.equal(layerBytes([layerDigest]), 0, "the second pull moves no layer bytes");
  const blobGets = [...proxy.bytes.keys()].filter((key) => key.startsWith("GET ") && key.includes("/blobs/"));
  assert.deepEqual(blobGets, [`GET /v2/app/blobs/${first.config.digest}`], "the only blob fetched is the config");
  assert.ok(totalBytes() < 4096, `manifest, config and the auth exchange only: ${totalBytes()} bytes`);
  const secondPullBytes = totalBytes();
  proxy.reset();

  await pull("v2");
  assert.equal(layerBytes([layerDigest]), 0, "the shared base layer is not moved again");
  assert.equal(layerBytes([second.layers[1]!.digest]), app.length, "only the new layer is");
  process.stdout.write(`# first pull: ${base.length} layer bytes; second pull: 0 layer bytes, ${secondPullBytes} bytes in all (manifest, config, auth)\n`);
});
