// The agent protocol end to end over loopback HTTP: a HostAgent (with a fake Agent that implements
// the real Agent interface) registers with a real Fleet behind the real HTTP route, converges on
// the desired tasks it long-polls for, delivers reports and ships awslogs lines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../src/core/clock.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TaskSpec, TaskStatusReport, TaskStopCode } from "../../src/protocol/index.js";
import { createAgentRoute } from "../../src/api/agent-route.js";
import { Fleet } from "../../src/control/fleet.js";
import type { HostsRepository, LogsRepository, Store, TaskRecord, TasksRepository } from "../../src/store/index.js";
import { openStore } from "../../src/store/index.js";
import type { Agent } from "../../src/agent/agent.js";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { AwslogsSink, HostAgent, ReportForwarder } from "../../src/agent/host-agent.js";

const token = "join-token-for-tests";
const silent = { error() {}, info() {} };
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });

/** An Agent whose tasks run instantly: it reports RUNNING on run and STOPPED on stop. */
class InstantAgent implements Agent {
  readonly tasks = new Map<string, TaskStatusReport>();
  readonly specs = new Map<string, TaskSpec>();
  reporter: ReportForwarder | undefined;
  private sequence = 0;
  async start() {}
  private async set(
    taskArn: string,
    lastStatus: TaskStatusReport["lastStatus"],
    desiredStatus: "RUNNING" | "STOPPED",
    stopCode?: TaskStopCode,
    stoppedReason?: string,
  ) {
    const status: TaskStatusReport = {
      protocolVersion,
      taskArn,
      lastStatus,
      desiredStatus,
      sequence: ++this.sequence,
      health: "UNKNOWN",
      containers: [],
      ...(stopCode ? { stopCode } : {}),
      ...(stoppedReason ? { stoppedReason } : {}),
    };
    this.tasks.set(taskArn, status);
    await this.reporter?.report(status);
    return status;
  }
  async runTask(spec: TaskSpec) {
    this.specs.set(spec.taskId, spec);
    return this.tasks.get(spec.taskArn) ?? this.set(spec.taskArn, "RUNNING", "RUNNING");
  }
  async stopTask(taskArn: string, reason: string, stopCode: TaskStopCode) {
    return this.set(taskArn, "STOPPED", "STOPPED", stopCode, reason);
  }
  describe(taskArn: string) {
    return this.tasks.get(taskArn);
  }
  list() {
    return [...this.tasks.values()];
  }
  specOf(taskId: string) {
    return this.specs.get(taskId);
  }
  async whenStopped() {}
  async forget(taskArn: string) {
    return this.tasks.get(taskArn)?.lastStatus === "STOPPED" && this.tasks.delete(taskArn);
  }
  async close() {}
}

let store: Store;
let server: ReturnType<typeof createServer>;
let url: string;
let fleet: Fleet;
let tasks: TasksRepository;
let logs: LogsRepository;
let hosts: HostsRepository;

