// The built-in registry's OCI distribution API through real clients against a real `berth server`
// on loopback: skopeo (login with `aws ecr get-login-password`, copy both ways, multi-arch), raw
// HTTP for the monolithic, chunked and resumed uploads, and a SIGKILL during a push.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.js";
import { RegistryTokens } from "../../src/registry/registry-tokens.js";
import { registryTokenKeyOf } from "../support/store-secrets.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import {
  basicAuth,
  buildImage,
  gzipLayer,
  loginPassword,
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  registryFetch,
  registryHost,
  sha256,
  writeOciLayout,
} from "./registry-fixtures.js";

let server: TestServer;
let password: string;
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

const run = (command: string, args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

async function createRepository(name: string): Promise<void> {
  const result = await awsCli(server, ["ecr", "create-repository", "--repository-name", name]);
  assert.equal(result.code, 0, result.stderr);
}

async function errorBody(response: Response): Promise<{ code: string; message: string; detail: unknown }> {
  const body = (await response.json()) as { errors: { code: string; message: string; detail: unknown }[] };
  assert.equal(body.errors.length, 1);
  return body.errors[0]!;
}

/** Every file under the registry's blob directory of a data dir. */
function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, "registry", "blobs");
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else files.push(join(dir, entry.name));
    }
  };
  if (existsSync(root)) walk(root);
  return files;
}

before(async () => {
  server = await startTestServer();
  password = await loginPassword(server);
});

