// The image path through real registries on loopback: `berth image build --push` into Debian's
// docker-registry, then the host image store pulling it anonymously, with basic auth, by digest,
// from a multi-arch index, concurrently, and refusing a corrupted layer or an unreachable registry.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { create as createTar } from "tar";
import { buildImage, ImagePullError, ImageStore, pushImage, unpackLayer } from "../../src/images/index.js";
import { freePort, startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const amd64 = { os: "linux", architecture: "amd64" };
let registry: TestRegistry;
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

const cli = (args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [berth, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

before(async () => {
  registry = await startRegistry();
});

after(async () => {
  await registry.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test("berth image build --push makes an image skopeo accepts, and the store pulls and unpacks it", async () => {
  const site = tempDir("berth-site-");
  writeFileSync(join(site, "index.html"), "<h1>hello</h1>\n");
  const built = await cli([
    "image",
    "build",
    "--tag",
    `${registry.address}/web:v1`,
    "--dir",
    `${site}:/var/www`,
    "--cmd",
    '["httpd","-f","-p","80","-h","/var/www"]',
    "--port",
    "80",
    "--push",
  ]);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /@sha256:[0-9a-f]{64}$/m);
  const inspected = JSON.parse(execFileSync("skopeo", ["inspect", "--tls-verify=false", `docker://${registry.address}/web:v1`], { encoding: "utf8" })) as {
    Digest: string;
    Architecture: string;
  };
  assert.equal(inspected.Digest, built.stdout.trim().split("@")[1]);
  assert.equal(inspected.Architecture, "amd64");

  const store = new ImageStore({ root: tempDir("berth-store-") });
  const image = await store.pull(`${registry.address}/web:v1`, { platform: amd64, policy: "always" });
  assert.equal(image.manifestDigest, inspected.Digest);
  assert.deepEqual(image.config.cmd, ["httpd", "-f", "-p", "80", "-h", "/var/www"]);
  assert.deepEqual(image.config.exposedPorts, ["80/tcp"]);
  const [layer] = image.layerDirs;
  assert.ok(statSync(join(layer!, "bin", "busybox")).isFile());
  assert.ok(lstatSync(join(layer!, "bin", "sh")).isSymbolicLink());
  assert.ok(existsSync(join(layer!, "var", "www", "index.html")));
  const downloaded = store.layerBytesDownloaded;
  assert.ok(downloaded > 0);

  const again = await store.pull(`${registry.address}/web:v1`, { platform: amd64, policy: "always" });
  assert.equal(again.manifestDigest, image.manifestDigest);
  assert.equal(store.layerBytesDownloaded, downloaded, "a second pull transfers no layer bytes");
  const byDigest = await store.pull(`${registry.address}/web@${image.manifestDigest}`, { platform: amd64, policy: "always" });
  assert.deepEqual(byDigest.layerDirs, image.layerDirs);
  assert.deepEqual(store.get(image.manifestDigest)?.layerDirs, image.layerDirs);
});

test("the same build twice gives the same digest", async () => {
  const input = { busybox: true, directories: [], architecture: "amd64", cmd: ["sh"] };
  assert.equal((await buildImage(input)).manifest.digest, (await buildImage(input)).manifest.digest);
});

test("two concurrent pulls of one image download it once", async () => {
  const store = new ImageStore({ root: tempDir("berth-store-") });
  const image = await buildImage({ busybox: true, directories: [], architecture: "amd64", cmd: ["sh"] });
  await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, `${registry.address}/twice:v1`, {});
  const [a, b] = await Promise.all([0, 1].map(() => store.pull(`${registry.address}/twice:v1`, { platform: amd64, policy: "always" })));
  assert.equal(a!.manifestDigest, b!.manifestDigest);
  assert.equal(store.layerBytesDownloaded, image.layers[0]!.bytes.length);
});

test("an index selects the manifest of the task's platform", async () => {
  const amd = await buildImage({ busybox: false, directories: [], architecture: "amd64", cmd: ["amd"] });
  const arm = await buildImage({ busybox: false, directories: [], architecture: "arm64", cmd: ["arm"] });
  for (const [image, tag] of [
    [amd, "amd"],
    [arm, "arm"],
  ] as const)
    await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, `${registry.address}/multi:${tag}`, {});
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: amd.manifest.mediaType, digest: amd.manifest.digest, size: amd.manifest.bytes.length, platform: { os: "linux", architecture: "amd64" } },
        {
          mediaType: arm.manifest.mediaType,
          digest: arm.manifest.digest,
          size: arm.manifest.bytes.length,
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
      ],
    }),
  );
  const put = await fetch(`http://${registry.address}/v2/multi/manifests/latest`, {
    method: "PUT",
    body: index,
    headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
  });
  assert.equal(put.status, 201);
  const store = new ImageStore({ root: tempDir("berth-store-") });
  const pulledArm = await store.pull(`${registry.address}/multi`, { platform: { os: "linux", architecture: "arm64" }, policy: "always" });
  assert.equal(pulledArm.manifestDigest, arm.manifest.digest);
  assert.deepEqual(pulledArm.config.cmd, ["arm"]);
  const pulledAmd = await store.pull(`${registry.address}/multi:latest`, { platform: amd64, policy: "always" });
  assert.equal(pulledAmd.manifestDigest, amd.manifest.digest);
  await assert.rejects(
    store.pull(`${registry.address}/multi`, { platform: { os: "linux", architecture: "s390x" }, policy: "always" }),
    /no matching manifest for linux\/s390x/,
  );
});