before(async () => {
  store = await openStore({ inMemory: true });
  ({ tasks, logs, hosts } = store);
  fleet = new Fleet({ hosts, tasks, logs, network, clock: systemClock, pollWaitMs: 2_000, heartbeatIntervalMs: 200 });
  const route = createAgentRoute({ fleet, acceptedTokenHashes: () => [createHash("sha256").update(token).digest("hex")], logger: silent });
  server = createServer((req, res) => void route.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.close();
});

function spec(taskId: string): TaskSpec {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${taskId}`,
    taskId,
    // The agent checks that a desired task's spec names its task and carries a task definition.
    taskDefinition: {},
    logConfigurations: {
      app: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true" } },
    },
  } as unknown as TaskSpec;
}

/** The task record of `s` placed on `hostId`, PROVISIONING. */
function placed(s: TaskSpec, hostId: string, state: Pick<TaskRecord, "desiredStatus" | "task">): TaskRecord {
  return {
    taskArn: s.taskArn,
    taskId: s.taskId,
    clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
    family: "app",
    launchType: "FARGATE",
    lastStatus: "PROVISIONING",
    hostId,
    reservation: { cpuUnits: 256, memoryMiB: 512, ephemeralGiB: 20 },
    createdAtMs: Date.now(),
    reportSequence: 0,
    spec: s,
    ...state,
  };
}

async function placeTask(taskId: string, hostId = "host-a") {
  const s = spec(taskId);
  await tasks.insert([
    placed(s, hostId, { desiredStatus: "RUNNING", task: { taskArn: s.taskArn, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [] } }),
  ]);
  fleet.notify(hostId);
  return s.taskArn;
}

async function eventually(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const identity = (hostId: string, availabilityZone = "us-east-1a") => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone,
  architecture: "X86_64" as const,
  capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 },
  machine: { cpuCount: 8, memoryMiB: 16384 },
  overcommit: false,
  subnetIds: [],
});

/** One raw agent protocol call, to present any credentials for any host. */
async function rawCall(call: string, bearer: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/_berth/agent/v${protocolVersion}/${call}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { code?: string; hostSecret?: string } };
}

test("an agent with a wrong join token is refused", async () => {
  const link = createHttpControlLink({ serverUrl: url, token: "wrong" });
  await assert.rejects(link.register(identity("host-x")), /HTTP 401/);
  assert.equal((await rawCall("heartbeat", token, { hostId: "host-x" })).status, 401, "the join token is not a host credential");
});

test("each host gets its own secret, and no host can act for another", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-secret-"));
  try {
    const linkA = createHttpControlLink({ serverUrl: url, token, secretFile: join(dir, "a") });
    await linkA.register(identity("host-p"));
    await linkA.heartbeat("host-p");
    const secretA = readFileSync(join(dir, "a"), "utf8").trim();
    const b = await rawCall("register", token, identity("host-q", "us-east-1b"));
    assert.equal(b.status, 200);
    const secretB = b.body.hostSecret!;
    assert.notEqual(secretA, secretB);
    for (const call of ["heartbeat", "poll", "report", "logs"]) {
      const answer = await rawCall(call, secretB, { hostId: "host-p", knownGeneration: -1, reports: [], batches: [] });
      assert.equal(answer.status, 401, `${call} with host-q's secret naming host-p`);
    }
    assert.equal((await rawCall("heartbeat", secretB, { hostId: "host-q" })).status, 200);
    // The join token alone cannot take over a live host...
    assert.equal((await rawCall("register", token, identity("host-p"))).status, 403);
    // ...but its own agent, restarted with the secret it kept, can.
    const restarted = createHttpControlLink({ serverUrl: url, token, secretFile: join(dir, "a") });
    await restarted.register(identity("host-p"));
    await restarted.heartbeat("host-p");
    await assert.rejects(linkA.heartbeat("host-p"), /HTTP 401/, "the previous secret was replaced");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a host agent runs what it is told, reports back, ships logs and stops orphans", async () => {
  const link = createHttpControlLink({ serverUrl: url, token });
  const agent = new InstantAgent();
  const reports = new ReportForwarder(link, systemClock, silent);
  agent.reporter = reports;
  const specs = new Map<string, TaskSpec>();
  const logSink = new AwslogsSink(link, (taskId) => specs.get(taskId));
  // A task the agent runs that the control plane does not know: it must be stopped.
  await agent.runTask(spec("orphan"));
  const host = new HostAgent({
    agent,
    link,
    identity: {
      hostId: "host-a",
      agentVersion: "test",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 },
      machine: { cpuCount: 8, memoryMiB: 16384 },
      overcommit: false,
      subnetIds: [],
    },
    reports,
    logSink,
    clock: systemClock,
    logger: silent,
  });
  await host.start();
  try {
    const taskArn = await placeTask("t1");
    specs.set("t1", spec("t1"));
    await eventually(async () => (await tasks.get(taskArn))?.lastStatus === "RUNNING", "the task to be reported RUNNING");
    await eventually(async () => agent.describe(spec("orphan").taskArn)?.lastStatus === "STOPPED", "the orphan to be stopped");

    await logSink.write("t1", "app", [{ timestamp: Date.now(), message: "hello from t1", stream: "stdout", offset: 1 }]);
    const group = await logs.getGroup("/ecs/app");
    const stream = await logs.getStream(group!.id, "ecs/app/t1");
    assert.ok(stream, "awslogs stream is <prefix>/<container>/<task id>");

    const stored = (await tasks.get(taskArn))!;
    await tasks.update(taskArn, stored.version, {
      desiredStatus: "STOPPED",
      task: { ...stored.task, desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Task stopped by user" },
    });
    fleet.notify("host-a");
    await eventually(async () => (await tasks.get(taskArn))?.lastStatus === "STOPPED", "the task to be reported STOPPED");
    assert.equal((await tasks.get(taskArn))!.task.stopCode, "UserInitiated");
  } finally {
    await host.close();
  }
});

