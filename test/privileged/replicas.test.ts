// Two control-plane replicas and two real hosts (Berth issue 11, "Done when"): `berth server
// --no-agent` twice on one PostgreSQL store (one store key, one TLS certificate from a CA this test
// makes), and two `berth agent` processes, each in a network namespace of this test's own (nsenter
// --net, a veth pair each: 10.213.40.0/30 and 10.213.41.0/30), given both replicas in opposite
// orders, running real containers of a busybox image from a test registry.
//
// 1. RunTask bursts over both replicas, ordered by holding the store's placement lock: A runs two
//    calls the client gave up on, then is SIGKILLed while three more wait for the lock; the calls
//    it never answered go again to B with the same clientToken. Every token has exactly one task
//    (B answers the unheard ones with A's task), every task runs in exactly one container on one
//    host, and the agent that talked to A moved to B.
// 2. With A back, one agent is SIGKILLed (its containers live on under conmon) and the replica
//    holding the "lost-hosts" lease is SIGKILLed in the middle of its reaping pass: the test holds
//    the silent host's row locked, so the pass blocks inside its transaction, the holder is killed
//    there, then the row is let go. The dead replica's half pass leaves nothing; the survivor takes
//    the lease over (a larger fencing token), marks the host LOST and stops each of its tasks once.
// 3. The lost host's agent comes back: it stops its orphaned containers, nothing runs twice, the
//    stopped tasks stay as the reaper left them, and the host takes new work again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import pg from "pg";
import { LOST_HOST_REASON } from "../../src/control/lost-host-reaper.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { assertNoLeaks, findLeaks } from "../support/leaks.js";
import type { PostgresDatabase } from "../support/postgres.js";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../support/postgres.js";
import type { TestRegistry } from "../support/registry.js";
import { freePort, startRegistry } from "../support/registry.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { TestCertificate } from "../support/test-ca.js";
import { makeTestCertificate } from "../support/test-ca.js";
import { waitFor } from "../support/wait-for.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const run = promisify(execFile);
const sh = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8" });
const began = Date.now();
const step = (what: string) => process.stderr.write(`replicas +${((Date.now() - began) / 1000).toFixed(1)}s ${what}\n`);

/** Each host's namespace and veth pair. Links are not named bth*: the host firewall takes bth* for task ports. */
const NAMESPACES = [
  { netns: "bthrpl1", hostSide: { link: "rplhost1", address: "10.213.40.1" }, nsSide: { link: "rplns1", address: "10.213.40.2" } },
  { netns: "bthrpl2", hostSide: { link: "rplhost2", address: "10.213.41.1" }, nsSide: { link: "rplns2", address: "10.213.41.2" } },
] as const;
/** Each host has room for exactly SLOTS of these tasks, so a doubled task would crowd out another token's. */
const SLOTS = 6;
const CLUSTER = "replicas";

interface Replica {
  readonly name: "A" | "B";
  readonly address: string;
  port: number;
  readonly dataDir: string;
  server?: TestServer;
}
interface HostAgentProcess {
  readonly name: "one" | "two";
  readonly netns: string;
  readonly dir: string;
  readonly servers: readonly Replica[];
  child?: ChildProcess;
  log: string;
  hostId: string;
}

const workDir = mkdtempSync(join(tmpdir(), "berth-replicas-"));
const A: Replica = { name: "A", address: NAMESPACES[0].hostSide.address, port: 0, dataDir: join(workDir, "replica-a") };
const B: Replica = { name: "B", address: NAMESPACES[1].hostSide.address, port: 0, dataDir: join(workDir, "replica-b") };
const agents: HostAgentProcess[] = [
  { name: "one", netns: NAMESPACES[0].netns, dir: join(workDir, "agent-one"), servers: [A, B], log: "", hostId: "" },
  { name: "two", netns: NAMESPACES[1].netns, dir: join(workDir, "agent-two"), servers: [B, A], log: "", hostId: "" },
];
let database: PostgresDatabase;
let pool: pg.Pool;
let registry: TestRegistry;
let tls: TestCertificate;
let joinToken: string;
const subnet = defaultNetwork({ accountId: "123456789012", region: "us-east-1" }).subnets.find((s) => s.availabilityZone === "us-east-1a")!.subnetId;

