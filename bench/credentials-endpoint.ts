// The container credentials endpoint under load (issue 14's figure: p99 <= 5 ms under 200
// concurrent requests), against a same-run baseline. Both servers live in this process on
// listening sockets made inside a "router" namespace this bench creates (the agent's own
// listenInNamespace), holding 169.254.170.2 on its lo as a VPC router does; the clients run in a
// second namespace joined to it by a veth, as tasks' are, and open a new connection per request
// (what a container's wget or an SDK's refresh does). Measured per request at the client.
//   endpoint   GET /v2/credentials/<id> on :80: the real TaskEndpoints (the task found by router and
//              source address, the id checked) and createEndpointServer, credentials from its
//              CredentialsCache (the control plane's taskCredentials is a fake: after a task's first
//              request every answer is a cache hit, the steady state the figure is about)
//   baseline   a plain node:http server on :81 of the same namespace answering a static body of the
//              same length and headers (asked the same paths)
// Two modes (BENCH_MODE=closed|tasks|both, default both):
//   closed  one client process, one source address, `BENCH_CONCURRENCY` requests always in flight
//           (and at concurrency 1: the service time). Latency is mostly queueing in the client.
//   tasks   BENCH_TASKS (200) tasks, each its own source address on the client's veth and its own
//           credentials path in the endpoint's directory, driven open-loop by BENCH_WORKERS (3)
//           client processes: "steady" sends each task's request every BENCH_PERIOD_MS (200) with a
//           random phase for BENCH_SECONDS (10); "burst" has all tasks ask at the same instant,
//           BENCH_BURSTS (10) times BENCH_BURST_GAP_MS (1000) apart (200 tasks starting together).
//           Latency counts from the scheduled send time, so a late client or a queue shows up.
// Rounds alternate the two cases; p50/p99 per round, medians over rounds.
//   flock /tmp/berth-privileged.lock node --import tsx bench/credentials-endpoint.ts
//   (BENCH_ROUNDS default 5, BENCH_REQUESTS default 10000, BENCH_CONCURRENCY default 200)
// Traffic: only between the two namespaces this bench creates and removes. Root. Never fails CI.
import { spawn, execFileSync } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { TaskEndpoints } from "../src/agent/task-endpoints.js";
import { listenInNamespace } from "../src/endpoints/index.js";
import type { RouterRecord } from "../src/network/index.js";
import type { TaskSpec, TaskStatusReport } from "../src/protocol/index.js";

const MODE = process.env.BENCH_MODE ?? "both";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 3);
const PERIOD_MS = Number(process.env.BENCH_PERIOD_MS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BURSTS = Number(process.env.BENCH_BURSTS ?? 10);
const BURST_GAP_MS = Number(process.env.BENCH_BURST_GAP_MS ?? 1_000);
const ROUTER = "bthbench-cr";
const CLIENT = "bthbench-cc";
const CLIENT_NS = `/run/netns/${CLIENT}`;

if (!["closed", "tasks", "both"].includes(MODE)) throw new Error(`BENCH_MODE must be closed, tasks or both, not ${MODE}`);
// 10.250.0.1 is the router's side of the veth; the tasks take .2 onwards of the /24.
if (!Number.isInteger(TASKS) || TASKS < 1 || TASKS > 250) throw new Error("BENCH_TASKS must be 1..250 (one /24 holds the tasks)");

/** The i-th task's address in the client namespace (task 0's is the primary, the closed loop's source). */
const taskAddress = (index: number) => `10.250.0.${index + 2}`;

const ip = (args: string[], input?: string) => execFileSync("ip", args, { input, stdio: [input === undefined ? "ignore" : "pipe", "ignore", "pipe"] });

function makeNamespaces(): void {
  ip(["netns", "add", ROUTER]);
  ip(["netns", "add", CLIENT]);
  ip(["-n", ROUTER, "link", "add", "bthbenchr0", "type", "veth", "peer", "name", "eth0", "netns", CLIENT]);
  ip(["-n", ROUTER, "link", "set", "lo", "up"]);
  ip(["-n", ROUTER, "addr", "add", "169.254.170.2/32", "dev", "lo"]);
  ip(["-n", ROUTER, "addr", "add", "10.250.0.1/24", "dev", "bthbenchr0"]);
  ip(["-n", ROUTER, "link", "set", "bthbenchr0", "up"]);
  ip(["-n", CLIENT, "link", "set", "lo", "up"]);
  // One address per task on the client's side of the veth, as 200 tasks' interfaces behind one router.
  ip(["-n", CLIENT, "-batch", "-"], Array.from({ length: TASKS }, (_, index) => `addr add ${taskAddress(index)}/24 dev eth0\n`).join(""));
  ip(["-n", CLIENT, "link", "set", "eth0", "up"]);
  ip(["-n", CLIENT, "route", "add", "169.254.170.2/32", "via", "10.250.0.1"]);
}

function removeNamespaces(): void {
  for (const name of [CLIENT, ROUTER]) {
    try {
      ip(["netns", "del", name]);
    } catch {
      // not made
    }
  }
}

const clientEnv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };

