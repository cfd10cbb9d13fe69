// The control plane on PostgreSQL, with several replicas (issue 11's figures), each next to its
// same-run baseline:
//   throughput  DescribeTaskDefinition at 32 connections (autocannon) on a PostgreSQL server and on a
//               SQLite server, alternated twice; the figure is PostgreSQL ÷ SQLite (target ≥ 0.7).
//   runtask     RunTask (SDK, count 1) p50 over 200 calls per backend, alternated call by call, each
//               server with one protocol-level host of ample room (target PostgreSQL ≤ 1.3× SQLite).
//   race        two PostgreSQL replicas, one small host (room for 10 tasks), 1,000 RunTask calls at
//               once split over both: how many tasks were placed beyond the host's room (target 0).
//   failover    two replicas, two hosts (protocol-level agents on the failover link, each
//               starting on a different replica), 100 RunTask calls with clientTokens spread over
//               both; replica A is killed (SIGKILL) after the first 30 answers. Calls that got no
//               answer are sent again to B with the same clientToken. Every token must have exactly
//               one task, and every task must be RUNNING (reported through B) within 5 s of the kill.
// Everything on loopback: the servers on 127.0.0.1, PostgreSQL on a cluster of the bench's own
// (initdb/pg_ctl in a temporary directory, removed at exit).
//   node --import tsx bench/replicas.ts [throughput|runtask|race|failover]...
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { createFailoverControlLink } from "../src/agent/control-link-failover.js";
import { SERVER_USAGE } from "../src/cli/server-config.js";
import { defaultNetwork } from "../src/core/default-network.js";
import type { ControlPlaneLink, TaskStatusReport } from "../src/protocol/index.js";
import { protocolVersion } from "../src/protocol/index.js";
import { freshPostgresDatabase, startPostgresCluster } from "../test/support/postgres.js";
import type { TestServer } from "../test/support/server.js";
import { sdkConfig, startTestServer, testCredentials } from "../test/support/server.js";

const wanted = new Set(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["throughput", "runtask", "race", "failover"]);
const DURATION_S = Number(process.env.DURATION_S ?? 8);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number) => Math.round(value * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cluster = await startPostgresCluster({ durable: true });
process.env.BERTH_TEST_POSTGRES_URL = cluster.url;
const scratch = mkdtempSync(join(tmpdir(), "berth-bench-replicas-"));
const keyFile = join(scratch, "store.key");
writeFileSync(keyFile, randomBytes(32));
chmodSync(keyFile, 0o600);
const keyArgs = SERVER_USAGE.includes("--store-key-file") ? ["--store-key-file", keyFile] : [];

/** Every server the bench starts, so that a section that throws leaves none running (see the end). */
const started: TestServer[] = [];
async function sqliteServer(): Promise<TestServer> {
  const server = await startTestServer();
  started.push(server);
  return server;
}
async function pgServer(url: string): Promise<TestServer> {
  const server = await startTestServer({ store: { url }, args: keyArgs });
  started.push(server);
  return server;
}

async function prepare(server: TestServer): Promise<ECSClient> {
  const ecs = new ECSClient({ ...sdkConfig(server), requestHandler: { httpAgent: { maxSockets: 256 } } });
  await ecs.send(new CreateClusterCommand({ clusterName: "bench" }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "bench",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox" }],
    }),
  );
  return ecs;
}

const subnetId = defaultNetwork({ accountId: "123456789012", region: "us-east-1" }).subnets[0]!.subnetId;
const runRequest = (extra: { clientToken?: string; startedBy?: string } = {}) => ({
  cluster: "bench",
  taskDefinition: "bench",
  launchType: "FARGATE" as const,
  networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId] } },
  ...extra,
});

/** A host on the protocol: registers through the failover link and reports each new task RUNNING. */
function protocolHost(options: { hostId: string; servers: string[]; token: string; cpuUnits: number; runsTasks?: boolean }) {
  const link: ControlPlaneLink = createFailoverControlLink({
    serverUrls: options.servers,
    token: options.token,
    switchBackoff: { firstMs: 200, maxMs: 1_000 },
  });
  const stop = new AbortController();
  const reported = new Set<string>();
  let sequence = 0;
  const register = () =>
    link.register({
      protocolVersion,
      hostId: options.hostId,
      agentVersion: "bench",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: options.cpuUnits, memoryMiB: 262144, taskSlots: 1000, ephemeralGiB: 20_000 },
      machine: { cpuCount: 64, memoryMiB: 262144 },
      overcommit: true,
      subnetIds: [],
    });
  const run = async () => {
    let generation = -1;
    while (!stop.signal.aborted) {
      try {
        const answer = await link.poll(options.hostId, generation, stop.signal);
        generation = answer.generation;
        const fresh = answer.tasks.filter((task) => task.desiredStatus === "RUNNING" && !reported.has(task.spec.taskArn));
        if (fresh.length === 0) continue;
        const reports: TaskStatusReport[] = fresh.map((task) => ({
          protocolVersion,
          taskArn: task.spec.taskArn,
          lastStatus: "RUNNING",
          desiredStatus: "RUNNING",
          sequence: ++sequence,
          health: "UNKNOWN",
          startedAtMs: Date.now(),
          containers: [],
        }));
        for (let i = 0; i < reports.length; i += 100) await link.report(options.hostId, { reports: reports.slice(i, i + 100) });
        for (const task of fresh) reported.add(task.spec.taskArn);
      } catch {
        if (!stop.signal.aborted) await sleep(100);
      }
    }
  };
  // Heartbeats as an agent sends them: a silent host is declared lost and gets no more tasks.
  const heartbeats = async () => {
    while (!stop.signal.aborted) {
      await link.heartbeat(options.hostId).catch(() => undefined);
      await sleep(2_000);
    }
  };
  const registered = register();
  const running = registered.then(() => Promise.all([options.runsTasks === false ? undefined : run(), heartbeats()]));
  return {
    registered,
    async close() {
      stop.abort();
      await running.catch(() => undefined);
    },
  };
}