const urlOf = (replica: Replica) => `https://${replica.address}:${replica.port}`;
const alive = (replica: Replica) => replica.server !== undefined && replica.server.process.exitCode === null && replica.server.process.signalCode === null;
const ecsOf = (replica: Replica) => new ECSClient({ ...sdkConfig(replica.server!), requestHandler: { httpsAgent: new HttpsAgent({ ca: tls.caPem }) } });
const sql = async <Row>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as Row[];
const idOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

/** The namespaces and veths; each namespace reaches both host-side addresses (a /32 route to the other one, nothing wider). */
function makeNamespaces(): void {
  for (const [index, ns] of NAMESPACES.entries()) {
    sh("ip", ["netns", "add", ns.netns]);
    sh("ip", ["link", "add", ns.hostSide.link, "type", "veth", "peer", "name", ns.nsSide.link]);
    sh("ip", ["link", "set", ns.nsSide.link, "netns", ns.netns]);
    sh("ip", ["addr", "add", `${ns.hostSide.address}/30`, "dev", ns.hostSide.link]);
    sh("ip", ["link", "set", ns.hostSide.link, "up"]);
    sh("ip", ["-n", ns.netns, "addr", "add", `${ns.nsSide.address}/30`, "dev", ns.nsSide.link]);
    sh("ip", ["-n", ns.netns, "link", "set", ns.nsSide.link, "up"]);
    sh("ip", ["-n", ns.netns, "link", "set", "lo", "up"]);
    const other = NAMESPACES[1 - index]!;
    sh("ip", ["-n", ns.netns, "route", "add", `${other.hostSide.address}/32`, "via", ns.hostSide.address]);
  }
}

/** Whatever of them exists (also after a setup that failed half-way). */
function removeNamespaces(): void {
  for (const ns of NAMESPACES) {
    for (const args of [
      ["link", "del", ns.hostSide.link],
      ["netns", "del", ns.netns],
    ]) {
      try {
        execFileSync("ip", args, { stdio: "ignore" });
      } catch {
        // not there
      }
    }
  }
}

async function startReplica(replica: Replica): Promise<void> {
  step(`starting replica ${replica.name}`);
  replica.server = await startTestServer({
    store: database,
    dataDir: replica.dataDir,
    args: ["--listen", `${replica.address}:${replica.port}`, "--tls-cert", tls.cert, "--tls-key", tls.key],
  });
}

async function killReplica(replica: Replica): Promise<void> {
  step(`SIGKILL replica ${replica.name}`);
  await replica.server!.kill();
}

async function startAgent(agent: HostAgentProcess): Promise<void> {
  step(`starting agent ${agent.name} (servers ${agent.servers.map((r) => r.name).join(", ")})`);
  const from = agent.log.length;
  const child = spawn(
    "nsenter",
    [
      `--net=/run/netns/${agent.netns}`,
      process.execPath,
      berth,
      "agent",
      ...agent.servers.flatMap((replica) => ["--server", urlOf(replica)]),
      "--token",
      joinToken,
      "--zone",
      "us-east-1a",
      "--data-dir",
      agent.dir,
      "--insecure-registry",
      registry.address,
      "--capacity-cpu-units",
      String(256 * SLOTS),
      "--capacity-memory-mib",
      String(512 * SLOTS),
      "--task-slots",
      String(SLOTS),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  agent.child = child;
  const collect = (chunk: Buffer) => (agent.log += chunk.toString());
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent ${agent.name} did not join:\n${agent.log.slice(from)}`)), 60_000);
    const joined = () => {
      const match = /host (\S+) joined/.exec(agent.log.slice(from));
      if (!match) return;
      clearTimeout(timer);
      child.stderr!.off("data", joined);
      agent.hostId = match[1]!;
      resolve();
    };
    child.stderr!.on("data", joined);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent ${agent.name} exited with ${code}:\n${agent.log.slice(from)}`));
    });
  });
}

