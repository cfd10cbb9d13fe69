// The agent protocol's taskCredentials call over loopback HTTP: the agent's HTTP link
// (src/agent/control-link-http.ts) against the real route (src/api/agent-route.ts) and a real Fleet
// with the real TaskCredentials over an in-memory store; only the issuer is a fake (RoleSessions
// has its own tests, and test/privileged/task-endpoints.test.ts runs the whole path). A host gets
// credentials only for its own running tasks with a task role; another host, a forged host id, a
// malformed body and a malformed answer are refused, and no refusal carries a credential.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../src/core/clock.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { ControlPlaneLink, TaskCredentialsAnswer, TaskSpec } from "../../src/protocol/index.js";
import { createAgentRoute } from "../../src/api/agent-route.js";
import { Fleet } from "../../src/control/fleet.js";
import { TaskCredentials } from "../../src/control/task-credentials.js";
import type { Store } from "../../src/store/index.js";
import { openStore } from "../../src/store/index.js";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";

const token = "join-token-for-tests";
const ROLE = "arn:aws:iam::123456789012:role/app";
const dir = mkdtempSync(join(tmpdir(), "berth-agent-creds-"));
let store: Store;
let server: ReturnType<typeof createServer>;
let url: string;
let link: ControlPlaneLink;
let otherSecret: string;
/** What the fake issuer hands out next (a test may make it malformed), and the tasks it was asked for. */
let issued: TaskCredentialsAnswer;
const asked: string[] = [];

const good = (): TaskCredentialsAnswer => ({
  accessKeyId: "ASIAEXAMPLEEXAMPLE01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "FQoGZXIvYXdzEXAMPLETOKEN",
  expiration: Date.now() + 3_600_000,
  roleArn: ROLE,
});

const identity = (hostId: string) => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64" as const,
  capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 },
  machine: { cpuCount: 8, memoryMiB: 16384 },
  overcommit: false,
  subnetIds: [],
});

async function rawCall(call: string, bearer: string, body: object) {
  const response = await fetch(`${url}/_berth/agent/v${protocolVersion}/${call}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { code?: string; message?: string; hostSecret?: string } };
}

/** A task placed on `hostId`: with the app role unless `taskRoleArn` is null. */
async function placeTask(taskId: string, hostId: string, state: { lastStatus?: string; desiredStatus?: string; taskRoleArn?: string | null } = {}) {
  const taskArn = `arn:aws:ecs:us-east-1:123456789012:task/demo/${taskId}`;
  const spec = { taskArn, taskId, taskDefinition: state.taskRoleArn === null ? {} : { taskRoleArn: state.taskRoleArn ?? ROLE } } as unknown as TaskSpec;
  const lastStatus = state.lastStatus ?? "RUNNING";
  const desiredStatus = state.desiredStatus ?? "RUNNING";
  await store.tasks.insert([
    {
      taskArn,
      taskId,
      clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
      family: "app",
      launchType: "FARGATE",
      lastStatus,
      desiredStatus,
      hostId,
      reservation: { cpuUnits: 256, memoryMiB: 512, ephemeralGiB: 20 },
      createdAtMs: Date.now(),
      reportSequence: 0,
      spec,
      task: { taskArn, lastStatus, desiredStatus, containers: [] },
    } as never,
  ]);
  return taskArn;
}

before(async () => {
  store = await openStore({ inMemory: true });
  const issuer = {
    async issueForTask(task: { taskArn: string; taskRoleArn: string }) {
      asked.push(task.taskArn);
      return issued;
    },
  };
  const fleet = new Fleet({
    hosts: store.hosts,
    tasks: store.tasks,
    logs: store.logs,
    network: defaultNetwork({ accountId: "123456789012", region: "us-east-1" }),
    clock: systemClock,
    pollWaitMs: 2_000,
    heartbeatIntervalMs: 200,
    taskCredentials: new TaskCredentials({ tasks: store.tasks, issuer }),
  });
  const route = createAgentRoute({ fleet, acceptedTokenHashes: () => [createHash("sha256").update(token).digest("hex")], logger: { error() {} } });
  server = createServer((req, res) => void route.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  link = createHttpControlLink({ serverUrl: url, token, secretFile: join(dir, "host-a") });
  await link.register(identity("host-a"));
  otherSecret = (await rawCall("register", token, identity("host-b"))).body.hostSecret!;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the agent's link gets its own running task's role credentials, exactly the protocol's fields", async () => {
  issued = good();
  const taskArn = await placeTask("own", "host-a");
  assert.deepEqual(await link.taskCredentials!("host-a", taskArn), issued);
  assert.deepEqual(asked, [taskArn]);
});

test("another host, a forged host id, a stopped or stopping task and a task without a role are refused, with no credential in the answer", async () => {
  issued = good();
  asked.length = 0;
  const taskArn = await placeTask("theirs", "host-a");
  const refused = await rawCall("taskCredentials", otherSecret, { hostId: "host-b", taskArn });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "AccessDeniedException");
  // host-b's secret naming host-a is not host-a.
  assert.equal((await rawCall("taskCredentials", otherSecret, { hostId: "host-a", taskArn })).status, 401);
  // Nor is the join token a host credential.
  assert.equal((await rawCall("taskCredentials", token, { hostId: "host-a", taskArn })).status, 401);
  for (const [taskId, state, pattern] of [
    ["stopped", { lastStatus: "STOPPED", desiredStatus: "STOPPED" }, /stopped or stopping/],
    ["stopping", { desiredStatus: "STOPPED" }, /stopped or stopping/],
    ["no-role", { taskRoleArn: null }, /no task role/],
  ] as const) {
    const arn = await placeTask(taskId, "host-a", state);
    await assert.rejects(link.taskCredentials!("host-a", arn), (error: Error & { status?: number }) => {
      assert.match(error.message, pattern);
      assert.equal(error.status, 403);
      return true;
    });
  }
  await assert.rejects(link.taskCredentials!("host-a", "arn:aws:ecs:us-east-1:123456789012:task/demo/unknown"), /is not placed on host host-a/);
  assert.deepEqual(asked, [], "the issuer was never asked");
  assert.doesNotMatch(refused.text, /ASIA|wJalr|FQoG/);
});

test("malformed bodies are a 400 BadRequest, never a 500", async () => {
  const secret = (await rawCall("register", token, identity("host-c"))).body.hostSecret!;
  for (const body of [{}, { taskArn: 7 }, { taskArn: "" }, { taskArn: null }, { taskArn: "a".repeat(5_000) }, { taskArn: ["x"] }]) {
    const answer = await rawCall("taskCredentials", secret, { hostId: "host-c", ...body });
    assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 100));
    assert.equal(answer.body.code, "BadRequest");
  }
});

test("the agent refuses an answer that is not the protocol's credentials (a 502 ControlLinkError), whatever the server sent", async () => {
  const taskArn = await placeTask("malformed-answer", "host-a");
  for (const bad of [
    { ...good(), accessKeyId: "short" },
    { ...good(), accessKeyId: "ASIA EXAMPLE EXAMPLE" },
    { ...good(), sessionToken: "" },
    { ...good(), sessionToken: "t".repeat(8193) },
    { ...good(), expiration: "tomorrow" },
    { ...good(), expiration: -1 },
  ]) {
    issued = bad as unknown as TaskCredentialsAnswer;
    await assert.rejects(link.taskCredentials!("host-a", taskArn), (error: Error & { status?: number }) => {
      assert.equal(error.status, 502, error.message);
      assert.match(error.message, /malformed/);
      return true;
    });
  }
});
