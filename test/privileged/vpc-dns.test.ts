// The VPC resolver (src/agent/vpc-resolvers.ts, src/endpoints/vpc-dns.ts) through the front door:
// `berth server` with its embedded agent, a web task behind a load balancer, and from inside the
// task (its own namespaces: nsenter into the container, whose /etc/resolv.conf names
// 169.254.169.253) the load balancer's DNSName resolves to its nodes (one per subnet) and an HTTP request to
// <DNSName>:80 (busybox nc, which resolves the name itself) is answered through it; the VPC's base + 2 answers too; the task's own private DNS name
// resolves; an unknown name is forwarded to this file's own resolver on loopback
// (`--dns-upstream 127.0.0.1:<port>`, it answers 192.0.2.77, an address nothing contacts); garbage
// and a flood do not stop it. No traffic leaves the machine.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import dnsPacket from "dns-packet";
import { EC2Client } from "@aws-sdk/client-ec2";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
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
import { webSecurityGroup } from "../support/web-security-group.js";
import { loadBalancerNodes } from "../support/load-balancer-fixtures.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const CLUSTER = "dns";
const FORWARDED_ANSWER = "192.0.2.77";
let registry: TestRegistry;
let server: TestServer | undefined;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let ec2: EC2Client;
let resolver: dgram.Socket;
const asked: string[] = [];
const taskArns: string[] = [];
const cleanup: (() => Promise<unknown>)[] = [];
const site = mkdtempSync(join(tmpdir(), "berth-dns-site-"));
const dataDir = mkdtempSync(join(tmpdir(), "berth-dns-"));

const run = (command: string, args: string[], timeoutMs = 10_000) =>
  new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => resolve({ ok: !error, stdout, stderr })),
  );

/** This file's resolver: A records under berth-test.example → 192.0.2.77, REFUSED otherwise; every name asked kept. */
async function startResolver(): Promise<number> {
  resolver = dgram.createSocket("udp4");
  resolver.on("message", (message, remote) => {
    const query = dnsPacket.decode(message);
    const question = query.questions![0]!;
    asked.push(question.name);
    const known = question.name.toLowerCase().endsWith("berth-test.example");
    const answers = known && question.type === "A" ? [{ type: "A" as const, name: question.name, ttl: 5, data: FORWARDED_ANSWER }] : [];
    resolver.send(dnsPacket.encode({ type: "response", id: query.id, flags: known ? 0 : 5, questions: [question], answers }), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => resolver.bind(0, "127.0.0.1", resolve));
  return resolver.address().port;
}

before(async () => {
  registry = await startRegistry();
  writeFileSync(join(site, "health"), "ok\n");
  await run(
    process.execPath,
    [
      berth,
      "image",
      "build",
      "--tag",
      `${registry.address}/dnsweb:v1`,
      "--dir",
      `${site}:/srv`,
      "--cmd",
      '["sh","-c","mkdir -p /www && cp /srv/health /www/health && hostname > /www/who && exec httpd -f -p 80 -h /www"]',
      "--push",
    ],
    120_000,
  ).then((result) => assert.ok(result.ok, result.stderr));
  const port = await startResolver();
  server = await startTestServer({
    agent: true,
    dataDir,
    args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384", "--dns-upstream", `127.0.0.1:${port}`],
  });
  if (process.env.BERTH_TEST_SERVER_LOG) server.process.stderr!.on("data", (chunk: Buffer) => appendFileSync(process.env.BERTH_TEST_SERVER_LOG!, chunk));
  ecs = new ECSClient(sdkConfig(server));
  elb = new ElasticLoadBalancingV2Client(sdkConfig(server));
  ec2 = new EC2Client(sdkConfig(server));
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "dnsweb",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "web", image: `${registry.address}/dnsweb:v1`, essential: true, stopTimeout: 2, portMappings: [{ containerPort: 80 }] }],
    }),
  );
});

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  if (server) {
    for (const arn of taskArns) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn })).catch(() => undefined);
    await waitFor(
      async () =>
        ((await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }))).tasks ?? []).every((task) => task.lastStatus === "STOPPED"),
      { what: "the tasks to stop", timeoutMs: 60_000 },
    ).catch(() => undefined);
    await server.stop();
    await server.cleanup();
  }
  resolver?.close();
  await registry?.stop();
  rmSync(site, { recursive: true, force: true });
  assertNoLeaks();
});

