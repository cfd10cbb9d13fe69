// podman (Debian's, installed by scripts/setup.sh) against the built-in registry: login with the
// ECR password, pull an image skopeo pushed, push it back under another tag. Podman's storage is a
// throw-away vfs root, so the machine's own container storage is untouched.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { buildImage, gzipLayer, loginPassword, registryHost, writeOciLayout } from "./registry-fixtures.js";

let server: TestServer;
let root: string;

before(async () => {
  server = await startTestServer();
  root = mkdtempSync(join(tmpdir(), "berth-podman-"));
});

after(async () => {
  await server.stop();
  await server.cleanup();
  rmSync(root, { recursive: true, force: true });
});

const podman = (args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      "podman",
      ["--root", join(root, "storage"), "--runroot", join(root, "run"), "--storage-driver", "vfs", ...args],
      { env: { ...process.env, REGISTRY_AUTH_FILE: join(root, "auth.json") } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

test("podman logs in with the ECR password, pulls from and pushes to the built-in registry", async () => {
  assert.equal((await awsCli(server, ["ecr", "create-repository", "--repository-name", "pod/app"])).code, 0);
  const password = await loginPassword(server);
  const layout = mkdtempSync(join(root, "oci-"));
  const image = buildImage([gzipLayer({ "etc/motd": "built for podman\n" })]);
  writeOciLayout(layout, "v1", [image]);
  const host = registryHost(server);
  execFileSync("skopeo", ["copy", "--dest-creds", `AWS:${password}`, "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${host}/pod/app:v1`]);

  const anonymous = await podman(["pull", "--tls-verify=false", `${host}/pod/app:v1`]);
  assert.notEqual(anonymous.code, 0, "no pull without logging in");
  const login = await podman(["login", "--tls-verify=false", "-u", "AWS", "--password-stdin", host], password);
  assert.equal(login.code, 0, login.stderr);
  const pulled = await podman(["pull", "--tls-verify=false", `${host}/pod/app:v1`]);
  assert.equal(pulled.code, 0, pulled.stderr);
  const inspected = JSON.parse((await podman(["image", "inspect", `${host}/pod/app:v1`])).stdout) as { Digest: string }[];
  assert.equal(inspected[0]!.Digest, image.manifest.digest);

  assert.equal((await podman(["tag", `${host}/pod/app:v1`, `${host}/pod/app:v2`])).code, 0);
  const pushed = await podman(["push", "--tls-verify=false", `${host}/pod/app:v2`]);
  assert.equal(pushed.code, 0, pushed.stderr);
  const listed = await awsCli(server, ["ecr", "list-images", "--repository-name", "pod/app", "--filter", "tagStatus=TAGGED"]);
  const tags = (listed.json as { imageIds: { imageTag: string }[] }).imageIds.map((id) => id.imageTag).sort();
  assert.deepEqual(tags, ["v1", "v2"]);
});
