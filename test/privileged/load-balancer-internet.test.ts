// Internet-facing load balancers on the host's public address (src/network/published-ports.ts,
// src/control/load-balancer-publishing.ts): `berth server` with its embedded agent and `--uplink`
// on a veth into an "internet" namespace this file creates (198.18.213.0/30: the host end 198.18.213.1 is
// the host's "public" address, the client 198.18.213.2). A client there fetches
// http://198.18.213.1/ and is answered by the task behind an internet-facing load balancer, which
// DescribeLoadBalancers reports at that address; an internal load balancer is not reachable that
// way; the load balancer's security group judges the client's own address (a rule removed: refused;
// a rule for the client's /32: served again). No traffic leaves the namespaces this file creates.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";
import { webSecurityGroup } from "../support/web-security-group.js";
import { haproxyProcesses } from "../support/load-balancer-fixtures.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const CLUSTER = "lbi";
const INTERNET = "bthtlbi-inet";
// The uplink's address is the host namespace's own for the file's life, so it must shadow nothing
// the machine talks to: not TEST-NET-1/3 (these machines' gateway is 192.0.2.1, their npm registry
// answers in 203.0.113.0/24) but a /30 of the benchmarking range 198.18.0.0/15, checked unused
// (no address, no route, not the resolver) before anything is made.
const UPLINK = { link: "bthlbiup", address: "198.18.213.1", client: "198.18.213.2", net: "198.18.213." };
let registry: TestRegistry;
let server: TestServer | undefined;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let subnets: string[];
const taskArns: string[] = [];
const site = mkdtempSync(join(tmpdir(), "berth-lbi-site-"));
const dataDir = mkdtempSync(join(tmpdir(), "berth-lbi-"));

const run = (args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [berth, ...args], (error, stdout, stderr) => (error ? reject(new Error(`${args.join(" ")}: ${stderr}`)) : resolve(stdout))),
  );
const sh = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** What the client in the internet namespace gets from `url` (curl), or undefined. */
function fromInternet(url: string): Promise<string | undefined> {
  return new Promise((resolve) =>
    execFile("ip", ["netns", "exec", INTERNET, "curl", "--noproxy", "*", "-sf", "-m", "3", url], (error, stdout) => resolve(error ? undefined : stdout.trim())),
  );
}

async function ec2(args: string[]): Promise<void> {
  const result = await awsCli(server!, ["ec2", ...args]);
  if (result.code !== 0) throw new Error(`aws ec2 ${args[0]}: ${result.stderr}`);
}

before(async () => {
  // The internet's addresses must be nobody's on this machine: no address or connected route in them.
  const used = sh("ip", ["-4", "-o", "addr", "show"]) + sh("ip", ["-4", "route", "show", "table", "all"]) + readFileSync("/etc/resolv.conf", "utf8");
  assert.ok(!used.includes(UPLINK.net), `${UPLINK.net}0/30 is in use on this machine: refusing to take it\n${used}`);
  // The internet: a namespace behind the host's uplink veth; its default route leads back to the host.
  sh("ip", ["netns", "add", INTERNET]);
  sh("ip", ["link", "add", UPLINK.link, "type", "veth", "peer", "name", "eth0", "netns", INTERNET]);
  sh("ip", ["addr", "add", `${UPLINK.address}/30`, "dev", UPLINK.link]);
  sh("ip", ["link", "set", UPLINK.link, "up"]);
  execFileSync("ip", ["-n", INTERNET, "-batch", "-"], {
    input: `link set lo up\naddr add ${UPLINK.client}/30 dev eth0\nlink set eth0 up\nroute add default via ${UPLINK.address}\n`,
  });
  registry = await startRegistry();
  writeFileSync(join(site, "health"), "ok\n");
  await run([
    "image",
    "build",
    "--tag",
    `${registry.address}/lbiweb:v1`,
    "--dir",
    `${site}:/srv`,
    "--cmd",
    '["sh","-c","mkdir -p /www && cp /srv/health /www/health && hostname > /www/who && exec httpd -f -p 80 -h /www"]',
    "--push",
  ]);
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384", "--uplink", UPLINK.link] });
  if (process.env.BERTH_TEST_SERVER_LOG) server.process.stderr!.on("data", (chunk: Buffer) => appendFileSync(process.env.BERTH_TEST_SERVER_LOG!, chunk));
  ecs = new ECSClient(sdkConfig(server));
  elb = new ElasticLoadBalancingV2Client(sdkConfig(server));
  subnets = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets.map((subnet) => subnet.subnetId);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "lbiweb",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "web", image: `${registry.address}/lbiweb:v1`, essential: true, stopTimeout: 2, portMappings: [{ containerPort: 80 }] }],
    }),
  );
});

