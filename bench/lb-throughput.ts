// Load balancer throughput (issue 15's figure: through the load balancer to 3 targets ≥ 0.8× nginx
// configured by hand as a reverse proxy to the same 3 targets, same run; p99 ≤ 1.5× nginx's).
// Namespaces the bench creates (test/support/lb-bench-network.ts): an LB namespace with a bridge to
// 3 backend namespaces (a node:http server in each answering a fixed 20-byte body), and a client
// namespace behind a veth. In the LB namespace, side by side:
//   berth   an src/lb HaproxyNode (HAProxy 2.6, master-worker, one thread: nbthread 1 as the engine configures every node), one HTTP listener
//           on :80 forwarding to a target group of the 3 targets (round robin, health checks every 5 s)
//   nginx   /usr/sbin/nginx (Debian's nginx-light) on :8080 with a config written here: an upstream
//           of the same 3 targets with keepalive, proxy_http_version 1.1, worker_processes as a hand
//           configuration sets it (auto: one per CPU; BENCH_NGINX_WORKERS to change), access_log off,
//           the same X-Forwarded-* headers HAProxy adds
// Each is driven by wrk in the client namespace (`wrk -t2 -c64 -d10s --latency`, keep-alive),
// alternating which goes first each round, after a warm-up. Per round: req/s, p50, p99, and the
// proxy's own CPU per request (its processes' user+system time from /proc over the run).
//   flock /tmp/berth-privileged.lock node --import tsx bench/lb-throughput.ts
//   (BENCH_ROUNDS default 5, BENCH_SECONDS default 10, BENCH_CONNECTIONS default 64, BENCH_THREADS default 2 (wrk's);
//   BENCH_NGINX_WORKERS default: the CPU count)
// Traffic: only inside the namespaces this bench creates and removes. Root. Never fails CI.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HaproxyNode } from "../src/lb/haproxy-node.js";
import { exec } from "../test/support/dataplane.js";
import { isListeningInNetns } from "../test/support/netns-listener.js";
import { benchTeardown, buildLbBenchNetwork, cleanupOnSignals, lbBenchModel, median } from "../test/support/lb-bench-network.js";
import type { LbBenchNetwork } from "../test/support/lb-bench-network.js";
import { waitFor } from "../test/support/wait-for.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const NGINX_WORKERS = Number(process.env.BENCH_NGINX_WORKERS ?? availableParallelism());
const NGINX_PORT = 8080;
const TARGETS = 3;

const workDir = mkdtempSync(join(tmpdir(), "berth-bench-lb-"));
chmodSync(workDir, 0o755);
const stateDir = join(workDir, "haproxy");
const nginxDir = join(workDir, "nginx");
let network: LbBenchNetwork | undefined;
let node: HaproxyNode | undefined;
let nginx: ChildProcess | undefined;
let nginxWorkers: number[] = [];

interface WrkResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  errors: string;
  cpuMicrosPerRequest: number;
  /** Connections to the targets closed during the run (TIME-WAIT in the LB namespace afterwards): ~0 when the proxy keeps them alive. */
  targetConnectionsClosed: number;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!match) throw new Error(`wrk latency ${value}`);
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as "us" | "ms" | "s" | "m"];
  return Number(match[1]) * scale;
}