/** SIGKILL (a crash) or SIGTERM (a clean stop; its containers keep running either way). */
async function stopAgent(agent: HostAgentProcess, signal: "SIGKILL" | "SIGTERM"): Promise<void> {
  const child = agent.child;
  agent.child = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  step(`${signal} agent ${agent.name}`);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

/** The servers an agent's failover link moved from and to, in order (its pino log lines). */
function switchesOf(agent: HostAgentProcess): string[] {
  return agent.log
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes("moves to the next server"))
    .map((line) => JSON.parse(line) as { from: string; to: string })
    .map(({ from, to }) => `${from.replace(/\/$/, "")} -> ${to.replace(/\/$/, "")}`);
}

/** Live containers: conmon processes, by container id and the agent whose data dir they run under. */
function containers(): { id: string; agent: string }[] {
  return sh("ps", ["-eo", "stat=,args="])
    .split("\n")
    .filter((line) => /\/conmon /.test(line) && !/^\s*Z/.test(line))
    .map((line) => ({ id: / -c (\S+)/.exec(line)?.[1] ?? line, agent: agents.find((agent) => line.includes(agent.dir))?.name ?? "no agent of this test" }));
}

interface TaskRow {
  task_arn: string;
  client_token: string | null;
  host_id: string | null;
  last_status: string;
  version: number;
  stopped_at: string | null;
  stopped_reason: string | null;
}
const taskRows = () =>
  sql<TaskRow>(
    "select task_arn, client_token, host_id, last_status, version, stopped_at, document::json->>'stoppedReason' as stopped_reason from tasks order by task_arn",
  );

/** Every RUNNING task runs in exactly one container, on its own host, and no container runs without one. */
async function assertContainersMatchTasks(): Promise<void> {
  const running = (await taskRows()).filter((row) => row.last_status === "RUNNING");
  const live = containers();
  for (const task of running) {
    const agent = agents.find((candidate) => candidate.hostId === task.host_id)!;
    const found = live.filter((container) => container.id === `${idOf(task.task_arn)}-app`);
    assert.deepEqual(
      found.map((container) => container.agent),
      [agent.name],
      `task ${idOf(task.task_arn)} runs once, on its host ${agent.name}`,
    );
  }
  const expected = new Set(running.map((task) => `${idOf(task.task_arn)}-app`));
  assert.deepEqual(
    live.filter((container) => !expected.has(container.id)),
    [],
    "no container runs without a RUNNING task",
  );
}

async function runTask(ecs: ECSClient, clientToken: string, abortSignal?: AbortSignal): Promise<string> {
  const answer = await ecs.send(
    new RunTaskCommand({
      cluster: CLUSTER,
      taskDefinition: "sleeper",
      launchType: "FARGATE",
      clientToken,
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], assignPublicIp: "DISABLED" } },
    }),
    abortSignal ? { abortSignal } : {},
  );
  assert.deepEqual(answer.failures, [], `RunTask ${clientToken}`);
  assert.equal(answer.tasks?.length, 1);
  return answer.tasks[0]!.taskArn!;
}

async function statuses(replica: Replica, arns: string[]): Promise<string[]> {
  const ecs = ecsOf(replica);
  try {
    const described = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }));
    return arns.map((arn) => described.tasks?.find((task) => task.taskArn === arn)?.lastStatus ?? "MISSING");
  } finally {
    ecs.destroy();
  }
}

/** An error the client got without any HTTP answer (connection refused or reset): the call may or may not have run. */
const unanswered = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === undefined;

