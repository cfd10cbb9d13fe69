// ECR's layer API and PutImage on one real `berth server`, through @aws-sdk/client-ecr, the AWS
// CLI and skopeo: an image pushed with InitiateLayerUpload/UploadLayerPart/CompleteLayerUpload and
// PutImage pulls through /v2/; BatchGetImage then PutImage retags without pulling; the URL of
// GetDownloadUrlForLayer serves the layer and nothing else. Every input is tried hostile.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent as HttpsAgent, get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  StartImageScanCommand,
  UploadLayerPartCommand,
} from "@aws-sdk/client-ecr";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { Blob, BuiltImage } from "./registry-fixtures.js";
import {
  buildImage,
  buildIndex,
  gzipLayer,
  loginPassword,
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  registryFetch,
  registryHost,
  sha256,
} from "./registry-fixtures.js";

let server: TestServer;
let ecr: ECRClient;
let password: string;
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

before(async () => {
  server = await startTestServer();
  ecr = new ECRClient(sdkConfig(server));
  for (const name of ["layers", "other"]) await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  await ecr.send(new CreateRepositoryCommand({ repositoryName: "frozen", imageTagMutability: "IMMUTABLE" }));
  password = await loginPassword(server);
});

after(async () => {
  ecr.destroy();
  await server.stop();
  await server.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function rejects(promise: Promise<unknown>, name: string, message?: RegExp): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    const failure = error as Error & Record<string, unknown>;
    assert.equal(failure.name, name, failure.message);
    if (message) assert.match(failure.message, message);
    return failure;
  }
  assert.fail(`expected ${name}`);
}

/** Uploads a blob through the layer API in parts of `partBytes`. */
async function uploadLayer(repositoryName: string, item: Blob, partBytes = 1000): Promise<void> {
  const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  assert.ok(partSize! > 0);
  for (let first = 0; first < item.bytes.length; first += partBytes) {
    const part = item.bytes.subarray(first, first + partBytes);
    const answer = await ecr.send(
      new UploadLayerPartCommand({ repositoryName, uploadId, partFirstByte: first, partLastByte: first + part.length - 1, layerPartBlob: part }),
    );
    assert.equal(answer.lastByteReceived, first + part.length - 1);
  }
  const done = await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [item.digest] }));
  assert.equal(done.layerDigest, item.digest);
}

async function pushByApi(repositoryName: string, image: BuiltImage, imageTag?: string) {
  for (const item of [image.config, ...image.layers]) await uploadLayer(repositoryName, item);
  return ecr.send(
    new PutImageCommand({ repositoryName, imageManifest: image.manifest.bytes.toString("utf8"), imageManifestMediaType: OCI_MANIFEST, imageTag }),
  );
}

const run = (command: string, args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

async function skopeoPull(reference: string): Promise<{ code: number; stderr: string }> {
  const authFile = join(tempDir("berth-auth-"), "auth.json");
  const login = await run("skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "AWS", "--password-stdin", registryHost(server)], password);
  assert.equal(login.code, 0, login.stderr);
  return run("skopeo", [
    "copy",
    "--authfile",
    authFile,
    "--src-tls-verify=false",
    `docker://${registryHost(server)}/${reference}`,
    `oci:${tempDir("berth-pull-")}:x`,
  ]);
}

test("an image pushed with the layer API and PutImage is available to BatchCheckLayerAvailability and pulls through /v2/ with skopeo", async () => {
  const layer = gzipLayer({ "etc/layered.txt": "x".repeat(5000) }, 0);
  const image = buildImage([layer]);
  const put = await pushByApi("layers", image, "v1");
  assert.equal(put.image!.imageId!.imageDigest, image.manifest.digest);
  assert.equal(put.image!.imageId!.imageTag, "v1");
  assert.equal(put.image!.imageManifestMediaType, OCI_MANIFEST);

  const missing = sha256("never pushed");
  const check = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: "layers", layerDigests: [image.layers[0]!.digest, missing, "bogus"] }));
  assert.deepEqual(
    check.layers!.map((item) => [item.layerDigest, item.layerAvailability, item.layerSize]),
    [
      [image.layers[0]!.digest, "AVAILABLE", layer.length],
      [missing, "UNAVAILABLE", undefined],
    ],
  );
  assert.deepEqual(
    check.failures!.map((failure) => [failure.layerDigest, failure.failureCode]),
    [["bogus", "InvalidLayerDigest"]],
  );
  // Another repository does not see the layer: links are per repository.
  const elsewhere = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: "other", layerDigests: [image.layers[0]!.digest] }));
  assert.equal(elsewhere.layers![0]!.layerAvailability, "UNAVAILABLE");

  const pulled = await skopeoPull("layers:v1");
  assert.equal(pulled.code, 0, pulled.stderr);
  const manifest = await registryFetch(server, password, "/v2/layers/manifests/v1", { headers: { accept: OCI_MANIFEST } });
  assert.equal(manifest.headers.get("docker-content-digest"), image.manifest.digest);
});