/** The closed-loop client, in the task's namespace: `total` GETs of `url`, `concurrency` at a time, each on a new connection; latencies (ms) as JSON. */
const CLIENT_SCRIPT = `
const http = require("node:http");
const [url, total, concurrency] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const agent = new http.Agent({ keepAlive: false, maxSockets: concurrency });
const latencies = [];
let started = 0;
let failed = 0;
const one = () => new Promise((resolve) => {
  const t0 = process.hrtime.bigint();
  http.get(url, { agent }, (response) => {
    response.resume();
    response.on("end", () => {
      if (response.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6); else failed++;
      resolve();
    });
  }).on("error", () => { failed++; resolve(); });
});
const worker = async () => { while (started < total) { started++; await one(); } };
Promise.all(Array.from({ length: concurrency }, worker)).then(() => process.stdout.write(JSON.stringify({ latencies, failed })));
`;

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

function load(url: string, total: number, concurrency: number): Promise<{ p50: number; p99: number; failed: number; perSecond: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn("nsenter", [`--net=${CLIENT_NS}`, process.execPath, "-e", CLIENT_SCRIPT, url, String(total), String(concurrency)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: clientEnv,
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", () => {
      const { latencies, failed } = JSON.parse(out) as { latencies: number[]; failed: number };
      latencies.sort((a, b) => a - b);
      resolve({ p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), failed, perSecond: Math.round(total / ((Date.now() - started) / 1000)) });
    });
  });
}

// --- the tasks mode: open-loop clients --------------------------------------------------------------

/**
 * One open-loop client process, in the tasks' namespace. Reads one job a line on stdin:
 * { startAt (epoch ms), sends: [[offset ms, task index]], tasks: [[source address, host, port, path]] };
 * sends each request at startAt + offset from its task's own address on a new connection, whatever
 * is still in flight, and writes one line back: latencies counted from the scheduled time to the
 * server's close (the request says Connection: close), the lateness of each send against its
 * schedule (the client's own share), failures. Raw sockets rather than node:http: the client's CPU
 * is not what is measured, and on 2 cores every microsecond it spends delays the servers.
 */
const OPEN_LOOP_SCRIPT = `
const net = require("node:net");
const { performance } = require("node:perf_hooks");
const now = () => performance.timeOrigin + performance.now();
const run = ({ startAt, sends, tasks }) => {
  const latencies = [];
  const lags = [];
  let failed = 0;
  let pending = sends.length;
  let next = 0;
  const done = () => { if (--pending === 0) process.stdout.write(JSON.stringify({ latencies, lags, failed }) + "\\n"); };
  if (pending === 0) { pending = 1; done(); return; }
  const tick = () => {
    while (next < sends.length && startAt + sends[next][0] <= now()) {
      const at = startAt + sends[next][0];
      const [localAddress, host, port, path] = tasks[sends[next++][1]];
      lags.push(now() - at);
      let head = "";
      let finished = false;
      const finish = (ok) => { if (finished) return; finished = true; if (ok) latencies.push(now() - at); else failed++; done(); };
      const socket = net.connect({ host, port, localAddress }, () => socket.write("GET " + path + " HTTP/1.1\\r\\nHost: " + host + "\\r\\nConnection: close\\r\\n\\r\\n"));
      socket.on("data", (chunk) => { if (head.length < 12) head += chunk.toString("latin1", 0, 12); });
      socket.on("end", () => { finish(head.startsWith("HTTP/1.1 200")); socket.destroy(); });
      socket.on("error", () => finish(false));
    }
    if (next < sends.length) setTimeout(tick, Math.max(0, startAt + sends[next][0] - now()));
  };
  setTimeout(tick, Math.max(0, startAt - now()));
};
let buffered = "";
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  for (let end = buffered.indexOf("\\n"); end >= 0; end = buffered.indexOf("\\n")) {
    run(JSON.parse(buffered.slice(0, end)));
    buffered = buffered.slice(end + 1);
  }
});
`;