test("from inside a task: the load balancer's name resolves to its node and serves, the task's private name resolves, other names go to the upstream, abuse changes nothing", async () => {
  const network = defaultNetwork({ accountId: server!.accountId, region: server!.region });
  const subnets = network.subnets.map((subnet) => subnet.subnetId);
  const task = (
    await ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: "dnsweb",
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: [subnets[0]!], securityGroups: [await webSecurityGroup(server!)] } },
      }),
    )
  ).tasks![0]!;
  taskArns.push(task.taskArn!);
  let taskIp = "";
  await waitFor(
    async () => {
      const described = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [task.taskArn!] }))).tasks![0]!;
      taskIp = described.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address ?? "";
      return described.lastStatus === "RUNNING";
    },
    { what: "the web task to run", timeoutMs: 60_000 },
  );
  const lbGroup = await webSecurityGroup(server!, { groupName: "bth-test-dns-lb" });
  const loadBalancer = (
    await elb.send(
      new CreateLoadBalancerCommand({ Name: "dnsweb", Type: "application", Scheme: "internal", Subnets: subnets.slice(0, 2), SecurityGroups: [lbGroup] }),
    )
  ).LoadBalancers![0]!;
  cleanup.push(() => elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! })));
  const targetGroupArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: "dnsweb",
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        VpcId: loadBalancer.VpcId!,
        HealthCheckPath: "/health",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  cleanup.push(() => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn })));
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: taskIp }] }));
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancer.LoadBalancerArn!,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
    }),
  );
  // A node per subnet: the name has both addresses.
  const nodeAddresses = (await loadBalancerNodes(ec2, loadBalancer.LoadBalancerArn!, 2)).map((node) => node.address);
  const nodeAddress = nodeAddresses[0]!;

  const netns = `bth-${task.taskArn!.slice(task.taskArn!.lastIndexOf("/") + 1).slice(0, 12)}`;
  const lookup = async (name: string, serverAddress: string) => (await run("ip", ["netns", "exec", netns, "busybox", "nslookup", name, serverAddress])).stdout;
  const answered = (output: string, address: string) => new RegExp(`Address:\\s+${address.replace(/\./g, "\\.")}\\s*$`, "m").test(output);
  const dnsName = loadBalancer.DNSName!;
  await waitFor(
    async () => {
      const output = await lookup(dnsName, "169.254.169.253");
      return nodeAddresses.every((address) => answered(output, address));
    },
    { what: `${dnsName} resolved to ${nodeAddresses.join(" and ")}`, timeoutMs: 30_000 },
  );
  // AmazonProvidedDNS at the VPC's base + 2 as well (the default VPC is 172.31.0.0/16).
  assert.ok(answered(await lookup(dnsName, "172.31.0.2"), nodeAddress));
  // The task's own private DNS name (us-east-1: ip-a-b-c-d.ec2.internal); an unknown one there is NXDOMAIN, not forwarded.
  assert.ok(answered(await lookup(`ip-${taskIp.replace(/\./g, "-")}.ec2.internal`, "169.254.169.253"), taskIp));
  assert.ok(!answered(await lookup("ip-10-99-99-99.ec2.internal", "169.254.169.253"), "10.99.99.99"));
  assert.ok(!asked.some((name) => name.includes("ec2.internal")), `asked upstream: ${asked.join(", ")}`);
  // Another name goes to this file's resolver, and its answer comes back.
  assert.ok(answered(await lookup("probe.berth-test.example", "169.254.169.253"), FORWARDED_ANSWER));
  assert.ok(asked.includes("probe.berth-test.example"), `asked upstream: ${asked.join(", ")}`);

  // From inside the container (its resolv.conf names 169.254.169.253): a request by the load balancer's name.
  const pid = (await run("pgrep", ["-f", "^httpd -f -p 80 -h /www"])).stdout.trim().split("\n")[0]!;
  assert.match(pid, /^\d+$/);
  const hostname = (await run("nsenter", ["-t", pid, "-m", "-u", "-n", "-p", "cat", "/www/who"])).stdout.trim();
  // busybox wget crashes on these machines (SIGSEGV, even to 127.0.0.1): the request goes by busybox nc,
  // which resolves the name through the container's resolv.conf all the same.
  let last = { ok: false, stdout: "", stderr: "" };
  const request = ["-t", pid, "-m", "-u", "-n", "-p", "sh", "-c", `printf 'GET /who HTTP/1.0\\r\\nHost: ${dnsName}\\r\\n\\r\\n' | timeout 5 nc ${dnsName} 80`];
  await waitFor(
    async () => {
      last = await run("nsenter", request);
      return /^HTTP\/1\.[01] 200 /.test(last.stdout) && last.stdout.trim().endsWith(hostname);
    },
    { what: "the container's request to the load balancer by name", timeoutMs: 40_000 },
  ).catch((error: Error) => assert.fail(`${error.message}: ${JSON.stringify(last)}`));

  // Over TCP as well (RFC 7766 framing), from the task's namespace.
  const overTcp = `
    const net = require("node:net"); const name = process.argv[1];
    const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const q = Buffer.concat([Buffer.from("abcd01000001000000000000", "hex"), ...labels, Buffer.from("0000010001", "hex")]);
    const s = net.connect(53, "169.254.169.253", () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])));
    let got = Buffer.alloc(0);
    s.on("data", (d) => { got = Buffer.concat([got, d]); if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) { console.log(got.subarray(got.length - 4).join(".")); s.end(); } });
    setTimeout(() => process.exit(1), 5000).unref();`;
  const tcpAnswer = await run("ip", ["netns", "exec", netns, process.execPath, "-e", overTcp, dnsName]);
  assert.ok(nodeAddresses.includes(tcpAnswer.stdout.trim()), `over TCP: ${tcpAnswer.stdout} ${tcpAnswer.stderr}`);

  // Abuse: garbage, a response, an oversized packet and a burst of 400 queries from the task; the resolver still answers.
  const abuse = `
    const dgram = require("node:dgram"); const s = dgram.createSocket("udp4");
    const q = Buffer.from("000101000001000000000000056272746878076578616d706c650000010001", "hex");
    const packets = [Buffer.alloc(3), Buffer.alloc(600, 1), Buffer.from("ffff81800001000000000000", "hex"), Buffer.from("00010000ffff000000000000", "hex")];
    for (let i = 0; i < 400; i++) packets.push(q);
    let left = packets.length; for (const p of packets) s.send(p, 53, "169.254.169.253", () => { if (--left === 0) s.close(); });`;
  const flood = await run("ip", ["netns", "exec", netns, process.execPath, "-e", abuse], 20_000);
  assert.ok(flood.ok, flood.stderr);
  await waitFor(async () => answered(await lookup(dnsName, "169.254.169.253"), nodeAddress), {
    what: "the resolver answering after the abuse",
    timeoutMs: 10_000,
  });
  // The burst was rate limited: far fewer than 400 reached the upstream.
  const forwarded = asked.filter((name) => name === "brthx.example").length;
  assert.ok(forwarded > 0 && forwarded < 200, `${forwarded} of the 400 flooded queries were forwarded`);
});
