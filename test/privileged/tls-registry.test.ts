// Real tasks over TLS (`berth server --tls`), pulling from the built-in registry over HTTPS:
//   1. `berth demo --endpoint https://…` against a fresh server with the embedded agent: the demo
//      trusts <data-dir>/ca.pem, pushes over TLS, and the embedded agent pulls the task's image over
//      the same TLS, verified against the server's own CA; the page is served.
//   2. a remote `berth agent --server https://… --token-file <data-dir>/agent-token`: the token pins
//      the CA; the agent registers over verified TLS and pulls the task's image with that trust. An
//      agent whose token pins another certificate refuses to start.
// Loopback only; each phase stops its tasks and server; nothing may leak.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseJoinToken } from "../../src/protocol/index.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { assertNoLeaks } from "../support/leaks.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const capacity = ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"];
let server: TestServer | undefined;
let agent: ChildProcess | undefined;
const agentDir = mkdtempSync(join(tmpdir(), "berth-tls-agent-"));
const demoTmp = mkdtempSync(join(tmpdir(), "berth-tls-demo-"));

type Task = { taskArn: string; lastStatus: string; stoppedReason?: string; containers: { networkInterfaces?: { privateIpv4Address: string }[] }[] };

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server!, ["--ca-bundle", join(server!.dataDir, "ca.pem"), ...args]);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

