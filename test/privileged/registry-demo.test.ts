// The quick start and task images from the built-in registry, with real containers:
//   1. `berth demo` against a fresh `berth server` (embedded agent, root key generated into the
//      data dir as on a new install): it builds, pushes to the built-in registry, registers
//      sample-fargate-app, runs it and prints the page the task serves; the task is then stopped.
//   2. the same image in a task definition without an execution role: the pull is refused, as an
//      ECR image without an execution role is on Fargate (CannotPullContainerError).
//   3. a remote `berth agent` joined over the agent protocol pulls the image with the credential
//      handed over with the task, and serves the page.
// Each phase stops its tasks and server before the next (both servers use the same default
// subnets, hence the same bridges); nothing may leak.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { assertNoLeaks } from "../support/leaks.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const capacity = ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"];
let server: TestServer | undefined;
let agent: ChildProcess | undefined;
const agentDir = mkdtempSync(join(tmpdir(), "berth-remote-agent-"));
// The demo keeps its site and task definition file under $TMPDIR/berth-demo for the user.
const demoTmp = mkdtempSync(join(tmpdir(), "berth-demo-tmp-"));
let imageUri = "";

type Task = {
  taskArn: string;
  lastStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: { networkInterfaces?: { privateIpv4Address: string }[] }[];
};

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server!, args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