interface OpenLoopAnswer {
  latencies: number[];
  lags: number[];
  failed: number;
}

/** A client process kept for the whole run (no process start inside a measurement), answering jobs in order. */
class OpenLoopClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (answer: OpenLoopAnswer) => void; reject: (error: Error) => void }[] = [];
  private buffered = "";

  constructor() {
    this.child = spawn("nsenter", [`--net=${CLIENT_NS}`, process.execPath, "-e", OPEN_LOOP_SCRIPT], { env: clientEnv });
    this.child.stderr.pipe(process.stderr);
    this.child.on("exit", (code, signal) => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`an open-loop client exited (${code ?? signal})`));
    });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.buffered += chunk.toString();
      for (let end = this.buffered.indexOf("\n"); end >= 0; end = this.buffered.indexOf("\n")) {
        this.waiting.shift()?.resolve(JSON.parse(this.buffered.slice(0, end)) as OpenLoopAnswer);
        this.buffered = this.buffered.slice(end + 1);
      }
    });
  }

  run(job: { startAt: number; sends: [number, number][]; tasks: [string, string, number, string][] }): Promise<OpenLoopAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(job) + "\n");
    });
  }

  stop(): void {
    this.child.kill();
  }
}

/** Each task's send offsets for one case: steady (a random phase, then every PERIOD_MS) or bursts (all at once, BURSTS times). */
function schedule(kind: "steady" | "burst", phases: number[]): [number, number][][] {
  const perTask = phases.map((phase) =>
    kind === "steady"
      ? Array.from({ length: Math.floor((SECONDS * 1000 - phase) / PERIOD_MS) + 1 }, (_, k) => phase + k * PERIOD_MS)
      : Array.from({ length: BURSTS }, (_, k) => k * BURST_GAP_MS),
  );
  return perTask.map((offsets, task) => offsets.map((offset): [number, number] => [offset, task]));
}

interface CaseResult {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  lagP99: number;
  loopDelayP99?: number;
  loopDelayMax?: number;
  failed: number;
  requests: number;
}