after(async () => {
  await server.stop();
  await server.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test("GET /v2/ refuses anonymous, garbage and expired credentials with 401 UNAUTHORIZED and a Bearer challenge", async () => {
  const anonymous = await registryFetch(server, undefined, "/v2/");
  assert.equal(anonymous.status, 401);
  const challenge = anonymous.headers.get("www-authenticate") ?? "";
  assert.match(challenge, new RegExp(`^Bearer realm="http://${registryHost(server).replace(/\./g, "\\.")}/v2/token",service="[^"]+",scope="[^"]*"$`));
  assert.equal((await errorBody(anonymous)).code, "UNAUTHORIZED");

  const garbage = await registryFetch(server, "v1.not.valid", "/v2/");
  assert.equal(garbage.status, 401);
  assert.equal((await errorBody(garbage)).code, "UNAUTHORIZED");

  // A token signed with the server's own key whose 12 hours ran out an hour ago.
  const key = await registryTokenKeyOf(server.dataDir);
  const past: Clock = { now: () => Date.now() - 13 * 3_600_000, sleep: async () => undefined };
  const expired = new RegistryTokens(key, past).issue(server.accountId, 12 * 3_600_000).password;
  const refused = await registryFetch(server, expired, "/v2/");
  assert.equal(refused.status, 401);
  const body = await errorBody(refused);
  assert.equal(body.code, "UNAUTHORIZED");
  assert.match(body.message, /expired/);
  // Same token, one that is still valid: accepted (the refusal was the expiry, not the format).
  const fresh = new RegistryTokens(key, { now: () => Date.now(), sleep: async () => undefined }).issue(server.accountId, 60_000).password;
  assert.equal((await registryFetch(server, fresh, "/v2/")).status, 200);
  // A token for another account is not this registry's.
  const foreign = new RegistryTokens(key, { now: () => Date.now(), sleep: async () => undefined }).issue("999999999999", 60_000).password;
  assert.equal((await registryFetch(server, foreign, "/v2/")).status, 401);

  const ok = await registryFetch(server, password, "/v2/");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("docker-distribution-api-version"), "registry/2.0");
});

test("the token endpoint takes the ECR password as basic auth and returns a bearer token the API accepts", async () => {
  const denied = await fetch(`${server.endpoint}/v2/token?service=x&scope=repository:a:pull`);
  assert.equal(denied.status, 401);
  const response = await fetch(`${server.endpoint}/v2/token?service=x&scope=repository:a:pull`, { headers: { authorization: basicAuth(password) } });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { token: string; access_token: string; expires_in: number };
  assert.equal(body.token, body.access_token);
  assert.ok(body.expires_in > 11 * 3600 && body.expires_in <= 12 * 3600, String(body.expires_in));
  assert.equal((await fetch(`${server.endpoint}/v2/`, { headers: { authorization: `Bearer ${body.token}` } })).status, 200);
  assert.equal((await fetch(`${server.endpoint}/v2/`, { headers: { authorization: `Bearer ${body.token}x` } })).status, 401);
});

test("skopeo logs in with get-login-password, pushes (chunked) and pulls back the same bytes and digest", async () => {
  await createRepository("team/web");
  const authFile = join(tempDir("berth-auth-"), "auth.json");
  const login = await run("skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "AWS", "--password-stdin", registryHost(server)], password);
  assert.equal(login.code, 0, login.stderr);

  const source = tempDir("berth-oci-src-");
  const image = buildImage([gzipLayer({ "etc/hello.txt": "hello\n", "bin/tool": randomBytes(200_000) }), gzipLayer({ "data/more.txt": "more\n" })]);
  writeOciLayout(source, "v1", [image]);
  const pushed = await run("skopeo", [
    "copy",
    "--authfile",
    authFile,
    "--dest-tls-verify=false",
    `oci:${source}:v1`,
    `docker://${registryHost(server)}/team/web:v1`,
  ]);
  assert.equal(pushed.code, 0, pushed.stderr);

  const manifest = await registryFetch(server, password, "/v2/team/web/manifests/v1", { headers: { accept: OCI_MANIFEST } });
  assert.equal(manifest.status, 200);
  assert.equal(manifest.headers.get("content-type"), OCI_MANIFEST);
  assert.equal(manifest.headers.get("docker-content-digest"), image.manifest.digest);
  assert.deepEqual(Buffer.from(await manifest.arrayBuffer()), image.manifest.bytes);

  const target = tempDir("berth-oci-dst-");
  const pulled = await run("skopeo", [
    "copy",
    "--authfile",
    authFile,
    "--src-tls-verify=false",
    `docker://${registryHost(server)}/team/web:v1`,
    `oci:${target}:v1`,
  ]);
  assert.equal(pulled.code, 0, pulled.stderr);
  for (const item of [image.manifest, image.config, ...image.layers]) {
    assert.deepEqual(readFileSync(join(target, "blobs", "sha256", item.digest.slice(7))), item.bytes, item.digest);
  }
  // The blobs sit once on disk, content-addressed, whatever the number of pushes.
  const again = await run("skopeo", [
    "copy",
    "--authfile",
    authFile,
    "--dest-tls-verify=false",
    `oci:${source}:v1`,
    `docker://${registryHost(server)}/team/web:v1-again`,
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(blobFiles(server.dataDir).filter((file) => image.layers.some((layer) => file.endsWith(layer.digest.slice(7)))).length, 2);

  // Docker schema 2: skopeo converts on the way; the registry keeps and serves that media type.
  const docker = await run("skopeo", [
    "copy",
    "--format",
    "v2s2",
    "--authfile",
    authFile,
    "--dest-tls-verify=false",
    `oci:${source}:v1`,
    `docker://${registryHost(server)}/team/web:v1-docker`,
  ]);
  assert.equal(docker.code, 0, docker.stderr);
  const dockerManifest = await registryFetch(server, password, "/v2/team/web/manifests/v1-docker", { method: "HEAD" });
  assert.equal(dockerManifest.headers.get("content-type"), "application/vnd.docker.distribution.manifest.v2+json");

  const tags = await registryFetch(server, password, "/v2/team/web/tags/list");
  assert.deepEqual(await tags.json(), { name: "team/web", tags: ["v1", "v1-again", "v1-docker"] });
  const catalog = (await (await registryFetch(server, password, "/v2/_catalog")).json()) as { repositories: string[] };
  assert.ok(catalog.repositories.includes("team/web"));
});

test("a blob GET honours Range with 206 and HEAD gives size and digest", async () => {
  await createRepository("ranges");
  const image = buildImage([Buffer.from("0123456789abcdef")]);
  assert.equal((await pushImage(server, password, "ranges", "v1", image)).status, 201);
  const layer = image.layers[0]!;
  const head = await registryFetch(server, password, `/v2/ranges/blobs/${layer.digest}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "16");
  assert.equal(head.headers.get("docker-content-digest"), layer.digest);
  const partial = await registryFetch(server, password, `/v2/ranges/blobs/${layer.digest}`, { headers: { range: "bytes=2-5" } });
  assert.equal(partial.status, 206);
  assert.equal(partial.headers.get("content-range"), "bytes 2-5/16");
  assert.equal(await partial.text(), "2345");
  const suffix = await registryFetch(server, password, `/v2/ranges/blobs/${layer.digest}`, { headers: { range: "bytes=-3" } });
  assert.equal(await suffix.text(), "def");
  const beyond = await registryFetch(server, password, `/v2/ranges/blobs/${layer.digest}`, { headers: { range: "bytes=99-" } });
  assert.equal(beyond.status, 416);
  const unknown = await registryFetch(server, password, `/v2/ranges/blobs/${sha256("nothing")}`);
  assert.equal(unknown.status, 404);
  assert.equal((await errorBody(unknown)).code, "BLOB_UNKNOWN");
});

test("chunked upload: PATCH, GET progress, PATCH with Content-Range, PUT ?digest= finishes; a wrong start is 416", async () => {
  await createRepository("chunks");
  const bytes = randomBytes(300_000);
  const digest = sha256(bytes);
  const started = await registryFetch(server, password, "/v2/chunks/blobs/uploads/", { method: "POST" });
  assert.equal(started.status, 202);
  const location = started.headers.get("location")!;
  const uuid = started.headers.get("docker-upload-uuid")!;
  assert.ok(location.endsWith(uuid));

  const first = await registryFetch(server, password, location, {
    method: "PATCH",
    headers: { "content-type": "application/octet-stream" },
    body: bytes.subarray(0, 100_000),
  });
  assert.equal(first.status, 202);
  assert.equal(first.headers.get("range"), "0-99999");

  const status = await registryFetch(server, password, location);
  assert.equal(status.status, 204);
  assert.equal(status.headers.get("range"), "0-99999");

  const wrongStart = await registryFetch(server, password, location, { method: "PATCH", headers: { "content-range": "5-9" }, body: bytes.subarray(5, 10) });
  assert.equal(wrongStart.status, 416);
  assert.equal((await errorBody(wrongStart)).code, "BLOB_UPLOAD_INVALID");

  const second = await registryFetch(server, password, location, {
    method: "PATCH",
    headers: { "content-range": "100000-249999" },
    body: bytes.subarray(100_000, 250_000),
  });
  assert.equal(second.status, 202);
  assert.equal(second.headers.get("range"), "0-249999");

  const finished = await registryFetch(server, password, `${location}?digest=${digest}`, {
    method: "PUT",
    headers: { "content-range": "250000-299999" },
    body: bytes.subarray(250_000),
  });
  assert.equal(finished.status, 201, await finished.clone().text());
  assert.equal(finished.headers.get("docker-content-digest"), digest);
  assert.equal(finished.headers.get("location"), `/v2/chunks/blobs/${digest}`);
  const blob = await registryFetch(server, password, `/v2/chunks/blobs/${digest}`);
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), bytes);
  assert.equal((await registryFetch(server, password, location)).status, 404, "a finished upload is gone");
});

test("monolithic POST ?digest= stores a blob; a digest mismatch is DIGEST_INVALID and stores nothing", async () => {
  await createRepository("mono");
  const bytes = randomBytes(50_000);
  const good = await registryFetch(server, password, `/v2/mono/blobs/uploads/?digest=${sha256(bytes)}`, { method: "POST", body: bytes });
  assert.equal(good.status, 201);
  assert.equal(good.headers.get("docker-content-digest"), sha256(bytes));

  const other = randomBytes(50_000);
  const claimed = sha256(randomBytes(8));
  const before = blobFiles(server.dataDir).length;
  const bad = await registryFetch(server, password, `/v2/mono/blobs/uploads/?digest=${claimed}`, { method: "POST", body: other });
  assert.equal(bad.status, 400);
  const error = await errorBody(bad);
  assert.equal(error.code, "DIGEST_INVALID");
  assert.deepEqual(error.detail, { expected: claimed, actual: sha256(other) });
  assert.equal(blobFiles(server.dataDir).length, before);
  assert.equal((await registryFetch(server, password, `/v2/mono/blobs/${claimed}`, { method: "HEAD" })).status, 404);
  assert.equal((await registryFetch(server, password, `/v2/mono/blobs/${sha256(other)}`, { method: "HEAD" })).status, 404);
  const malformed = await registryFetch(server, password, "/v2/mono/blobs/uploads/?digest=md5:abc", { method: "POST", body: other });
  assert.equal((await errorBody(malformed)).code, "DIGEST_INVALID");
});

test("pushing to a repository that was never created is NAME_UNKNOWN, as on ECR", async () => {
  const response = await registryFetch(server, password, "/v2/never/created/blobs/uploads/", { method: "POST" });
  assert.equal(response.status, 404);
  const error = await errorBody(response);
  assert.equal(error.code, "NAME_UNKNOWN");
  assert.match(error.message, /The repository with name 'never\/created' does not exist in the registry with id '123456789012'/);
});

test("manifests: unknown blobs are MANIFEST_BLOB_UNKNOWN, a digest reference must match, unknown references are MANIFEST_UNKNOWN", async () => {
  await createRepository("manifests");
  const image = buildImage([Buffer.from("layer")]);
  const missing = await registryFetch(server, password, "/v2/manifests/manifests/v1", {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: image.manifest.bytes,
  });
  assert.equal(missing.status, 400);
  const error = await errorBody(missing);
  assert.equal(error.code, "MANIFEST_BLOB_UNKNOWN");
  assert.deepEqual(error.detail, { digest: image.config.digest });

  assert.equal((await pushImage(server, password, "manifests", undefined, image)).status, 201);
  const wrong = await registryFetch(server, password, `/v2/manifests/manifests/${sha256("other")}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: image.manifest.bytes,
  });
  assert.equal((await errorBody(wrong)).code, "DIGEST_INVALID");
  const invalid = await registryFetch(server, password, "/v2/manifests/manifests/v2", {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: "{not json",
  });
  assert.equal((await errorBody(invalid)).code, "MANIFEST_INVALID");
  const schema1 = await registryFetch(server, password, "/v2/manifests/manifests/v2", {
    method: "PUT",
    headers: { "content-type": "application/vnd.docker.distribution.manifest.v1+prettyjws" },
    body: JSON.stringify({ schemaVersion: 1 }),
  });
  assert.equal((await errorBody(schema1)).code, "MANIFEST_INVALID");
  const unknown = await registryFetch(server, password, "/v2/manifests/manifests/nope");
  assert.equal(unknown.status, 404);
  assert.equal((await errorBody(unknown)).code, "MANIFEST_UNKNOWN");
  const byDigest = await registryFetch(server, password, `/v2/manifests/manifests/${image.manifest.digest}`, { method: "HEAD" });
  assert.equal(byDigest.status, 200);
  assert.equal(byDigest.headers.get("content-length"), String(image.manifest.bytes.length));

  // DELETE by tag removes the tag only; by digest the image.
  assert.equal(
    (
      await registryFetch(server, password, "/v2/manifests/manifests/t1", {
        method: "PUT",
        headers: { "content-type": OCI_MANIFEST },
        body: image.manifest.bytes,
      })
    ).status,
    201,
  );
  assert.equal((await registryFetch(server, password, "/v2/manifests/manifests/t1", { method: "DELETE" })).status, 202);
  assert.equal((await registryFetch(server, password, "/v2/manifests/manifests/t1", { method: "HEAD" })).status, 404);
  assert.equal((await registryFetch(server, password, `/v2/manifests/manifests/${image.manifest.digest}`, { method: "HEAD" })).status, 200);
  assert.equal((await registryFetch(server, password, `/v2/manifests/manifests/${image.manifest.digest}`, { method: "DELETE" })).status, 202);
  assert.equal((await registryFetch(server, password, `/v2/manifests/manifests/${image.manifest.digest}`, { method: "HEAD" })).status, 404);
  assert.equal(
    (await registryFetch(server, password, `/v2/manifests/blobs/${image.layers[0]!.digest}`, { method: "HEAD" })).status,
    404,
    "its blobs went with it",
  );
});

test("a blob mounts across repositories without being uploaded again", async () => {
  await createRepository("mount/source");
  await createRepository("mount/target");
  const bytes = randomBytes(10_000);
  const digest = sha256(bytes);
  assert.equal((await registryFetch(server, password, `/v2/mount/source/blobs/uploads/?digest=${digest}`, { method: "POST", body: bytes })).status, 201);
  assert.equal((await registryFetch(server, password, `/v2/mount/target/blobs/${digest}`, { method: "HEAD" })).status, 404);
  const mounted = await registryFetch(server, password, `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`, { method: "POST" });
  assert.equal(mounted.status, 201);
  assert.equal(mounted.headers.get("location"), `/v2/mount/target/blobs/${digest}`);
  assert.equal((await registryFetch(server, password, `/v2/mount/target/blobs/${digest}`, { method: "HEAD" })).status, 200);
  // Mounting from a repository that lacks the blob falls back to a new upload session.
  const fallback = await registryFetch(server, password, `/v2/mount/target/blobs/uploads/?mount=${sha256("absent")}&from=mount/source`, { method: "POST" });
  assert.equal(fallback.status, 202);
  assert.ok(fallback.headers.get("docker-upload-uuid"));
});

test("skopeo copy --all pushes a multi-arch index; the index comes back byte for byte and its children exist", async () => {
  await createRepository("multi");
  const authFile = join(tempDir("berth-auth-"), "auth.json");
  assert.equal(
    (await run("skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "AWS", "--password-stdin", registryHost(server)], password)).code,
    0,
  );
  const amd64 = buildImage([gzipLayer({ "arch.txt": "amd64\n" })], { os: "linux", architecture: "amd64" });
  const arm64 = buildImage([gzipLayer({ "arch.txt": "arm64\n", "pad.bin": randomBytes(5000) })], { os: "linux", architecture: "arm64" });
  const source = tempDir("berth-oci-multi-");
  const { index } = writeOciLayout(source, "latest", [amd64, arm64]);
  const pushed = await run("skopeo", [
    "copy",
    "--all",
    "--authfile",
    authFile,
    "--dest-tls-verify=false",
    `oci:${source}:latest`,
    `docker://${registryHost(server)}/multi:latest`,
  ]);
  assert.equal(pushed.code, 0, pushed.stderr);
  const response = await registryFetch(server, password, "/v2/multi/manifests/latest", { headers: { accept: OCI_INDEX } });
  assert.equal(response.headers.get("content-type"), OCI_INDEX);
  assert.equal(response.headers.get("docker-content-digest"), index!.digest);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), index!.bytes);
  for (const child of [amd64, arm64])
    assert.equal((await registryFetch(server, password, `/v2/multi/manifests/${child.manifest.digest}`, { method: "HEAD" })).status, 200);
  const described = await awsCli(server, ["ecr", "describe-images", "--repository-name", "multi", "--image-ids", "imageTag=latest"]);
  const detail = (described.json as { imageDetails: { imageSizeInBytes: number; imageManifestMediaType: string }[] }).imageDetails[0]!;
  assert.equal(detail.imageManifestMediaType, OCI_INDEX);
  assert.equal(detail.imageSizeInBytes, Math.max(amd64.layers[0]!.bytes.length, arm64.layers[0]!.bytes.length));
  // A child of the index cannot be deleted on its own.
  const child = await registryFetch(server, password, `/v2/multi/manifests/${amd64.manifest.digest}`, { method: "DELETE" });
  assert.equal(child.status, 409);
});

test("tags list paginates with n and last and a Link header", async () => {
  await createRepository("paged");
  const image = buildImage([Buffer.from("paged")]);
  for (const tag of ["a", "b", "c", "d", "e"]) assert.equal((await pushImage(server, password, "paged", tag, image)).status, 201);
  const first = await registryFetch(server, password, "/v2/paged/tags/list?n=2");
  assert.deepEqual(((await first.json()) as { tags: string[] }).tags, ["a", "b"]);
  const link = first.headers.get("link")!;
  assert.equal(link, '</v2/paged/tags/list?n=2&last=b>; rel="next"');
  const second = await registryFetch(server, password, link.slice(1, link.indexOf(">")));
  assert.deepEqual(((await second.json()) as { tags: string[] }).tags, ["c", "d"]);
  const last = await registryFetch(server, password, "/v2/paged/tags/list?n=2&last=d");
  assert.deepEqual(((await last.json()) as { tags: string[] }).tags, ["e"]);
  assert.equal(last.headers.get("link"), null);
});

test("referrers list the manifests whose subject is a digest", async () => {
  await createRepository("refs");
  const image = buildImage([Buffer.from("subject")]);
  assert.equal((await pushImage(server, password, "refs", "v1", image)).status, 201);
  const emptyConfig = Buffer.from("{}");
  assert.equal(
    (await registryFetch(server, password, `/v2/refs/blobs/uploads/?digest=${sha256(emptyConfig)}`, { method: "POST", body: emptyConfig })).status,
    201,
  );
  const signature = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.signature",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha256(emptyConfig), size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: image.manifest.digest, size: image.manifest.bytes.length },
      annotations: { "org.example": "signed" },
    }),
  );
  const put = await registryFetch(server, password, `/v2/refs/manifests/${sha256(signature)}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: signature,
  });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("oci-subject"), image.manifest.digest);
  const referrers = (await (await registryFetch(server, password, `/v2/refs/referrers/${image.manifest.digest}`)).json()) as {
    manifests: { digest: string; artifactType: string; size: number }[];
  };
  assert.deepEqual(referrers.manifests, [
    {
      mediaType: OCI_MANIFEST,
      digest: sha256(signature),
      size: signature.length,
      artifactType: "application/vnd.example.signature",
      annotations: { "org.example": "signed" },
    },
  ]);
  const filtered = (await (await registryFetch(server, password, `/v2/refs/referrers/${image.manifest.digest}?artifactType=other`)).json()) as {
    manifests: unknown[];
  };
  assert.deepEqual(filtered.manifests, []);
});

test("a server killed during a push leaves no partial blob visible; after restart the upload resumes and verifies", async () => {
  const crashing = await startTestServer();
  let restarted: TestServer | undefined;
  try {
    const cli = await awsCli(crashing, ["ecr", "create-repository", "--repository-name", "crash"]);
    assert.equal(cli.code, 0, cli.stderr);
    const crashPassword = await loginPassword(crashing);
    const bytes = randomBytes(24 * 1024 * 1024);
    const digest = sha256(bytes);
    const started = await registryFetch(crashing, crashPassword, "/v2/crash/blobs/uploads/", { method: "POST" });
    const location = started.headers.get("location")!;

    // Stream the first half of the blob and keep the request open, as a slow client would.
    const { port } = new URL(crashing.endpoint);
    const patch = httpRequest({
      host: "127.0.0.1",
      port,
      path: location,
      method: "PATCH",
      headers: { authorization: basicAuth(crashPassword), "content-type": "application/octet-stream" },
    });
    const patchDone = new Promise<void>((resolve) => {
      patch.on("error", () => resolve());
      patch.on("response", () => resolve());
    });
    patch.write(bytes.subarray(0, 12 * 1024 * 1024));
    for (let i = 0; ; i++) {
      const progress = await registryFetch(crashing, crashPassword, location);
      const range = progress.headers.get("range") ?? "0-0";
      if (Number(range.split("-")[1]) > 1024 * 1024) break;
      assert.ok(i < 200, "the upload never made progress");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await crashing.kill();
    await patchDone;

    restarted = await startTestServer({ dataDir: crashing.dataDir });
    const restartedPassword = await loginPassword(restarted);
    const head = await registryFetch(restarted, restartedPassword, `/v2/crash/blobs/${digest}`, { method: "HEAD" });
    assert.equal(head.status, 404);
    assert.deepEqual(blobFiles(crashing.dataDir), [], "nothing under blobs/ after a crash mid-upload");

    const progress = await registryFetch(restarted, restartedPassword, location);
    assert.equal(progress.status, 204);
    const received = Number(progress.headers.get("range")!.split("-")[1]) + 1;
    assert.ok(received > 0 && received <= 12 * 1024 * 1024, String(received));
    const rest = await registryFetch(restarted, restartedPassword, location, {
      method: "PATCH",
      headers: { "content-range": `${received}-${bytes.length - 1}` },
      body: bytes.subarray(received),
    });
    assert.equal(rest.status, 202, await rest.clone().text());
    const finished = await registryFetch(restarted, restartedPassword, `${location}?digest=${digest}`, { method: "PUT" });
    assert.equal(finished.status, 201, await finished.clone().text());
    const blob = await registryFetch(restarted, restartedPassword, `/v2/crash/blobs/${digest}`, { method: "HEAD" });
    assert.equal(blob.headers.get("content-length"), String(bytes.length));
    const files = blobFiles(crashing.dataDir);
    assert.equal(files.length, 1);
    assert.equal(statSync(files[0]!).size, bytes.length);
  } finally {
    if (restarted) await restarted.stop();
    else await crashing.kill().catch(() => undefined);
    await crashing.cleanup();
  }
});