const agentToken = (server: TestServer) => readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();

async function throughput(): Promise<void> {
  const database = await freshPostgresDatabase();
  const servers = { sqlite: await sqliteServer(), postgres: await pgServer(database.url) };
  const signed: Record<string, { headers: Record<string, string> }> = {};
  for (const [name, server] of Object.entries(servers)) {
    (await prepare(server)).destroy();
    const url = new URL(server.endpoint);
    const signer = new SignatureV4({ credentials: testCredentials, region: "us-east-1", service: "ecs", sha256: Hash.bind(null, "sha256") });
    signed[name] = (await signer.sign({
      method: "POST",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: { host: url.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition" },
      body: JSON.stringify({ taskDefinition: "bench" }),
    })) as { headers: Record<string, string> };
  }
  const rps: Record<string, number[]> = { sqlite: [], postgres: [] };
  // Rounds 0 warms both up (connections, prepared statements, JIT) and is not counted.
  for (let round = 0; round < 3; round++) {
    for (const name of ["sqlite", "postgres"] as const) {
      const result = await autocannon({
        url: servers[name].endpoint,
        connections: 32,
        duration: DURATION_S,
        method: "POST",
        headers: signed[name]!.headers,
        body: JSON.stringify({ taskDefinition: "bench" }),
      });
      if (result.errors + result.non2xx > 0) throw new Error(`${name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
      if (round > 0) rps[name]!.push(result.requests.average);
    }
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  console.log(
    `throughput  DescribeTaskDefinition  SQLite ${rps.sqlite!.map(Math.round).join(", ")} req/s  PostgreSQL ${rps.postgres!.map(Math.round).join(", ")} req/s  ratio ${round(mean(rps.postgres!) / mean(rps.sqlite!))} (target ≥ 0.7)`,
  );
  for (const server of Object.values(servers)) {
    await server.stop();
    await server.cleanup();
  }
  await database.drop();
}

async function runTaskLatency(): Promise<void> {
  const database = await freshPostgresDatabase();
  const servers = { sqlite: await sqliteServer(), postgres: await pgServer(database.url) };
  const clients = { sqlite: await prepare(servers.sqlite), postgres: await prepare(servers.postgres) };
  const hosts = [
    // Hosts that take tasks and never poll: what is timed is RunTask alone, not the agents' work it triggers.
    protocolHost({ hostId: "host-sqlite", servers: [servers.sqlite.endpoint], token: agentToken(servers.sqlite), cpuUnits: 262144, runsTasks: false }),
    protocolHost({ hostId: "host-postgres", servers: [servers.postgres.endpoint], token: agentToken(servers.postgres), cpuUnits: 262144, runsTasks: false }),
  ];
  await Promise.all(hosts.map((host) => host.registered));
  const times: Record<string, number[]> = { sqlite: [], postgres: [] };
  for (let i = 0; i < 220; i++) {
    for (const name of ["sqlite", "postgres"] as const) {
      const started = performance.now();
      const answer = await clients[name].send(new RunTaskCommand(runRequest()));
      const elapsed = performance.now() - started;
      if (answer.tasks?.length !== 1) throw new Error(`${name}: call ${i}: RunTask placed nothing: ${JSON.stringify(answer.failures)}`);
      if (i >= 20) times[name]!.push(elapsed); // the first 20 warm up
    }
  }
  const sqliteP50 = median(times.sqlite!);
  const postgresP50 = median(times.postgres!);
  console.log(
    `runtask     RunTask p50  SQLite ${round(sqliteP50)} ms  PostgreSQL ${round(postgresP50)} ms  ratio ${round(postgresP50 / sqliteP50)} (target ≤ 1.3)`,
  );
  for (const host of hosts) await host.close();
  for (const client of Object.values(clients)) client.destroy();
  for (const server of Object.values(servers)) {
    await server.stop();
    await server.cleanup();
  }
  await database.drop();
}

async function race(): Promise<void> {
  const database = await freshPostgresDatabase();
  const a = await pgServer(database.url);
  const b = await pgServer(database.url);
  const clients = [await prepare(a), new ECSClient({ ...sdkConfig(b), requestHandler: { httpAgent: { maxSockets: 256 } } })];
  // Room for 10 tasks of 0.25 vCPU (2560 CPU units), registered through replica B.
  const host = protocolHost({ hostId: "small-host", servers: [b.endpoint], token: agentToken(a), cpuUnits: 2560 });
  await host.registered;
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => clients[i % 2]!.send(new RunTaskCommand(runRequest({ startedBy: "race" })))));
  const elapsed = performance.now() - started;
  const placed = answers.reduce((sum, answer) => sum + (answer.tasks?.length ?? 0), 0);
  const listed = await clients[0]!.send(new ListTasksCommand({ cluster: "bench", startedBy: "race", maxResults: 100 }));
  console.log(
    `race        1,000 RunTask calls over 2 replicas, host room 10: placed ${placed}, listed ${listed.taskArns?.length ?? 0}, oversubscribed ${Math.max(0, placed - 10)} (target 0), in ${Math.round(elapsed)} ms`,
  );
  await host.close();
  for (const client of clients) client.destroy();
  for (const server of [a, b]) {
    await server.stop();
    await server.cleanup();
  }
  await database.drop();
}

async function failover(): Promise<void> {
  const database = await freshPostgresDatabase();
  const a = await pgServer(database.url);
  const b = await pgServer(database.url);
  const clientA = await prepare(a);
  const clientB = new ECSClient({ ...sdkConfig(b), requestHandler: { httpAgent: { maxSockets: 256 } } });
  const token = agentToken(a);
  const hosts = [
    protocolHost({ hostId: "host-1", servers: [a.endpoint, b.endpoint], token, cpuUnits: 65536 }),
    protocolHost({ hostId: "host-2", servers: [b.endpoint, a.endpoint], token, cpuUnits: 65536 }),
  ];
  await Promise.all(hosts.map((host) => host.registered));
  const tokens = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
  let answered = 0;
  let killedAt = 0;
  const killing = (async () => {
    while (answered < 30) await sleep(1);
    await a.kill();
    killedAt = performance.now();
  })();
  const arns = new Map<string, string[]>();
  let resent = 0;
  await Promise.all(
    tokens.map(async (clientToken, i) => {
      const request = runRequest({ clientToken, startedBy: "burst" });
      let answer;
      try {
        answer = await (i % 2 === 0 ? clientA : clientB).send(new RunTaskCommand(request));
      } catch {
        resent++;
        answer = await clientB.send(new RunTaskCommand(request)); // the same clientToken, to the survivor
      }
      answered++;
      arns.set(
        clientToken,
        (answer.tasks ?? []).map((task) => task.taskArn!),
      );
    }),
  );
  await killing;
  const all = [...arns.values()].flat();
  const perToken = [...arns.values()].map((list) => list.length);
  // Every task RUNNING as replica B sees it: the hosts' reports came in through B.
  let runningAfterMs = -1;
  const deadline = killedAt + 30_000;
  while (performance.now() < deadline) {
    let running = 0;
    for (let i = 0; i < all.length; i += 100) {
      const described = await clientB.send(new DescribeTasksCommand({ cluster: "bench", tasks: all.slice(i, i + 100) }));
      running += (described.tasks ?? []).filter((task) => task.lastStatus === "RUNNING").length;
    }
    if (running === all.length) {
      runningAfterMs = performance.now() - killedAt;
      break;
    }
    await sleep(50);
  }
  let listed = 0;
  let nextToken: string | undefined;
  do {
    const page = await clientB.send(new ListTasksCommand({ cluster: "bench", startedBy: "burst", maxResults: 100, ...(nextToken ? { nextToken } : {}) }));
    listed += page.taskArns?.length ?? 0;
    nextToken = page.nextToken;
  } while (nextToken);
  console.log(
    `failover    100 RunTask over 2 replicas, A killed after 30 answers: ${resent} resent to B; tokens with exactly one task ${perToken.filter((n) => n === 1).length}/100, tasks listed ${listed} (want 100); ` +
      `all RUNNING through B ${runningAfterMs < 0 ? "not within 30 s" : `${Math.round(runningAfterMs)} ms after the kill`} (target ≤ 5000)`,
  );
  for (const host of hosts) await host.close();
  clientA.destroy();
  clientB.destroy();
  await b.stop();
  await a.cleanup();
  await b.cleanup();
  await database.drop();
}

try {
  if (wanted.has("throughput")) await throughput();
  if (wanted.has("runtask")) await runTaskLatency();
  if (wanted.has("race")) await race();
  if (wanted.has("failover")) await failover();
} finally {
  for (const server of started) if (server.process.exitCode === null && server.process.signalCode === null) await server.kill();
  await cluster.stop();
  rmSync(scratch, { recursive: true, force: true });
}