/** One case through every client: task i goes to client i % clients; sends start 500 ms from now (the jobs parsed by then). */
async function openLoop(clients: OpenLoopClient[], urls: string[], perTask: [number, number][][]): Promise<CaseResult> {
  const startAt = performance.timeOrigin + performance.now() + 500;
  const answers = await Promise.all(
    clients.map((client, c) => {
      const mine = urls.map((_, task) => task).filter((task) => task % clients.length === c);
      const tasks = mine.map((task): [string, string, number, string] => {
        const url = new URL(urls[task]!);
        return [taskAddress(task), url.hostname, Number(url.port || 80), url.pathname];
      });
      const sends = mine.flatMap((task, local) => perTask[task]!.map(([offset]): [number, number] => [offset, local])).sort((a, b) => a[0] - b[0]);
      return client.run({ startAt, sends, tasks });
    }),
  );
  const latencies = answers.flatMap((answer) => answer.latencies).sort((a, b) => a - b);
  const lags = answers.flatMap((answer) => answer.lags).sort((a, b) => a - b);
  const failed = answers.reduce((sum, answer) => sum + answer.failed, 0);
  return {
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? NaN,
    lagP99: quantile(lags, 0.99),
    failed,
    requests: latencies.length + failed,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// --- the servers ----------------------------------------------------------------------------------

interface BenchTask {
  readonly spec: TaskSpec;
  readonly status: TaskStatusReport;
}

function benchTask(index: number): BenchTask {
  const taskId = index.toString(16).padStart(32, "0");
  const taskArn = `arn:aws:ecs:us-east-1:123456789012:task/bench/${taskId}`;
  const spec = {
    taskArn,
    taskId,
    network: {
      vpcId: "vpc-bench",
      privateIpv4Address: taskAddress(index),
      macAddress: `02:00:00:00:${(index >> 8).toString(16).padStart(2, "0")}:${(index & 255).toString(16).padStart(2, "0")}`,
    },
    taskDefinition: { taskRoleArn: "arn:aws:iam::123456789012:role/bench", containerDefinitions: [{ name: "app" }] },
  } as unknown as TaskSpec;
  const status = { taskArn, lastStatus: "RUNNING", desiredStatus: "RUNNING", containers: [] } as unknown as TaskStatusReport;
  return { spec, status };
}

/** The agent's endpoint over TASKS tasks (task i at taskAddress(i)), each with a task role; each task's credentials URL. */
async function startEndpoint(stateDir: string): Promise<{ endpoints: TaskEndpoints; urls: string[]; bodyLength: number }> {
  const tasks = Array.from({ length: TASKS }, (_, index) => benchTask(index));
  const byArn = new Map(tasks.map((task) => [task.status.taskArn, task]));
  const byId = new Map(tasks.map((task) => [task.spec.taskId, task]));
  const credentials = {
    accessKeyId: "ASIABENCHBENCHBENCH1",
    secretAccessKey: "b".repeat(40),
    sessionToken: "t".repeat(356),
    expiration: Date.now() + 6 * 3_600_000,
    roleArn: "arn:aws:iam::123456789012:role/bench",
  };
  const endpoints = new TaskEndpoints({
    stateDir,
    tasks: { list: () => tasks.map((task) => task.status), describe: (arn) => byArn.get(arn)?.status, specOf: (id) => byId.get(id)?.spec },
    usage: () => undefined,
    systemCpuNs: () => undefined,
    ephemeralUsedMiB: () => undefined,
    credentials: async () => credentials,
    onError: (error, what) => console.error(what, error),
  });
  const urls = tasks.map((task) => `http://169.254.170.2${endpoints.environment(task.spec, "app").AWS_CONTAINER_CREDENTIALS_RELATIVE_URI!}`);
  await endpoints.open({ vpcId: "vpc-bench", netnsPath: `/run/netns/${ROUTER}` } as RouterRecord);
  const first = await load(urls[0]!, 1, 1);
  if (first.failed) throw new Error("the endpoint did not answer 200");
  const body = JSON.stringify({
    RoleArn: credentials.roleArn,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    Token: credentials.sessionToken,
    Expiration: new Date(credentials.expiration).toISOString().replace(/\.\d{3}Z$/, "Z"),
  });
  return { endpoints, urls, bodyLength: Buffer.byteLength(body) };
}

async function startBaseline(bodyLength: number): Promise<Server> {
  const body = JSON.stringify({ padding: "x".repeat(bodyLength - '{"padding":""}'.length) });
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    response.end(body);
  });
  server.keepAliveTimeout = 5_000;
  const listener = await listenInNamespace(`/run/netns/${ROUTER}`, "169.254.170.2", 81);
  await new Promise<void>((resolve) => server.listen(listener, resolve));
  return server;
}

// --- the two modes --------------------------------------------------------------------------------

async function closedLoop(cases: Record<"baseline" | "endpoint", string>): Promise<void> {
  console.log(`closed loop: ${ROUNDS} rounds of ${REQUESTS} requests from one address, ${CONCURRENCY} concurrent`);
  for (const concurrency of [1, CONCURRENCY]) {
    const rounds: Record<string, { p50: number[]; p99: number[]; perSecond: number[] }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (["baseline", "endpoint"] as const) : (["endpoint", "baseline"] as const);
      for (const name of order) {
        const result = await load(cases[name], concurrency === 1 ? Math.min(REQUESTS, 2_000) : REQUESTS, concurrency);
        if (result.failed) throw new Error(`${name}: ${result.failed} requests failed`);
        const entry = (rounds[name] ??= { p50: [], p99: [], perSecond: [] });
        entry.p50.push(result.p50);
        entry.p99.push(result.p99);
        entry.perSecond.push(result.perSecond);
      }
    }
    for (const [name, entry] of Object.entries(rounds))
      console.log(
        `concurrency ${concurrency} ${name}: p50 ${median(entry.p50).toFixed(2)} ms, p99 ${median(entry.p99).toFixed(2)} ms (rounds' p99 ${entry.p99.map((v) => v.toFixed(1)).join(", ")}), ${median(entry.perSecond)} req/s`,
      );
  }
}