test("UploadLayerPart must continue the upload exactly: gaps, overlaps, wrong lengths and unknown uploads are refused as ECR refuses them", async () => {
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: "layers" }));
  const part = (partFirstByte: number, partLastByte: number, bytes: Buffer, id = uploadId, repositoryName = "layers") =>
    ecr.send(new UploadLayerPartCommand({ repositoryName, uploadId: id, partFirstByte, partLastByte, layerPartBlob: bytes }));
  await part(0, 9, Buffer.alloc(10, 1));
  const gap = await rejects(part(20, 29, Buffer.alloc(10)), "InvalidLayerPartException");
  assert.equal(gap.lastValidByteReceived, 9);
  assert.equal(gap.uploadId, uploadId);
  const overlap = await rejects(part(5, 14, Buffer.alloc(10)), "InvalidLayerPartException");
  assert.equal(overlap.lastValidByteReceived, 9);
  await rejects(part(10, 19, Buffer.alloc(3)), "InvalidLayerPartException", /carries 3 bytes/);
  await rejects(part(10, 5, Buffer.alloc(1)), "InvalidLayerPartException");
  await rejects(part(10, 10, Buffer.alloc(0)), "InvalidLayerPartException");
  await rejects(part(-1, 0, Buffer.alloc(1)), "InvalidParameterException");
  await rejects(part(2 ** 60, 2 ** 60, Buffer.alloc(1)), "InvalidParameterException");
  await rejects(part(10, 10, Buffer.alloc(1), "00000000-0000-0000-0000-000000000000"), "UploadNotFoundException");
  await rejects(part(10, 10, Buffer.alloc(1), "../../etc/passwd"), "InvalidParameterException");
  // The session belongs to "layers": from another repository it does not exist.
  await rejects(part(10, 10, Buffer.alloc(1), uploadId, "other"), "UploadNotFoundException");
  // Still intact after all of that: the next part continues at byte 10.
  const next = await part(10, 19, Buffer.alloc(10, 2));
  assert.equal(next.lastByteReceived, 19);
});

test("CompleteLayerUpload verifies the digest: a mismatch is InvalidLayerException, a layer already there LayerAlreadyExistsException, no parts EmptyUploadException", async () => {
  const bytes = Buffer.from("layer bytes for completion");
  const start = () => ecr.send(new InitiateLayerUploadCommand({ repositoryName: "layers" }));
  const { uploadId } = await start();
  await ecr.send(new UploadLayerPartCommand({ repositoryName: "layers", uploadId, partFirstByte: 0, partLastByte: bytes.length - 1, layerPartBlob: bytes }));
  await rejects(
    ecr.send(new CompleteLayerUploadCommand({ repositoryName: "layers", uploadId, layerDigests: [sha256("something else")] })),
    "InvalidLayerException",
  );
  // A refused upload is gone: it cannot be completed under another name afterwards.
  await rejects(ecr.send(new CompleteLayerUploadCommand({ repositoryName: "layers", uploadId, layerDigests: [sha256(bytes)] })), "UploadNotFoundException");

  const empty = await start();
  await rejects(
    ecr.send(new CompleteLayerUploadCommand({ repositoryName: "layers", uploadId: empty.uploadId, layerDigests: [sha256(bytes)] })),
    "EmptyUploadException",
  );
  for (const layerDigests of [[], ["sha256:xyz"], ["sha256:" + "a".repeat(5000)], [sha256("a"), sha256("b")]]) {
    await rejects(ecr.send(new CompleteLayerUploadCommand({ repositoryName: "layers", uploadId: empty.uploadId, layerDigests })), "InvalidParameterException");
  }

  await uploadLayer("layers", { digest: sha256(bytes), bytes });
  const again = await start();
  await ecr.send(
    new UploadLayerPartCommand({ repositoryName: "layers", uploadId: again.uploadId, partFirstByte: 0, partLastByte: bytes.length - 1, layerPartBlob: bytes }),
  );
  await rejects(
    ecr.send(new CompleteLayerUploadCommand({ repositoryName: "layers", uploadId: again.uploadId, layerDigests: [sha256(bytes)] })),
    "LayerAlreadyExistsException",
  );
});