test("a host the server forgot registers again and reconciles; a task stopped before it ran is reported STOPPED", async () => {
  const link = createHttpControlLink({ serverUrl: url, token });
  const agent = new InstantAgent();
  const reports = new ReportForwarder(link, systemClock, silent);
  agent.reporter = reports;
  const host = new HostAgent({
    agent,
    link,
    identity: identity("host-r"),
    reports,
    logSink: new AwslogsSink(link, () => undefined),
    clock: systemClock,
    logger: silent,
  });
  await host.start();
  try {
    const taskArn = await placeTask("t2", "host-r");
    await eventually(async () => (await tasks.get(taskArn))?.lastStatus === "RUNNING", "t2 RUNNING");
    // The server loses the host (a restored database, an operator's cleanup): the next heartbeat
    // or poll is refused, the agent registers again, and the task is still there, not duplicated.
    await hosts.remove("host-r");
    fleet.notify("host-r");
    await eventually(async () => (await hosts.get("host-r")) !== undefined, "host-r to register again");
    assert.equal(agent.describe(taskArn)?.lastStatus, "RUNNING");
    assert.equal([...agent.tasks.keys()].filter((arn) => arn === taskArn).length, 1);

    // A task placed on the host and stopped before the agent ever ran it (here: desired STOPPED
    // from the start) must not wait forever for a report.
    const never = spec("never-ran");
    await tasks.insert([
      placed(never, "host-r", {
        desiredStatus: "STOPPED",
        task: {
          taskArn: never.taskArn,
          lastStatus: "PROVISIONING",
          desiredStatus: "STOPPED",
          stopCode: "UserInitiated",
          stoppedReason: "Task stopped by user",
          containers: [{ name: "app", lastStatus: "PENDING" }],
        },
      }),
    ]);
    fleet.notify("host-r");
    await eventually(async () => (await tasks.get(never.taskArn))?.lastStatus === "STOPPED", "the never-run task to be STOPPED");
    const stopped = (await tasks.get(never.taskArn))!;
    assert.equal(stopped.task.stopCode, "UserInitiated");
    assert.equal(stopped.task.containers![0]!.lastStatus, "STOPPED");
    assert.equal(agent.describe(never.taskArn), undefined, "nothing was started for it");
  } finally {
    await host.close();
  }
});

test("a host ships logs only for its own tasks' awslogs streams", async () => {
  const owner = await rawCall("register", token, identity("host-logs-owner"));
  const other = await rawCall("register", token, identity("host-logs-other"));
  assert.equal(owner.status, 200);
  assert.equal(other.status, 200);
  const taskArn = await placeTask("logged", "host-logs-owner");
  const batch = {
    taskArn,
    containerName: "app",
    logGroupName: "/ecs/app",
    logStreamName: "ecs/app/logged",
    createGroup: true,
    events: [{ timestamp: Date.now(), message: "mine" }],
  };
  assert.equal(
    (await rawCall("logs", owner.body.hostSecret!, { hostId: "host-logs-owner", batches: [batch] })).status,
    200,
    "the owner writes its task's stream",
  );

  // Another host (a valid secret of its own) naming the owner's task is refused, and nothing is written.
  const refused = await rawCall("logs", other.body.hostSecret!, {
    hostId: "host-logs-other",
    batches: [{ ...batch, events: [{ timestamp: Date.now(), message: "forged" }] }],
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "AccessDeniedException");
  assert.match((refused.body as { message?: string }).message!, /not placed on host host-logs-other/);
  // The owner itself cannot pick another group or stream, or create a group its task does not.
  for (const forged of [
    { ...batch, logGroupName: "/victim/group" },
    { ...batch, logStreamName: "ecs/app/another-task" },
    { ...batch, containerName: "sidecar", logStreamName: "ecs/sidecar/logged" },
    { ...batch, taskArn: "arn:aws:ecs:us-east-1:123456789012:task/demo/never-placed" },
  ]) {
    const answer = await rawCall("logs", owner.body.hostSecret!, { hostId: "host-logs-owner", batches: [forged] });
    assert.equal(answer.status, 403, JSON.stringify(forged));
  }
  assert.equal(await logs.getGroup("/victim/group"), undefined, "no group was created for a refused batch");
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/logged");
  const messages = (await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 100 })).map((event) => event.message);
  assert.deepEqual(messages, ["mine"], "only the owner's line was stored");
});

