// The AWS API from inside a real task, through the agent's relay at 169.254.170.2: the task's image
// holds this host's node binary (with the libraries it links, at the same paths) and a one-file
// bundle of a script that uses the AWS SDK for JavaScript v3 with no configuration at all: the
// default credential chain finds AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, the default endpoint
// resolution finds AWS_ENDPOINT_URL, both set by the agent. The script prints what it got to its
// awslogs stream; the test reads it back. It also tries what the relay must refuse: the agent
// protocol's paths, an unsigned call, a call signed with a key that does not exist.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const berth = join(root, "bin", "berth");
let registry: TestRegistry;
let server: TestServer;
let subnetId: string;
let image: string;
const site = mkdtempSync(join(tmpdir(), "berth-task-api-"));
const CLUSTER = "task-api";

// Runs inside the task. Each line is `<MARK>:<JSON>`; nothing in it names an endpoint, a region or a key.
const SCRIPT = `
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { ECSClient, DescribeClustersCommand, ListClustersCommand } = require("@aws-sdk/client-ecs");
const line = (mark, value) => console.log(mark + ":" + JSON.stringify(value));
const failure = (error) => ({ error: error.name, status: error.$metadata && error.$metadata.httpStatusCode });
async function probe(mark, run) {
  try { line(mark, await run()); } catch (error) { line(mark, failure(error)); }
}
(async () => {
  line("ENV", { endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION });
  await probe("IDENTITY", async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn);
  await probe("ALLOWED", async () => (await new ECSClient({}).send(new DescribeClustersCommand({ clusters: ["${CLUSTER}"] }))).clusters.map((c) => c.clusterName));
  await probe("DENIED", async () => (await new ECSClient({}).send(new ListClustersCommand({}))).clusterArns);
  const forged = { accessKeyId: "ASIAFORGEDFORGED0000", secretAccessKey: "forged", sessionToken: "forged" };
  await probe("FORGED", async () => (await new STSClient({ credentials: forged }).send(new GetCallerIdentityCommand({}))).Arn);
  const status = async (path, init) => { try { return (await fetch("http://169.254.170.2" + path, init)).status; } catch (error) { return String(error); } };
  const signedLooking = { authorization: "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=00" };
  line("AGENT_ROUTE", await status("/_berth/agent/poll", { method: "POST", headers: signedLooking, body: "{}" }));
  line("HEALTH", await status("/_berth/health", {}));
  line("UNSIGNED", await status("/", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=GetCallerIdentity&Version=2011-06-15" }));
  console.log("DONE");
})();
`;

/** A scratch image: node and the libraries ldd names, at their host paths, and the bundled script. */
async function buildImage(): Promise<void> {
  const stage = join(site, "rootfs");
  await build({
    stdin: { contents: SCRIPT, resolveDir: root, loader: "js" },
    bundle: true,
    platform: "node",
    format: "cjs",
    outfile: join(stage, "app", "main.js"),
    logLevel: "silent",
  });
  const libraries = execFileSync("ldd", [process.execPath], { encoding: "utf8" })
    .split("\n")
    .map((text) => /(\/\S+) \(0x/.exec(text)?.[1])
    .filter((path): path is string => path !== undefined);
  for (const path of [process.execPath, ...libraries]) {
    mkdirSync(join(stage, dirname(path)), { recursive: true });
    copyFileSync(path, join(stage, path)); // copyFileSync follows symlinks: the real file under the linked name
  }
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      // No ld.so.cache in the image: the loader is told where the libraries are.
      [
        berth,
        ...["image", "build", "--tag", image, "--from", "scratch", "--dir", `${stage}:/`, "--push"],
        ...["--entrypoint", JSON.stringify([process.execPath, "/app/main.js"]), "--env", `LD_LIBRARY_PATH=${[...new Set(libraries.map(dirname))].join(":")}`],
      ],
      { maxBuffer: 1 << 20 },
      (error, _stdout, stderr) => (error ? reject(new Error(stderr)) : resolve()),
    ),
  );
}

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

const trust = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

const took = (what: string, since: number) => process.stderr.write(`task-aws-api: ${what} in ${Date.now() - since} ms\n`);

