// Task images from the built-in registry: when a task is handed to an agent (the agent protocol's
// poll, over HTTP against a real `berth server`), each image naming this server's registry comes
// with a pull credential issued for the task's execution role — pull only, for the task's
// repositories — that the agent's real image store pulls with; a task without an execution role
// gets none and its pull is refused, as an ECR image without an execution role is on Fargate.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { CreateRepositoryCommand, ECRClient } from "@aws-sdk/client-ecr";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { ImageStore } from "../../src/images/index.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { ControlPlaneLink, TaskSpec } from "../../src/protocol/index.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { basicAuth, buildImage, gzipLayer, loginPassword, pushImage, registryFetch, registryHost } from "./registry-fixtures.js";

const role = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole";
let server: TestServer;
let link: ControlPlaneLink;
let ecs: ECSClient;
let subnetId: string;
const storeDir = mkdtempSync(join(tmpdir(), "berth-pull-store-"));
const web = buildImage([gzipLayer({ "www/index.html": `web ${randomBytes(8).toString("hex")}` })], { os: "linux", architecture: "amd64" }, "web");
const other = buildImage([gzipLayer({ "other.txt": randomBytes(8).toString("hex") })], { os: "linux", architecture: "amd64" }, "other");

before(async () => {
  server = await startTestServer();
  const password = await loginPassword(server);
  const ecr = new ECRClient(sdkConfig(server));
  for (const name of ["web", "other"]) await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  assert.equal((await pushImage(server, password, "web", "v1", web)).status, 201);
  assert.equal((await pushImage(server, password, "other", "v1", other)).status, 201);
  link = createHttpControlLink({ serverUrl: server.endpoint, token: readFileSync(join(server.dataDir, "agent-token"), "utf8").trim() });
  await link.register({
    protocolVersion,
    hostId: "host-pull-test",
    agentVersion: "test",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 4096, memoryMiB: 8192, taskSlots: 10, ephemeralGiB: 200 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
  ecs = new ECSClient(sdkConfig(server));
  await ecs.send(new CreateClusterCommand({ clusterName: "pull" }));
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
});

after(async () => {
  await server.stop();
  await server.cleanup();
  rmSync(storeDir, { recursive: true, force: true });
});

async function handedOver(family: string, executionRoleArn: string | undefined): Promise<TaskSpec> {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      ...(executionRoleArn ? { executionRoleArn } : {}),
      containerDefinitions: [
        { name: "web", image: `${registryHost(server)}/web:v1`, essential: true },
        { name: "sidecar", image: "public.ecr.aws/docker/library/busybox:latest", essential: false },
      ],
    }),
  );
  const ran = await ecs.send(
    new RunTaskCommand({
      cluster: "pull",
      taskDefinition: family,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId] } },
    }),
  );
  const taskArn = ran.tasks![0]!.taskArn!;
  const polled = await link.poll("host-pull-test", -1);
  const spec = polled.tasks.find((task) => task.spec.taskArn === taskArn)?.spec;
  assert.ok(spec, "the task is handed to the host");
  return spec;
}

test("a task with an execution role is handed a pull-only credential for its repositories in this registry, and the image store pulls with it", async () => {
  const spec = await handedOver("with-role", role);
  const auth = spec.credentials.registryAuth ?? [];
  assert.equal(auth.length, 1, "one credential, for this registry only (not for public.ecr.aws)");
  assert.equal(auth[0]!.registry, registryHost(server));
  assert.equal(auth[0]!.username, "AWS");
  const now = Date.now();
  assert.ok(auth[0]!.expiresAtMs > now && auth[0]!.expiresAtMs <= now + 3_600_000 + 5_000, "expires within the hour");

  const store = new ImageStore({ root: storeDir });
  const pulled = await store.pull(`${registryHost(server)}/web:v1`, {
    platform: { os: "linux", architecture: "amd64" },
    policy: "always",
    credentials: { username: "AWS", password: auth[0]!.password },
  });
  assert.equal(pulled.manifestDigest, web.manifest.digest);

  const password = auth[0]!.password;
  const deniedCode = async (response: Response) => {
    assert.equal(response.status, 403);
    return ((await response.json()) as { errors: { code: string }[] }).errors[0]!.code;
  };
  assert.equal(await deniedCode(await registryFetch(server, password, `/v2/other/manifests/v1`)), "DENIED", "another repository is closed to it");
  assert.equal(await deniedCode(await registryFetch(server, password, `/v2/web/blobs/uploads/`, { method: "POST" })), "DENIED", "it cannot push");
  assert.equal(await deniedCode(await registryFetch(server, password, `/v2/web/manifests/v1`, { method: "DELETE" })), "DENIED", "it cannot delete");
  assert.equal(await deniedCode(await registryFetch(server, password, `/v2/_catalog`)), "DENIED", "it cannot list the catalog");
  // A bearer token exchanged for it opens no more than it does.
  const token = (await (
    await fetch(`${server.endpoint}/v2/token?scope=repository:other:pull`, { headers: { authorization: basicAuth(password) } })
  ).json()) as { token: string };
  const viaBearer = await fetch(`${server.endpoint}/v2/other/manifests/v1`, { headers: { authorization: `Bearer ${token.token}` } });
  assert.equal(await deniedCode(viaBearer), "DENIED");
  const allowed = await fetch(`${server.endpoint}/v2/web/manifests/v1`, {
    headers: { authorization: `Bearer ${token.token}`, accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(allowed.status, 200);

  // The credential is issued at hand-over, never stored with the task the APIs describe.
  const described = await ecs.send(new DescribeTasksCommand({ cluster: "pull", tasks: [spec.taskArn] }));
  assert.ok(!JSON.stringify(described).includes(password));
});

test("a task without an execution role gets no credential, and an anonymous pull of its image is refused", async () => {
  const spec = await handedOver("without-role", undefined);
  assert.equal(spec.credentials.registryAuth, undefined);
  const store = new ImageStore({ root: storeDir });
  await assert.rejects(store.pull(`${registryHost(server)}/web:v1`, { platform: { os: "linux", architecture: "amd64" }, policy: "always" }), /unauthorized/);
  // The image is on this host already (the first test pulled it with a credential): ECS's
  // "default" behaviour falls back to the cache when a pull fails, but not when access is refused.
  assert.ok(store.cached(`${registryHost(server)}/web:v1`), "the image is cached on the host");
  await assert.rejects(store.pull(`${registryHost(server)}/web:v1`, { platform: { os: "linux", architecture: "amd64" }, policy: "default" }), /unauthorized/);
});
