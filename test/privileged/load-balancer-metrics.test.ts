// Load balancer metrics kept for CloudWatch, end to end: `berth server` with its embedded agent, a
// web task (busybox httpd) behind an application load balancer, a fixed-response rule, and N
// requests through the node; the agent samples the node's HAProxy counters on its 10-second marks
// and sends them, and the store's per-minute rows (read as other tests read a test server's store)
// count exactly what was sent: RequestCount, HTTPCode_Target_2XX_Count and _4XX_Count (a missing
// path the task answers 404), HTTPCode_ELB_4XX_Count (the rule's fixed 404), per LoadBalancer and
// per LoadBalancer + TargetGroup, with TargetResponseTime's data points one per target response.
// Health checks are not counted (as on AWS). Traffic goes only to the node's address, inside the
// namespace the server made.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { get } from "node:http";
import { EC2Client } from "@aws-sdk/client-ec2";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import {
  CreateRuleCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { defaultNetwork } from "../../src/core/default-network.js";
import { openStore } from "../../src/store/index.js";
import type { ElbMetricAggregate } from "../../src/store/index.js";
import { sdkConfig, startTestServer, testServerStore } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";
import { createWebLoadBalancer, haproxyProcesses, loadBalancerAddress } from "../support/load-balancer-fixtures.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const CLUSTER = "lbm";
let registry: TestRegistry;
let server: TestServer;
let ecs: ECSClient;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let subnets: string[];
let webGroupId: string;
const taskArns: string[] = [];
const site = mkdtempSync(join(tmpdir(), "berth-lbm-site-"));
const dataDir = mkdtempSync(join(tmpdir(), "berth-lbm-"));

const run = (args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [berth, ...args], (error, stdout, stderr) => (error ? reject(new Error(`${args.join(" ")}: ${stderr}`)) : resolve(stdout))),
  );

before(async () => {
  registry = await startRegistry();
  writeFileSync(join(site, "health"), "ok\n");
  await run([
    "image",
    "build",
    "--tag",
    `${registry.address}/lbmweb:v1`,
    "--dir",
    `${site}:/srv`,
    "--cmd",
    '["sh","-c","mkdir -p /www && cp /srv/health /www/health && echo hello > /www/hello && exec httpd -f -p 80 -h /www"]',
    "--push",
  ]);
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "4096", "--capacity-memory-mib", "8192"] });
  ecs = new ECSClient(sdkConfig(server));
  ec2 = new EC2Client(sdkConfig(server));
  elb = new ElasticLoadBalancingV2Client(sdkConfig(server));
  subnets = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets.map((subnet) => subnet.subnetId);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  webGroupId = await webSecurityGroup(server);
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "web", image: `${registry.address}/lbmweb:v1`, essential: true, stopTimeout: 2, portMappings: [{ containerPort: 80 }] }],
    }),
  );
});

after(async () => {
  for (const loadBalancer of (await elb.send(new DescribeLoadBalancersCommand({})).catch(() => undefined))?.LoadBalancers ?? [])
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }));
  await waitFor(async () => haproxyProcesses() === 0, { what: "the node to stop", timeoutMs: 20_000 }).catch(() => undefined);
  for (const arn of taskArns) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn })).catch(() => undefined);
  await waitFor(
    async () => ((await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }))).tasks ?? []).every((t) => t.lastStatus === "STOPPED"),
    {
      what: "the task to stop",
      timeoutMs: 60_000,
    },
  ).catch(() => undefined);
  await server.stop();
  await server.cleanup();
  await registry.stop();
  rmSync(site, { recursive: true, force: true });
  assertNoLeaks();
});

async function runWebTask(): Promise<string> {
  const answer = await ecs.send(
    new RunTaskCommand({
      cluster: CLUSTER,
      taskDefinition: "web",
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [webGroupId] } },
    }),
  );
  const arn = answer.tasks![0]!.taskArn!;
  taskArns.push(arn);
  let ip = "";
  await waitFor(
    async () => {
      const task = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }))).tasks![0]!;
      ip = task.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address ?? "";
      return task.lastStatus === "RUNNING";
    },
    { what: "the web task to run", timeoutMs: 60_000 },
  );
  return ip;
}

/** One request on a connection of its own (none kept alive: after a reload, none reaches the old worker). */
function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: 3_000 }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("timeout", () => request.destroy(new Error(`${url}: no answer`)));
    request.on("error", reject);
  });
}