before(async () => {
  makeNamespaces();
  tls = await makeTestCertificate(join(workDir, "tls"), [...NAMESPACES.map((ns) => ns.hostSide.address), "127.0.0.1"]);
  database = await freshPostgresDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  registry = await startRegistry({ host: NAMESPACES[0].hostSide.address });
  const image = `${registry.address}/sleeper:v1`;
  await run(process.execPath, [berth, "image", "build", "--tag", image, "--cmd", '["sleep","3600"]', "--push", "--insecure-registry", registry.address]);
  A.port = await freePort();
  B.port = await freePort();
  await startReplica(A);
  await startReplica(B);
  joinToken = readFileSync(join(A.dataDir, "agent-token"), "utf8").trim();
  assert.equal(readFileSync(join(B.dataDir, "agent-token"), "utf8").trim(), joinToken, "one join token for the control plane, whichever replica wrote it");
  const ecs = ecsOf(A);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  // stopTimeout 2: sleep as PID 1 ignores SIGTERM, so each stop would otherwise wait the 30 s default.
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "sleeper",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image, essential: true, stopTimeout: 2 }],
    }),
  );
  ecs.destroy();
  for (const agent of agents) await startAgent(agent);
});

after(async () => {
  try {
    await stopEverything();
  } finally {
    if (process.env.BERTH_TEST_AGENT_LOG)
      writeFileSync(process.env.BERTH_TEST_AGENT_LOG, agents.map((agent) => `== agent ${agent.name}\n${agent.log}`).join("\n"));
    await pool?.end();
    await database?.drop();
    await stopOwnPostgresCluster();
    await registry?.stop();
    removeNamespaces();
    rmSync(workDir, { recursive: true, force: true });
  }
  assertNoLeaks();
});

/** Stops every task through a live replica (starting one, and the agents, when a failed test left them down), then the agents and replicas. */
async function stopEverything(): Promise<void> {
  if (!tls || !pool || !registry) return; // setup failed before anything ran
  if (!alive(A) && !alive(B)) await startReplica(A);
  const replica = alive(A) ? A : B;
  for (const agent of agents) if (!agent.child) await startAgent(agent).catch((error: Error) => process.stderr.write(`${error.message}\n`));
  const ecs = ecsOf(replica);
  const arns = (await taskRows()).filter((row) => row.last_status !== "STOPPED").map((row) => row.task_arn);
  for (const task of arns) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task, reason: "replicas test done" }));
  ecs.destroy();
  // STOPPED as the agents report it: a task stopped mid-launch has no container yet but has its network and storage.
  const settled = async () => (await taskRows()).every((row) => row.last_status === "STOPPED") && containers().length === 0;
  await waitFor(settled, { what: "every task STOPPED and every container gone", timeoutMs: 90_000, intervalMs: 250 }).catch((error: Error) =>
    process.stderr.write(`${error.message}: ${JSON.stringify(containers())}\n`),
  );
  for (const agent of agents) await stopAgent(agent, "SIGTERM");
  // Last resort for a failed run: what an agent left behind goes with `berth agent --uninstall`, while its data dir is there.
  const ownNamespaces = new Set(NAMESPACES.map((ns) => `netns ${ns.netns}`));
  if (findLeaks().some((leak) => !ownNamespaces.has(leak))) {
    for (const agent of agents) {
      await run("nsenter", [`--net=/run/netns/${agent.netns}`, process.execPath, berth, "agent", "--uninstall", "--data-dir", agent.dir]).catch(
        (error: Error) => process.stderr.write(`agent ${agent.name} --uninstall: ${error.message}\n`),
      );
    }
  }
  for (const each of [A, B]) if (alive(each)) await each.server!.stop();
}

/**
 * The store's placement lock, held on a connection of the test's own: every RunTask, on either
 * replica, waits for it in PostgreSQL. Its key is src/store/index.ts's ADVISORY_LOCK_KEYS.placement.
 */
async function holdPlacementLock(): Promise<{ waiting(): Promise<number>; release(): Promise<void> }> {
  const key = 0x6265_7274_01;
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query("select pg_advisory_lock($1)", [key]);
  return {
    async waiting() {
      const query =
        "select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database where d.datname = current_database() and l.locktype = 'advisory' and not l.granted";
      return ((await client.query(query)).rows[0] as { n: number }).n;
    },
    async release() {
      await client.query("select pg_advisory_unlock($1)", [key]);
      await client.end();
    },
  };
}

