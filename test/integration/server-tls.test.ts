// TLS on the listener: `berth server --tls` generates a CA and a server certificate in its data dir
// (reused on restart), writes the CA to <data-dir>/ca.pem, and the AWS CLI (--ca-bundle), the SDK v3
// (an https agent trusting the CA) and boto3 (verify=) work against it while clients without the
// CA fail verification. Plain HTTP off loopback is refused at start. Agents trust the server
// through the CA their join token pins (a wrong pin is refused before anything is sent) and pull
// from the built-in registry over the same TLS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { ECRClient, CreateRepositoryCommand, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { serverTrust, ServerTrustError } from "../../src/agent/server-trust.js";
import { buildImage, ImageStore, pushImage } from "../../src/images/index.js";
import { parseJoinToken, protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
let server: TestServer;
let caPem: string;
let caFile: string;
before(async () => {
  server = await startTestServer({ args: ["--tls"] });
  caFile = join(server.dataDir, "ca.pem");
  caPem = readFileSync(caFile, "utf8");
});
after(async () => {
  await server?.stop();
  await server?.cleanup();
});

const mode = (path: string) => statSync(path).mode & 0o777;
const identity = (hostId: string) => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64" as const,
  capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 },
  machine: { cpuCount: 8, memoryMiB: 16384 },
  overcommit: false,
  subnetIds: [],
});

test("the server serves HTTPS with a generated CA written next to the credentials, keys 0600", () => {
  assert.match(server.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = new X509Certificate(caPem);
  assert.ok(ca.ca, "ca.pem is a CA certificate");
  assert.equal(mode(join(server.dataDir, "tls")), 0o700);
  assert.equal(mode(join(server.dataDir, "tls", "ca-key.pem")), 0o600);
  assert.equal(mode(join(server.dataDir, "tls", "server-key.pem")), 0o600);
  const leaf = new X509Certificate(readFileSync(join(server.dataDir, "tls", "server.pem")));
  assert.ok(leaf.verify(ca.publicKey), "the server certificate is signed by the CA");
  for (const name of ["IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "DNS:localhost"])
    assert.ok(leaf.subjectAltName?.includes(name), `${name} in ${leaf.subjectAltName}`);
  // The bootstrap token pins that CA.
  const token = parseJoinToken(readFileSync(join(server.dataDir, "agent-token"), "utf8"));
  assert.equal(token.caSha256, createHash("sha256").update(ca.raw).digest("hex"));
});

test("the AWS CLI works with --ca-bundle and fails verification without it", async () => {
  const ok = await awsCli(server, ["--ca-bundle", caFile, "ecs", "list-clusters"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.json, { clusterArns: [] });
  const refused = await awsCli(server, ["ecs", "list-clusters"]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /SSL|CERTIFICATE_VERIFY_FAILED|certificate verify failed/i);
});

test("the SDK v3 works with an https agent trusting the CA and fails without it", async () => {
  const trusted = new ECSClient({ ...sdkConfig(server), requestHandler: { httpsAgent: new HttpsAgent({ ca: caPem }) } });
  assert.deepEqual((await trusted.send(new ListClustersCommand({}))).clusterArns, []);
  const untrusted = new ECSClient(sdkConfig(server));
  await assert.rejects(untrusted.send(new ListClustersCommand({})), /self[- ]signed|unable to verify|certificate/i);
});

test("boto3 works with verify=<ca.pem> and fails verification without it", async () => {
  const script = [
    "import boto3, sys",
    "verify = sys.argv[2] if sys.argv[2] != 'default' else None",
    "c = boto3.client('ecs', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4], verify=verify)",
    "print(c.list_clusters()['clusterArns'])",
  ].join("\n");
  const boto = (verify: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        "/usr/bin/python3",
        ["-c", script, server.endpoint, verify, server.credentials.accessKeyId, server.credentials.secretAccessKey],
        { env: { PATH: "/usr/bin:/bin", HOME: tmpdir() } },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
      ),
    );
  const ok = await boto(caFile);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), "[]");
  const refused = await boto("default");
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /SSL|CERTIFICATE_VERIFY_FAILED/);
});