after(async () => {
  if (server) {
    for (const loadBalancer of (await elb.send(new DescribeLoadBalancersCommand({})).catch(() => undefined))?.LoadBalancers ?? [])
      await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }));
    for (const group of (await elb.send(new DescribeTargetGroupsCommand({})).catch(() => undefined))?.TargetGroups ?? [])
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: group.TargetGroupArn! })).catch(() => undefined);
    await waitFor(async () => haproxyProcesses() === 0, { what: "the nodes to stop", timeoutMs: 20_000 }).catch(() => undefined);
    for (const arn of taskArns) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn })).catch(() => undefined);
    await waitFor(
      async () =>
        ((await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }))).tasks ?? []).every((task) => task.lastStatus === "STOPPED"),
      { what: "the tasks to stop", timeoutMs: 60_000 },
    ).catch(() => undefined);
    await server.stop();
    await server.cleanup();
  }
  await registry?.stop();
  execFileSync("ip", ["netns", "del", INTERNET], { stdio: "ignore" });
  rmSync(site, { recursive: true, force: true });
  assertNoLeaks();
});

async function loadBalancerWith(name: string, scheme: "internet-facing" | "internal", port: number, groupId: string, targetIp: string): Promise<string> {
  const arn = (
    await elb.send(new CreateLoadBalancerCommand({ Name: name, Type: "application", Scheme: scheme, Subnets: subnets.slice(0, 2), SecurityGroups: [groupId] }))
  ).LoadBalancers![0]!.LoadBalancerArn!;
  const targetGroupArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: name,
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        VpcId: await defaultVpc(),
        HealthCheckPath: "/health",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: targetIp }] }));
  await elb.send(
    new CreateListenerCommand({ LoadBalancerArn: arn, Protocol: "HTTP", Port: port, DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }] }),
  );
  return arn;
}

const defaultVpc = async () => defaultNetwork({ accountId: server!.accountId, region: server!.region }).subnets[0]!.vpcId;

const addressesOf = async (arn: string) =>
  ((await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0]!.AvailabilityZones ?? []).flatMap((zone) =>
    (zone.LoadBalancerAddresses ?? []).map((address) => address.IpAddress),
  );

test("an internet-facing load balancer answers on the host's address, an internal one does not, and its security group judges the client's own address", async () => {
  const task = (
    await ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: "lbiweb",
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [await webSecurityGroup(server!)] } },
      }),
    )
  ).tasks![0]!;
  taskArns.push(task.taskArn!);
  let taskIp = "";
  let hostname = "";
  await waitFor(
    async () => {
      const described = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [task.taskArn!] }))).tasks![0]!;
      taskIp = described.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address ?? "";
      return described.lastStatus === "RUNNING";
    },
    { what: "the web task to run", timeoutMs: 60_000 },
  );
  const publicGroup = await webSecurityGroup(server!, { groupName: "bth-test-lbi-public" });
  const internalGroup = await webSecurityGroup(server!, { groupName: "bth-test-lbi-internal", ports: [8080] });
  const publicArn = await loadBalancerWith("lbi-public", "internet-facing", 80, publicGroup, taskIp);
  const internalArn = await loadBalancerWith("lbi-internal", "internal", 8080, internalGroup, taskIp);

  // DescribeLoadBalancers tells where it is published; the internal one has no such address.
  await waitFor(async () => (await addressesOf(publicArn)).includes(UPLINK.address), {
    what: "the published address in DescribeLoadBalancers",
    timeoutMs: 20_000,
  });
  assert.deepEqual(await addressesOf(internalArn), []);

  await waitFor(
    async () => {
      hostname = (await fromInternet(`http://${UPLINK.address}/who`)) ?? "";
      return hostname !== "";
    },
    { what: "the task's page through the host's public address", timeoutMs: 40_000 },
  );
  assert.match(hostname, /\S/);
  assert.equal(await fromInternet(`http://${UPLINK.address}/health`), "ok");
  // The internal load balancer's port is not published, nor anything else of the host.
  assert.equal(await fromInternet(`http://${UPLINK.address}:8080/who`), undefined);
  assert.equal(await fromInternet(`http://${UPLINK.address}:81/who`), undefined);

  // Its security group: the 0.0.0.0/0 rule removed, the client is refused; its own /32 let in, served.
  await ec2(["revoke-security-group-ingress", "--group-id", publicGroup, "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0"]);
  await waitFor(async () => (await fromInternet(`http://${UPLINK.address}/who`)) === undefined, { what: "the client refused", timeoutMs: 20_000 });
  await ec2(["authorize-security-group-ingress", "--group-id", publicGroup, "--protocol", "tcp", "--port", "80", "--cidr", `${UPLINK.client}/32`]);
  await waitFor(async () => (await fromInternet(`http://${UPLINK.address}/who`)) === hostname, {
    what: "the client let in by its own address",
    timeoutMs: 20_000,
  });

  // Deleted: no longer published.
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: publicArn }));
  await waitFor(async () => (await fromInternet(`http://${UPLINK.address}/who`)) === undefined, { what: "the port unpublished", timeoutMs: 20_000 });
});