/** A call expected to get no answer: resolves once it failed that way. */
const noAnswer = (call: Promise<unknown>) =>
  call.then(
    () => assert.fail("the call was answered"),
    (error: unknown) => assert.ok(unanswered(error), `no answer expected, got ${String(error)}`),
  );

test("replica A SIGKILLed in the middle of RunTask bursts: one task per clientToken, each running once, its states through B", async () => {
  const clients = { A: ecsOf(A), B: ecsOf(B) };
  const answers = new Map<string, string>();
  const tokens = (name: string, count: number) => Array.from({ length: count }, () => `${name}-${randomBytes(6).toString("hex")}`);
  const call = (replica: Replica, token: string, signal?: AbortSignal) =>
    runTask(clients[replica.name], token, signal).then((arn) => void answers.set(token, arn));
  const queued = (lock: { waiting(): Promise<number> }, count: number) =>
    waitFor(async () => (await lock.waiting()) === count, { what: `${count} RunTask calls waiting for the placement lock` });

  // First burst: A answers two calls; two more it runs, but the client has given up on them.
  // A replica lets two of its RunTasks wait for the lock in PostgreSQL (src/control/task-launcher.ts,
  // MAX_PLACEMENTS_IN_FLIGHT) and queues the rest in the process: the unheard calls go first, so
  // the two waiting in PostgreSQL are surely theirs (they reached A before the client gives up).
  const [heardA, unheardA, firstB] = [tokens("a-heard", 2), tokens("a-unheard", 2), tokens("b", 2)];
  let lock = await holdPlacementLock();
  const giveUp = new AbortController();
  const unheard = unheardA.map((t) => noAnswer(call(A, t, giveUp.signal)));
  await queued(lock, 2);
  const first = [...unheard, ...heardA.map((t) => call(A, t)), ...firstB.map((t) => call(B, t))];
  await queued(lock, 4);
  giveUp.abort();
  await lock.release();
  await Promise.all(first);
  // Second burst: A is SIGKILLed while its three calls wait for the placement lock.
  const [deadA, secondB] = [tokens("a-dead", 3), tokens("b", 3)];
  lock = await holdPlacementLock();
  const second = [...secondB.map((t) => call(B, t)), ...deadA.map((t) => noAnswer(call(A, t)))];
  // Two of each replica's calls wait in PostgreSQL; the third of each is queued in its process.
  await queued(lock, 4);
  await killReplica(A);
  const killedAt = Date.now();
  await lock.release();
  await Promise.all(second);
  clients.A.destroy();

  const beforeResend = await taskRows();
  const ranFor = (token: string) => beforeResend.find((row) => row.client_token === token)?.task_arn;
  assert.ok(unheardA.every(ranFor), "the calls A ran without an answer have their tasks");
  assert.deepEqual(deadA.map(ranFor), [undefined, undefined, undefined], "the calls A died on never ran");
  step(`A answered ${heardA.length}, ran ${unheardA.length} unheard, died on ${deadA.length}; sending the unanswered ones to B`);
  for (const token of [...unheardA, ...deadA]) answers.set(token, await runTask(clients.B, token));
  for (const token of unheardA) assert.equal(answers.get(token), ranFor(token), "B answers with the task A ran, not a second one");
  const all = [...heardA, ...unheardA, ...firstB, ...deadA, ...secondB];
  for (const token of all) assert.equal(await runTask(clients.B, token), answers.get(token), `token ${token} again: the same task`);
  clients.B.destroy();

  const rows = await taskRows();
  assert.deepEqual(rows.map((row) => row.client_token).sort(), [...all].sort(), "one task per clientToken, no other task");
  for (const row of rows) assert.equal(row.task_arn, answers.get(row.client_token!));
  await waitFor(
    async () =>
      (
        await statuses(
          B,
          rows.map((row) => row.task_arn),
        )
      ).every((status) => status === "RUNNING"),
    {
      what: "every task RUNNING (described by B)",
      timeoutMs: 120_000,
      intervalMs: 250,
    },
  );
  for (const agent of agents) assert.equal(rows.filter((row) => row.host_id === agent.hostId).length, SLOTS, `host ${agent.name} runs ${SLOTS} tasks`);
  await assertContainersMatchTasks();

  // A is dead: the agent that talked to it moved to B, and its host's heartbeats come in through B.
  assert.deepEqual(switchesOf(agents[0]!), [`${urlOf(A)} -> ${urlOf(B)}`], "agent one moved from A to B, once");
  assert.deepEqual(switchesOf(agents[1]!), [], "agent two stayed on B");
  await waitFor(
    async () => Number((await sql<{ at: string }>("select last_heartbeat_at as at from hosts where host_id = $1", [agents[0]!.hostId]))[0]!.at) > killedAt,
    {
      what: "a heartbeat of agent one through B",
    },
  );
});

