// Application load balancers over real tasks, end to end: `berth server` with its embedded agent,
// two web tasks (busybox httpd, each serving its own hostname), and the ELBv2 API through the SDK:
// the load balancer's node (HAProxy in a namespace on the VPC router, at the address of its
// interface) spreads requests over both registered tasks, DescribeTargetHealth reports what the
// node's health checks see, a rule answers its path with a fixed response, a stopped task's target
// goes unhealthy and traffic stays on the other, and DeleteLoadBalancer removes the node: its
// process, namespace and interface. The machine reaches the load balancer as it reaches default-VPC
// tasks: through the router's host link, subject to the load balancer's security group.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent as UndiciAgent, fetch as undiciFetch } from "undici";
import { ACMClient, ImportCertificateCommand } from "@aws-sdk/client-acm";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeNetworkInterfacesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { defaultNetwork } from "../../src/core/default-network.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";
import { createWebLoadBalancer, haproxyProcesses, loadBalancerAddress, loadBalancerNodes, pushWebImage } from "../support/load-balancer-fixtures.js";

const CLUSTER = "lb";
let registry: TestRegistry;
let server: TestServer;
let ecs: ECSClient;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let subnets: string[];
let webGroupId: string;
const taskArns: string[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "berth-lb-"));

async function runWebTask(): Promise<{ arn: string; ip: string }> {
  const answer = await ecs.send(
    new RunTaskCommand({
      cluster: CLUSTER,
      taskDefinition: "web",
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [webGroupId] } },
    }),
  );
  assert.deepEqual(answer.failures, []);
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
  return { arn, ip };
}

/** A self-signed certificate for `lb.test` (and the address), imported into Berth's ACM: its ARN and PEM. */
async function importSelfSigned(address: string): Promise<{ arn: string; pem: string }> {
  const dir = mkdtempSync(join(tmpdir(), "berth-lb-cert-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=lb.test",
        "-addext",
        `subjectAltName=DNS:lb.test,IP:${address}`,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const [pem, key] = [readFileSync(join(dir, "cert.pem")), readFileSync(join(dir, "key.pem"))];
    const acm = new ACMClient(sdkConfig(server));
    const arn = (await acm.send(new ImportCertificateCommand({ Certificate: pem, PrivateKey: key }))).CertificateArn!;
    acm.destroy();
    return { arn, pem: pem.toString("utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function get(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return { status: response.status, body: (await response.text()).trim() };
  } catch {
    return undefined;
  }
}

before(async () => {
  registry = await startRegistry();
  // Each task answers /who and /b/who with its own hostname (a task's hostname is its own), /health with "ok".
  const image = await pushWebImage(registry, "lbweb");
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384"] });
  if (process.env.BERTH_TEST_SERVER_LOG) server.process.stderr!.on("data", (chunk: Buffer) => appendFileSync(process.env.BERTH_TEST_SERVER_LOG!, chunk));
  ecs = new ECSClient(sdkConfig(server));
  ec2 = new EC2Client(sdkConfig(server));
  elb = new ElasticLoadBalancingV2Client(sdkConfig(server));
  const network = defaultNetwork({ accountId: server.accountId, region: server.region });
  subnets = network.subnets.map((subnet) => subnet.subnetId);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  webGroupId = await webSecurityGroup(server);
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      // stopTimeout 2: httpd as PID 1 ignores SIGTERM, and the 30 s default would outlast the waits.
      containerDefinitions: [{ name: "web", image, essential: true, stopTimeout: 2, portMappings: [{ containerPort: 80 }] }],
    }),
  );
});

after(async () => {
  // A service a failed test left: deleted (force), and waited for until its tasks are gone.
  for (const service of ["web-svc", "web-heal"]) await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service, force: true })).catch(() => undefined);
  await waitFor(
    async () =>
      ((await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web-svc", "web-heal"] }))).services ?? []).every(
        (s) => s.status === "INACTIVE",
      ),
    { what: "the service to go", timeoutMs: 90_000 },
  ).catch(() => undefined);
  // A load balancer a failed test left: its node stops with it (nodes outlive agents by design).
  for (const loadBalancer of (await elb.send(new DescribeLoadBalancersCommand({})).catch(() => undefined))?.LoadBalancers ?? [])
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }));
  await waitFor(async () => haproxyProcesses() === 0, { what: "the nodes to stop", timeoutMs: 20_000 }).catch(() => undefined);
  for (const arn of taskArns) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn })).catch(() => undefined);
  await waitFor(
    async () => {
      const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }))).tasks ?? [];
      return tasks.every((task) => task.lastStatus === "STOPPED");
    },
    { what: "the tasks to stop", timeoutMs: 60_000 },
  ).catch(() => undefined);
  await server.stop();
  await server.cleanup();
  await registry.stop();
  assertNoLeaks();
});

