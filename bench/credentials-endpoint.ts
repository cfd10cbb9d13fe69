// The container credentials endpoint under load (issue 14's figure: p99 <= 5 ms under 200
// concurrent requests), against a same-run baseline. Both servers live in this process on
// listening sockets made inside a "router" namespace this bench creates (the agent's own
// listenInNamespace), holding 169.254.170.2 on its lo as a VPC router does; the client runs in a
// second namespace joined to it by a veth, as a task's is, and opens a new connection per request
// (what a container's wget or an SDK's refresh does). Measured per request at the client.
//   endpoint   GET /v2/credentials/<id> on :80: the real TaskEndpoints (the task found by router and
//              source address, the id checked) and createEndpointServer, credentials from its
//              CredentialsCache (the control plane's taskCredentials is a fake: after the first
//              request every answer is a cache hit, the steady state the figure is about)
//   baseline   a plain node:http server on :81 of the same namespace answering a static body of the
//              same length and headers
// Rounds alternate the two; p50/p99 per round, medians over rounds. Also at concurrency 1 (the
// service time, no queueing).
//   flock /tmp/berth-privileged.lock node --import tsx bench/credentials-endpoint.ts
//   (BENCH_ROUNDS default 5, BENCH_REQUESTS default 10000, BENCH_CONCURRENCY default 200)
// Traffic: only between the two namespaces this bench creates and removes. Root. Never fails CI.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { TaskEndpoints } from "../src/agent/task-endpoints.js";
import { listenInNamespace } from "../src/endpoints/index.js";
import type { RouterRecord } from "../src/network/index.js";
import type { TaskSpec, TaskStatusReport } from "../src/protocol/index.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const ROUTER = "bthbench-cr";
const CLIENT = "bthbench-cc";
const TASK_ADDRESS = "10.250.0.2";
const TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/bench/0123456789abcdef0123456789abcdef";

const ip = (args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

function makeNamespaces(): void {
  ip(["netns", "add", ROUTER]);
  ip(["netns", "add", CLIENT]);
  ip(["-n", ROUTER, "link", "add", "bthbenchr0", "type", "veth", "peer", "name", "eth0", "netns", CLIENT]);
  ip(["-n", ROUTER, "link", "set", "lo", "up"]);
  ip(["-n", ROUTER, "addr", "add", "169.254.170.2/32", "dev", "lo"]);
  ip(["-n", ROUTER, "addr", "add", "10.250.0.1/24", "dev", "bthbenchr0"]);
  ip(["-n", ROUTER, "link", "set", "bthbenchr0", "up"]);
  ip(["-n", CLIENT, "link", "set", "lo", "up"]);
  ip(["-n", CLIENT, "addr", "add", `${TASK_ADDRESS}/24`, "dev", "eth0"]);
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

/** The client, in the task's namespace: `total` GETs of `url`, `concurrency` at a time, each on a new connection; latencies (ms) as JSON. */
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

function load(url: string, total: number, concurrency: number): Promise<{ p50: number; p99: number; failed: number; perSecond: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn("nsenter", [`--net=/run/netns/${CLIENT}`, process.execPath, "-e", CLIENT_SCRIPT, url, String(total), String(concurrency)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", () => {
      const { latencies, failed } = JSON.parse(out) as { latencies: number[]; failed: number };
      latencies.sort((a, b) => a - b);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      resolve({ p50: at(0.5), p99: at(0.99), failed, perSecond: Math.round(total / ((Date.now() - started) / 1000)) });
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The agent's endpoint over one task at TASK_ADDRESS with a task role; the credentials URL. */
async function startEndpoint(stateDir: string): Promise<{ endpoints: TaskEndpoints; url: string; bodyLength: number }> {
  const spec = {
    taskArn: TASK_ARN,
    taskId: "0123456789abcdef0123456789abcdef",
    network: { vpcId: "vpc-bench", privateIpv4Address: TASK_ADDRESS, macAddress: "02:00:00:00:00:02" },
    taskDefinition: { taskRoleArn: "arn:aws:iam::123456789012:role/bench", containerDefinitions: [{ name: "app" }] },
  } as unknown as TaskSpec;
  const status = { taskArn: TASK_ARN, lastStatus: "RUNNING", desiredStatus: "RUNNING", containers: [] } as unknown as TaskStatusReport;
  const credentials = {
    accessKeyId: "ASIABENCHBENCHBENCH1",
    secretAccessKey: "b".repeat(40),
    sessionToken: "t".repeat(356),
    expiration: Date.now() + 6 * 3_600_000,
    roleArn: "arn:aws:iam::123456789012:role/bench",
  };
  const endpoints = new TaskEndpoints({
    stateDir,
    tasks: { list: () => [status], describe: (arn) => (arn === TASK_ARN ? status : undefined), specOf: () => spec },
    usage: () => undefined,
    systemCpuNs: () => undefined,
    ephemeralUsedMiB: () => undefined,
    credentials: async () => credentials,
    onError: (error, what) => console.error(what, error),
  });
  const relative = endpoints.environment(spec, "app").AWS_CONTAINER_CREDENTIALS_RELATIVE_URI!;
  await endpoints.open({ vpcId: "vpc-bench", netnsPath: `/run/netns/${ROUTER}` } as RouterRecord);
  const url = `http://169.254.170.2${relative}`;
  const first = await load(url, 1, 1);
  if (first.failed) throw new Error("the endpoint did not answer 200");
  const body = JSON.stringify({
    RoleArn: credentials.roleArn,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    Token: credentials.sessionToken,
    Expiration: new Date(credentials.expiration).toISOString().replace(/\.\d{3}Z$/, "Z"),
  });
  return { endpoints, url, bodyLength: Buffer.byteLength(body) };
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

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-bench-creds-"));
  removeNamespaces();
  makeNamespaces();
  let endpoints: TaskEndpoints | undefined;
  let baseline: Server | undefined;
  try {
    const started = await startEndpoint(stateDir);
    endpoints = started.endpoints;
    baseline = await startBaseline(started.bodyLength);
    const cases = { baseline: "http://169.254.170.2:81/", endpoint: started.url };
    console.log(
      `body ${started.bodyLength} bytes; ${ROUNDS} rounds of ${REQUESTS} requests, ${CONCURRENCY} concurrent; load average ${loadavg()[0]!.toFixed(1)}`,
    );
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
    console.log(`load average after ${loadavg()[0]!.toFixed(1)}`);
  } finally {
    await endpoints?.closeAll();
    baseline?.close();
    removeNamespaces();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