test("PutImage refuses what ECR refuses: missing layers, missing manifests of an index, a bad manifest, a wrong digest, an existing image, an immutable tag", async () => {
  const image = buildImage([gzipLayer({ "etc/put.txt": "put\n" })]);
  const manifest = image.manifest.bytes.toString("utf8");
  await rejects(
    ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: manifest, imageTag: "v1" })),
    "LayersNotFoundException",
    /required for pushing image/,
  );
  await rejects(ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: "{not json", imageTag: "v1" })), "InvalidParameterException");
  await rejects(ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: JSON.stringify({ schemaVersion: 1 }) })), "InvalidParameterException");
  for (const imageTag of ["", "-leading-dash", "t".repeat(129), "a/b"]) {
    await rejects(ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: manifest, imageTag })), "InvalidParameterException");
  }
  await rejects(
    ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: manifest, imageDigest: "sha256:" + "0".repeat(64) })),
    "ImageDigestDoesNotMatchException",
  );

  await pushByApi("other", image, "v1");
  await rejects(
    ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: manifest, imageTag: "v1" })),
    "ImageAlreadyExistsException",
    /and tag 'v1' already exists/,
  );
  // A second tag on the same image is a new tag, not an existing image.
  const second = await ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: manifest, imageTag: "v2", imageDigest: image.manifest.digest }));
  assert.equal(second.image!.imageId!.imageDigest, image.manifest.digest);

  const index = buildIndex([image, buildImage([gzipLayer({ "etc/absent.txt": "absent\n" })])]);
  await rejects(
    ecr.send(new PutImageCommand({ repositoryName: "other", imageManifest: index.bytes.toString("utf8"), imageManifestMediaType: OCI_INDEX })),
    "ReferencedImagesNotFoundException",
  );

  await pushByApi("frozen", image, "stable");
  const other = buildImage([gzipLayer({ "etc/frozen.txt": "another\n" })]);
  for (const item of [other.config, ...other.layers]) await uploadLayer("frozen", item);
  await rejects(
    ecr.send(new PutImageCommand({ repositoryName: "frozen", imageManifest: other.manifest.bytes.toString("utf8"), imageTag: "stable" })),
    "ImageTagAlreadyExistsException",
  );
});

test("retag without pulling: aws ecr batch-get-image, then aws ecr put-image with a new tag; the new tag pulls through /v2/", async () => {
  const image = buildImage([gzipLayer({ "etc/retag.txt": "retag\n" })]);
  assert.equal((await pushImage(server, password, "layers", "release", image)).status, 201);
  const got = await awsCli(server, [
    "ecr",
    "batch-get-image",
    "--repository-name",
    "layers",
    "--image-ids",
    "imageTag=release",
    "--query",
    "images[0].imageManifest",
    "--output",
    "text",
  ]);
  assert.equal(got.code, 0, got.stderr);
  const file = join(tempDir("berth-manifest-"), "manifest.json");
  writeFileSync(file, got.stdout.replace(/\n$/, ""));
  const put = await awsCli(server, ["ecr", "put-image", "--repository-name", "layers", "--image-tag", "promoted", "--image-manifest", `file://${file}`]);
  assert.equal(put.code, 0, put.stderr);
  assert.equal((JSON.parse(put.stdout) as { image: { imageId: { imageDigest: string } } }).image.imageId.imageDigest, image.manifest.digest);
  const again = await awsCli(server, ["ecr", "put-image", "--repository-name", "layers", "--image-tag", "promoted", "--image-manifest", `file://${file}`]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /ImageAlreadyExistsException/);
  const pulled = await skopeoPull("layers:promoted");
  assert.equal(pulled.code, 0, pulled.stderr);
});

test("get-download-url-for-layer answers a URL that serves that layer without other credentials, and opens nothing else", async () => {
  const layer = gzipLayer({ "etc/download.txt": "download me\n" });
  const image = buildImage([layer]);
  assert.equal((await pushImage(server, password, "layers", "download", image)).status, 201);
  const digest = image.layers[0]!.digest;
  const cli = await awsCli(server, ["ecr", "get-download-url-for-layer", "--repository-name", "layers", "--layer-digest", digest]);
  assert.equal(cli.code, 0, cli.stderr);
  const { downloadUrl, layerDigest } = JSON.parse(cli.stdout) as { downloadUrl: string; layerDigest: string };
  assert.equal(layerDigest, digest);
  const url = new URL(downloadUrl);
  assert.equal(url.host, registryHost(server));
  const served = await fetch(downloadUrl);
  assert.equal(served.status, 200);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), layer);

  const refused = async (target: string, init: RequestInit = {}) => {
    const response = await fetch(target, { ...init, redirect: "manual" });
    await response.arrayBuffer();
    return response.status;
  };
  // Another blob, another repository, a changed expiry, a forged signature, a write: all refused.
  const withPath = (path: string) => `${url.origin}${path}${url.search}`;
  assert.equal(await refused(withPath(`/v2/layers/blobs/${image.config.digest}`)), 401);
  assert.equal(await refused(withPath(`/v2/other/blobs/${digest}`)), 401);
  assert.equal(await refused(withPath(`/v2/layers/manifests/download`)), 401);
  const later = new URL(downloadUrl);
  later.searchParams.set("X-Berth-Expires", String(Date.now() + 365 * 86_400_000));
  assert.equal(await refused(later.toString()), 401);
  const forged = new URL(downloadUrl);
  forged.searchParams.set("X-Berth-Signature", "A".repeat(43));
  assert.equal(await refused(forged.toString()), 401);
  assert.equal(await refused(downloadUrl, { method: "DELETE" }), 401);
  assert.equal(await refused(withPath("/v2/layers/blobs/uploads/"), { method: "POST" }), 401);

  await rejects(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: "other", layerDigest: digest })), "LayersNotFoundException");
  await rejects(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: "layers", layerDigest: "not-a-digest" })), "InvalidParameterException");
});