test("basic auth: refused without credentials, pulled with them", async () => {
  const secured = await startRegistry({ htpasswd: { username: "berth", password: "s3cret" } });
  try {
    const image = await buildImage({ busybox: false, directories: [], architecture: "amd64", cmd: ["x"] });
    await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, `${secured.address}/private:v1`, {
      credentials: { username: "berth", password: "s3cret" },
    });
    const store = new ImageStore({ root: tempDir("berth-store-") });
    await assert.rejects(
      store.pull(`${secured.address}/private:v1`, { platform: amd64, policy: "always" }),
      (error: Error) => error instanceof ImagePullError && /unauthorized/.test(error.message),
    );
    const pulled = await store.pull(`${secured.address}/private:v1`, {
      platform: amd64,
      policy: "always",
      credentials: { username: "berth", password: "s3cret" },
    });
    assert.equal(pulled.manifestDigest, image.manifest.digest);
  } finally {
    await secured.stop();
  }
});

test("a corrupted layer is refused and leaves nothing in the store; an unreachable registry fails the pull", async () => {
  const image = await buildImage({ busybox: true, directories: [], architecture: "amd64", cmd: ["sh"] });
  await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, `${registry.address}/corrupt:v1`, {});
  const layerDigest = image.layers[0]!.digest;
  // A proxy that serves the real registry but flips one byte of the layer blob.
  const proxy = createServer((request, response) => {
    // A failed upstream fetch ends the client's connection (it sees a failed pull), never an unhandled rejection.
    (async () => {
      const upstream = await fetch(`http://${registry.address}${request.url}`, { headers: { accept: request.headers.accept ?? "*/*" } });
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
  const proxyAddress = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const root = tempDir("berth-store-");
  const store = new ImageStore({ root });
  try {
    await assert.rejects(
      store.pull(`${proxyAddress}/corrupt:v1`, { platform: amd64, policy: "always" }),
      (error: Error) => error instanceof ImagePullError && /digest mismatch|incorrect data check|unexpected end|incorrect header/.test(error.message),
    );
    assert.deepEqual(readdirSync(join(root, "layers", "sha256")), [], "no layer left behind");
    assert.equal(store.cached(`${proxyAddress}/corrupt:v1`), undefined);
  } finally {
    proxy.close();
  }
  const closedPort = await freePort();
  await assert.rejects(
    store.pull(`127.0.0.1:${closedPort}/nothing:v1`, { platform: amd64, policy: "always" }),
    (error: Error) => error instanceof ImagePullError && /failed to resolve ref .*ECONNREFUSED/.test(error.message),
  );
});

test("OCI whiteouts become overlay whiteouts and opaque directories", async () => {
  const stage = tempDir("berth-wh-");
  mkdirSync(join(stage, "etc", "gone-dir"), { recursive: true });
  writeFileSync(join(stage, "etc", ".wh.removed.conf"), "");
  writeFileSync(join(stage, "etc", "gone-dir", ".wh..wh..opq"), "");
  writeFileSync(join(stage, "etc", "kept.conf"), "kept\n");
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ cwd: stage, portable: true }, ["etc"]) as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  const blob = gzipSync(Buffer.concat(chunks));
  const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
  const target = join(tempDir("berth-unpacked-"), "layer");
  await unpackLayer(Readable.from([blob]), { digest, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", targetDir: target });
  const whiteout = statSync(join(target, "etc", "removed.conf"));
  assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, "a 0/0 character device");
  assert.equal(
    execFileSync("python3", ["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'trusted.overlay.opaque').decode())", join(target, "etc", "gone-dir")], {
      encoding: "utf8",
    }).trim(),
    "y",
  );
  assert.ok(!existsSync(join(target, "etc", ".wh.removed.conf")));
  await assert.rejects(
    unpackLayer(Readable.from([blob]), {
      digest: `sha256:${"0".repeat(64)}`,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      targetDir: join(dirname(target), "other"),
    }),
    /digest mismatch/,
  );
  assert.ok(!existsSync(join(dirname(target), "other")));
});

test("a zstd layer unpacks", async () => {
  const stage = tempDir("berth-zstd-");
  writeFileSync(join(stage, "hello.txt"), "hi\n");
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ cwd: stage, portable: true }, ["hello.txt"]) as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  const blob = execFileSync("zstd", ["-q", "-c"], { input: Buffer.concat(chunks) });
  const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
  const target = join(tempDir("berth-unpacked-"), "layer");
  await unpackLayer(Readable.from([blob]), { digest, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", targetDir: target });
  assert.ok(existsSync(join(target, "hello.txt")));
});