async function waitFor(cluster: string, arn: string, status: string, timeoutMs = 60_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = ((await cli(["ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn])).tasks as Task[])[0]!;
    if (task.lastStatus === status) return task;
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Stops every task of every cluster, waits for STOPPED, then stops the server. */
async function stopEverything(): Promise<void> {
  if (!server) return;
  const clusters = ((await cli(["ecs", "list-clusters"]).catch(() => ({ clusterArns: [] }))).clusterArns ?? []) as string[];
  for (const cluster of clusters) {
    const listed = ((await cli(["ecs", "list-tasks", "--cluster", cluster]).catch(() => ({ taskArns: [] }))).taskArns ?? []) as string[];
    for (const arn of listed) {
      await cli(["ecs", "stop-task", "--cluster", cluster, "--task", arn]);
      await waitFor(cluster, arn, "STOPPED", 90_000);
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

const runDemo = (endpoint: string, dataDir: string, extra: string[] = []) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    // No AWS_* variables: the demo must find the server's credentials in its data dir.
    execFile(
      process.execPath,
      [berth, "demo", "--endpoint", endpoint, "--data-dir", dataDir, ...extra],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir(), TMPDIR: demoTmp } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );

test("berth demo on a fresh server pushes to the built-in registry, runs sample-fargate-app and prints its page", async () => {
  server = await startTestServer({ agent: true, generatedKey: true, args: capacity });
  const result = await runDemo(server.endpoint, server.dataDir);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const out = result.stdout;
  for (const command of [
    "ecr create-repository --repository-name sample-fargate-app",
    "ecr get-login-password",
    "ecs create-cluster --cluster-name berth-demo",
    "ecs register-task-definition --cli-input-json file://",
    "ecs run-task --cluster berth-demo",
    "ecs wait tasks-running",
    "ecs stop-task",
  ]) {
    assert.ok(out.includes(`aws --endpoint-url ${server.endpoint} ${command}`), `prints the aws command for ${command}`);
  }
  const ip = /curl http:\/\/([\d.]+)\//.exec(out)?.[1];
  assert.ok(ip, "prints the task's private IP");
  assert.match(out, /\| Hello from Berth/);
  assert.ok(out.includes(`| Private IPv4 address: ${ip}`), "the page shows the task's own IP");
  assert.match(out, /\| AWS_REGION: us-east-1/);
  assert.match(out, /\| AWS_EXECUTION_ENV: AWS_ECS_FARGATE/);
  imageUri = /pushed (\S+):latest@/.exec(out)![1]! + ":latest";
  assert.ok(imageUri.startsWith(`${server.endpoint.replace("http://", "")}/sample-fargate-app`), `the image is in the built-in registry: ${imageUri}`);

  // The task is left running, serving the page, with the execution role's pull having worked.
  const taskArn = /stop-task --cluster berth-demo --task (\S+)/.exec(out)![1]!;
  // What the container read from its task metadata endpoint (169.254.170.2, in its VPC router) is its own task.
  assert.ok(out.includes(`| Task ARN (task metadata endpoint): ${taskArn}`), `the page shows the task's own ARN, read from the metadata endpoint:\n${out}`);
  assert.match(out, /\| Cluster: arn:aws:ecs:us-east-1:\d{12}:cluster\/berth-demo$/m);
  assert.match(out, /\| Task definition: sample-fargate-app:\d+$/m);
  assert.match(out, /\| Task status: RUNNING$/m);
  assert.match(out, /\| Availability Zone: us-east-1[a-z]$/m);
  assert.doesNotMatch(out, /not reachable/);
  const task = await waitFor("berth-demo", taskArn, "RUNNING");
  assert.equal(task.containers[0]!.networkInterfaces![0]!.privateIpv4Address, ip);
  assertRoutedToRouter(ip);
  assert.match(await (await fetch(`http://${ip}/`)).text(), /AWS_EXECUTION_ENV/);
  const stopping = Date.now();
  await cli(["ecs", "stop-task", "--cluster", "berth-demo", "--task", taskArn]);
  assert.equal((await waitFor("berth-demo", taskArn, "STOPPED", 90_000)).stopCode, "UserInitiated");
  // The image's shell stops httpd on SIGTERM: no waiting out the 30 s stopTimeout.
  assert.ok(Date.now() - stopping < 15_000, `stopped in ${Date.now() - stopping} ms`);
});

test("berth demo --service runs the app as a 2-task service behind a load balancer, fetches each task's page and the load balancer's, and --cleanup drains it to INACTIVE", async () => {
  assert.ok(server, "runs after the demo");
  const result = await runDemo(server.endpoint, server.dataDir, ["--service", "--cleanup"]);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const out = result.stdout;
  for (const command of [
    "elbv2 create-load-balancer --name berth-demo --type application",
    "elbv2 create-listener",
    "ecs create-service --cluster berth-demo --service-name sample-app-service",
    "--load-balancers targetGroupArn=arn:aws:elasticloadbalancing:",
    "ecs wait services-stable",
    "ecs list-tasks --cluster berth-demo --service-name sample-app-service",
    "ec2 describe-network-interfaces --filters 'Name=description,Values=ELB app/berth-demo/",
    "ecs delete-service",
    "elbv2 delete-load-balancer",
  ]) {
    assert.ok(out.includes(`aws --endpoint-url ${server.endpoint} ${command}`) || out.includes(command), `prints the aws command for ${command}`);
  }
  assert.match(out, /\(service sample-app-service\) has reached a steady state\./);
  assert.match(out, /\(service sample-app-service\) registered \d targets in \(target-group /);
  const ips = [...out.matchAll(/curl http:\/\/([\d.]+)\//g)].map((match) => match[1]);
  assert.equal(new Set(ips).size, 3, "two tasks and the load balancer, three addresses");
  assert.match(out, /Fetch the page through the load balancer at [\d.]+/);
  assert.equal((out.match(/\| Hello from Berth/g) ?? []).length, 3, "both tasks and the load balancer served the page");
  assert.match(out, /INACTIVE/);
  const balancers = await cli(["elbv2", "describe-load-balancers"]);
  assert.deepEqual(balancers.LoadBalancers, [], "--cleanup deleted the load balancer");
  const left = await cli(["ecs", "list-tasks", "--cluster", "berth-demo", "--service-name", "sample-app-service"]);
  assert.deepEqual(left.taskArns, []);
});

test("a task definition without an execution role cannot pull from the built-in registry: CannotPullContainerError", async () => {
  assert.ok(server && imageUri, "runs after the demo");
  await cli([
    "ecs",
    "register-task-definition",
    "--family",
    "no-role",
    "--network-mode",
    "awsvpc",
    "--requires-compatibilities",
    "FARGATE",
    "--cpu",
    "256",
    "--memory",
    "512",
    "--container-definitions",
    JSON.stringify([{ name: "web", image: imageUri, essential: true }]),
  ]);
  const ran = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "berth-demo",
    "--task-definition",
    "no-role",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${await firstSubnet()}]}`,
  ]);
  const arn = (ran.tasks as Task[])[0]!.taskArn;
  const stopped = await waitFor("berth-demo", arn, "STOPPED");
  assert.equal(stopped.stopCode, "TaskFailedToStart");
  assert.match(stopped.stoppedReason ?? "", /^CannotPullContainerError: .*unauthorized/);
});

async function firstSubnet(): Promise<string> {
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [berth, "network", "--endpoint", server!.endpoint],
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
}

test("a remote berth agent pulls a task's image from the built-in registry with the credential handed over by the protocol", async () => {
  await stopEverything();
  server = await startTestServer({ args: ["--no-agent"] });
  // Push the demo's image into this server's registry (a fresh data dir) with `berth image build --push`.
  const password = (await awsCli(server, ["ecr", "get-login-password"])).stdout.trim();
  await cli(["ecr", "create-repository", "--repository-name", "web"]);
  const site = mkdtempSync(join(tmpdir(), "berth-remote-site-"));
  writeFileSync(join(site, "index.html"), "<h1>pulled by a remote agent</h1>\n");
  const remoteImage = `${server.endpoint.replace("http://", "")}/web:v1`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [
        berth,
        "image",
        "build",
        "--tag",
        remoteImage,
        "--dir",
        `${site}:/www`,
        "--cmd",
        '["httpd","-f","-p","80","-h","/www"]',
        "--push",
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
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let agentErr = "";
  let agentLog = "";
  agent.stderr!.on("data", (chunk: Buffer) => (agentErr += chunk.toString()));
  agent.stdout!.on("data", (chunk: Buffer) => (agentLog += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not join:\n${agentErr}`)), 20_000);
    const check = () => (/joined/.test(agentErr) ? (clearTimeout(timer), resolve()) : setTimeout(check, 100));
    check();
  });
  await cli(["ecs", "create-cluster", "--cluster-name", "remote"]);
  await cli([
    "ecs",
    "register-task-definition",
    "--family",
    "remote-web",
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
    JSON.stringify([{ name: "web", image: remoteImage, essential: true, portMappings: [{ containerPort: 80 }] }]),
  ]);
  // The default group lets in only its members: the page is fetched from this machine through a group letting port 80 in.
  const webGroupId = await webSecurityGroup(server);
  const ran = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "remote",
    "--task-definition",
    "remote-web",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${await firstSubnet()}],securityGroups=[${webGroupId}]}`,
  ]);
  const arn = (ran.tasks as Task[])[0]!.taskArn;
  const running = await waitFor("remote", arn, "RUNNING");
  const ip = running.containers[0]!.networkInterfaces![0]!.privateIpv4Address;
  assertRoutedToRouter(ip);
  assert.match(await (await fetch(`http://${ip}/`)).text(), /pulled by a remote agent/);
  // Registry passwords look like v1.<payload>.<signature>; none may reach the agent's log.
  assert.doesNotMatch(agentLog + agentErr, /v1\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/, "the agent's log holds no registry password");
});
