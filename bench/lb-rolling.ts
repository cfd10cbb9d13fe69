// A rolling deployment behind a load balancer under constant load (issue 15's figure: 0 failed
// requests from its start to COMPLETED), through a real `berth server`, its embedded agent, real
// busybox tasks and the load balancer's HAProxy node:
//   a 4-task service (minimumHealthyPercent 100, maximumPercent 200) behind an application load
//   balancer (health checks every 5 s, healthy threshold 2, deregistration delay 5 s) takes a
//   fixed-rate open-loop load (RATE requests a second, keep-alive) while UpdateService
//   --force-new-deployment replaces every task; counted: requests, failures (no answer or not
//   200), p50/p99, from the update to the deployment COMPLETED. Baseline in the same run: the
//   same load for the same length of time on the steady service before the update.
// Root only, under the shared lock (the embedded agent makes namespaces, routers, HAProxy):
//   flock /tmp/berth-privileged.lock node --import tsx bench/lb-rolling.ts
// Env: BENCH_TASKS (4), BENCH_RATE (100). Traffic goes only to the load balancer's address inside
// the server's own default VPC (routed by the host to the router it made); everything is deleted,
// then `berth server --uninstall`.
import { execFile as execFileCb } from "node:child_process";
import { loadavg, tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EC2Client } from "@aws-sdk/client-ec2";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { defaultNetwork } from "../src/core/default-network.js";
import { startRegistry } from "../test/support/registry.js";
import { sdkConfig, startTestServer } from "../test/support/server.js";
import { webSecurityGroup } from "../test/support/web-security-group.js";
import { createWebLoadBalancer, loadBalancerAddress, pushWebImage } from "../test/support/load-balancer-fixtures.js";

const execFile = promisify(execFileCb);
const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "berth");
const TASKS = Number(process.env.BENCH_TASKS ?? 4);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const CLUSTER = "bench-lb";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const registry = await startRegistry();
const image = await pushWebImage(registry, "lbroll");
const dataDir = mkdtempSync(join(tmpdir(), "berth-bench-lb-"));
const server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384"] });
const ecs = new ECSClient(sdkConfig(server));
const ec2 = new EC2Client(sdkConfig(server));
const elb = new ElasticLoadBalancingV2Client(sdkConfig(server));
const subnets = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets.map((subnet) => subnet.subnetId);

interface Window {
  readonly requests: number;
  readonly failures: number;
  readonly failureKinds: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ms: number;
}

/** Fixed-rate open-loop load on `url` until `until` resolves: requests fired on schedule, whatever the answers. */
async function load(url: string, until: Promise<unknown>): Promise<Window> {
  const started = performance.now();
  const latencies: number[] = [];
  const kinds: Record<string, number> = {};
  const inFlight: Promise<void>[] = [];
  let done = false;
  void until.then(() => (done = true));
  for (let sent = 0; !done; sent++) {
    const due = started + (sent * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const t = performance.now();
    inFlight.push(
      fetch(url, { signal: AbortSignal.timeout(5_000) })
        .then(async (response) => {
          await response.text();
          if (response.status !== 200) kinds[`status ${response.status}`] = (kinds[`status ${response.status}`] ?? 0) + 1;
          else latencies.push(performance.now() - t);
        })
        .catch((error: Error) => {
          kinds[error.name] = (kinds[error.name] ?? 0) + 1;
        }),
    );
  }
  await Promise.all(inFlight);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 10) / 10;
  const failures = Object.values(kinds).reduce((sum, n) => sum + n, 0);
  return { requests: inFlight.length, failures, failureKinds: kinds, p50Ms: at(0.5), p99Ms: at(0.99), ms: Math.round(performance.now() - started) };
}

const service = async () => (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web"] }))).services![0]!;
async function waitCompleted(after?: string): Promise<void> {
  for (;;) {
    const current = await service();
    const primary = current.deployments?.[0];
    if (current.deployments?.length === 1 && primary?.rolloutState === "COMPLETED" && current.runningCount === TASKS && primary.id !== after) return;
    if (primary?.rolloutState === "FAILED") throw new Error(`deployment failed: ${primary.rolloutStateReason}`);
    await sleep(200);
  }
}

let loadBalancerArn: string | undefined;
let targetGroupArn: string | undefined;
const results: Record<string, unknown> = { tasks: TASKS, ratePerSecond: RATE, loadBefore: loadavg()[0] };
try {
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "web", image, essential: true, stopTimeout: 2, portMappings: [{ containerPort: 80 }] }],
    }),
  );
  const taskGroup = await webSecurityGroup(server);
  const lbGroup = await webSecurityGroup(server, { groupName: "bth-bench-lb" });
  const balancer = await createWebLoadBalancer(elb, { name: "web", subnets: subnets.slice(0, 2), securityGroups: [lbGroup], deregistrationDelaySeconds: 5 });
  loadBalancerArn = balancer.loadBalancerArn;
  targetGroupArn = balancer.targetGroupArn;
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "web",
      taskDefinition: "web",
      desiredCount: TASKS,
      launchType: "FARGATE",
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [taskGroup] } },
      loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 80 }],
    }),
  );
  await waitCompleted();
  const address = await loadBalancerAddress(ec2, loadBalancerArn);
  for (;;) {
    const healthy = ((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? []).filter(
      (entry) => entry.TargetHealth?.State === "healthy",
    );
    if (healthy.length === TASKS) break;
    await sleep(500);
  }
  const url = `http://${address}/who`;
  // The deployment first (its length sets the baseline's), then the steady service for as long.
  const before = (await service()).deployments![0]!.id;
  const updated = performance.now();
  await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "web", forceNewDeployment: true }));
  const rolling = await load(url, waitCompleted(before));
  results.deployment = { ...rolling, updateToCompletedMs: Math.round(performance.now() - updated) };
  results.steadyBaseline = await load(url, sleep(rolling.ms));
  results.loadAfter = loadavg()[0];
} catch (error) {
  console.error("bench failed:", error);
  process.exitCode = 1;
} finally {
  try {
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "web", force: true })).catch(() => undefined);
    for (;;) {
      const current = await service().catch(() => undefined);
      if (!current || current.status === "INACTIVE") break;
      await sleep(500);
    }
    if (loadBalancerArn) await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancerArn })).catch(() => undefined);
    await sleep(3_000); // the node stops with the next poll answer
    if (targetGroupArn) await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn })).catch(() => undefined);
  } catch (error) {
    console.error("cleanup failed:", error);
  }
  await server.stop();
  await registry.stop();
  await execFile(process.execPath, [berth, "server", "--uninstall", "--data-dir", dataDir]).catch((error: Error) =>
    console.error(`berth server --uninstall --data-dir ${dataDir}: ${error.message}`),
  );
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(JSON.stringify({ date: new Date().toISOString(), ...results }));
process.exit(process.exitCode ?? 0);