/** The reaper's UPDATE of the hosts row, blocked on the row lock this test holds: its backend and client port. */
async function blockedReaperPass(): Promise<{ pid: number; clientPort: number }> {
  let found: { pid: number; client_port: number } | undefined;
  await waitFor(
    async () => {
      [found] = await sql<{ pid: number; client_port: number }>(
        `select pid, client_port from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like 'update "hosts" set "status"%'`,
      );
      return found !== undefined;
    },
    { what: "a reaper pass blocked on the silent host's row", timeoutMs: 90_000, intervalMs: 100 },
  );
  return { pid: found!.pid, clientPort: found!.client_port };
}

/** Which local process holds the TCP connection from `port` (the replica behind a PostgreSQL backend). */
function processOfClientPort(port: number): number {
  const line = sh("ss", ["-Htnp", "state", "established", `( sport = :${port} )`]);
  return Number(/pid=(\d+)/.exec(line)?.[1] ?? Number.NaN);
}

const leaseRow = async () =>
  (
    await sql<{ holder: string; fencing_token: string; expires_at: string }>("select holder, fencing_token, expires_at from leases where name = 'lost-hosts'")
  )[0]!;
const holderPid = (holder: string) => Number(holder.split(":")[1]);
const hostStatus = async (hostId: string) => (await sql<{ status: string }>("select status from hosts where host_id = $1", [hostId]))[0]!.status;

