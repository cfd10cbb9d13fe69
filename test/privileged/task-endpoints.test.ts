// The task metadata endpoint and the container credentials endpoint at 169.254.170.2, from inside
// real containers (busybox wget) of a `berth server` with its embedded agent: the endpoint is
// served in each VPC router's namespace, so this is the whole path (the task's veth, the router's
// prerouting source check and input chain, the router's lo address, the agent's listener made in
// that namespace). Each container prints what it read to its awslogs stream; the test reads it
// back through CloudWatch Logs and checks it against DescribeTasks, then uses the credentials the
// container was served against the Berth API (STS GetCallerIdentity, an action the role's policy
// allows and one it does not). A second task of the same VPC tries the first's paths; a role that
// does not trust ecs-tasks.amazonaws.com gets no credentials. Nothing may be left afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { DeleteClusterCommand, DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { rejectsWithAwsError } from "../support/aws-error.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
let registry: TestRegistry;
let server: TestServer;
let subnetId: string;
let image: string;
const site = mkdtempSync(join(tmpdir(), "berth-endpoints-site-"));
const CLUSTER = "endpoints";

type Task = {
  taskArn: string;
  lastStatus: string;
  stoppedReason?: string;
  containers: { networkInterfaces: { privateIpv4Address: string }[] }[];
};

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}
const describe = async (arn: string) => ((await cli(["ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", arn])).tasks as Task[])[0]!;

