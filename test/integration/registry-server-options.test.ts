// `berth server` options of the built-in registry and the protocol corners fixed with them:
// --public-host names the registry in repository URIs and login endpoints, the token lifetime is
// configurable, a manifest pushed by sha512 is refused with DIGEST_INVALID, and the catalog pages
// with a Link header even when the client gives no `n`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { buildImage, loginPassword, OCI_MANIFEST, pushImage, registryFetch } from "./registry-fixtures.js";

let server: TestServer;
let ecr: ECRClient;

before(async () => {
  server = await startTestServer({ args: ["--public-host", "registry.berth.test:9443", "--registry-token-ttl-seconds", "3600"] });
  ecr = new ECRClient(sdkConfig(server));
});

after(async () => {
  await server.stop();
  await server.cleanup();
});

test("--public-host names the registry in repositoryUri and proxyEndpoint; --registry-token-ttl-seconds sets the token lifetime", async () => {
  const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: "named" }));
  assert.equal(created.repository?.repositoryUri, "registry.berth.test:9443/named");
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  const data = token.authorizationData![0]!;
  assert.equal(data.proxyEndpoint, "http://registry.berth.test:9443");
  const lifetimeMs = data.expiresAt!.getTime() - Date.now();
  assert.ok(lifetimeMs > 3_590_000 && lifetimeMs <= 3_600_000, `token lives an hour, not ${lifetimeMs} ms`);
});

test("a bad --public-host or token lifetime is refused at start", async () => {
  await assert.rejects(startTestServer({ args: ["--public-host", "http://x:1"] }), /--public-host must be HOST or HOST:PORT/);
  await assert.rejects(startTestServer({ args: ["--registry-token-ttl-seconds", "5"] }), /--registry-token-ttl-seconds must be/);
});

test("a manifest PUT by a sha512 digest is refused with DIGEST_INVALID and stores nothing", async () => {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: "digests" }));
  const password = await loginPassword(server);
  const image = buildImage([randomBytes(64)]);
  // Blobs first (by their sha256), then the manifest under its sha512.
  const pushed = await pushImage(server, password, "digests", "probe", image);
  assert.equal(pushed.status, 201);
  const sha512 = `sha512:${createHash("sha512").update(image.manifest.bytes).digest("hex")}`;
  const refused = await registryFetch(server, password, `/v2/digests/manifests/${sha512}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: image.manifest.bytes,
  });
  assert.equal(refused.status, 400);
  const body = (await refused.json()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]!.code, "DIGEST_INVALID");
  assert.match(body.errors[0]!.message, /sha512/);
  assert.equal((await registryFetch(server, password, `/v2/digests/manifests/${sha512}`)).status, 404);
});

test("the catalog without n pages at 1,000 with a Link header that leads through every repository", async () => {
  const names = Array.from({ length: 1_005 }, (_, i) => `cat/r${String(i).padStart(4, "0")}`);
  for (let i = 0; i < names.length; i += 50)
    await Promise.all(names.slice(i, i + 50).map((repositoryName) => ecr.send(new CreateRepositoryCommand({ repositoryName }))));
  const password = await loginPassword(server);
  const seen: string[] = [];
  let path: string | undefined = "/v2/_catalog";
  let pages = 0;
  while (path) {
    const response = await registryFetch(server, password, path);
    assert.equal(response.status, 200);
    const page = (await response.json()) as { repositories: string[] };
    seen.push(...page.repositories);
    pages++;
    if (pages === 1) assert.equal(page.repositories.length, 1_000);
    const link = response.headers.get("link");
    path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : undefined;
  }
  assert.equal(pages, 2);
  assert.deepEqual(
    seen.filter((name) => name.startsWith("cat/")),
    names,
  );
  assert.equal(new Set(seen).size, seen.length);
});