async function waitFor(cluster: string, arn: string, status: string, timeoutMs = 60_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = ((await cli(["ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn])).tasks as Task[])[0]!;
    if (task.lastStatus === status) return task;
    if (task.lastStatus === "STOPPED") throw new Error(`task ${arn} stopped: ${task.stoppedReason}`);
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function stopEverything(): Promise<void> {
  if (!server) return;
  const clusters = ((await cli(["ecs", "list-clusters"]).catch(() => ({ clusterArns: [] }))).clusterArns ?? []) as string[];
  for (const cluster of clusters) {
    const listed = ((await cli(["ecs", "list-tasks", "--cluster", cluster]).catch(() => ({ taskArns: [] }))).taskArns ?? []) as string[];
    for (const arn of listed) {
      await cli(["ecs", "stop-task", "--cluster", cluster, "--task", arn]);
      await waitFor(cluster, arn, "STOPPED", 90_000).catch(() => undefined);
    }
  }
  if (agent) {
    const exited = new Promise((resolve) => agent!.once("exit", resolve));
    agent.kill("SIGTERM");
    await exited;
    agent = undefined;
  }
  await server.stop();
  await server.cleanup();
  server = undefined;
}

after(async () => {
  await stopEverything();
  rmSync(agentDir, { recursive: true, force: true });
  rmSync(demoTmp, { recursive: true, force: true });
  assertNoLeaks();
});

const firstSubnet = async () => {
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [berth, "network", "--endpoint", server!.endpoint, "--data-dir", server!.dataDir],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: tmpdir(),
          AWS_ACCESS_KEY_ID: server!.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: server!.credentials.secretAccessKey,
        },
      },
      (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
    ),
  );
  return /^subnet\t(\S+)\tus-east-1a/m.exec(output)![1]!;
};

test("berth demo over HTTPS: push and the embedded agent's pull go over TLS verified against the server's CA", async () => {
  server = await startTestServer({ agent: true, generatedKey: true, args: ["--tls", ...capacity] });
  assert.match(server.endpoint, /^https:/);
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [berth, "demo", "--endpoint", server!.endpoint, "--data-dir", server!.dataDir, "--cleanup"],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir(), TMPDIR: demoTmp } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.ok(
    result.stdout.includes(`aws --ca-bundle ${join(server.dataDir, "ca.pem")} --endpoint-url ${server.endpoint} ecs run-task`),
    "prints the aws commands with --ca-bundle",
  );
  assert.match(result.stdout, /\| Hello from Berth/);
  assert.match(result.stdout, /pushed 127\.0\.0\.1:\d+\/sample-fargate-app:latest@/);
  await stopEverything();
});

test("a remote agent pins the server's CA from its join token and pulls from the built-in registry over TLS", async () => {
  server = await startTestServer({ args: ["--tls", "--no-agent"] });
  const caFile = join(server.dataDir, "ca.pem");
  const token = readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();
  assert.ok(parseJoinToken(token).caSha256, "the bootstrap token carries the CA pin");

  // A token pinning another certificate: the agent refuses the server before sending anything.
  const wrong = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        berth,
        "agent",
        "--server",
        server!.endpoint,
        "--token",
        `${parseJoinToken(token).secret}.sha256:${"ab".repeat(32)}`,
        "--data-dir",
        mkdtempSync(join(tmpdir(), "berth-wrong-pin-")),
        ...capacity,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (code) => resolve({ code, stderr }));
  });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /no certificate with the join token's CA pin/);

  const password = (await awsCli(server, ["--ca-bundle", caFile, "ecr", "get-login-password"])).stdout.trim();
  await cli(["ecr", "create-repository", "--repository-name", "web"]);
  const site = mkdtempSync(join(tmpdir(), "berth-tls-site-"));
  writeFileSync(join(site, "index.html"), "<h1>pulled over TLS</h1>\n");
  const image = `${server.endpoint.replace("https://", "")}/web:v1`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [
        berth,
        "image",
        "build",
        "--tag",
        image,
        "--dir",
        `${site}:/www`,
        "--cmd",
        '["httpd","-f","-p","80","-h","/www"]',
        "--push",
        "--ca-bundle",
        caFile,
        "--username",
        "AWS",
        "--password-stdin",
      ],
      (error, _stdout, stderr) => (error ? reject(new Error(stderr)) : resolve()),
    );
    child.stdin!.end(password);
  });
  rmSync(site, { recursive: true, force: true });

  agent = spawn(
    process.execPath,
    [berth, "agent", "--server", server.endpoint, "--token-file", join(server.dataDir, "agent-token"), "--data-dir", agentDir, ...capacity],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let agentErr = "";
  agent.stderr!.on("data", (chunk: Buffer) => (agentErr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not join:\n${agentErr}`)), 30_000);
    const check = () => (/joined/.test(agentErr) ? (clearTimeout(timer), resolve()) : setTimeout(check, 100));
    check();
  });
  assert.equal(readFileSync(join(agentDir, "server-ca.pem"), "utf8").trim(), readFileSync(caFile, "utf8").trim(), "the agent kept the pinned CA");
  await cli(["ecs", "create-cluster", "--cluster-name", "tls"]);
  await cli([
    "ecs",
    "register-task-definition",
    "--family",
    "tls-web",
    "--network-mode",
    "awsvpc",
    "--requires-compatibilities",
    "FARGATE",
    "--cpu",
    "256",
    "--memory",
    "512",
    "--execution-role-arn",
    `arn:aws:iam::${server.accountId}:role/ecsTaskExecutionRole`,
    "--container-definitions",
    JSON.stringify([{ name: "web", image, essential: true, portMappings: [{ containerPort: 80 }], stopTimeout: 2 }]),
  ]);
  // The default group lets in only its members: the page is fetched from this machine through a group letting port 80 in.
  const webGroupId = await webSecurityGroup(server, { caBundle: caFile });
  const ran = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "tls",
    "--task-definition",
    "tls-web",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${await firstSubnet()}],securityGroups=[${webGroupId}]}`,
  ]);
  const arn = (ran.tasks as Task[])[0]!.taskArn;
  const running = await waitFor("tls", arn, "RUNNING");
  const ip = running.containers[0]!.networkInterfaces![0]!.privateIpv4Address;
  assertRoutedToRouter(ip);
  assert.match(await (await fetch(`http://${ip}/`)).text(), /pulled over TLS/);
});