async function waitFor(arn: string, status: string, timeoutMs = 60_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await describe(arn);
    if (task.lastStatus === status) return task;
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}: ${task.stoppedReason ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * One line per probe, `<MARK>:<everything wget printed, status line included, on one line>`: busybox
 * wget prints the server's error status ("server returned error: HTTP/1.1 404 ...") to stderr.
 */
const probe = (mark: string, url: string) => `echo "${mark}:$(wget -q -O- "${url}" 2>&1 | tr '\\n' ' ')"`;

/** A task definition whose only container runs `script` then sleeps (stopTimeout 2: sh as PID 1 ignores SIGTERM). */
async function register(family: string, script: string[], extra: Record<string, unknown> = {}): Promise<void> {
  const file = join(site, `${family}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      // awslogs on Fargate needs an execution role (the agent writes the logs as it).
      executionRoleArn: `arn:aws:iam::${server.accountId}:role/task-exec`,
      ...extra,
      containerDefinitions: [
        {
          name: "app",
          image,
          essential: true,
          stopTimeout: 2,
          command: ["sh", "-c", [...script, "echo DONE", "exec sleep 3600"].join("; ")],
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": "/ecs/endpoints", "awslogs-region": "us-east-1", "awslogs-stream-prefix": family, "awslogs-create-group": "true" },
          },
        },
      ],
    }),
  );
  await cli(["ecs", "register-task-definition", "--cli-input-json", `file://${file}`]);
}

async function runTask(family: string, subnet = subnetId): Promise<string> {
  const answer = await cli([
    "ecs",
    "run-task",
    "--cluster",
    CLUSTER,
    "--task-definition",
    family,
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnet}]}`,
  ]);
  assert.deepEqual(answer.failures, []);
  return (answer.tasks as Task[])[0]!.taskArn;
}

/** The task's printed lines, by mark, once its script has printed DONE. */
async function printed(family: string, taskArn: string): Promise<Map<string, string>> {
  const stream = `${family}/app/${taskArn.slice(taskArn.lastIndexOf("/") + 1)}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events = await cli(["logs", "get-log-events", "--log-group-name", "/ecs/endpoints", "--log-stream-name", stream]).catch(() => ({ events: [] }));
    const messages = ((events.events ?? []) as { message: string }[]).map((event) => event.message);
    if (messages.includes("DONE")) {
      const lines = new Map<string, string>();
      for (const message of messages) {
        const at = message.indexOf(":");
        if (at > 0) lines.set(message.slice(0, at), message.slice(at + 1).trim());
      }
      return lines;
    }
    if (Date.now() > deadline) throw new Error(`${stream} did not print DONE: ${messages.join(" | ")}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const json = (text: string | undefined, what: string): Record<string, unknown> => {
  try {
    return JSON.parse(text ?? "") as Record<string, unknown>;
  } catch {
    throw new Error(`${what} is not JSON: ${text}`);
  }
};

const trust = (service: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });

before(async () => {
  registry = await startRegistry();
  writeFileSync(join(site, "index.html"), "endpoints\n");
  image = `${registry.address}/endpoints:v1`;
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [berth, "image", "build", "--tag", image, "--dir", `${site}:/www`, "--push"], (error, _stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(),
    ),
  );
  server = await startTestServer({ agent: true, args: ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"] });
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
  await cli(["ecs", "create-cluster", "--cluster-name", CLUSTER]);
  const iam = new IAMClient(sdkConfig(server));
  await iam.send(new CreateRoleCommand({ RoleName: "app-task", AssumeRolePolicyDocument: trust("ecs-tasks.amazonaws.com") }));
  const allow = { Effect: "Allow", Action: "ecs:DescribeClusters", Resource: "*" };
  await iam.send(
    new PutRolePolicyCommand({ RoleName: "app-task", PolicyName: "describe", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [allow] }) }),
  );
  await iam.send(new CreateRoleCommand({ RoleName: "task-exec", AssumeRolePolicyDocument: trust("ecs-tasks.amazonaws.com") }));
  // A role only EC2 may assume: a task naming it must get no credentials.
  await iam.send(new CreateRoleCommand({ RoleName: "ec2-only", AssumeRolePolicyDocument: trust("ec2.amazonaws.com") }));
  iam.destroy();
});

after(async () => {
  // Tasks a failed test left running are stopped here (the agent keeps containers across its own restarts).
  const listed = await cli(["ecs", "list-tasks", "--cluster", CLUSTER]).catch(() => ({ taskArns: [] }));
  for (const arn of (listed.taskArns ?? []) as string[]) {
    await cli(["ecs", "stop-task", "--cluster", CLUSTER, "--task", arn]).catch(() => undefined);
    await waitFor(arn, "STOPPED", 90_000).catch(() => undefined);
  }
  await server?.stop();
  await server?.cleanup();
  await registry?.stop();
  rmSync(site, { recursive: true, force: true });
  assertNoLeaks();
});

let first: { taskArn: string; ip: string; lines: Map<string, string> };

test("a task reads its own metadata (v4 task, container, stats; v3) and its role's credentials, which work against the Berth API as the role", async () => {
  await register(
    "with-role",
    [
      'echo "V4:$ECS_CONTAINER_METADATA_URI_V4"',
      'echo "V3:$ECS_CONTAINER_METADATA_URI"',
      'echo "REL:$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"',
      // The container starts before its agent has recorded the task RUNNING (on Fargate too the
      // first answers may say PENDING): wait for it, at most 10 s.
      'i=0; until wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4/task" 2>/dev/null | grep -q \'"KnownStatus":"RUNNING"\' || [ $i -ge 50 ]; do i=$((i+1)); sleep 0.2; done',
      probe("TASK", "$ECS_CONTAINER_METADATA_URI_V4/task"),
      probe("CONTAINER", "$ECS_CONTAINER_METADATA_URI_V4"),
      probe("STATS", "$ECS_CONTAINER_METADATA_URI_V4/stats"),
      probe("TASKSTATS", "$ECS_CONTAINER_METADATA_URI_V4/task/stats"),
      probe("V3TASK", "$ECS_CONTAINER_METADATA_URI/task"),
      probe("CREDS", "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    ],
    { taskRoleArn: `arn:aws:iam::${server.accountId}:role/app-task` },
  );
  const taskArn = await runTask("with-role");
  const running = await waitFor(taskArn, "RUNNING");
  const ip = running.containers[0]!.networkInterfaces[0]!.privateIpv4Address;
  const lines = await printed("with-role", taskArn);
  first = { taskArn, ip, lines };
  assert.match(lines.get("V4") ?? "", /^http:\/\/169\.254\.170\.2\/v4\/[0-9a-f]{32}-\d{10}$/);
  assert.match(lines.get("V3") ?? "", /^http:\/\/169\.254\.170\.2\/v3\/[0-9a-f]{32}-\d{10}$/);
  assert.match(lines.get("REL") ?? "", /^\/v2\/credentials\/[0-9a-f-]{36}$/);

  const task = json(lines.get("TASK"), "v4 task");
  assert.equal(task.TaskARN, taskArn);
  assert.equal(task.Cluster, `arn:aws:ecs:${server.region}:${server.accountId}:cluster/${CLUSTER}`);
  assert.equal(task.Family, "with-role");
  assert.equal(task.Revision, "1");
  assert.equal(task.KnownStatus, "RUNNING");
  const containers = task.Containers as { Name: string; Networks: { IPv4Addresses: string[] }[] }[];
  assert.deepEqual(
    containers.map((container) => [container.Name, container.Networks.flatMap((network) => network.IPv4Addresses)]),
    [["app", [ip]]],
    "its own ENI address",
  );
  const container = json(lines.get("CONTAINER"), "v4 container");
  assert.equal(container.Name, "app");
  assert.equal(container.Image, image);
  assert.ok(json(lines.get("STATS"), "v4 stats").memory_stats, "container stats");
  assert.equal(Object.keys(json(lines.get("TASKSTATS"), "v4 task stats")).length, 1, "one container's stats");
  assert.equal(json(lines.get("V3TASK"), "v3 task").TaskARN, taskArn);

  const served = json(lines.get("CREDS"), "credentials");
  assert.deepEqual(Object.keys(served).sort(), ["AccessKeyId", "Expiration", "RoleArn", "SecretAccessKey", "Token"]);
  assert.equal(served.RoleArn, `arn:aws:iam::${server.accountId}:role/app-task`);
  assert.ok(Date.parse(served.Expiration as string) > Date.now() + 10 * 60_000, `expires later: ${String(served.Expiration)}`);
  const credentials = { accessKeyId: served.AccessKeyId as string, secretAccessKey: served.SecretAccessKey as string, sessionToken: served.Token as string };
  const config = { ...sdkConfig(server), credentials };
  const sts = new STSClient(config);
  const ecs = new ECSClient(config);
  try {
    const taskId = taskArn.slice(taskArn.lastIndexOf("/") + 1);
    assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Arn, `arn:aws:sts::${server.accountId}:assumed-role/app-task/${taskId}`);
    assert.equal((await ecs.send(new DescribeClustersCommand({ clusters: [CLUSTER] }))).clusters?.[0]?.clusterName, CLUSTER, "allowed by the role");
    await rejectsWithAwsError(
      ecs.send(new DeleteClusterCommand({ cluster: CLUSTER })),
      "AccessDeniedException",
      /assumed-role\/app-task\/.* ecs:DeleteCluster/,
    );
    // Without the session token the key is nothing.
    const tokenless = new STSClient({ ...config, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } });
    await assert.rejects(tokenless.send(new GetCallerIdentityCommand({})));
    tokenless.destroy();
  } finally {
    sts.destroy();
    ecs.destroy();
  }
});

/** The first task's paths, probed from another task: each must be refused with nothing of the first's in the answer. */
const intruderProbes = () => [
  probe("OTHERTASK", `${first.lines.get("V4")!}/task`),
  probe("OTHERCONTAINER", first.lines.get("V4")!),
  probe("OTHERV3", `${first.lines.get("V3")!}/task`),
  probe("OTHERCREDS", `http://169.254.170.2${first.lines.get("REL")!}`),
];

test("another task of the same VPC gets nothing from the first's paths; a task without a role has no credentials URI", async () => {
  assert.ok(first, "runs after the first test");
  const secret = json(first.lines.get("CREDS"), "credentials").SecretAccessKey as string;
  await register("intruder", [
    'echo "REL:${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI-unset}"',
    probe("OWN", "$ECS_CONTAINER_METADATA_URI_V4/task"),
    ...intruderProbes(),
    probe("NOCREDS", "http://169.254.170.2/v2/credentials/"),
  ]);
  const taskArn = await runTask("intruder");
  await waitFor(taskArn, "RUNNING");
  const lines = await printed("intruder", taskArn);
  assert.equal(lines.get("REL"), "unset", "no task role: no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  assert.equal(json(lines.get("OWN"), "own task").TaskARN, taskArn, "its own metadata works");
  for (const mark of ["OTHERTASK", "OTHERCONTAINER", "OTHERV3", "OTHERCREDS", "NOCREDS"]) {
    const text = lines.get(mark) ?? "";
    assert.match(text, /server returned error: HTTP\/1\.1 (400|404)/, `${mark}: ${text}`);
    assert.ok(!text.includes(first.taskArn) && !text.includes(secret), `${mark} says nothing of the first task: ${text}`);
  }
});

test("a task of another VPC with the same CIDR, at the first task's own address, gets nothing from the first's paths", async () => {
  assert.ok(first, "runs after the first test");
  const secret = json(first.lines.get("CREDS"), "credentials").SecretAccessKey as string;
  const vpcId = ((await cli(["ec2", "create-vpc", "--cidr-block", "172.31.0.0/16"])).Vpc as { VpcId: string }).VpcId;
  const subnet = (
    (await cli(["ec2", "create-subnet", "--vpc-id", vpcId, "--cidr-block", "172.31.0.0/20", "--availability-zone", "us-east-1a"])).Subnet as {
      SubnetId: string;
    }
  ).SubnetId;
  await register("twin", [probe("OWN", "$ECS_CONTAINER_METADATA_URI_V4/task"), ...intruderProbes()], {
    taskRoleArn: `arn:aws:iam::${server.accountId}:role/app-task`,
  });
  const taskArn = await runTask("twin", subnet);
  const running = await waitFor(taskArn, "RUNNING");
  assert.equal(running.containers[0]!.networkInterfaces[0]!.privateIpv4Address, first.ip, "the same address as the first task, in another VPC");
  const lines = await printed("twin", taskArn);
  const own = json(lines.get("OWN"), "own task");
  assert.equal(own.TaskARN, taskArn, "its own router answers it as itself");
  for (const mark of ["OTHERTASK", "OTHERCONTAINER", "OTHERV3", "OTHERCREDS"]) {
    const text = lines.get(mark) ?? "";
    assert.match(text, /server returned error: HTTP\/1\.1 (400|404)/, `${mark}: ${text}`);
    assert.ok(!text.includes(first.taskArn) && !text.includes(secret), `${mark} says nothing of the first task: ${text}`);
  }
  await cli(["ecs", "stop-task", "--cluster", CLUSTER, "--task", taskArn]);
  await waitFor(taskArn, "STOPPED", 90_000);
});

test("a task whose role does not trust ecs-tasks.amazonaws.com is served an error, no credentials", async () => {
  await register(
    "untrusted",
    ['echo "REL:$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"', probe("CREDS", "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")],
    {
      taskRoleArn: `arn:aws:iam::${server.accountId}:role/ec2-only`,
    },
  );
  const taskArn = await runTask("untrusted");
  await waitFor(taskArn, "RUNNING");
  const lines = await printed("untrusted", taskArn);
  assert.match(lines.get("REL") ?? "", /^\/v2\/credentials\/[0-9a-f-]{36}$/, "the URI is given: the role is named");
  const text = lines.get("CREDS") ?? "";
  assert.match(text, /server returned error: HTTP\/1\.1 5\d\d/, text);
  assert.doesNotMatch(text, /AccessKeyId|SecretAccessKey|Token/);
});