function parseWrk(out: string): Omit<WrkResult, "cpuMicrosPerRequest" | "targetConnectionsClosed"> {
  const latency = (percent: string) => toMs(new RegExp(`^\\s+${percent}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "NaNms");
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const errors = [/Socket errors:.*/.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]].filter(Boolean).join("; ");
  return { requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: latency("50"), p99: latency("99"), requests, errors };
}

/** user+system clock ticks of processes (0 for one gone). */
function cpuTicks(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return sum + Number(fields[11]) + Number(fields[12]);
    } catch {
      return sum;
    }
  }, 0);
}

const childrenOf = (parent: number) =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent;
      } catch {
        return false;
      }
    });

const timeWaitToTargets = async () =>
  (await exec("ip", ["netns", "exec", network!.lbNetns, "ss", "-Htan", "state", "time-wait", "dst", "10.254.0.0/24"])).split("\n").filter(Boolean).length;

async function wrk(url: string, seconds: number, proxyPids: () => Promise<number[]>): Promise<WrkResult> {
  const pids = await proxyPids();
  const timeWaitBefore = await timeWaitToTargets();
  const before = cpuTicks(pids);
  const child = network!.spawnClient("wrk", [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", url]);
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  const ticks = cpuTicks(pids) - before;
  const parsed = parseWrk(out);
  const targetConnectionsClosed = Math.max(0, (await timeWaitToTargets()) - timeWaitBefore);
  return { ...parsed, cpuMicrosPerRequest: (ticks * 10_000) / parsed.requests, targetConnectionsClosed };
}

function nginxConfig(workers: number, network: LbBenchNetwork): string {
  const targets = Array.from({ length: TARGETS }, (_, index) => `        server ${network.backendAddress(index)}:80;`).join("\n");
  return `# Written by bench/lb-throughput.ts: nginx by hand as a reverse proxy to the same 3 targets.
worker_processes ${workers};
user nobody nogroup;
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path ${nginxDir}/body;
    proxy_temp_path ${nginxDir}/proxy;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    upstream targets {
${targets}
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }
    server {
        listen ${NGINX_PORT};
        location / {
            proxy_pass http://targets;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto http;
            proxy_set_header X-Forwarded-Port ${NGINX_PORT};
        }
    }
}
`;
}

async function startNginx(workers: number): Promise<void> {
  mkdirSync(nginxDir, { recursive: true });
  const config = join(nginxDir, "nginx.conf");
  writeFileSync(config, nginxConfig(workers, network!));
  await exec("/usr/sbin/nginx", ["-t", "-q", "-p", nginxDir, "-e", join(nginxDir, "error.log"), "-c", config]);
  nginx = spawn(
    "nsenter",
    [`--net=${network!.lbNetnsPath}`, "/usr/sbin/nginx", "-p", nginxDir, "-e", join(nginxDir, "error.log"), "-c", config, "-g", "daemon off;"],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await waitFor(() => isListeningInNetns(network!.lbNetns, NGINX_PORT), { what: "nginx listening" });
  await waitFor(() => nginxPids().length === workers + 1, { what: "nginx workers" });
  nginxWorkers = nginxPids().slice(1);
}

/** nginx's master (nsenter execs it: same pid as our child) and its workers. */
function nginxPids(): number[] {
  if (!nginx?.pid) return [];
  return [nginx.pid, ...childrenOf(nginx.pid)];
}

async function stopNginx(): Promise<void> {
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
    const exited = new Promise((resolve) => nginx!.on("exit", resolve));
    nginx.kill("SIGTERM");
    await Promise.race([exited, sleep(5_000)]);
    if (nginx.exitCode === null && nginx.signalCode === null) nginx.kill("SIGKILL");
  }
  // Workers outliving a killed master (checked by their name, so a reused pid is left alone).
  for (const pid of nginxWorkers) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("nginx: worker")) process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function haproxyPids(): Promise<number[]> {
  const master = await node!.masterPid();
  return master === undefined ? [] : [master, ...childrenOf(master)];
}

function threadsOf(pid: number): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

const cleanup = benchTeardown({ node: () => node, network: () => network, workDir, also: stopNginx });

async function main(): Promise<void> {
  cleanupOnSignals(cleanup);
  network = await buildLbBenchNetwork("bthlbt", TARGETS);
  for (let index = 0; index < TARGETS; index += 1) await network.startBackend(index);
  const model = lbBenchModel(
    Array.from({ length: TARGETS }, (_, index) => network!.backendAddress(index)),
    { intervalSeconds: 5, timeoutSeconds: 2, healthyThreshold: 2 },
  );
  node = new HaproxyNode({ netnsPath: network.lbNetnsPath, stateDir, run: exec });
  await node.start(model);
  await waitFor(async () => (await node!.health()).every((report) => report.health.State === "healthy"), {
    what: "3 healthy targets",
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  const haproxyWorkers = (await haproxyPids()).slice(1);
  const threads = threadsOf(haproxyWorkers[0]!);
  await startNginx(NGINX_WORKERS);

  const cases = {
    berth: { url: `http://${network.vip}:80/`, pids: haproxyPids },
    nginx: { url: `http://${network.vip}:${NGINX_PORT}/`, pids: async () => nginxPids() },
  };
  console.log(`lb-throughput: ${TARGETS} targets (node:http, ${20}-byte body), wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s --latency, ${ROUNDS} rounds`);
  console.log(
    `each as deployed: HAProxy 2.6 master + 1 worker of ${threads} thread(s) (the engine's nbthread) vs nginx master + ${NGINX_WORKERS} workers (worker_processes auto); keep-alive client→proxy (wrk) and proxy→targets ` +
      `(HAProxy's default http-reuse safe; nginx upstream keepalive 64, HTTP/1.1); no access log on either (HAProxy: no log line; nginx: access_log off); ` +
      `the same X-Forwarded-For/Proto/Port headers added; round robin over the same 3 targets; HAProxy's health checks run (every 5 s) in both cases`,
  );
  for (const [name, entry] of Object.entries(cases)) await wrk(entry.url, 2, entry.pids).then(() => console.log(`warm-up ${name} done`));

  const results: Record<keyof typeof cases, WrkResult[]> = { berth: [], nginx: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    const order: (keyof typeof cases)[] = round % 2 === 0 ? ["berth", "nginx"] : ["nginx", "berth"];
    for (const name of order) {
      const load = loadavg()[0]!.toFixed(2);
      const result = await wrk(cases[name].url, SECONDS, cases[name].pids);
      results[name].push(result);
      console.log(
        `round ${round + 1} ${name.padEnd(5)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  ` +
          `proxy CPU ${result.cpuMicrosPerRequest.toFixed(1)} µs/req  target conns closed ${result.targetConnectionsClosed}  load ${load}${result.errors ? `  ${result.errors}` : ""}`,
      );
    }
  }
  const sum = (name: keyof typeof cases) => results[name].reduce((total, result) => total + result.requestsPerSecond, 0);
  const medianOf = (name: keyof typeof cases, key: "p50" | "p99" | "cpuMicrosPerRequest" | "requestsPerSecond") =>
    median(results[name].map((result) => result[key]));
  const throughputRatio = sum("berth") / sum("nginx");
  const p99Ratio = medianOf("berth", "p99") / medianOf("nginx", "p99");
  const roundRatios = results.berth.map((result, index) => (result.requestsPerSecond / results.nginx[index]!.requestsPerSecond).toFixed(3));
  console.log("\n| case | req/s (median) | p50 (median) | p99 (median) | proxy CPU/req (median) |\n|---|---|---|---|---|");
  for (const name of ["berth", "nginx"] as const) {
    console.log(
      `| ${name} | ${medianOf(name, "requestsPerSecond").toFixed(0)} | ${medianOf(name, "p50").toFixed(2)} ms | ${medianOf(name, "p99").toFixed(2)} ms | ${medianOf(name, "cpuMicrosPerRequest").toFixed(1)} µs |`,
    );
  }
  console.log(
    `\nthroughput berth/nginx (sum over rounds) ${throughputRatio.toFixed(3)} (per round ${roundRatios.join(", ")}): ${throughputRatio >= 0.8 ? "met" : "NOT met"} (≥ 0.8)`,
  );
  console.log(`p99 berth/nginx (medians) ${p99Ratio.toFixed(3)}: ${p99Ratio <= 1.5 ? "met" : "NOT met"} (≤ 1.5)`);
  console.log(
    `proxy CPU per request berth/nginx (medians) ${(medianOf("berth", "cpuMicrosPerRequest") / medianOf("nginx", "cpuMicrosPerRequest")).toFixed(3)}`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")}`,
  );
}

try {
  await main();
} finally {
  await cleanup();
  if (existsSync(workDir)) console.error(`left ${workDir}`);
}