test("scanning and replication answer ValidationException naming Berth's limitation; scanOnPush cannot be turned on", async () => {
  await rejects(
    ecr.send(new StartImageScanCommand({ repositoryName: "layers", imageId: { imageTag: "v1" } })),
    "ValidationException",
    /Berth does not scan images/,
  );
  for (const args of [
    ["put-replication-configuration", "--replication-configuration", '{"rules":[]}'],
    ["get-registry-scanning-configuration"],
    ["describe-image-scan-findings", "--repository-name", "layers", "--image-id", "imageTag=v1"],
  ]) {
    const result = await awsCli(server, ["ecr", ...args]);
    assert.notEqual(result.code, 0, args.join(" "));
    assert.match(result.stderr, /ValidationException.*Berth does not (scan|replicate)/);
  }
  await rejects(
    ecr.send(new CreateRepositoryCommand({ repositoryName: "scanned", imageScanningConfiguration: { scanOnPush: true } })),
    "ValidationException",
    /scanOnPush cannot be enabled/,
  );
  const on = await awsCli(server, [
    "ecr",
    "put-image-scanning-configuration",
    "--repository-name",
    "layers",
    "--image-scanning-configuration",
    "scanOnPush=true",
  ]);
  assert.notEqual(on.code, 0);
  assert.match(on.stderr, /ValidationException.*Berth does not scan images.*scanOnPush cannot be enabled/);
  const off = await awsCli(server, [
    "ecr",
    "put-image-scanning-configuration",
    "--repository-name",
    "layers",
    "--image-scanning-configuration",
    "scanOnPush=false",
  ]);
  assert.equal(off.code, 0, off.stderr);
  assert.deepEqual(JSON.parse(off.stdout), { registryId: server.accountId, repositoryName: "layers", imageScanningConfiguration: { scanOnPush: false } });
  const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["layers"] }));
  assert.equal(described.repositories![0]!.imageScanningConfiguration!.scanOnPush, false);
});

test("over TLS the download URL is an https URL of the same listener, served to a client trusting the server's CA", async () => {
  const tls = await startTestServer({ args: ["--tls"] });
  const ca = readFileSync(join(tls.dataDir, "ca.pem"), "utf8");
  const client = new ECRClient({ ...sdkConfig(tls), requestHandler: { httpsAgent: new HttpsAgent({ ca }) } });
  try {
    await client.send(new CreateRepositoryCommand({ repositoryName: "secure" }));
    const bytes = Buffer.from("a layer fetched over TLS");
    const { uploadId } = await client.send(new InitiateLayerUploadCommand({ repositoryName: "secure" }));
    await client.send(
      new UploadLayerPartCommand({ repositoryName: "secure", uploadId, partFirstByte: 0, partLastByte: bytes.length - 1, layerPartBlob: bytes }),
    );
    await client.send(new CompleteLayerUploadCommand({ repositoryName: "secure", uploadId, layerDigests: [sha256(bytes)] }));
    const { downloadUrl } = await client.send(new GetDownloadUrlForLayerCommand({ repositoryName: "secure", layerDigest: sha256(bytes) }));
    assert.ok(downloadUrl!.startsWith(`${tls.endpoint}/v2/secure/blobs/${sha256(bytes)}?`), downloadUrl);
    const body = await new Promise<Buffer>((resolve, reject) => {
      httpsGet(downloadUrl!, { ca }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${response.statusCode}`))));
      }).on("error", reject);
    });
    assert.deepEqual(body, bytes);
  } finally {
    client.destroy();
    await tls.stop();
    await tls.cleanup();
  }
});