test("an agent trusting the CA its join token pins registers; a wrong pin is refused before anything is sent", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-tls-"));
  try {
    const token = parseJoinToken(readFileSync(join(server.dataDir, "agent-token"), "utf8"));
    const url = new URL(server.endpoint);
    const ca = await serverTrust({ serverUrls: [url], caFile: undefined, pin: token.caSha256, cacheFile: join(dir, "server-ca.pem") });
    assert.equal(ca, new X509Certificate(caPem).toString());
    const link = createHttpControlLink({ serverUrl: server.endpoint, token: token.secret, ca: ca! });
    await link.register(identity("host-tls"));
    await link.heartbeat("host-tls");

    const wrongPin = "0".repeat(64);
    await assert.rejects(
      serverTrust({ serverUrls: [url], caFile: undefined, pin: wrongPin, cacheFile: join(dir, "other.pem") }),
      (error: Error) => error instanceof ServerTrustError && /no certificate with the join token's CA pin/.test(error.message),
    );
    // Without the pin or a CA file an agent uses the system's roots, which do not know this CA.
    await assert.rejects(createHttpControlLink({ serverUrl: server.endpoint, token: token.secret }).register(identity("host-untrusted")), /fetch failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("images go to and come from the built-in registry over the same TLS, with the server's CA", async () => {
  const ecr = new ECRClient({ ...sdkConfig(server), requestHandler: { httpsAgent: new HttpsAgent({ ca: caPem }) } });
  const repositoryUri = (await ecr.send(new CreateRepositoryCommand({ repositoryName: "tls-web" }))).repository!.repositoryUri!;
  const password = Buffer.from((await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!, "base64")
    .toString()
    .replace(/^AWS:/, "");
  const image = await buildImage({ busybox: false, directories: [], architecture: "amd64", cmd: ["/bin/true"] });
  const credentials = { username: "AWS", password };
  const blobs = [image.config, ...image.layers];
  // Loopback registry names are plain HTTP by default: without the trust the push cannot work.
  await assert.rejects(pushImage({ manifest: image.manifest, blobs }, `${repositoryUri}:v1`, { credentials }));
  await pushImage({ manifest: image.manifest, blobs }, `${repositoryUri}:v1`, { credentials, trust: { ca: caPem } });
  const store = mkdtempSync(join(tmpdir(), "berth-tls-images-"));
  try {
    const registry = repositoryUri.slice(0, repositoryUri.indexOf("/"));
    const images = new ImageStore({ root: store, trustFor: (name) => (name === registry ? { ca: caPem } : undefined) });
    const pulled = await images.pull(`${repositoryUri}:v1`, { platform: { os: "linux", architecture: "amd64" }, policy: "always", credentials });
    assert.equal(pulled.manifestDigest, image.manifest.digest);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

test("skopeo pushes over TLS with --dest-cert-dir holding the CA as ca.crt", async () => {
  const certs = mkdtempSync(join(tmpdir(), "berth-certs-"));
  const layout = mkdtempSync(join(tmpdir(), "berth-layout-"));
  try {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(certs, "ca.crt"), caPem);
    const image = await buildImage({ busybox: false, directories: [], architecture: "amd64", cmd: ["/bin/true"] });
    const { writeOciLayout } = await import("../../src/images/index.js");
    writeOciLayout(layout, image, "v1");
    const password = Buffer.from(
      (await new ECRClient({ ...sdkConfig(server), requestHandler: { httpsAgent: new HttpsAgent({ ca: caPem }) } }).send(new GetAuthorizationTokenCommand({})))
        .authorizationData![0]!.authorizationToken!,
      "base64",
    )
      .toString()
      .replace(/^AWS:/, "");
    const host = server.endpoint.replace(/^https:\/\//, "");
    const skopeo = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile("skopeo", args, (error, _stdout, stderr) => resolve({ code: error ? 1 : 0, stderr })),
      );
    // As the README says: log in and copy with the CA in a cert dir (an auth file of the test's own).
    const authfile = join(certs, "auth.json");
    const login = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = execFile(
        "skopeo",
        ["login", "--authfile", authfile, "--cert-dir", certs, "--username", "AWS", "--password-stdin", host],
        (error, _stdout, stderr) => resolve({ code: error ? 1 : 0, stderr }),
      );
      child.stdin!.end(password);
    });
    assert.equal(login.code, 0, login.stderr);
    const ok = await skopeo(["copy", "--authfile", authfile, "--dest-cert-dir", certs, `oci:${layout}:v1`, `docker://${host}/tls-web:skopeo`]);
    assert.equal(ok.code, 0, ok.stderr);
    // The README's other way: no verification at all, which still speaks TLS.
    const unverified = await skopeo(["copy", "--authfile", authfile, "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${host}/tls-web:no-verify`]);
    assert.equal(unverified.code, 0, unverified.stderr);
    const refused = await skopeo(["copy", "--authfile", authfile, `oci:${layout}:v1`, `docker://${host}/tls-web:unverified`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /certificate|x509/i);
  } finally {
    rmSync(certs, { recursive: true, force: true });
    rmSync(layout, { recursive: true, force: true });
  }
});

test("a restart reuses the generated CA", async () => {
  await server.stop();
  const again = await startTestServer({ dataDir: server.dataDir, args: ["--tls"] });
  server = again;
  assert.equal(readFileSync(caFile, "utf8"), caPem);
  const ok = await awsCli(server, ["--ca-bundle", caFile, "ecs", "list-clusters"]);
  assert.equal(ok.code, 0, ok.stderr);
});

test("plain HTTP on a non-loopback listen is refused at start, saying how to enable TLS", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-refuse-"));
  try {
    // Listening on 0.0.0.0 only to see the refusal: the process exits before binding anything.
    const child = spawn(process.execPath, [berth, "server", "--listen", "0.0.0.0:0", "--data-dir", dataDir, "--no-agent"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 2);
    assert.match(stderr, /refusing plain HTTP on 0\.0\.0\.0/);
    assert.match(stderr, /--tls .*--tls-cert FILE --tls-key FILE.*--insecure-http/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