/** Every minute's rows of a metric for one dimension set, summed (the requests may straddle a minute). */
async function total(
  metricName: string,
  loadBalancer: string,
  targetGroup?: string,
): Promise<Omit<ElbMetricAggregate, "minute" | "namespace" | "metricName"> | undefined> {
  const store = await openStore(testServerStore(server.dataDir).location);
  try {
    const rows = (await store.elbMetrics.aggregates("AWS/ApplicationELB", metricName)).filter(
      (row) => row.loadBalancer === loadBalancer && row.targetGroup === targetGroup,
    );
    if (rows.length === 0) return undefined;
    const sum = rows.reduce((a, row) => a + row.sum, 0);
    const count = rows.reduce((a, row) => a + row.count, 0);
    const [min, max] = [Math.min(...rows.map((row) => row.min)), Math.max(...rows.map((row) => row.max))];
    return { loadBalancer, ...(targetGroup ? { targetGroup } : {}), sum, count, min, max };
  } finally {
    await store.close();
  }
}

test("requests through an application load balancer are kept per minute as CloudWatch's AWS/ApplicationELB metrics", async () => {
  const ip = await runWebTask();
  const lbGroupId = await webSecurityGroup(server, { groupName: "bth-test-lbm" });
  const { loadBalancerArn, targetGroupArn, listenerArn } = await createWebLoadBalancer(elb, {
    name: "metrics",
    subnets: subnets.slice(0, 2),
    securityGroups: [lbGroupId],
    targets: [ip],
  });
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 10,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/fixed"] } }],
      Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "404", ContentType: "text/plain", MessageBody: "none here" } }],
    }),
  );
  const address = await loadBalancerAddress(ec2, loadBalancerArn);
  assertRoutedToRouter(address);
  await waitFor(
    async () =>
      (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions?.[0]?.TargetHealth?.State === "healthy",
    { what: "the target healthy", timeoutMs: 40_000, intervalMs: 250 },
  );

  const N = 25;
  for (let i = 0; i < N; i++) assert.equal(await status(`http://${address}/hello`), 200, `request ${i}`);
  for (let i = 0; i < 3; i++) assert.equal(await status(`http://${address}/missing`), 404);
  assert.equal(await status(`http://${address}/fixed`), 404);

  const lb = loadBalancerArn.slice(loadBalancerArn.indexOf(":loadbalancer/") + ":loadbalancer/".length);
  const tg = targetGroupArn.slice(targetGroupArn.indexOf(":targetgroup/") + 1);
  const count = (n: number, targetGroup?: string) => ({ loadBalancer: lb, ...(targetGroup ? { targetGroup } : {}), sum: n, count: n, min: 1, max: 1 });
  // The agent samples on 10-second marks: the last requests are in the store within about 11 s.
  await waitFor(async () => (await total("RequestCount", lb))?.sum === N + 4, { what: "RequestCount in the store", timeoutMs: 25_000, intervalMs: 500 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(await total("RequestCount", lb), count(N + 4));
  assert.deepEqual(await total("RequestCount", lb, tg), count(N + 3, tg), "the fixed response never reached the group");
  assert.deepEqual(await total("HTTPCode_Target_2XX_Count", lb), count(N));
  assert.deepEqual(await total("HTTPCode_Target_2XX_Count", lb, tg), count(N, tg));
  assert.deepEqual(await total("HTTPCode_Target_4XX_Count", lb), count(3));
  assert.deepEqual(await total("HTTPCode_Target_4XX_Count", lb, tg), count(3, tg));
  assert.deepEqual(await total("HTTPCode_ELB_4XX_Count", lb), count(1), "the rule's fixed 404 is the load balancer's own");
  assert.equal(await total("HTTPCode_ELB_5XX_Count", lb), undefined);
  assert.equal(await total("HTTPCode_Target_5XX_Count", lb), undefined);
  const time = await total("TargetResponseTime", lb, tg);
  assert.equal(time?.count, N + 3, "one data point per target response");
  assert.ok(time!.sum >= 0 && time!.max < 3, `TargetResponseTime in seconds: ${JSON.stringify(time)}`);

  // A new rule is a reload: the new worker's counters start at zero, and its requests are added, not lost or subtracted.
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 20,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/teapot"] } }],
      Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "418", ContentType: "text/plain", MessageBody: "short and stout" } }],
    }),
  );
  await waitFor(async () => (await status(`http://${address}/teapot`)) === 418, { what: "the reloaded node", timeoutMs: 20_000, intervalMs: 250 });
  for (let i = 0; i < 10; i++) assert.equal(await status(`http://${address}/hello`), 200, `request ${i} after the reload`);
  await waitFor(async () => (await total("HTTPCode_Target_2XX_Count", lb))?.sum === N + 10, {
    what: "the new worker's requests in the store",
    timeoutMs: 25_000,
    intervalMs: 500,
  });
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  assert.deepEqual(await total("HTTPCode_Target_2XX_Count", lb, tg), count(N + 10, tg), "nothing counted twice after the reload");
});