before(async () => {
  const start = Date.now();
  registry = await startRegistry();
  image = `${registry.address}/task-api:v1`;
  await buildImage();
  took("image built and pushed", start);
  server = await startTestServer({ agent: true, args: ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"] });
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
  await cli(["ecs", "create-cluster", "--cluster-name", CLUSTER]);
  const iam = new IAMClient(sdkConfig(server));
  await iam.send(new CreateRoleCommand({ RoleName: "api-task", AssumeRolePolicyDocument: trust }));
  // DescribeClusters on this one cluster, nothing else.
  const allow = { Effect: "Allow", Action: "ecs:DescribeClusters", Resource: `arn:aws:ecs:${server.region}:${server.accountId}:cluster/${CLUSTER}` };
  await iam.send(
    new PutRolePolicyCommand({ RoleName: "api-task", PolicyName: "one", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [allow] }) }),
  );
  await iam.send(new CreateRoleCommand({ RoleName: "api-exec", AssumeRolePolicyDocument: trust }));
  iam.destroy();
});

after(async () => {
  const listed = await cli(["ecs", "list-tasks", "--cluster", CLUSTER, "--desired-status", "RUNNING"]).catch(() => ({ taskArns: [] }));
  for (const arn of (listed.taskArns ?? []) as string[]) await cli(["ecs", "stop-task", "--cluster", CLUSTER, "--task", arn]).catch(() => undefined);
  await server?.stop();
  await server?.cleanup();
  await registry?.stop();
  rmSync(site, { recursive: true, force: true });
  assertNoLeaks();
});

/** The task's printed lines by mark, once it printed DONE and stopped. */
async function printed(taskArn: string): Promise<Map<string, unknown>> {
  const stream = `api/app/${taskArn.slice(taskArn.lastIndexOf("/") + 1)}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const events = await cli(["logs", "get-log-events", "--log-group-name", "/ecs/task-api", "--log-stream-name", stream]).catch(() => ({ events: [] }));
    const messages = ((events.events ?? []) as { message: string }[]).map((event) => event.message);
    if (messages.includes("DONE")) {
      const lines = new Map<string, unknown>();
      // Other lines (the SDK's warnings on stderr) are not the script's.
      for (const message of messages) {
        const mark = /^([A-Z_]+):(.*)$/.exec(message);
        if (mark) lines.set(mark[1]!, JSON.parse(mark[2]!));
      }
      process.stderr.write(`task-aws-api: the task printed:\n${messages.join("\n")}\n`);
      return lines;
    }
    if (Date.now() > deadline) {
      const task = ((await cli(["ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", taskArn])).tasks as { stoppedReason?: string }[])[0];
      throw new Error(`${stream} did not print DONE (${task?.stoppedReason ?? "running"}): ${messages.join(" | ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test("a task's SDK with no configuration calls the Berth API as its task role through 169.254.170.2: allowed calls succeed, others are denied, the agent's routes are refused", async () => {
  const definition = {
    family: "api",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    taskRoleArn: `arn:aws:iam::${server.accountId}:role/api-task`,
    executionRoleArn: `arn:aws:iam::${server.accountId}:role/api-exec`,
    containerDefinitions: [
      {
        name: "app",
        image,
        essential: true,
        logConfiguration: {
          logDriver: "awslogs",
          options: { "awslogs-group": "/ecs/task-api", "awslogs-region": server.region, "awslogs-stream-prefix": "api", "awslogs-create-group": "true" },
        },
      },
    ],
  };
  writeFileSync(join(site, "api.json"), JSON.stringify(definition));
  await cli(["ecs", "register-task-definition", "--cli-input-json", `file://${join(site, "api.json")}`]);
  const run = await cli([
    "ecs",
    "run-task",
    "--cluster",
    CLUSTER,
    "--task-definition",
    "api",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnetId}]}`,
  ]);
  assert.deepEqual(run.failures, []);
  const taskArn = (run.tasks as { taskArn: string }[])[0]!.taskArn;
  const ran = Date.now();
  const lines = await printed(taskArn);
  took("task ran and printed", ran);
  const taskId = taskArn.slice(taskArn.lastIndexOf("/") + 1);
  assert.deepEqual(lines.get("ENV"), { endpoint: "http://169.254.170.2", region: server.region });
  assert.equal(lines.get("IDENTITY"), `arn:aws:sts::${server.accountId}:assumed-role/api-task/${taskId}`);
  assert.deepEqual(lines.get("ALLOWED"), [CLUSTER]);
  assert.equal((lines.get("DENIED") as { error: string }).error, "AccessDeniedException");
  assert.equal((lines.get("FORGED") as { status: number }).status, 403, JSON.stringify(lines.get("FORGED")));
  assert.equal(lines.get("AGENT_ROUTE"), 403);
  assert.equal(lines.get("HEALTH"), 403);
  assert.equal(lines.get("UNSIGNED"), 405, "an unsigned call is the endpoint's own business: not relayed");
});