async function tasksMode(urls: Record<"baseline" | "endpoint", string[]>): Promise<void> {
  console.log(
    `tasks: ${TASKS} tasks on ${WORKERS} client processes, ${ROUNDS} rounds; steady: every ${PERIOD_MS} ms for ${SECONDS} s (${Math.round((TASKS * 1000) / PERIOD_MS)} req/s); burst: all at once ×${BURSTS}, ${BURST_GAP_MS} ms apart`,
  );
  const clients = Array.from({ length: Math.min(WORKERS, TASKS) }, () => new OpenLoopClient());
  try {
    // Warm-up: every task's address resolved by the router and its credentials cached, once per case.
    const once = Array.from({ length: TASKS }, (_, task): [number, number][] => [[0, task]]);
    const warmSteady = Array.from({ length: TASKS }, (_, task): [number, number][] =>
      Array.from({ length: Math.ceil(1000 / PERIOD_MS) }, (_, k): [number, number] => [(task * PERIOD_MS) / TASKS + k * PERIOD_MS, task]),
    );
    for (const name of ["baseline", "endpoint"] as const) {
      const warm = await openLoop(clients, urls[name], once);
      if (warm.failed) throw new Error(`${name}: ${warm.failed} warm-up requests failed`);
      // And a second at the steady rate, unmeasured: the clients' and servers' code compiled before the rounds.
      await openLoop(clients, urls[name], warmSteady);
    }
    const results: Record<string, CaseResult[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      // Same phases for both cases of a round: the same arrival pattern, only the server differs.
      const phases = Array.from({ length: TASKS }, () => Math.random() * PERIOD_MS);
      for (const kind of ["steady", "burst"] as const) {
        const order = round % 2 === 0 ? (["baseline", "endpoint"] as const) : (["endpoint", "baseline"] as const);
        for (const name of order) {
          const load1 = loadavg()[0]!;
          // How late the servers' own event loop ran (a timer every 5 ms; the histogram holds the whole
          // intervals, so the 5 ms is taken off): a stall of the serving process itself, GC or CPU denied.
          const loopDelay = monitorEventLoopDelay({ resolution: 5 });
          loopDelay.enable();
          const result = await openLoop(clients, urls[name], schedule(kind, phases));
          loopDelay.disable();
          result.loopDelayP99 = loopDelay.percentile(99) / 1e6 - 5;
          result.loopDelayMax = loopDelay.max / 1e6 - 5;
          (results[`${kind} ${name}`] ??= []).push(result);
          console.log(
            `  round ${round + 1} ${kind} ${name}: p50 ${result.p50.toFixed(2)} ms, p90 ${result.p90.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms, send lag p99 ${result.lagP99.toFixed(2)} ms, server loop late p99 ${result.loopDelayP99!.toFixed(1)} max ${result.loopDelayMax!.toFixed(1)} ms, ${result.requests} requests, ${result.failed} failed (load ${load1.toFixed(1)})`,
          );
        }
      }
    }
    for (const [name, rounds] of Object.entries(results))
      console.log(
        `${name}: p50 ${median(rounds.map((r) => r.p50)).toFixed(2)} ms, p90 ${median(rounds.map((r) => r.p90)).toFixed(2)} ms, p99 ${median(rounds.map((r) => r.p99)).toFixed(2)} ms (rounds' p99 ${rounds.map((r) => r.p99.toFixed(1)).join(", ")}), send lag p99 ${median(rounds.map((r) => r.lagP99)).toFixed(2)} ms, failed ${rounds.reduce((sum, r) => sum + r.failed, 0)}`,
      );
  } finally {
    for (const client of clients) client.stop();
  }
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-bench-creds-"));
  removeNamespaces();
  // Interrupted: the namespaces go with the process (the finally below does not run on a signal).
  const onSignal = () => {
    removeNamespaces();
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let endpoints: TaskEndpoints | undefined;
  let baseline: Server | undefined;
  try {
    makeNamespaces();
    const started = await startEndpoint(stateDir);
    endpoints = started.endpoints;
    baseline = await startBaseline(started.bodyLength);
    // The baseline is asked the same paths (the same request bytes); it answers all of them alike.
    const baselineUrls = started.urls.map((url) => url.replace("http://169.254.170.2/", "http://169.254.170.2:81/"));
    console.log(
      `body ${started.bodyLength} bytes; load average ${loadavg()
        .map((v) => v.toFixed(1))
        .join(" ")}`,
    );
    if (MODE !== "tasks") await closedLoop({ baseline: baselineUrls[0]!, endpoint: started.urls[0]! });
    if (MODE !== "closed") await tasksMode({ baseline: baselineUrls, endpoint: started.urls });
    console.log(
      `load average after ${loadavg()
        .map((v) => v.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    await endpoints?.closeAll();
    baseline?.close();
    removeNamespaces();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
