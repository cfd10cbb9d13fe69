// DescribeTaskDefinition (or, with BENCH_OPERATION=RunTask, RunTask) through the full stack (SigV4
// verification, store reads, JSON) against a real `berth server`, next to a bare node:http server answering a fixed JSON body (its own
// process, like berth), both driven by autocannon at 32 connections in the same run. The signed request is built once and replayed:
// the server still verifies the signature on every request (a real client would also spend time
// signing, which is the client's cost, not the server's).
// RunTask runs on a server with no agent, so no host has capacity: every call resolves the cluster
// and the task definition, validates, plans over the empty fleet and answers a capacity failure;
// it writes nothing (no clientToken), so the store does not grow during the run.
//   node --import tsx bench/api-throughput.ts
//   BENCH_OPERATION=RunTask node --import tsx bench/api-throughput.ts
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../src/core/default-network.js";
import { sdkConfig, startTestServer, testCredentials } from "../test/support/server.js";

const DURATION_S = Number(process.env.DURATION_S ?? 10);
const OPERATION = process.env.BENCH_OPERATION === "RunTask" ? "RunTask" : "DescribeTaskDefinition";

// Server CPU per request (user + system, from /proc/<pid>/stat) next to the throughput: on this
// shared 2-core machine the req/s swing with the neighbours' load, the CPU a request costs much less.
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function measure(pid: number, url: string, headers: Record<string, string>, body: string) {
  const cpuBefore = cpuSeconds(pid);
  const client = process.cpuUsage();
  const result = await autocannon({ url, connections: 32, duration: DURATION_S, method: "POST", headers, body });
  const serverCpu = cpuSeconds(pid) - cpuBefore;
  const clientCpu = process.cpuUsage(client);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuMicrosPerRequest: (serverCpu * 1e6) / result.requests.total,
    serverCpuPercent: (100 * serverCpu) / DURATION_S,
    clientCpuPercent: (clientCpu.user + clientCpu.system) / 1e4 / DURATION_S,
  };
}

// The baseline runs in a process of its own, as berth does: the load generator (this process) and
// the server under test never share an event loop, for either figure.
const BARE_SERVER = `
const { createServer } = require("node:http");
const text = JSON.stringify({ taskDefinition: { family: "bench", revision: 1, cpu: "256", memory: "512" } });
const answer = (response) => {
  response.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(text) });
  response.end(text);
};
const readBody = process.argv.includes("read-body");
const server = createServer((request, response) => {
  if (!readBody) return answer(response);
  request.on("data", () => {});
  request.once("end", () => answer(response));
});
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
async function startBare(args: string[]) {
  const child = spawn(process.execPath, ["-e", BARE_SERVER, "--", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) => child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { child, url: `http://127.0.0.1:${port}` };
}
async function withBareServer<T>(args: string[], run: (pid: number, url: string) => Promise<T>): Promise<T> {
  const { child, url } = await startBare(args);
  try {
    return await run(child.pid!, url);
  } finally {
    child.kill("SIGTERM");
  }
}
const { child: bare, url: bareUrl } = await startBare([]);

const server = await startTestServer();
const ecs = new ECSClient(sdkConfig(server));
await ecs.send(
  new RegisterTaskDefinitionCommand({
    family: "bench",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    containerDefinitions: [{ name: "app", image: "nginx", portMappings: [{ containerPort: 80 }] }],
  }),
);
await ecs.send(new CreateClusterCommand({ clusterName: "bench" }));
const url = new URL(server.endpoint);
const subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
const body = JSON.stringify(
  OPERATION === "RunTask"
    ? { cluster: "bench", taskDefinition: "bench", launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId] } } }
    : { taskDefinition: "bench" },
);
const signer = new SignatureV4({ credentials: testCredentials, region: "us-east-1", service: "ecs", sha256: Hash.bind(null, "sha256") });
const signed = await signer.sign({
  method: "POST",
  protocol: "http:",
  hostname: url.hostname,
  port: Number(url.port),
  path: "/",
  headers: { host: url.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": `AmazonEC2ContainerServiceV20141113.${OPERATION}` },
  body,
});

const baseline = await measure(bare.pid!, bareUrl, {}, "{}");
const berth = await measure(server.process.pid!, server.endpoint, signed.headers as Record<string, string>, body);
// Not the baseline, context for it (BENCH_CONTEXT=1): the same bare server sent berth's signed
// request (more headers to parse, a real body), and a bare server that reads the body before
// answering, as any server that must hash or parse the body has to.
const context = process.env.BENCH_CONTEXT
  ? {
      sameRequest: await measure(bare.pid!, bareUrl, signed.headers as Record<string, string>, body),
      readsBody: await withBareServer(["read-body"], (pid, bareBodyUrl) => measure(pid, bareBodyUrl, signed.headers as Record<string, string>, body)),
    }
  : undefined;
const cpu = (m: typeof berth) =>
  `server ${m.cpuMicrosPerRequest.toFixed(1)} µs CPU/req (${m.serverCpuPercent.toFixed(0)} % of a core), client ${m.clientCpuPercent.toFixed(0)} %`;
console.log(`bare node:http        ${baseline.rps.toFixed(0)} req/s  p99 ${baseline.p99} ms  errors ${baseline.errors}  ${cpu(baseline)}`);
console.log(`berth ${OPERATION.padEnd(16)} ${berth.rps.toFixed(0)} req/s  p99 ${berth.p99} ms  errors ${berth.errors}  ${cpu(berth)}`);
if (context) {
  console.log(`  bare, signed request ${context.sameRequest.rps.toFixed(0)} req/s  p99 ${context.sameRequest.p99} ms  ${cpu(context.sameRequest)}`);
  console.log(`  bare, reads body     ${context.readsBody.rps.toFixed(0)} req/s  p99 ${context.readsBody.p99} ms  ${cpu(context.readsBody)}`);
}
console.log(`ratio                 ${((100 * berth.rps) / baseline.rps).toFixed(1)} % of bare (target ≥ 50 %), p99 target < 10 ms`);
ecs.destroy();
await server.stop();
await server.cleanup();
bare.kill("SIGTERM");