test("the lost-hosts lease holder SIGKILLed in the middle of its reaping pass: the survivor takes the lease and stops each task of the lost host once", async () => {
  await startReplica(A);
  const [victim, other] = agents as [HostAgentProcess, HostAgentProcess];
  const victimTasks = (await taskRows()).filter((row) => row.host_id === victim.hostId);
  assert.equal(victimTasks.length, SLOTS);
  await stopAgent(victim, "SIGKILL");
  assert.equal(containers().filter((container) => container.agent === victim.name).length, SLOTS, "its containers live on under conmon");

  const lock = new pg.Client({ connectionString: database.url });
  await lock.connect();
  let holder: Replica | undefined;
  let blocked: { pid: number; clientPort: number } | undefined;
  let leaseBefore: Awaited<ReturnType<typeof leaseRow>> | undefined;
  try {
    await lock.query("begin");
    await lock.query("select 1 from hosts where host_id = $1 for update", [victim.hostId]);
    step("holding the silent host's row; waiting for the reaper's pass to block on it");
    blocked = await blockedReaperPass();
    leaseBefore = await leaseRow();
    holder = [A, B].find((replica) => replica.server!.process.pid === holderPid(leaseBefore!.holder));
    assert.ok(holder, `the lease holder ${leaseBefore.holder} is one of the replicas`);
    assert.equal(processOfClientPort(blocked.clientPort), holder.server!.process.pid, "the blocked pass is the lease holder's");
    assert.equal(await hostStatus(victim.hostId), "ACTIVE");
    await killReplica(holder);
  } finally {
    await lock.query("rollback");
    await lock.end();
  }
  const survivor = holder === A ? B : A;

  // The killed replica's transaction ends without a commit once PostgreSQL finds its client gone;
  // the lease, renewed as that pass began, runs ~20 s more: nobody has reaped yet.
  await waitFor(async () => (await sql("select 1 from pg_stat_activity where pid = $1", [blocked.pid])).length === 0, {
    what: "the dead replica's pass to end",
  });
  assert.equal((await leaseRow()).fencing_token, leaseBefore.fencing_token, "the lease has not moved yet");
  assert.equal(await hostStatus(victim.hostId), "ACTIVE", "the dead replica's half pass wrote nothing");

  step(`waiting for replica ${survivor.name} to take the lease over and reap`);
  await waitFor(
    async () =>
      (await hostStatus(victim.hostId)) === "LOST" &&
      (await taskRows()).filter((row) => row.host_id === victim.hostId).every((row) => row.last_status === "STOPPED"),
    { what: "the silent host LOST and its tasks STOPPED", timeoutMs: 90_000, intervalMs: 250 },
  );
  const leaseAfter = await leaseRow();
  assert.equal(holderPid(leaseAfter.holder), survivor.server!.process.pid, `replica ${survivor.name} holds the lease`);
  assert.ok(Number(leaseAfter.fencing_token) > Number(leaseBefore.fencing_token), `fencing token ${leaseAfter.fencing_token} > ${leaseBefore.fencing_token}`);

  const rows = await taskRows();
  for (const task of rows.filter((row) => row.host_id === victim.hostId)) {
    assert.equal(task.stopped_reason, LOST_HOST_REASON);
    assert.ok(task.stopped_at !== null);
  }
  assert.equal(await hostStatus(other.hostId), "ACTIVE");
  assert.deepEqual(
    rows.filter((row) => row.host_id === other.hostId).map((row) => row.last_status),
    Array(SLOTS).fill("RUNNING"),
    "the live host's tasks run on",
  );
  assert.deepEqual(
    await statuses(
      survivor,
      victimTasks.map((row) => row.task_arn),
    ),
    Array(SLOTS).fill("STOPPED"),
  );
});

test("the lost host's agent comes back: its orphaned containers are stopped, nothing runs twice, the reaped tasks stay as they were", async () => {
  const [victim, other] = agents as [HostAgentProcess, HostAgentProcess];
  const survivor = alive(A) ? A : B;
  const reaped = (await taskRows()).filter((row) => row.host_id === victim.hostId);
  await startAgent(victim);
  await waitFor(() => !containers().some((container) => container.agent === victim.name), {
    what: "the returning agent to stop its orphaned containers",
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  assert.equal(await hostStatus(victim.hostId), "ACTIVE");
  const rows = await taskRows();
  assert.equal(rows.length, 2 * SLOTS, "no task was added");
  for (const task of reaped) {
    const now = rows.find((row) => row.task_arn === task.task_arn)!;
    assert.deepEqual(
      { status: now.last_status, version: now.version, stoppedAt: now.stopped_at, reason: now.stopped_reason },
      { status: "STOPPED", version: task.version, stoppedAt: task.stopped_at, reason: LOST_HOST_REASON },
      `task ${idOf(task.task_arn)} stopped once, by the reaper`,
    );
  }
  await assertContainersMatchTasks();
  assert.equal(rows.filter((row) => row.host_id === other.hostId && row.last_status === "RUNNING").length, SLOTS);

  // Back in the fleet: the only host with room takes a new task.
  const ecs = ecsOf(survivor);
  const arn = await runTask(ecs, `after-${randomBytes(6).toString("hex")}`);
  ecs.destroy();
  await waitFor(async () => (await statuses(survivor, [arn]))[0] === "RUNNING", {
    what: "a new task RUNNING on the returned host",
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  assert.equal((await taskRows()).find((row) => row.task_arn === arn)!.host_id, victim.hostId);
  await assertContainersMatchTasks();
});
