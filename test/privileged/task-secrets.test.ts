// Secrets injected into a real task, end to end with the AWS CLI against `berth server` and its
// embedded agent: an execution role made with IAM's API (CreateRole + PutRolePolicy), a Secrets
// Manager secret read by its JSON key and a SecureString parameter, arriving as DB_PASSWORD and
// API_KEY in the container (which prints them to its awslogs log, read back with GetLogEvents);
// a task whose execution role may not read the secret stops TaskFailedToStart with the
// ResourceInitializationError and no value; the values are in no DescribeTasks answer, no file of
// the agent's state, and no line of the server's log, and the container's runtime config is 0600.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const PASSWORD = "s3cr3t-7c1e5d0a9b";
const API_KEY = "abc-key-4f2a8e6d13";
const work = mkdtempSync(join(tmpdir(), "berth-secrets-"));
const dataDir = mkdtempSync(join(tmpdir(), "berth-secrets-data-"));
let registry: TestRegistry;
/** A registry behind basic auth: images pulled from it need the container's repositoryCredentials. */
let privateRegistry: TestRegistry;
const REGISTRY_LOGIN = { username: "robot", password: "reg-pw-3e9a1c7b5d" };
let server: TestServer;
let subnetId: string;
let secretArn: string;
let image: string;
let serverLog = "";
const answers: string[] = [];

const run = (args: string[], input?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, [berth, ...args], (error, stdout, stderr) =>
      error ? reject(new Error(`${args.join(" ")}: ${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(input ?? "");
  });
async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  answers.push(result.stdout);
  return (result.json ?? {}) as Record<string, unknown>;
}
const file = (name: string, body: unknown) => {
  const path = join(work, name);
  writeFileSync(path, JSON.stringify(body));
  return `file://${path}`;
};

type Task = { taskArn: string; lastStatus: string; stopCode?: string; stoppedReason?: string; taskDefinitionArn: string };
const describeTask = async (arn: string) => ((await cli(["ecs", "describe-tasks", "--cluster", "secrets", "--tasks", arn])).tasks as Task[])[0]!;
async function waitFor(arn: string, status: string, timeoutMs = 60_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await describeTask(arn);
    if (task.lastStatus === status) return task;
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function createRole(name: string, statements: object[]): Promise<string> {
  const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] };
  const role = await cli(["iam", "create-role", "--role-name", name, "--assume-role-policy-document", file(`${name}-trust.json`, trust)]);
  await cli([
    "iam",
    "put-role-policy",
    "--role-name",
    name,
    "--policy-name",
    "exec",
    "--policy-document",
    file(`${name}-policy.json`, { Version: "2012-10-17", Statement: statements }),
  ]);
  return (role.Role as { Arn: string }).Arn;
}

async function runWith(family: string, roleArn: string, command: string): Promise<string> {
  await cli([
    "ecs",
    "register-task-definition",
    "--cli-input-json",
    file(`${family}.json`, {
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn: roleArn,
      containerDefinitions: [
        {
          name: "app",
          image,
          essential: true,
          command: ["sh", "-c", command],
          secrets: [
            { name: "DB_PASSWORD", valueFrom: `${secretArn}:password::` },
            { name: "API_KEY", valueFrom: "/prod/api-key" },
          ],
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": "/ecs/secrets", "awslogs-region": "us-east-1", "awslogs-stream-prefix": family, "awslogs-create-group": "true" },
          },
        },
      ],
    }),
  ]);
  const answer = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "secrets",
    "--task-definition",
    family,
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnetId}],assignPublicIp=DISABLED}`,
  ]);
  assert.deepEqual(answer.failures, []);
  return (answer.tasks as Task[])[0]!.taskArn;
}

/** Every file under `dir` (not following links) holding `text`. */
function filesHolding(dir: string, text: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (readFileSync(path).includes(text)) found.push(path);
  }
  return found;
}

before(async () => {
  registry = await startRegistry();
  image = `${registry.address}/busybox-env:v1`;
  await run(["image", "build", "--tag", image, "--cmd", '["sh"]', "--push"]);
  privateRegistry = await startRegistry({ htpasswd: REGISTRY_LOGIN });
  await run(
    [
      "image",
      "build",
      "--tag",
      `${privateRegistry.address}/private:v1`,
      "--cmd",
      '["sh"]',
      "--push",
      "--username",
      REGISTRY_LOGIN.username,
      "--password-stdin",
    ],
    REGISTRY_LOGIN.password,
  );
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"] });
  server.process.stderr!.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
  await cli(["ecs", "create-cluster", "--cluster-name", "secrets"]);
  secretArn = (await cli(["secretsmanager", "create-secret", "--name", "prod/db", "--secret-string", JSON.stringify({ password: PASSWORD, user: "app" })]))
    .ARN as string;
  await cli(["ssm", "put-parameter", "--name", "/prod/api-key", "--type", "SecureString", "--value", API_KEY]);
});

after(async () => {
  const listed = await cli(["ecs", "list-tasks", "--cluster", "secrets", "--desired-status", "RUNNING"]).catch(() => ({ taskArns: [] }));
  for (const arn of (listed.taskArns ?? []) as string[]) {
    await cli(["ecs", "stop-task", "--cluster", "secrets", "--task", arn]);
    await waitFor(arn, "STOPPED");
  }
  await server.stop();
  await server.cleanup();
  await registry.stop();
  await privateRegistry.stop();
  rmSync(work, { recursive: true, force: true });
  assertNoLeaks();
});

test("DB_PASSWORD from a secret's JSON key and API_KEY from a SecureString arrive in the container's environment", async () => {
  const execRole = await createRole("exec", [
    { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
    { Effect: "Allow", Action: "ssm:GetParameters", Resource: "arn:aws:ssm:us-east-1:123456789012:parameter/prod/*" },
    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "*" },
  ]);
  const arn = await runWith("granted", execRole, 'echo "DB_PASSWORD=$DB_PASSWORD"; echo "API_KEY=$API_KEY"; sleep 30');
  await waitFor(arn, "RUNNING");
  const taskId = arn.slice(arn.lastIndexOf("/") + 1);
  const stream = `granted/app/${taskId}`;
  let messages: string[] = [];
  const deadline = Date.now() + 20_000;
  while (messages.length < 2 && Date.now() < deadline) {
    const events = await cli(["logs", "get-log-events", "--log-group-name", "/ecs/secrets", "--log-stream-name", stream]).catch(() => ({ events: [] }));
    messages = ((events.events ?? []) as { message: string }[]).map((event) => event.message);
    if (messages.length < 2) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.deepEqual(messages, [`DB_PASSWORD=${PASSWORD}`, `API_KEY=${API_KEY}`]);

  // While it runs: its runtime config holds the values, readable by root only; nothing else does.
  const configs = filesHolding(join(dataDir, "agent", "runtime", "tasks", taskId, "containers"), PASSWORD);
  assert.equal(configs.length, 1, "the container's config.json holds the value");
  assert.match(configs[0]!, /config\.json$/);
  assert.equal(statSync(configs[0]!).mode & 0o777, 0o600);
  assert.deepEqual(filesHolding(join(dataDir, "agent", "tasks"), PASSWORD), [], "the agent's state holds no value");
  assert.deepEqual(filesHolding(join(dataDir, "agent", "tasks"), API_KEY), []);
  const described = JSON.stringify(await describeTask(arn));
  assert.ok(!described.includes(PASSWORD) && !described.includes(API_KEY), "DescribeTasks shows no value");

  await cli(["ecs", "stop-task", "--cluster", "secrets", "--task", arn]);
  await waitFor(arn, "STOPPED");
});

test("an execution role without the permission: the task stops with the ResourceInitializationError, no value anywhere", async () => {
  const weakRole = await createRole("weak", [
    { Effect: "Allow", Action: "ssm:GetParameters", Resource: "*" },
    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "*" },
  ]);
  const arn = await runWith("denied", weakRole, 'echo "DB_PASSWORD=$DB_PASSWORD"');
  const task = await waitFor(arn, "STOPPED");
  assert.equal(task.stopCode, "TaskFailedToStart");
  assert.equal(
    task.stoppedReason,
    `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: failed to fetch secret ${secretArn} from secrets manager: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/weak/${arn.slice(arn.lastIndexOf("/") + 1)} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secretArn} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
  );
  const events = await cli(["logs", "describe-log-streams", "--log-group-name", "/ecs/secrets", "--log-stream-name-prefix", "denied/"]);
  assert.deepEqual(events.logStreams, [], "the container never ran");
});