test("malformed poll, report and logs bodies are refused with a 400 in the route's error shape, never a 500", async () => {
  const host = await rawCall("register", token, identity("host-malformed"));
  assert.equal(host.status, 200);
  const secret = host.body.hostSecret!;
  const taskArn = await placeTask("malformed", "host-malformed");
  const batch = {
    taskArn,
    containerName: "app",
    logGroupName: "/ecs/app",
    logStreamName: "ecs/app/malformed",
    createGroup: true,
    events: [{ timestamp: Date.now(), message: "fine" }],
  };
  const report = { protocolVersion, taskArn, lastStatus: "RUNNING", desiredStatus: "RUNNING", sequence: 1, health: "UNKNOWN", containers: [] };
  const event = (overrides: object) => ({ timestamp: Date.now(), message: "x", ...overrides });
  const cases: [string, object][] = [
    ["logs", { batches: {} }],
    ["logs", { batches: "abc" }],
    ["logs", { batches: [null] }],
    ["logs", { batches: [{ ...batch, events: {} }] }],
    ["logs", { batches: [{ ...batch, events: "abc" }] }],
    ["logs", { batches: [{ ...batch, events: [null] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ timestamp: "yesterday" })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ timestamp: null })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ timestamp: -1 })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ timestamp: 1e20 })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ timestamp: 1.5 })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ message: 42 })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ message: { text: "x" } })] }] }],
    ["logs", { batches: [{ ...batch, events: [event({ offset: "1" })] }] }],
    ["logs", { batches: [{ ...batch, taskArn: 7 }] }],
    ["logs", { batches: [{ ...batch, createGroup: "true" }] }],
    ["logs", { batches: [{ ...batch, events: Array.from({ length: 10_001 }, () => event({})) }] }],
    ["logs", { batches: [{ ...batch, events: Array.from({ length: 3 }, () => event({ message: "m".repeat(400 * 1024) })) }] }],
    ["report", { reports: [null] }],
    ["report", { reports: "abc" }],
    ["report", { reports: {} }],
    ["report", { reports: [{ ...report, taskArn: 1 }] }],
    ["report", { reports: [{ ...report, sequence: "2" }] }],
    ["report", { reports: [{ ...report, sequence: 2 ** 40 }] }],
    ["report", { reports: [{ ...report, lastStatus: "BOGUS" }] }],
    ["report", { reports: [{ ...report, stoppedAtMs: "now" }] }],
    ["report", { reports: [{ ...report, containers: "none" }] }],
    ["report", { reports: [{ ...report, containers: [null] }] }],
    [
      "report",
      { reports: [{ ...report, containers: [{ name: "app", lastStatus: "RUNNING", health: "UNKNOWN", essential: true, image: "x", networkInterfaces: {} }] }] },
    ],
    ["report", { reports: [{ ...report, attachment: "eni" }] }],
    ["poll", { knownGeneration: "abc" }],
    ["poll", { knownGeneration: null }],
  ];
  for (const [call, body] of cases) {
    const answer = await rawCall(call, secret, { hostId: "host-malformed", ...body }, { "x-berth-host-id": "host-malformed" });
    const shown = `${call} ${JSON.stringify(body).slice(0, 200)}`;
    assert.equal(answer.status, 400, shown);
    assert.equal(answer.body.code, "BadRequest", shown);
    assert.equal(typeof (answer.body as { message?: unknown }).message, "string", shown);
  }
  // The well-formed bodies still pass, at the limits too.
  assert.equal((await rawCall("report", secret, { hostId: "host-malformed", reports: [report] })).status, 200);
  assert.equal((await rawCall("report", secret, { hostId: "host-malformed" })).status, 200);
  const full = { ...batch, events: Array.from({ length: 10_000 }, (_, index) => event({ message: index === 0 ? "m".repeat(1024 * 1024 - 9_999) : "m" })) };
  assert.equal((await rawCall("logs", secret, { hostId: "host-malformed", batches: [full] }, { "x-berth-host-id": "host-malformed" })).status, 200);
  assert.equal((await rawCall("poll", secret, { hostId: "host-malformed", knownGeneration: -1 })).status, 200);
});

test("logs for a task that stopped longer ago than the grace period are refused; within it they are stored", async () => {
  const host = await rawCall("register", token, identity("host-stopped-logs"));
  const secret = host.body.hostSecret!;
  const send = (taskArn: string, taskId: string, message: string) =>
    rawCall("logs", secret, {
      hostId: "host-stopped-logs",
      batches: [
        {
          taskArn,
          containerName: "app",
          logGroupName: "/ecs/app",
          logStreamName: `ecs/app/${taskId}`,
          createGroup: true,
          events: [{ timestamp: Date.now(), message }],
        },
      ],
    });
  const stop = async (taskArn: string, stoppedAt: number) => {
    const stored = (await tasks.get(taskArn))!;
    assert.ok(
      await tasks.update(taskArn, stored.version, {
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        stoppedAtMs: stoppedAt,
        task: { ...stored.task, lastStatus: "STOPPED", desiredStatus: "STOPPED" },
      }),
    );
  };
  const recent = await placeTask("stopped-recently", "host-stopped-logs");
  await stop(recent, Date.now() - 60_000);
  assert.equal((await send(recent, "stopped-recently", "last words")).status, 200, "a container's last lines after it stopped are stored");

  const old = await placeTask("stopped-long-ago", "host-stopped-logs");
  await stop(old, Date.now() - 11 * 60_000);
  const refused = await send(old, "stopped-long-ago", "from the grave");
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "AccessDeniedException");
  assert.match((refused.body as { message?: string }).message!, /stopped more than 10 minutes ago/);
  const group = await logs.getGroup("/ecs/app");
  assert.equal(await logs.getStream(group!.id, "ecs/app/stopped-long-ago"), undefined, "nothing was written");
});

