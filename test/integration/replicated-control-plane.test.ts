// Two `berth server --no-agent` replicas on one PostgreSQL store, one store key file and one blob
// dir, each with a data dir of its own: the AWS CLI and SDK see one account and one root key
// through either, a registry login made on A works on B, an image pushed through A (its layer
// uploaded in chunks that hop between the replicas, as behind a load balancer) pulls through B,
// both replicas hand out the same bootstrap join token, `berth join-token` works on the shared
// store, and a replica with another store key stops at start.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import type { PostgresDatabase } from "../support/postgres.js";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../support/postgres.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { buildImage, gzipLayer, loginPassword, OCI_MANIFEST, registryFetch, sha256 } from "./registry-fixtures.js";

const run = promisify(execFile);
const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");

let database: PostgresDatabase;
let shared: string;
let keyFile: string;
let a: TestServer;
let b: TestServer;

/** A replica on the shared store, key and blob dir, with a data dir of its own and no root key in its environment. */
const replica = (args: string[] = [], dataDir?: string) =>
  startTestServer({
    dataDir,
    store: { url: database.url },
    generatedKey: true,
    args: ["--store-key-file", keyFile, "--blob-dir", join(shared, "blobs"), ...args],
  });

/** A data dir removed with the shared dir: for replicas that are refused at start. */
const refusedDataDir = () => mkdtempSync(join(shared, "refused-"));

before(async () => {
  database = await freshPostgresDatabase();
  shared = mkdtempSync(join(tmpdir(), "berth-replicas-"));
  keyFile = join(shared, "store.key");
  writeFileSync(keyFile, randomBytes(32).toString("base64"), { mode: 0o600 });
  // Started together: both race to make the account's values, one of them wins every one.
  [a, b] = await Promise.all([replica(), replica()]);
});

after(async () => {
  for (const server of [a, b]) {
    if (!server) continue;
    await server.stop();
    await server.cleanup();
  }
  await database?.drop();
  rmSync(shared, { recursive: true, force: true });
  await stopOwnPostgresCluster();
});

test("both replicas have one root key, written to each data dir, and the CLI and SDK see one account through either", async () => {
  assert.deepEqual(b.credentials, a.credentials, "the second replica adopted the first one's generated key");
  assert.equal(readFileSync(join(b.dataDir, "credentials"), "utf8"), readFileSync(join(a.dataDir, "credentials"), "utf8"));
  const created = await awsCli(a, ["ecs", "create-cluster", "--cluster-name", "shared"]);
  assert.equal(created.code, 0, created.stderr);
  const viaB = await awsCli(b, ["ecs", "list-clusters"]);
  assert.equal(viaB.code, 0, viaB.stderr);
  assert.deepEqual((viaB.json as { clusterArns: string[] }).clusterArns, [(created.json as { cluster: { clusterArn: string } }).cluster.clusterArn]);
  const ecsA = new ECSClient(sdkConfig(a));
  const ecsB = new ECSClient(sdkConfig(b));
  try {
    assert.deepEqual((await ecsB.send(new ListClustersCommand({}))).clusterArns, (await ecsA.send(new ListClustersCommand({}))).clusterArns);
  } finally {
    ecsA.destroy();
    ecsB.destroy();
  }
  const repository = await awsCli(b, ["ecr", "create-repository", "--repository-name", "one-account"]);
  assert.equal(repository.code, 0, repository.stderr);
  const ecr = new ECRClient(sdkConfig(a));
  try {
    const [described] = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["one-account"] }))).repositories!;
    assert.equal(described!.registryId, (repository.json as { repository: { registryId: string } }).repository.registryId);
    assert.match(described!.repositoryArn!, new RegExp(`^arn:aws:ecr:us-east-1:${described!.registryId}:repository/one-account$`));
  } finally {
    ecr.destroy();
  }
});

test("a registry login made on one replica works on the other; a push through A pulls through B, its layer in chunks that hop between them", async () => {
  assert.equal((await awsCli(a, ["ecr", "create-repository", "--repository-name", "hop"])).code, 0);
  const password = await loginPassword(a);
  assert.equal((await registryFetch(b, password, "/v2/")).status, 200, "A's login on B");
  const image = buildImage([gzipLayer({ "data.bin": randomBytes(600_000) }, 0)]);
  const [layer] = image.layers;
  // POST on A, PATCH on B, PATCH on A, progress and PUT on B.
  const started = await registryFetch(a, password, "/v2/hop/blobs/uploads/", { method: "POST" });
  assert.equal(started.status, 202);
  const location = started.headers.get("location")!;
  const third = Math.floor(layer!.bytes.length / 3);
  const first = await registryFetch(b, password, location, {
    method: "PATCH",
    headers: { "content-range": `0-${third - 1}` },
    body: layer!.bytes.subarray(0, third),
  });
  assert.equal(first.status, 202, await first.clone().text());
  const second = await registryFetch(a, password, location, { method: "PATCH", body: layer!.bytes.subarray(third, 2 * third) });
  assert.equal(second.headers.get("range"), `0-${2 * third - 1}`);
  const progress = await registryFetch(b, password, location);
  assert.equal(progress.headers.get("range"), `0-${2 * third - 1}`, "B sees what A appended");
  const finished = await registryFetch(b, password, `${location}?digest=${layer!.digest}`, { method: "PUT", body: layer!.bytes.subarray(2 * third) });
  assert.equal(finished.status, 201, await finished.clone().text());
  // The config in one request on B, the manifest on A.
  assert.equal(
    (await registryFetch(b, password, `/v2/hop/blobs/uploads/?digest=${image.config.digest}`, { method: "POST", body: image.config.bytes })).status,
    201,
  );
  const manifest = await registryFetch(a, password, "/v2/hop/manifests/v1", {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: image.manifest.bytes,
  });
  assert.equal(manifest.status, 201, await manifest.clone().text());

  const pulled = await registryFetch(b, await loginPassword(b), "/v2/hop/manifests/v1", { headers: { accept: OCI_MANIFEST } });
  assert.equal(pulled.status, 200);
  assert.equal(sha256(Buffer.from(await pulled.arrayBuffer())), image.manifest.digest);
  for (const blob of [image.config, layer!]) {
    const response = await registryFetch(b, password, `/v2/hop/blobs/${blob.digest}`);
    assert.equal(response.status, 200);
    assert.equal(sha256(Buffer.from(await response.arrayBuffer())), blob.digest);
  }
  const listed = await awsCli(a, ["ecr", "list-images", "--repository-name", "hop"]);
  assert.deepEqual(
    (listed.json as { imageIds: { imageTag?: string }[] }).imageIds.map((id) => id.imageTag),
    ["v1"],
  );
});

