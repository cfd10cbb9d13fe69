// Launch with 10 secrets injected vs the same launch without secrets (issue 14's figure: <= 1.1x,
// same run). A real `berth server` with its embedded agent, real busybox tasks (256 CPU / 512 MiB,
// `sh -c "trap 'exit 0' TERM; sleep 3600 & wait"`) with the image cached after the first pull; the
// secrets task's container has 10 secrets (5 Secrets Manager JSON keys, 5 SecureString parameters)
// read with an execution role made by CreateRole + PutRolePolicy. Measured: RunTask to the task
// RUNNING in DescribeTasks (polled every 20 ms), alternating plain and secrets launches, each task
// stopped before the next. Medians per case and their ratio.
//   flock /tmp/berth-dist.lock npm run build
//   flock /tmp/berth-privileged.lock node --import tsx bench/secrets-launch.ts        (BENCH_ROUNDS, default 15)
// Traffic: loopback and the server's own task network only. A benchmark never fails CI.
import { execFile as execFileCb } from "node:child_process";
import { loadavg, tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import type { ContainerDefinition, Secret } from "@aws-sdk/client-ecs";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { defaultNetwork } from "../src/core/default-network.js";
import { startRegistry } from "../test/support/registry.js";
import { awsCli, sdkConfig, startTestServer } from "../test/support/server.js";

const execFile = promisify(execFileCb);
const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "berth");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CLUSTER = "bench";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const registry = await startRegistry();
  const image = `${registry.address}/bench-secrets:v1`;
  await execFile(process.execPath, [berth, "image", "build", "--tag", image, "--cmd", '["sh"]', "--push"]);
  const dataDir = mkdtempSync(join(tmpdir(), "berth-bench-secrets-"));
  const server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"] });
  const config = sdkConfig(server);
  const ecs = new ECSClient(config);
  try {
    const subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const secrets: Secret[] = [];
    const sm = new SecretsManagerClient(config);
    const ssm = new SSMClient(config);
    for (let i = 0; i < 5; i++) {
      const created = await sm.send(new CreateSecretCommand({ Name: `bench/db-${i}`, SecretString: JSON.stringify({ password: `pw-${i}`, user: "app" }) }));
      secrets.push({ name: `DB_PASSWORD_${i}`, valueFrom: `${created.ARN}:password::` });
      await ssm.send(new PutParameterCommand({ Name: `/bench/key-${i}`, Type: "SecureString", Value: `key-${i}` }));
      secrets.push({ name: `API_KEY_${i}`, valueFrom: `/bench/key-${i}` });
    }
    // The role through the AWS CLI: the SDK v3 IAM client's CreateRole got an InternalFailure from this build (reported, not this bench's subject).
    const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] };
    const iamCli = async (args: string[]) => {
      const result = await awsCli(server, ["iam", ...args]);
      if (result.code !== 0) throw new Error(`aws iam ${args[0]}: ${result.stderr}`);
      return result.json as { Role?: { Arn: string } };
    };
    const role = await iamCli(["create-role", "--role-name", "bench-exec", "--assume-role-policy-document", JSON.stringify(trust)]);
    const policy = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:*:*:secret:bench/*" },
        { Effect: "Allow", Action: "ssm:GetParameters", Resource: "arn:aws:ssm:*:*:parameter/bench/*" },
      ],
    };
    await iamCli(["put-role-policy", "--role-name", "bench-exec", "--policy-name", "secrets", "--policy-document", JSON.stringify(policy)]);

    const container = (extra: Partial<ContainerDefinition>): ContainerDefinition => ({
      name: "app",
      image,
      essential: true,
      command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
      ...extra,
    });
    for (const [family, extra] of [
      ["plain", {}],
      ["secrets", { secrets }],
    ] as const) {
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          networkMode: "awsvpc",
          requiresCompatibilities: ["FARGATE"],
          cpu: "256",
          memory: "512",
          executionRoleArn: role.Role!.Arn,
          containerDefinitions: [container(extra)],
        }),
      );
    }

    const launch = async (family: string): Promise<number> => {
      const start = performance.now();
      const answer = await ecs.send(
        new RunTaskCommand({
          cluster: CLUSTER,
          taskDefinition: family,
          launchType: "FARGATE",
          networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId], assignPublicIp: "DISABLED" } },
        }),
      );
      const arn = answer.tasks![0]!.taskArn!;
      let elapsed = 0;
      for (;;) {
        const task = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }))).tasks![0]!;
        if (task.lastStatus === "RUNNING") {
          elapsed = performance.now() - start;
          break;
        }
        if (task.lastStatus === "STOPPED") throw new Error(`${family} task stopped: ${task.stoppedReason}`);
        await sleep(20);
      }
      await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
      for (;;) {
        const task = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }))).tasks![0]!;
        if (task.lastStatus === "STOPPED") break;
        await sleep(50);
      }
      return elapsed;
    };

    // Warm-up: the first pull of the image and the VPC's router.
    await launch("plain");
    await launch("secrets");
    const times: Record<string, number[]> = { plain: [], secrets: [] };
    const loads: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ["plain", "secrets"] : ["secrets", "plain"];
      for (const family of order) times[family]!.push(await launch(family));
      loads.push(loadavg()[0]!);
    }
    const plain = median(times.plain!);
    const withSecrets = median(times.secrets!);
    console.log(`rounds ${ROUNDS}, load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
    console.log(`plain:      median ${plain.toFixed(0)} ms  (min ${Math.min(...times.plain!).toFixed(0)}, max ${Math.max(...times.plain!).toFixed(0)})`);
    console.log(
      `10 secrets: median ${withSecrets.toFixed(0)} ms  (min ${Math.min(...times.secrets!).toFixed(0)}, max ${Math.max(...times.secrets!).toFixed(0)})`,
    );
    console.log(`ratio ${(withSecrets / plain).toFixed(3)}`);
  } finally {
    ecs.destroy();
    await server.stop();
    await server.cleanup();
    await registry.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