test("the agent's client splits a batch over the server's limits into parts it accepts, and cuts a message longer than a batch", async () => {
  const link = createHttpControlLink({ serverUrl: url, token });
  await link.register(identity("host-split"));
  const taskArn = await placeTask("split", "host-split");
  const now = Date.now();
  const events = Array.from({ length: 25_000 }, (_, index) => ({ timestamp: now + index, message: `line ${index}`, offset: index + 1 }));
  events.push({ timestamp: now + 25_000, message: "é".repeat(600 * 1024), offset: 25_001 }); // 1.2 MiB of UTF-8
  await link.putLogs("host-split", [{ taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/split", createGroup: true, events }]);
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/split");
  const stored = await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 30_000 });
  assert.equal(stored.length, 25_001);
  assert.equal(stored[24_999]!.message, "line 24999");
  const last = stored[25_000]!.message;
  assert.ok(Buffer.byteLength(last) <= 1024 * 1024 && Buffer.byteLength(last) > 1024 * 1024 - 2, `cut to the limit (${Buffer.byteLength(last)} bytes)`);
  assert.match(last, /^é+$/, "cut on a character boundary");
});

test("the agent's client never follows a redirect (the secret and body stay with the server it was given)", async () => {
  const elsewhere: string[] = [];
  const target = createServer((req, res) => {
    elsewhere.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const redirecting = createServer((req, res) => {
    req.resume();
    res.writeHead(307, { location: `${targetUrl}${req.url}` }).end();
  });
  await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-redirect-"));
  try {
    const secretFile = join(dir, "secret");
    writeFileSync(secretFile, "the-host-secret\n");
    const link = createHttpControlLink({ serverUrl: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`, token, secretFile });
    await assert.rejects(link.heartbeat("host-redirected"));
    await assert.rejects(link.register(identity("host-redirected")));
    await assert.rejects(
      link.putLogs("host-redirected", [
        { taskArn: "t", containerName: "app", logGroupName: "g", logStreamName: "s", createGroup: false, events: [{ timestamp: 1, message: "secret line" }] },
      ]),
    );
    assert.deepEqual(elsewhere, [], "nothing reached the redirect's target");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    redirecting.closeAllConnections();
    target.closeAllConnections();
    await new Promise((resolve) => redirecting.close(resolve));
    await new Promise((resolve) => target.close(resolve));
  }
});

test("the agent's client reads at most its byte cap of an answer, declared or streamed", async () => {
  const big = Buffer.alloc(256 * 1024, "a");
  const oversized = createServer((req, res) => {
    req.resume();
    if (req.url?.endsWith("/heartbeat")) {
      res.writeHead(200, { "content-type": "application/json", "content-length": big.length }).end(big);
    } else {
      // Chunked, no length declared: counted as it arrives.
      res.writeHead(200, { "content-type": "application/json" });
      res.write(big);
      res.end(big);
    }
  });
  await new Promise<void>((resolve) => oversized.listen(0, "127.0.0.1", resolve));
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-cap-"));
  try {
    const secretFile = join(dir, "secret");
    writeFileSync(secretFile, "the-host-secret\n");
    const link = createHttpControlLink({
      serverUrl: `http://127.0.0.1:${(oversized.address() as AddressInfo).port}`,
      token,
      secretFile,
      maxResponseBytes: 64 * 1024,
    });
    await assert.rejects(link.register(identity("host-capped")), /the answer is over the 65536-byte limit/);
    await assert.rejects(link.heartbeat("host-capped"), /the answer \(262144 bytes\) is over the 65536-byte limit/);
    // Within the cap, the same answers are read.
    const roomy = createHttpControlLink({
      serverUrl: `http://127.0.0.1:${(oversized.address() as AddressInfo).port}`,
      token,
      secretFile,
      maxResponseBytes: 1024 * 1024,
    });
    await assert.rejects(roomy.heartbeat("host-capped"), /JSON/, "read whole (and then not JSON)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    oversized.closeAllConnections();
    await new Promise((resolve) => oversized.close(resolve));
  }
});
