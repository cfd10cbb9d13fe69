// Namespaces for the load balancer benchmarks (bench/lb-*.ts), built the way the privileged test
// test/privileged/lb-haproxy.test.ts builds its own: an LB namespace holding a bridge with one
// namespace per backend on it (a small node HTTP server in each), and a client namespace joined to
// the LB namespace by a veth whose two ends are both made inside the bench's namespaces: nothing of
// the host's network is touched, and no route leads out.
//
//   client ns <p>-cl  eth0 10.254.9.1/30 ── up0 10.254.9.2  LB ns <p>-lb (the proxies listen here)
//                                                          br0 10.254.0.1/24 ── <p>-b1 .11 / <p>-b2 .12 / …
//
// Everything is removed by remove(), which the benches call in finally blocks and signal handlers.
import { spawn } from "node:child_process";
import type { ChildProcess, ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { attempt, exec } from "./dataplane.js";
import { isListeningInNetns } from "./netns-listener.js";
import { waitFor } from "./wait-for.js";
import type { LoadBalancerModel } from "../../src/lb/load-balancer-model.js";
import type { HaproxyNode } from "../../src/lb/haproxy-node.js";
import { rmSync } from "node:fs";

export const LB_BENCH_VIP = "10.254.9.2";
const CLIENT_ADDRESS = "10.254.9.1";

/**
 * A backend: `BODY` on every path; /health answers 200. With "record" as its second argument it
 * writes one line per health check it receives ("H <epoch ms>") and one for the first other
 * request it serves ("R <epoch ms>"), each stamped when the request arrives; "reset" on its stdin
 * arms the latter again.
 */
export const BACKEND_BODY = "berth bench backend\n";
const BACKEND_SCRIPT = `
const { performance } = require("node:perf_hooks");
const [name, mode] = process.argv.slice(1);
const record = mode === "record";
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
let served = false;
const body = Buffer.from(${JSON.stringify(BACKEND_BODY)});
const server = require("node:http").createServer((req, res) => {
  if (req.url === "/health") {
    if (record) process.stdout.write("H " + now() + "\\n");
    res.setHeader("Content-Type", "text/plain");
    return res.end("ok");
  }
  if (record && !served) { served = true; process.stdout.write("R " + now() + "\\n"); }
  res.setHeader("Content-Type", "text/plain");
  res.setHeader("X-Backend", name);
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(80, "0.0.0.0");
process.stdin.on("data", (chunk) => { if (String(chunk).includes("reset")) served = false; });
`;

export interface LbBenchNetwork {
  readonly lbNetns: string;
  readonly lbNetnsPath: string;
  readonly clientNetnsPath: string;
  readonly vip: string;
  /** The i-th backend's address (0-based), whether started or not. */
  backendAddress(index: number): string;
  /** Starts backend i's server (in its namespace); resolves once it listens. */
  startBackend(index: number, record?: boolean): Promise<ChildProcessByStdio<Writable, Readable, null>>;
  /** Spawns a process in the client namespace. */
  spawnClient(command: string, args: readonly string[]): ChildProcessByStdio<Writable, Readable, null>;
  /** Kills the processes it started and deletes every namespace (and with them every veth and bridge). */
  remove(): Promise<void>;
}

export async function buildLbBenchNetwork(prefix: string, backends: number): Promise<LbBenchNetwork> {
  if (!/^[a-z0-9]{1,8}$/.test(prefix)) throw new Error(`bad prefix ${prefix}`);
  const lb = `${prefix}-lb`;
  const client = `${prefix}-cl`;
  const backendNetns = (index: number) => `${prefix}-b${index + 1}`;
  const backendAddress = (index: number) => `10.254.0.${11 + index}`;
  const children: ChildProcess[] = [];
  // One removal, however many callers (a signal handler and a finally block): each waits for it to end.
  let removal: Promise<void> | undefined;
  const remove = () =>
    (removal ??= (async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      for (const name of [client, lb, ...Array.from({ length: backends }, (_, index) => backendNetns(index))]) await attempt("ip", ["netns", "del", name]);
    })());
  const network: LbBenchNetwork = {
    lbNetns: lb,
    lbNetnsPath: `/run/netns/${lb}`,
    clientNetnsPath: `/run/netns/${client}`,
    vip: LB_BENCH_VIP,
    backendAddress,
    async startBackend(index, record = false) {
      const netns = backendNetns(index);
      const child = spawn("nsenter", [`--net=/run/netns/${netns}`, process.execPath, "-e", BACKEND_SCRIPT, `b${index + 1}`, record ? "record" : "plain"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      children.push(child);
      await waitFor(() => isListeningInNetns(netns, 80), { what: `backend ${netns}` });
      return child;
    },
    spawnClient(command, args) {
      const child = spawn("nsenter", [`--net=/run/netns/${client}`, command, ...args], { stdio: ["pipe", "pipe", "inherit"] });
      children.push(child);
      return child;
    },
    remove,
  };
  try {
    await exec("ip", ["netns", "add", lb]);
    await exec("ip", ["-n", lb, "link", "set", "lo", "up"]);
    await exec("ip", ["-n", lb, "link", "add", "br0", "type", "bridge"]);
    await exec("ip", ["-n", lb, "addr", "add", "10.254.0.1/24", "dev", "br0"]);
    await exec("ip", ["-n", lb, "link", "set", "br0", "up"]);
    for (let index = 0; index < backends; index += 1) {
      const netns = backendNetns(index);
      await exec("ip", ["netns", "add", netns]);
      await exec("ip", ["-n", netns, "link", "set", "lo", "up"]);
      await exec("ip", ["-n", lb, "link", "add", `vb${index + 1}`, "type", "veth", "peer", "name", "eth0", "netns", netns]);
      await exec("ip", ["-n", lb, "link", "set", `vb${index + 1}`, "master", "br0", "up"]);
      await exec("ip", ["-n", netns, "addr", "add", `${backendAddress(index)}/24`, "dev", "eth0"]);
      await exec("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    }
    await exec("ip", ["netns", "add", client]);
    await exec("ip", ["-n", client, "link", "set", "lo", "up"]);
    await exec("ip", ["-n", lb, "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", client]);
    await exec("ip", ["-n", lb, "addr", "add", `${LB_BENCH_VIP}/30`, "dev", "up0"]);
    await exec("ip", ["-n", lb, "link", "set", "up0", "up"]);
    await exec("ip", ["-n", client, "addr", "add", `${CLIENT_ADDRESS}/30`, "dev", "eth0"]);
    await exec("ip", ["-n", client, "link", "set", "eth0", "up"]);
  } catch (error) {
    await remove();
    throw error;
  }
  return network;
}

/** `cleanup` run once, however many callers: each gets the same promise (a signal handler and a finally block both wait for it). */
export function once(cleanup: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= cleanup());
}

/**
 * The benches' teardown, once however many callers: the node stopped (a failed stop reported, not
 * thrown, so the rest still goes), then `also` (a bench's own processes), the namespaces, the work dir.
 */
export function benchTeardown(parts: {
  readonly node: () => HaproxyNode | undefined;
  readonly network: () => LbBenchNetwork | undefined;
  readonly workDir: string;
  readonly also?: () => Promise<void>;
}): () => Promise<void> {
  return once(async () => {
    try {
      await parts.node()?.stop();
    } catch (error) {
      console.error("haproxy stop:", error);
    }
    await parts.also?.();
    await parts.network()?.remove();
    rmSync(parts.workDir, { recursive: true, force: true });
  });
}

/** Runs `cleanup` (wrap it in once()) on SIGINT/SIGTERM/SIGHUP, then exits (the benches' finally blocks run it on every other path). */
export function cleanupOnSignals(cleanup: () => Promise<void>): void {
  let running = false;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (running) return;
      running = true;
      console.error(`\n${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/**
 * The fixed-rate keep-alive client, for the client namespace: `rate` GETs a second of `url` over
 * `connections` keep-alive connections (used in turn), open loop: a request is sent at its
 * scheduled time whatever is still in flight, and its latency counts from that time. Runs until
 * its stdin closes, then writes one JSON line: per request [scheduled epoch ms, latency ms, status
 * (0 on an error)], the errors' messages, when it opened each connection, and how many answers
 * closed theirs (Connection: close).
 */
export const RATE_CLIENT_SCRIPT = `
const http = require("node:http");
const net = require("node:net");
const { performance } = require("node:perf_hooks");
const [url, rate, connections] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const now = () => performance.timeOrigin + performance.now();
const openedAt = [];
let closeAnswers = 0;
class CountingAgent extends http.Agent {
  createConnection(options, callback) {
    openedAt.push(now());
    return net.createConnection(options);
  }
}
const agent = new CountingAgent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: "fifo" });
const records = [];
const errors = [];
let inFlight = 0;
let stopping = false;
const send = (scheduled) => {
  inFlight++;
  const request = http.get(url, { agent }, (response) => {
    if (response.headers.connection === "close") closeAnswers++;
    response.resume();
    response.on("end", () => { records.push([scheduled, now() - scheduled, response.statusCode]); inFlight--; });
  });
  request.setTimeout(10000, () => request.destroy(new Error("timeout")));
  request.on("error", (error) => { records.push([scheduled, now() - scheduled, 0]); errors.push(error.code || error.message); inFlight--; });
};
const start = now();
let sent = 0;
const timer = setInterval(() => {
  if (stopping) return;
  const due = Math.floor(((now() - start) * rate) / 1000);
  while (sent < due) { send(start + (sent * 1000) / rate); sent++; }
}, 1);
process.stdout.write("started\\n");
process.stdin.resume();
process.stdin.on("end", () => {
  stopping = true;
  clearInterval(timer);
  const finish = () => {
    if (inFlight > 0) return setTimeout(finish, 20);
    agent.destroy();
    process.stdout.write(JSON.stringify({ records, errors, openedAt, closeAnswers }) + "\\n", () => process.exit(0));
  };
  finish();
});
`;

export interface RateClientResult {
  readonly records: [number, number, number][];
  readonly errors: string[];
  /** When each connection was opened (epoch ms). */
  readonly openedAt: number[];
  /** Answers that said Connection: close (the client then opens another connection). */
  readonly closeAnswers: number;
}

/** Starts the rate client in the client namespace; stop() closes its stdin and resolves with its records. */
export async function startRateClient(network: LbBenchNetwork, url: string, rate: number, connections: number): Promise<{ stop(): Promise<RateClientResult> }> {
  const child = network.spawnClient(process.execPath, ["-e", RATE_CLIENT_SCRIPT, url, String(rate), String(connections)]);
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await waitFor(() => out.startsWith("started"), { what: "the rate client" });
  return {
    async stop() {
      child.stdin.end();
      await exited;
      const line = out.split("\n").find((candidate) => candidate.startsWith("{"));
      if (!line) throw new Error("the rate client wrote no result");
      return JSON.parse(line) as RateClientResult;
    },
  };
}

export const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
export const median = (values: readonly number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

/** The benches' load balancer: one HTTP listener on :80 forwarding to target group "web" (round robin, HTTP checks of /health). */
export function lbBenchModel(
  targets: readonly string[],
  health: { intervalSeconds: number; timeoutSeconds: number; healthyThreshold: number },
  rules: LoadBalancerModel["listeners"][number]["rules"] = [],
): LoadBalancerModel {
  return {
    id: "lb-bench",
    idleTimeoutSeconds: 60,
    targetGroups: [
      {
        id: "web",
        protocol: "HTTP",
        algorithm: "round_robin",
        slowStartSeconds: 0,
        deregistrationDelaySeconds: 5,
        healthCheck: { protocol: "HTTP", port: "traffic-port", path: "/health", unhealthyThreshold: 2, matcher: "200", ...health },
        targets: targets.map((ip) => ({ ip, port: 80 })),
      },
    ],
    listeners: [{ id: "http-80", port: 80, protocol: "HTTP", rules, defaultAction: { type: "forward", targetGroups: [{ targetGroupId: "web", weight: 1 }] } }],
  };
}