test("attack: upload ids and digests in URLs name nothing outside the shared blob dir, on either replica", async () => {
  assert.equal((await awsCli(a, ["ecr", "create-repository", "--repository-name", "hostile"])).code, 0);
  const password = await loginPassword(b);
  writeFileSync(join(shared, "meta.json"), JSON.stringify({ repository: "hostile", startedAt: 0 }));
  const hostileIds = ["..", "..%2F..%2Fmeta.json", "%2e%2e", "0B5E7C59-8C4F-4A53-9F0E-0D1C2B3A4F5E", "0b5e7c59-8c4f-4a53-9f0e-0d1c2b3a4f5e%2F..%2F..", "%00"];
  for (const [server, id] of hostileIds.flatMap((id) => [a, b].map((server) => [server, id] as const))) {
    for (const method of ["GET", "PATCH", "PUT", "DELETE"]) {
      const response = await registryFetch(server, password, `/v2/hostile/blobs/uploads/${id}?digest=${sha256("x")}`, {
        method,
        ...(method === "PATCH" || method === "PUT" ? { body: "x" } : {}),
      });
      assert.ok([400, 404].includes(response.status), `${method} ${id}: ${response.status}`);
      await response.body?.cancel();
    }
  }
  for (const digest of ["sha256:..%2F..%2Fstore.key", `sha256:${"A".repeat(64)}`, "sha256:%2e%2e", `sha512:${"a".repeat(64)}`]) {
    const response = await registryFetch(a, password, `/v2/hostile/blobs/uploads/?digest=${digest}`, { method: "POST", body: "x" });
    assert.ok([400, 404].includes(response.status), `${digest}: ${response.status}`);
    await response.body?.cancel();
  }
  assert.ok(readFileSync(join(shared, "meta.json"), "utf8").includes("hostile"), "a file beside the blob dir is untouched");
});

test("both replicas hand out the same bootstrap join token; berth join-token works on the shared store", async () => {
  assert.equal(readFileSync(join(b.dataDir, "agent-token"), "utf8"), readFileSync(join(a.dataDir, "agent-token"), "utf8"));
  const created = await run(process.execPath, [
    berth,
    "join-token",
    "create",
    "--store",
    database.url,
    "--store-key-file",
    keyFile,
    "--description",
    "replicas",
  ]);
  const token = created.stdout.trim();
  assert.match(token, /^[0-9a-f]{48}$/);
  const listed = await run(process.execPath, [berth, "join-token", "list", "--store", database.url]);
  assert.match(listed.stdout, /\bvalid\b.*replicas$/m);
  assert.equal(listed.stdout.trim().split("\n").length, 3, "header, the bootstrap token, the new one");
  const otherKey = join(shared, "other.key");
  writeFileSync(otherKey, randomBytes(32), { mode: 0o600 });
  await assert.rejects(
    run(process.execPath, [berth, "join-token", "create", "--store", database.url, "--store-key-file", otherKey]),
    (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? "", /sealed with another key than/);
      return true;
    },
  );
});

test("a replica with another store key, or another account id, stops at start saying why", async () => {
  const otherKey = join(shared, "wrong.key");
  writeFileSync(otherKey, randomBytes(32), { mode: 0o600 });
  await assert.rejects(
    startTestServer({ dataDir: refusedDataDir(), store: { url: database.url }, generatedKey: true, args: ["--store-key-file", otherKey] }),
    /exited with 2:[\s\S]*the store's secrets are sealed with another key than .*wrong\.key/,
  );
  await assert.rejects(
    replica(["--account-id", "999999999999"], refusedDataDir()),
    /exited with 2:[\s\S]*--account-id 999999999999 contradicts the store, which is account 123456789012/,
  );
  await assert.rejects(
    startTestServer({ dataDir: refusedDataDir(), store: { url: database.url }, args: ["--store-key-file", join(shared, "absent.key")] }),
    /exited with 2:[\s\S]*--store-key-file .*absent\.key: ENOENT/,
  );
});