test("traffic spreads over the registered tasks, health is reported, a rule answers its path, an unhealthy target is taken out, and delete removes the node", async () => {
  const [first, second] = [await runWebTask(), await runWebTask()];
  const lbGroupId = await webSecurityGroup(server, { groupName: "bth-test-lb", ports: [80, 443] });
  const loadBalancer = (
    await elb.send(new CreateLoadBalancerCommand({ Name: "web", Type: "application", Subnets: subnets.slice(0, 2), SecurityGroups: [lbGroupId] }))
  ).LoadBalancers![0]!;
  const vpcId = loadBalancer.VpcId!;
  const targetGroupArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: "web",
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        VpcId: vpcId,
        HealthCheckPath: "/health",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: "200" },
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: first.ip }, { Id: second.ip }] }));
  const listenerArn = (
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancer.LoadBalancerArn!,
        Protocol: "HTTP",
        Port: 80,
        DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
      }),
    )
  ).Listeners![0]!.ListenerArn!;
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 10,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/status/*"] } }],
      Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", ContentType: "text/plain", MessageBody: "from the rule" } }],
    }),
  );

  const address = await loadBalancerAddress(ec2, loadBalancer.LoadBalancerArn!);
  assertRoutedToRouter(address);
  const health = async () =>
    new Map(
      ((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? []).map((entry) => [
        entry.Target!.Id!,
        entry.TargetHealth!.State!,
      ]),
    );
  await waitFor(async () => [...(await health()).values()].every((state) => state === "healthy") && (await health()).size === 2, {
    what: "both targets healthy in DescribeTargetHealth",
    timeoutMs: 40_000,
  });

  // An address in each of its subnets: a node per subnet, each serving the listener.
  const nodes = await loadBalancerNodes(ec2, loadBalancer.LoadBalancerArn!, 2);
  assert.deepEqual(nodes.map((node) => node.subnetId).sort(), subnets.slice(0, 2).sort());
  for (const node of nodes) {
    assertRoutedToRouter(node.address);
    await waitFor(async () => (await get(`http://${node.address}/who`))?.status === 200, { what: `the node at ${node.address} to serve`, timeoutMs: 20_000 });
  }

  // Spread: both tasks answer within a few dozen requests; none fails.
  const seen = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const answer = await get(`http://${address}/who`);
    assert.equal(answer?.status, 200, `request ${i} through the load balancer`);
    seen.set(answer!.body, (seen.get(answer!.body) ?? 0) + 1);
  }
  assert.equal(seen.size, 2, `both tasks served: ${JSON.stringify([...seen])}`);
  assert.deepEqual(await get(`http://${address}/status/x`), { status: 200, body: "from the rule" });

  // A path rule to a group of the second task only, and a weighted forward (1:3) over a group of each.
  const onlyGroup = async (name: string, ip: string) => {
    const arn = (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: "HTTP",
          Port: 80,
          TargetType: "ip",
          VpcId: vpcId,
          HealthCheckPath: "/health",
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          HealthyThresholdCount: 2,
        }),
      )
    ).TargetGroups![0]!.TargetGroupArn!;
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: ip }] }));
    return arn;
  };
  const [groupA, groupB] = [await onlyGroup("only-first", first.ip), await onlyGroup("only-second", second.ip)];
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 20,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/b/*"] } }],
      Actions: [{ Type: "forward", TargetGroupArn: groupB }],
    }),
  );
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 30,
      Conditions: [{ Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X-Split", Values: ["yes"] } }],
      Actions: [
        {
          Type: "forward",
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: groupA, Weight: 1 },
              { TargetGroupArn: groupB, Weight: 3 },
            ],
          },
        },
      ],
    }),
  );
  const groupHealthy = async (arn: string) =>
    ((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).TargetHealthDescriptions ?? []).every(
      (entry) => entry.TargetHealth?.State === "healthy",
    );
  await waitFor(async () => (await groupHealthy(groupA)) && (await groupHealthy(groupB)), { what: "the single-task groups healthy", timeoutMs: 40_000 });
  const secondName = (await get(`http://${address}/b/who`))?.body;
  for (let i = 0; i < 10; i++) assert.equal((await get(`http://${address}/b/who`))?.body, secondName, "the path rule sends /b/* to the second task's group");
  const split = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const answer = await fetch(`http://${address}/who`, { headers: { "x-split": "yes" }, signal: AbortSignal.timeout(3_000) });
    const who = (await answer.text()).trim();
    split.set(who, (split.get(who) ?? 0) + 1);
  }
  const toSecond = split.get(secondName!) ?? 0;
  assert.ok(toSecond >= 55 && toSecond <= 95, `a 1:3 weighted forward sent ${toSecond} of 100 requests to the weight-3 group: ${JSON.stringify([...split])}`);

  // An HTTPS listener on a certificate imported into ACM: TLS ends at the node, which forwards HTTP.
  const certificateArn = await importSelfSigned(address);
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancer.LoadBalancerArn!,
      Protocol: "HTTPS",
      Port: 443,
      Certificates: [{ CertificateArn: certificateArn.arn }],
      SslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
    }),
  );
  const tls = new UndiciAgent({ connect: { ca: certificateArn.pem, servername: "lb.test" } });
  let secure: string | undefined;
  await waitFor(
    async () => {
      const answer = await undiciFetch(`https://${address}/who`, { dispatcher: tls, signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
      secure = answer?.status === 200 ? (await answer.text()).trim() : undefined;
      return secure !== undefined;
    },
    { what: "the HTTPS listener to answer", timeoutMs: 20_000 },
  );
  assert.ok([...seen.keys()].includes(secure!), "a task answered over HTTPS");
  await tls.close();

  // A stopped task: its target goes unhealthy, and the other one serves everything.
  await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: first.arn }));
  let states = new Map<string, string>();
  await waitFor(
    async () => {
      states = await health();
      return states.get(first.ip) === "unhealthy";
    },
    { what: "the stopped task's target to go unhealthy", timeoutMs: 40_000 },
  ).catch((error: Error) => assert.fail(`${error.message}: ${JSON.stringify([...states])}`));
  const after = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const answer = await get(`http://${address}/who`);
    assert.equal(answer?.status, 200);
    after.add(answer!.body);
  }
  assert.equal(after.size, 1, "only the running task serves");
  assert.equal((await health()).get(second.ip), "healthy");

  // Delete: the node's process, namespace and interface go.
  assert.ok(haproxyProcesses() > 0);
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }));
  await waitFor(async () => haproxyProcesses() === 0, { what: "the node's HAProxy to stop", timeoutMs: 20_000 });
  await waitFor(
    async () =>
      ((await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: "requester-id", Values: ["amazon-elb"] }] }))).NetworkInterfaces ?? [])
        .length === 0,
    { what: "the node's interface to be released", timeoutMs: 20_000 },
  );
  await waitFor(async () => !execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes("bth-elb"), {
    what: "the node's namespace to go",
    timeoutMs: 20_000,
  });
  for (const arn of [targetGroupArn, groupA, groupB]) await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
});

test("a service behind a target group: its tasks are registered, a rolling deployment under load fails no request, and deletion deregisters them", async () => {
  const lbGroupId = await webSecurityGroup(server, { groupName: "bth-test-lb" });
  const { loadBalancerArn, targetGroupArn } = await createWebLoadBalancer(elb, {
    name: "svc",
    subnets: subnets.slice(0, 2),
    securityGroups: [lbGroupId],
    deregistrationDelaySeconds: 5,
  });
  const address = await loadBalancerAddress(ec2, loadBalancerArn);
  assertRoutedToRouter(address);
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "web-svc",
      taskDefinition: "web",
      desiredCount: 2,
      launchType: "FARGATE",
      healthCheckGracePeriodSeconds: 60,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [webGroupId] } },
      loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 80 }],
    }),
  );
  const service = async () => (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web-svc"] }))).services![0]!;
  const healthyTargets = async () =>
    ((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? []).filter(
      (entry) => entry.TargetHealth?.State === "healthy",
    ).length;
  const completed = async () => {
    const current = await service();
    return current.deployments?.length === 1 && current.deployments[0]!.rolloutState === "COMPLETED" && current.runningCount === 2;
  };
  await waitFor(async () => (await completed()) && (await healthyTargets()) === 2, {
    what: "the service's first deployment, its 2 targets healthy",
    timeoutMs: 90_000,
  });
  assert.ok(
    (await service()).events!.some(
      (event) => event.message!.includes(`registered 2 targets in (target-group ${targetGroupArn})`) || event.message!.includes("registered 1 targets"),
    ),
    "the registration is among the service's events",
  );
  assert.equal((await get(`http://${address}/health`))?.status, 200);

  // A rolling deployment under constant load: no request may fail from its start to COMPLETED.
  let done = false;
  let requests = 0;
  const failures: string[] = [];
  const load = async () => {
    while (!done) {
      const answer = await get(`http://${address}/who`);
      requests++;
      if (answer?.status !== 200) failures.push(answer ? `status ${answer.status}` : "no answer");
    }
  };
  const clients = [load(), load()];
  const before = (await service()).deployments![0]!.id;
  await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "web-svc", forceNewDeployment: true }));
  await waitFor(async () => (await service()).deployments![0]!.id !== before && (await completed()), {
    what: "the new deployment to complete",
    timeoutMs: 120_000,
  });
  done = true;
  await Promise.all(clients);
  assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed during the deployment`);
  assert.ok(requests > 20, `the load ran (${requests} requests)`);
  assert.ok((await service()).events!.some((event) => event.message!.includes(`deregistered 1 targets in (target-group ${targetGroupArn})`)));

  await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "web-svc", desiredCount: 0 }));
  await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "web-svc" }));
  await waitFor(async () => (await service()).status === "INACTIVE", { what: "the service to go", timeoutMs: 90_000 });
  const left = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? [];
  assert.ok(
    left.every((entry) => entry.TargetHealth?.State === "draining"),
    `no target of the deleted service is still in service: ${JSON.stringify(left.map((e) => e.TargetHealth))}`,
  );
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancerArn }));
  await waitFor(async () => haproxyProcesses() === 0, { what: "the node's HAProxy to stop", timeoutMs: 20_000 });
});

test("a service's task whose target turns unhealthy is taken out and replaced", async () => {
  const lbGroupId = await webSecurityGroup(server, { groupName: "bth-test-lb" });
  const { loadBalancerArn, targetGroupArn } = await createWebLoadBalancer(elb, {
    name: "heal",
    subnets: subnets.slice(0, 2),
    securityGroups: [lbGroupId],
    deregistrationDelaySeconds: 0,
  });
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "web-heal",
      taskDefinition: "web",
      desiredCount: 1,
      launchType: "FARGATE",
      healthCheckGracePeriodSeconds: 0,
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [webGroupId] } },
      loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 80 }],
    }),
  );
  const targets = async () =>
    ((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? []).map((entry) => ({
      ip: entry.Target!.Id!,
      state: entry.TargetHealth!.State!,
    }));
  let sick = "";
  await waitFor(
    async () => {
      const healthy = (await targets()).filter((target) => target.state === "healthy");
      sick = healthy[0]?.ip ?? "";
      return healthy.length === 1;
    },
    { what: "the service's target healthy", timeoutMs: 90_000 },
  );
  const taskArn = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: "web-heal" }))).taskArns![0]!;
  // Its /health goes away inside the container: the node's checks fail from then on.
  const netns = `bth-${taskArn.slice(taskArn.lastIndexOf("/") + 1).slice(0, 12)}`;
  const pids = execFileSync("ip", ["netns", "pids", netns], { encoding: "utf8" }).trim().split("\n");
  const httpd = pids.find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("httpd"))!;
  execFileSync("nsenter", ["-t", httpd, "-m", "rm", "/www/health"]);
  await waitFor(async () => (await targets()).some((target) => target.ip === sick && target.state === "unhealthy"), {
    what: "the target unhealthy",
    timeoutMs: 40_000,
  });
  let stopped: { stoppedReason?: string | undefined } = {};
  await waitFor(
    async () => {
      stopped = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks![0]!;
      return (stopped.stoppedReason ?? "") !== "";
    },
    { what: "the unhealthy task to be stopped", timeoutMs: 60_000 },
  );
  assert.equal(stopped.stoppedReason, `Task failed ELB health checks in (target-group ${targetGroupArn})`);
  await waitFor(async () => (await targets()).some((target) => target.ip !== sick && target.state === "healthy"), {
    what: "a replacement task's target healthy",
    timeoutMs: 90_000,
  });
  await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "web-heal", force: true }));
  await waitFor(
    async () =>
      ((await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web-heal"] }))).services ?? []).every((s) => s.status === "INACTIVE"),
    { what: "the service to go", timeoutMs: 90_000 },
  );
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancerArn }));
  await waitFor(async () => haproxyProcesses() === 0, { what: "the nodes' HAProxy to stop", timeoutMs: 20_000 });
  await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn }));
});