test("repositoryCredentials: the image of a registry behind basic auth is pulled with the login read from a secret", async () => {
  const loginArn = (await cli(["secretsmanager", "create-secret", "--name", "registry-login", "--secret-string", JSON.stringify(REGISTRY_LOGIN)]))
    .ARN as string;
  const pullRole = await createRole("puller", [
    { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: loginArn },
    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "*" },
  ]);
  const launch = async (family: string, extra: object) => {
    await cli([
      "ecs",
      "register-task-definition",
      "--cli-input-json",
      file(`${family}.json`, {
        family,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        executionRoleArn: pullRole,
        containerDefinitions: [{ name: "app", image: `${privateRegistry.address}/private:v1`, essential: true, command: ["sh", "-c", "sleep 30"], ...extra }],
      }),
    ]);
    const answer = await cli([
      "ecs",
      "run-task",
      "--cluster",
      "secrets",
      "--task-definition",
      family,
      "--launch-type",
      "FARGATE",
      "--network-configuration",
      `awsvpcConfiguration={subnets=[${subnetId}]}`,
    ]);
    return (answer.tasks as Task[])[0]!.taskArn;
  };
  const withLogin = await launch("private", { repositoryCredentials: { credentialsParameter: loginArn } });
  await waitFor(withLogin, "RUNNING");
  const described = JSON.stringify(await describeTask(withLogin));
  assert.ok(!described.includes(REGISTRY_LOGIN.password));
  await cli(["ecs", "stop-task", "--cluster", "secrets", "--task", withLogin]);
  await waitFor(withLogin, "STOPPED");
  // Without the login the registry refuses the pull: the credentials above are what let it through.
  const without = await waitFor(await launch("anonymous", {}), "STOPPED");
  assert.equal(without.stopCode, "TaskFailedToStart");
  assert.match(without.stoppedReason ?? "", /^CannotPullContainerError: /);
});

test("no value in any DescribeTasks answer, the agent's state or the server's log", () => {
  for (const value of [PASSWORD, API_KEY, REGISTRY_LOGIN.password]) {
    assert.ok(
      !answers.some((answer) => answer.includes(value) && !answer.includes('"events"')),
      "only GetLogEvents answers (the container's own output) hold it",
    );
    assert.deepEqual(filesHolding(join(dataDir, "agent", "tasks"), value), []);
    assert.ok(!serverLog.includes(value), "the server's log holds no value");
  }
});
