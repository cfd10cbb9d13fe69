import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TaskSpec, TaskStatusReport } from "../protocol/index.js";
import { endpointEnvironment, endpointIds, parseEndpointPath } from "./endpoint-paths.js";
import { CredentialsCache, needsRefresh } from "./credentials-cache.js";
import { answerEndpointRequest } from "./endpoint-server.js";
import type { EndpointDirectory, EndpointTask } from "./endpoint-server.js";
import { containerMetadata, taskMetadata } from "./metadata-documents.js";
import { statsDocument } from "./stats-documents.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON documents read field by field in assertions
type Doc = Record<string, any>;
const key = Buffer.alloc(32, 7);
const arn = "arn:aws:ecs:us-east-1:123456789012:task/demo/0123456789abcdef0123456789abcdef";

test("ids are stable per (key, task, container), differ across tasks and keys, and have Fargate's forms", () => {
  const a = endpointIds(key, arn, ["web", "side"]);
  assert.deepEqual(endpointIds(key, arn, ["web", "side"]), a);
  assert.match(a.containers.get("web")!, /^[0-9a-f]{32}-\d{10}$/);
  assert.notEqual(a.containers.get("web"), a.containers.get("side"));
  assert.match(a.credentials, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(endpointIds(key, `${arn}0`, ["web"]).credentials, a.credentials);
  assert.notEqual(endpointIds(Buffer.alloc(32, 8), arn, ["web"]).containers.get("web"), a.containers.get("web"));
  const env = endpointEnvironment(a, "web", false);
  assert.equal(env.ECS_CONTAINER_METADATA_URI_V4, `http://169.254.170.2/v4/${a.containers.get("web")}`);
  assert.equal(env.ECS_CONTAINER_METADATA_URI, `http://169.254.170.2/v3/${a.containers.get("web")}`);
  assert.equal(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, undefined, "no task role: no credentials variable");
  assert.equal(endpointEnvironment(a, "web", true).AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, `/v2/credentials/${a.credentials}`);
});

test("paths: the five metadata resources of v3 and v4 and the credentials path; everything else is unknown", () => {
  assert.deepEqual(parseEndpointPath("/v4/abc-1"), { kind: "metadata", version: 4, id: "abc-1", resource: "container" });
  assert.deepEqual(parseEndpointPath("/v4/abc-1/task?x=1"), { kind: "metadata", version: 4, id: "abc-1", resource: "task" });
  assert.equal((parseEndpointPath("/v3/abc/taskWithTags") as { resource: string }).resource, "taskWithTags");
  assert.equal((parseEndpointPath("/v4/abc/stats") as { resource: string }).resource, "stats");
  assert.equal((parseEndpointPath("/v4/abc/task/stats") as { resource: string }).resource, "taskStats");
  assert.deepEqual(parseEndpointPath("/v2/credentials/0a-b"), { kind: "credentials", id: "0a-b" });
  for (const hostile of [
    "/v4/../etc/passwd",
    "/v4/abc/constructor",
    "/v4/abc/__proto__",
    "/v5/abc",
    "/v2/credentials/",
    "/v2/credentials/a/b",
    `/v4/${"a".repeat(300)}`,
    "/v4/ABC%2F",
    "/",
  ])
    assert.deepEqual(parseEndpointPath(hostile), { kind: "unknown" }, hostile);
});

test("credentials are refreshed once less than min(15 min, a third of their lifetime) is left", () => {
  const hour = 3_600_000;
  assert.equal(needsRefresh({ expiration: hour }, 0, 0), false);
  assert.equal(needsRefresh({ expiration: hour }, 0, hour - 15 * 60_000 - 1), false);
  assert.equal(needsRefresh({ expiration: hour }, 0, hour - 15 * 60_000 + 1), true);
  // a 15-minute session: refreshed in its last 5 minutes, not on every request
  assert.equal(needsRefresh({ expiration: 15 * 60_000 }, 0, 9 * 60_000), false);
  assert.equal(needsRefresh({ expiration: 15 * 60_000 }, 0, 11 * 60_000), true);
});

test("the cache fetches once for concurrent requests, refreshes when due, and serves unexpired credentials when a refresh fails", async () => {
  let now = 0;
  let fetches = 0;
  let fail = false;
  const cache = new CredentialsCache(
    async () => {
      fetches++;
      if (fail) throw new Error("control plane down");
      return {
        accessKeyId: `ASIA${"X".repeat(12)}${fetches}`,
        secretAccessKey: "s",
        sessionToken: "t",
        expiration: now + 3_600_000,
        roleArn: "arn:aws:iam::1:role/app",
      };
    },
    () => now,
  );
  await Promise.all([cache.get(arn), cache.get(arn), cache.get(arn)]);
  assert.equal(fetches, 1);
  now = 40 * 60_000;
  await cache.get(arn);
  assert.equal(fetches, 1, "still fresh");
  now = 50 * 60_000;
  const refreshed = await cache.get(arn);
  assert.equal(fetches, 2);
  now = 50 * 60_000 + 50 * 60_000;
  fail = true;
  assert.equal((await cache.get(arn)).accessKeyId, refreshed.accessKeyId, "unexpired credentials outlive a failed refresh");
  now += 20 * 60_000;
  await assert.rejects(cache.get(arn), /control plane down/);
  cache.forget(arn);
  assert.deepEqual(cache.tasks(), []);
});

function spec(taskRoleArn?: string): TaskSpec {
  return {
    protocolVersion: 1,
    taskArn: arn,
    taskId: "0123456789abcdef0123456789abcdef",
    clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
    family: "web",
    revision: 3,
    taskDefinition: { taskRoleArn, containerDefinitions: [{ name: "web", image: "r/web:v1", cpu: 128, memory: 256, dockerLabels: { team: "a" } }] },
    cpuUnits: 256,
    memoryMiB: 512,
    ephemeralStorageGiB: 20,
    platform: { os: "linux", architecture: "amd64" },
    network: {
      vpcId: "vpc-1",
      subnetId: "subnet-1",
      subnetCidr: "10.0.1.0/24",
      privateIpv4Address: "10.0.1.5",
      macAddress: "02:00:00:00:00:05",
      securityGroups: [],
      assignPublicIp: "DISABLED",
    },
    region: "us-east-1",
    availabilityZone: "us-east-1a",
    desiredStatus: "RUNNING",
    stopTimeoutMs: 30_000,
    pullPolicy: "always",
    logConfigurations: { web: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/web" } } },
    credentials: {},
    createdAtMs: 0,
    group: "service:api",
  };
}

const status: TaskStatusReport = {
  protocolVersion: 1,
  taskArn: arn,
  lastStatus: "RUNNING",
  desiredStatus: "RUNNING",
  sequence: 4,
  health: "UNKNOWN",
  pullStartedAtMs: Date.UTC(2024, 0, 1),
  pullStoppedAtMs: Date.UTC(2024, 0, 1, 0, 0, 2),
  containers: [
    {
      name: "web",
      runtimeId: "rt-web",
      lastStatus: "RUNNING",
      health: "UNKNOWN",
      essential: true,
      image: "r/web:v1",
      imageDigest: "sha256:ab",
      networkInterfaces: [],
    },
  ],
};
const network = { ipv4: "10.0.1.5", macAddress: "02:00:00:00:00:05", privateDnsName: "ip-10-0-1-5.ec2.internal" };

test("the v4 task document has Fargate's fields from the spec and the status; v3 lacks v4's network details", () => {
  const doc = taskMetadata({ spec: spec(), status, network, ephemeralUtilizedMiB: 12 }, 4) as Doc;
  assert.equal(doc.Cluster, "arn:aws:ecs:us-east-1:123456789012:cluster/demo");
  assert.equal(doc.ServiceName, "api");
  assert.equal(doc.TaskARN, arn);
  assert.equal(doc.Revision, "3");
  assert.deepEqual(doc.Limits, { CPU: 0.25, Memory: 512 });
  assert.equal(doc.PullStartedAt, "2024-01-01T00:00:00.000Z");
  assert.equal(doc.LaunchType, "FARGATE");
  assert.deepEqual(doc.EphemeralStorageMetrics, { Utilized: 12, Reserved: 20480 });
  const container = doc.Containers[0];
  assert.equal(container.DockerId, "rt-web");
  assert.equal(container.Labels["com.amazonaws.ecs.task-arn"], arn);
  assert.equal(container.Labels.team, "a");
  assert.deepEqual(container.Limits, { CPU: 128, Memory: 256 });
  assert.equal(container.LogDriver, "awslogs");
  assert.deepEqual(container.Networks[0], {
    NetworkMode: "awsvpc",
    IPv4Addresses: ["10.0.1.5"],
    AttachmentIndex: 0,
    MACAddress: "02:00:00:00:00:05",
    IPv4SubnetCIDRBlock: "10.0.1.0/24",
    DomainNameSearchList: ["ec2.internal"],
    PrivateDNSName: "ip-10-0-1-5.ec2.internal",
    SubnetGatewayIpv4Address: "10.0.1.1/24",
  });
  assert.ok(!("ClockDrift" in doc) && !("VPCID" in doc), "what cannot be measured (or is EC2's only) is absent");
  const v3 = taskMetadata({ spec: spec(), status, network }, 3) as Doc;
  assert.equal(v3.Cluster, "demo");
  assert.deepEqual(v3.Containers[0].Networks, [{ NetworkMode: "awsvpc", IPv4Addresses: ["10.0.1.5"] }]);
  assert.equal(containerMetadata({ spec: spec(), status, network }, "nope", 4), undefined);
});

test("stats carry only measured counters, with the previous sample as precpu", () => {
  const first = { readAtMs: 1000, usage: { cpuTotalNs: 5, pids: 2, memoryUsageBytes: 100 }, systemCpuNs: 50, onlineCpus: 2 };
  const doc = statsDocument({ id: "rt", name: "web" }, { ...first, readAtMs: 2000, usage: { cpuTotalNs: 9, pids: 3 } }, first) as Doc;
  assert.equal(doc.cpu_stats.cpu_usage.total_usage, 9);
  assert.equal(doc.precpu_stats.cpu_usage.total_usage, 5);
  assert.deepEqual(doc.pids_stats, { current: 3 });
  assert.deepEqual(doc.memory_stats, {});
  assert.ok(!("networks" in doc));
});

/** A directory with two tasks at one address in two routers (overlapping VPCs). */
function directory(): { directory: EndpointDirectory; tasks: Record<string, EndpointTask> } {
  const one: EndpointTask = { taskArn: `${arn}-one`, ids: endpointIds(key, `${arn}-one`, ["web"]), hasTaskRole: true };
  const two: EndpointTask = { taskArn: `${arn}-two`, ids: endpointIds(key, `${arn}-two`, ["web"]), hasTaskRole: false };
  const byRouter: Record<string, EndpointTask> = { "vpc-a": one, "vpc-b": two };
  return {
    tasks: { one, two },
    directory: {
      find: (router, address) => (address === "127.0.0.1" ? byRouter[router] : undefined),
      taskDocument: (task) => ({ TaskARN: task.taskArn }),
      containerDocument: (task, name) => ({ TaskARN: task.taskArn, Name: name }),
      taskStats: () => ({}),
      containerStats: () => ({}),
      credentials: async (task) => ({
        accessKeyId: "ASIAAAAAAAAAAAAAAAAA",
        secretAccessKey: "secret",
        sessionToken: "token",
        expiration: Date.UTC(2030, 0, 1),
        roleArn: `role-of-${task.taskArn}`,
      }),
      onError: () => undefined,
    },
  };
}

async function serve(dir: EndpointDirectory, router: string): Promise<{ url: string; close: () => void }> {
  const server = createServer((request, response) => void answerEndpointRequest(dir, router, request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

test("a task reads its own metadata and credentials; another router's task at the same address cannot read them, nor can a role-less task get any", async () => {
  const { directory: dir, tasks } = directory();
  const a = await serve(dir, "vpc-a");
  const b = await serve(dir, "vpc-b");
  try {
    const own = await fetch(`${a.url}/v4/${tasks.one!.ids.containers.get("web")}/task`);
    assert.equal(own.status, 200);
    assert.equal(((await own.json()) as { TaskARN: string }).TaskARN, tasks.one!.taskArn);
    const credentials = await fetch(`${a.url}/v2/credentials/${tasks.one!.ids.credentials}`);
    assert.equal(credentials.status, 200);
    assert.deepEqual(await credentials.json(), {
      RoleArn: `role-of-${tasks.one!.taskArn}`,
      AccessKeyId: "ASIAAAAAAAAAAAAAAAAA",
      SecretAccessKey: "secret",
      Token: "token",
      Expiration: "2030-01-01T00:00:00Z",
    });
    // The other VPC's task, same address: the first task's paths are refused there.
    assert.equal((await fetch(`${b.url}/v4/${tasks.one!.ids.containers.get("web")}/task`)).status, 404);
    assert.equal((await fetch(`${b.url}/v2/credentials/${tasks.one!.ids.credentials}`)).status, 400);
    // A task without a role gets nothing, even at its own id.
    assert.equal((await fetch(`${b.url}/v2/credentials/${tasks.two!.ids.credentials}`)).status, 400);
    assert.equal((await fetch(`${b.url}/v4/${tasks.two!.ids.containers.get("web")}`)).status, 200);
    for (const hostile of ["/v4/", "/v4/%00", "/v2/credentials/../../v4", "/v4/x/task/../../", "/v1/metadata"])
      assert.equal((await fetch(`${a.url}${hostile}`)).status, 404, hostile);
    assert.equal((await fetch(`${a.url}/v4/${tasks.one!.ids.containers.get("web")}`, { method: "POST", body: "x" })).status, 405);
  } finally {
    a.close();
    b.close();
  }
});
