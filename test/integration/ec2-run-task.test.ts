// EC2 networking end to end through the front door: a real `berth server` on loopback, driven by
// Debian's AWS CLI (/usr/bin/aws), boto3 and the SDK v3, with a host registered over the agent
// protocol (HTTP, join token) whose agent is played by the test: it long-polls its desired tasks,
// reports each RUNNING with the interface its spec names (as the real agent reports what it
// attached) and STOPPED when told to stop. The example:
//
//   aws ec2 create-vpc --cidr-block 10.0.0.0/16
//   aws ec2 create-subnet --vpc-id vpc-… --cidr-block 10.0.1.0/24 --availability-zone us-east-1a
//   aws ec2 create-security-group --group-name web --description web --vpc-id vpc-…
//   aws ec2 authorize-security-group-ingress --group-id sg-web --protocol tcp --port 80 --source-group sg-lb
//   aws ecs run-task … --network-configuration 'awsvpcConfiguration={subnets=[subnet-…],securityGroups=[sg-web]}'
//   aws ec2 describe-network-interfaces --filters Name=description,Values='*ecs*'
//
// then what the task's ENI must be (DescribeTasks and DescribeNetworkInterfaces agree; an address
// of the subnet, not one of AWS's five reserved ones; released at the stop, reused only later), what
// RunTask refuses, what a running task's ENI keeps from being deleted, public addresses, and the
// network view the host's poll answers carry (woken by rule changes).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import type { Task } from "@aws-sdk/client-ecs";
import { DescribeNetworkInterfacesCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { NetworkInterface } from "@aws-sdk/client-ec2";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { privateDnsName } from "../../src/network/names.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { ControlPlaneLink, PollResponse, RegisterRequest, TaskSpec, TaskStatusReport } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

/** The address the host registers as its uplink's (data only: nothing is sent to it). */
const HOST_PUBLIC_ADDRESS = "203.0.113.7";

let server: TestServer;
let ecs: ECSClient;
let ec2Sdk: EC2Client;
let host: FakeHost;

/** The test's agent: converges on its poll answers by reporting, as an agent whose tasks start and stop at once. */
class FakeHost {
  private readonly sequences = new Map<string, number>();
  private readonly stopped = new Set<string>();
  /** The generation of the last poll answer (to long-poll for the next change). */
  generation = -1;

  constructor(
    readonly link: ControlPlaneLink,
    readonly hostId: string,
  ) {}

  private heartbeats: NodeJS.Timeout | undefined;

  /** Registers, then heartbeats as the agent does (a silent host is reaped as lost and placed on no more). */
  async register(overrides: Partial<RegisterRequest> = {}) {
    const registered = await this.link.register({
      protocolVersion,
      hostId: this.hostId,
      agentVersion: "test",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 4096, memoryMiB: 16384, taskSlots: 50, ephemeralGiB: 400 },
      machine: { cpuCount: 8, memoryMiB: 32768 },
      overcommit: false,
      subnetIds: [],
      publicAddress: HOST_PUBLIC_ADDRESS,
      ...overrides,
    });
    this.heartbeats ??= setInterval(() => void this.link.heartbeat(this.hostId).catch(() => undefined), registered.heartbeatIntervalMs);
    return registered;
  }

  close(): void {
    clearInterval(this.heartbeats);
  }

  /** One poll (at once), then the reports an agent would send for it: RUNNING for new tasks, STOPPED for stops. */
  async converge(): Promise<PollResponse> {
    const answer = await this.link.poll(this.hostId, -1);
    this.generation = answer.generation;
    const reports: TaskStatusReport[] = [];
    for (const desired of answer.tasks) {
      const arn = desired.spec.taskArn;
      if (desired.desiredStatus === "RUNNING" && !this.sequences.has(arn)) reports.push(this.report(desired.spec, "RUNNING"));
      if (desired.desiredStatus === "STOPPED" && !this.stopped.has(arn)) {
        this.stopped.add(arn);
        reports.push(this.report(desired.spec, "STOPPED"));
      }
    }
    if (reports.length > 0) await this.link.report(this.hostId, { reports });
    assert.ok(answer.network, `the server's network view passes the agent's check: ${answer.networkProblem}`);
    return { ...answer, network: answer.network };
  }

  /** What the agent reports: the interface the spec gave it (task-record.ts), ATTACHED, then DELETED with the stop. */
  private report(spec: TaskSpec, lastStatus: "RUNNING" | "STOPPED"): TaskStatusReport {
    const { eniId, privateIpv4Address, macAddress } = allocated(spec);
    const sequence = (this.sequences.get(spec.taskArn) ?? 0) + 1;
    this.sequences.set(spec.taskArn, sequence);
    const nowMs = Date.now();
    const stopped = lastStatus === "STOPPED";
    return {
      protocolVersion,
      taskArn: spec.taskArn,
      lastStatus,
      desiredStatus: stopped ? "STOPPED" : "RUNNING",
      sequence,
      health: "UNKNOWN",
      startedAtMs: nowMs,
      connectivityAtMs: nowMs,
      ...(stopped ? { stoppedAtMs: nowMs, stopCode: "UserInitiated" as const, stoppedReason: "Task stopped by user" } : {}),
      attachment: {
        type: "ElasticNetworkInterface",
        status: stopped ? "DELETED" : "ATTACHED",
        subnetId: spec.network.subnetId,
        networkInterfaceId: eniId,
        macAddress,
        privateDnsName: privateDnsName(privateIpv4Address, spec.region),
        privateIPv4Address: privateIpv4Address,
      },
      containers: [
        {
          name: "app",
          lastStatus,
          health: "UNKNOWN",
          essential: true,
          image: "busybox",
          runtimeId: `rt-${spec.taskId}`,
          ...(stopped ? { exitCode: 143 } : {}),
          networkInterfaces: [{ attachmentId: "x", privateIpv4Address }],
        },
      ],
    };
  }
}

/** The interface the control plane allocated for the task (RunTask does, in its placement transaction). */
function allocated(spec: TaskSpec): { eniId: string; privateIpv4Address: string; macAddress: string } {
  const { eniId, privateIpv4Address, macAddress } = spec.network;
  assert.ok(eniId && privateIpv4Address && macAddress, `the spec of ${spec.taskArn} names its interface`);
  return { eniId, privateIpv4Address, macAddress };
}

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(sdkConfig(server));
  ec2Sdk = new EC2Client(sdkConfig(server));
  const token = readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();
  host = new FakeHost(createHttpControlLink({ serverUrl: server.endpoint, token }), "host-a");
  await host.register();
  await cli(["ecs", "create-cluster", "--cluster-name", "demo"]);
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox", portMappings: [{ containerPort: 80 }] }],
    }),
  );
});
after(async () => {
  host.close();
  ecs.destroy();
  ec2Sdk.destroy();
  await server.stop();
  await server.cleanup();
});

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, args);
  assert.equal(result.code, 0, `aws ${args.join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

/** The CLI's error line: "An error occurred (Code) when calling the Op operation: message". */
async function cliError(args: string[]): Promise<{ code: string; message: string }> {
  const result = await awsCli(server, args);
  assert.notEqual(result.code, 0, `expected aws ${args.join(" ")} to fail`);
  const match = /An error occurred \(([^)]+)\) when calling the \w+ operation: (.*)/.exec(result.stderr);
  assert.ok(match, result.stderr);
  return { code: match[1]!, message: match[2]!.trim() };
}

/** Runs a boto3 script with `ecs` and `ec2` clients for the server; the script prints JSON on its last line. */
function boto3(script: string): Promise<unknown> {
  const client = (service: string) =>
    `boto3.client(${JSON.stringify(service)}, endpoint_url=${JSON.stringify(server.endpoint)}, region_name=${JSON.stringify(server.region)}, aws_access_key_id=${JSON.stringify(server.credentials.accessKeyId)}, aws_secret_access_key=${JSON.stringify(server.credentials.secretAccessKey)}, config=botocore.config.Config(retries={"max_attempts": 1}))`;
  const prelude = [
    "import boto3, json, botocore.exceptions, botocore.config",
    `ecs = ${client("ecs")}`,
    `ec2 = ${client("ec2")}`,
    "def error_of(call):",
    "    try:",
    "        call()",
    "        return None",
    "    except botocore.exceptions.ClientError as e:",
    "        return [e.response['Error']['Code'], e.response['Error']['Message']]",
    "",
  ].join("\n");
  return new Promise((resolve, reject) =>
    execFile(
      "/usr/bin/python3",
      ["-c", prelude + script],
      { env: { PATH: "/usr/bin:/bin", HOME: tmpdir(), AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`boto3 failed: ${stderr}`));
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "null"));
      },
    ),
  );
}

const ipNumber = (ip: string) => ip.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);

/** Whether `ip` is a host address of `cidr` that AWS lets an interface have: not the network, .1 (router), .2 (DNS), .3, nor the broadcast. */
function usableAddressOf(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split("/") as [string, string];
  const size = 2 ** (32 - Number(bits));
  const offset = ipNumber(ip) - ipNumber(base);
  return offset >= 4 && offset < size - 1;
}

const detail = (task: Task, name: string) => task.attachments?.find((a) => a.type === "ElasticNetworkInterface")?.details?.find((d) => d.name === name)?.value;

async function describeTask(taskArn: string): Promise<Task> {
  const described = (await cli(["ecs", "describe-tasks", "--cluster", "demo", "--tasks", taskArn])).tasks as Task[];
  return described[0]!;
}

async function interfaceOf(eniId: string): Promise<NetworkInterface> {
  const answer = await ec2Sdk.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
  return answer.NetworkInterfaces![0]!;
}

/** RunTask through the SDK into `subnets` and `securityGroups`; the task and, after the host converged, its ENI id. */
async function runTask(
  awsvpc: { subnets: string[]; securityGroups?: string[]; assignPublicIp?: "ENABLED" | "DISABLED" },
  via: "sdk" | "cli" = "sdk",
): Promise<{ taskArn: string; eniId: string }> {
  const shorthand = `awsvpcConfiguration={subnets=[${awsvpc.subnets.join(",")}],securityGroups=[${(awsvpc.securityGroups ?? []).join(",")}],assignPublicIp=${awsvpc.assignPublicIp ?? "DISABLED"}}`;
  const run =
    via === "cli"
      ? ((await cli([
          "ecs",
          "run-task",
          "--cluster",
          "demo",
          "--task-definition",
          "web",
          "--launch-type",
          "FARGATE",
          "--network-configuration",
          shorthand,
        ])) as {
          tasks?: Task[];
          failures?: unknown[];
        })
      : await ecs.send(
          new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: awsvpc } }),
        );
  assert.deepEqual(run.failures, []);
  const taskArn = run.tasks![0]!.taskArn!;
  const answer = await host.converge();
  const spec = answer.tasks.find((desired) => desired.spec.taskArn === taskArn)!.spec;
  return { taskArn, eniId: allocated(spec).eniId };
}

async function stopTask(taskArn: string): Promise<void> {
  await ecs.send(new StopTaskCommand({ cluster: "demo", task: taskArn }));
  await host.converge();
}

/** The ids of the resources, made by the first test. */
const made = { vpcId: "", subnetId: "", web: "", lb: "", firstTask: "", firstEni: "", firstAddress: "" };

test("the issue's example with the AWS CLI: DescribeTasks and DescribeNetworkInterfaces agree on the task's ENI", async () => {
  const vpc = (await cli(["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"])).Vpc as { VpcId: string };
  made.vpcId = vpc.VpcId;
  const subnet = (await cli(["ec2", "create-subnet", "--vpc-id", made.vpcId, "--cidr-block", "10.0.1.0/24", "--availability-zone", "us-east-1a"])).Subnet as {
    SubnetId: string;
  };
  made.subnetId = subnet.SubnetId;
  made.web = (await cli(["ec2", "create-security-group", "--group-name", "web", "--description", "web", "--vpc-id", made.vpcId])).GroupId as string;
  made.lb = (await cli(["ec2", "create-security-group", "--group-name", "lb", "--description", "lb", "--vpc-id", made.vpcId])).GroupId as string;
  const authorized = await cli([
    "ec2",
    "authorize-security-group-ingress",
    "--group-id",
    made.web,
    "--protocol",
    "tcp",
    "--port",
    "80",
    "--source-group",
    made.lb,
  ]);
  assert.equal(authorized.Return, true);

  const ran = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "demo",
    "--task-definition",
    "web",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${made.subnetId}],securityGroups=[${made.web}]}`,
  ]);
  const [task] = ran.tasks as Task[];
  assert.deepEqual(ran.failures, []);
  made.firstTask = task!.taskArn!;
  assert.equal(detail(task!, "subnetId"), made.subnetId);

  const answer = await host.converge();
  const spec = answer.tasks.find((desired) => desired.spec.taskArn === made.firstTask)!.spec;
  assert.deepEqual(
    [spec.network.vpcId, spec.network.vpcCidr, spec.network.subnetCidr, spec.network.securityGroups],
    [made.vpcId, "10.0.0.0/16", "10.0.1.0/24", [made.web]],
  );

  const running = await describeTask(made.firstTask);
  assert.equal(running.lastStatus, "RUNNING");
  const eniId = detail(running, "networkInterfaceId")!;
  const address = detail(running, "privateIPv4Address")!;
  made.firstEni = eniId;
  made.firstAddress = address;
  assert.match(eniId, /^eni-[0-9a-f]{17}$/);
  assert.ok(usableAddressOf("10.0.1.0/24", address), `${address} is a usable address of 10.0.1.0/24`);

  const found = (await cli(["ec2", "describe-network-interfaces", "--filters", "Name=description,Values=*ecs*"])).NetworkInterfaces as NetworkInterface[];
  assert.deepEqual(
    found.map((eni) => eni.NetworkInterfaceId),
    [eniId],
    "the task's ENI is the only one whose description names ECS",
  );
  const eni = found[0]!;
  assert.equal(eni.SubnetId, detail(running, "subnetId"));
  assert.equal(eni.PrivateIpAddress, address);
  assert.equal(eni.MacAddress, detail(running, "macAddress"));
  assert.match(eni.MacAddress!, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.deepEqual(eni.Groups, [{ GroupId: made.web, GroupName: "web" }]);
  assert.deepEqual([eni.VpcId, eni.AvailabilityZone, eni.Status, eni.RequesterManaged], [made.vpcId, "us-east-1a", "in-use", true]);
  const attachmentId = running.attachments!.find((a) => a.type === "ElasticNetworkInterface")!.id!;
  assert.equal(eni.Description, `arn:aws:ecs:us-east-1:123456789012:attachment/${attachmentId}`);
  assert.equal(eni.Association, undefined, "no public address without assignPublicIp ENABLED");
  assert.equal(detail(running, "privateDnsName"), privateDnsName(address, "us-east-1"));
});

test("a second task gets another address of the subnet (boto3 sees both ENIs)", async () => {
  const second = await runTask({ subnets: [made.subnetId], securityGroups: [made.web] });
  const listed = (await boto3(
    `print(json.dumps([[e["NetworkInterfaceId"], e["PrivateIpAddress"]] for e in ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [${JSON.stringify(made.subnetId)}]}])["NetworkInterfaces"]]))`,
  )) as [string, string][];
  const addresses = new Map(listed);
  assert.deepEqual([...addresses.keys()].sort(), [made.firstEni, second.eniId].sort());
  assert.notEqual(addresses.get(second.eniId), made.firstAddress);
  assert.ok(usableAddressOf("10.0.1.0/24", addresses.get(second.eniId)!));
  await stopTask(second.taskArn);
});

test("the host's poll answer names the task's interface, its groups' rules and the members of the groups they name", async () => {
  // A task in lb: a member of the group web's rule names.
  const lbTask = await runTask({ subnets: [made.subnetId], securityGroups: [made.lb] });
  const lbAddress = (await interfaceOf(lbTask.eniId)).PrivateIpAddress!;
  const { network } = await host.converge();
  const taskId = made.firstTask.slice(made.firstTask.lastIndexOf("/") + 1);
  assert.deepEqual(
    network.interfaces.find((candidate) => candidate.eniId === made.firstEni),
    { eniId: made.firstEni, taskId, vpcId: made.vpcId, privateIpv4Address: made.firstAddress, securityGroupIds: [made.web] },
  );
  const vpc = network.vpcs.find((candidate) => candidate.vpcId === made.vpcId)!;
  assert.deepEqual([vpc.cidrBlock, vpc.isDefault, vpc.subnets], ["10.0.0.0/16", false, [{ subnetId: made.subnetId, cidrBlock: "10.0.1.0/24" }]]);
  const web = network.securityGroups.find((group) => group.groupId === made.web)!;
  assert.deepEqual(web.ingress, [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrs: [], groupIds: [made.lb] }]);
  assert.deepEqual(web.egress, [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] }]);
  assert.deepEqual(network.groupMembers.find((members) => members.groupId === made.lb)?.ipv4s, [lbAddress]);
  await stopTask(lbTask.taskArn);
  const after = await host.converge();
  assert.equal(
    after.network.interfaces.find((candidate) => candidate.eniId === lbTask.eniId),
    undefined,
    "a stopped task's interface leaves the view",
  );
  assert.deepEqual(after.network.groupMembers.find((members) => members.groupId === made.lb)?.ipv4s ?? [], []);
});

test("authorize and revoke wake the host's long poll, whose answer carries the changed rules", async () => {
  const waitForChange = async (change: () => Promise<unknown>) => {
    await host.converge();
    let answered = false;
    const started = Date.now();
    const poll = host.link.poll(host.hostId, host.generation).finally(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answered, false, "the poll waits while nothing changes");
    await change();
    const answer = await poll;
    // The server's long poll waits 20 s when nothing wakes it.
    assert.ok(Date.now() - started < 10_000, `woken after ${Date.now() - started} ms`);
    return answer.network!.securityGroups.find((group) => group.groupId === made.web)!;
  };
  const widened = await waitForChange(() =>
    cli(["ec2", "authorize-security-group-ingress", "--group-id", made.web, "--protocol", "tcp", "--port", "443", "--cidr", "10.0.0.0/16"]),
  );
  assert.deepEqual(
    widened.ingress.map((rule) => [rule.protocol, rule.fromPort, rule.cidrs, rule.groupIds]),
    [
      ["tcp", 80, [], [made.lb]],
      ["tcp", 443, ["10.0.0.0/16"], []],
    ],
  );
  const narrowed = await waitForChange(() =>
    cli(["ec2", "revoke-security-group-ingress", "--group-id", made.web, "--protocol", "tcp", "--port", "443", "--cidr", "10.0.0.0/16"]),
  );
  assert.deepEqual(
    narrowed.ingress.map((rule) => [rule.protocol, rule.fromPort, rule.cidrs, rule.groupIds]),
    [["tcp", 80, [], [made.lb]]],
  );
});

test("ModifyNetworkInterfaceAttribute --groups changes what describe and the host's view show", async () => {
  await cli(["ec2", "modify-network-interface-attribute", "--network-interface-id", made.firstEni, "--groups", made.lb, made.web]);
  const moved = await interfaceOf(made.firstEni);
  assert.deepEqual(moved.Groups?.map((group) => group.GroupId).sort(), [made.lb, made.web].sort());
  const { network } = await host.converge();
  assert.deepEqual(network.interfaces.find((candidate) => candidate.eniId === made.firstEni)?.securityGroupIds.toSorted(), [made.lb, made.web].sort());
  const other = await cliError(["ec2", "modify-network-interface-attribute", "--network-interface-id", made.firstEni, "--groups", ...Array(6).fill(made.web)]);
  assert.equal(other.code, "SecurityGroupsPerInterfaceLimitExceeded");
  await cli(["ec2", "modify-network-interface-attribute", "--network-interface-id", made.firstEni, "--groups", made.web]);
  assert.deepEqual((await interfaceOf(made.firstEni)).Groups, [{ GroupId: made.web, GroupName: "web" }]);
});

test("a running task's ENI keeps its group, subnet and VPC from being deleted (DependencyViolation)", async () => {
  assert.deepEqual(await cliError(["ec2", "delete-security-group", "--group-id", made.web]), {
    code: "DependencyViolation",
    message: `resource ${made.web} has a dependent object`,
  });
  assert.deepEqual(await cliError(["ec2", "delete-subnet", "--subnet-id", made.subnetId]), {
    code: "DependencyViolation",
    message: `The subnet '${made.subnetId}' has dependencies and cannot be deleted.`,
  });
  assert.deepEqual(await cliError(["ec2", "delete-vpc", "--vpc-id", made.vpcId]), {
    code: "DependencyViolation",
    message: `The vpc '${made.vpcId}' has dependencies and cannot be deleted.`,
  });
  // The group is still there, with its rule: nothing was deleted halfway.
  const groups = (await cli(["ec2", "describe-security-groups", "--group-ids", made.web])).SecurityGroups as { IpPermissions: unknown[] }[];
  assert.equal(groups[0]!.IpPermissions.length, 1);
});

test("RunTask refuses what ECS refuses and writes nothing: foreign groups, unknown ids, two VPCs, 17 subnets, 6 groups, hostile ids", async () => {
  const interfacesBefore = (await ec2Sdk.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces!.length;
  // A second VPC with the same CIDR (VPCs may overlap) and a subnet of the same block in the same zone.
  const other = ((await cli(["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"])).Vpc as { VpcId: string }).VpcId;
  const otherSubnet = (
    (await cli(["ec2", "create-subnet", "--vpc-id", other, "--cidr-block", "10.0.1.0/24", "--availability-zone", "us-east-1a"])).Subnet as { SubnetId: string }
  ).SubnetId;
  const otherGroup = (await cli(["ec2", "create-security-group", "--group-name", "web", "--description", "web", "--vpc-id", other])).GroupId as string;
  const refuse = async (awsvpc: { subnets: string[]; securityGroups?: string[] }, message: RegExp | string) =>
    assert.rejects(
      ecs.send(new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: awsvpc } })),
      (error: Error) => {
        assert.equal(error.name, "InvalidParameterException");
        if (typeof message === "string") assert.equal(error.message, message);
        else assert.match(error.message, message);
        return true;
      },
    );
  await refuse(
    { subnets: [made.subnetId], securityGroups: [otherGroup] },
    `Security group ${otherGroup} does not appear to belong to the same VPC as the input subnets.`,
  );
  await refuse({ subnets: ["subnet-0123456789abcdef0"] }, /The subnet ID 'subnet-0123456789abcdef0' does not exist/);
  await refuse({ subnets: [made.subnetId], securityGroups: ["sg-0123456789abcdef0"] }, /The security group 'sg-0123456789abcdef0' does not exist/);
  await refuse({ subnets: [made.subnetId, otherSubnet] }, /same VPC/);
  await refuse({ subnets: Array.from({ length: 17 }, () => made.subnetId) }, "subnets can have at most 16 items.");
  await refuse({ subnets: [made.subnetId], securityGroups: Array.from({ length: 6 }, () => made.web) }, "securityGroups can have at most 5 items.");
  for (const hostile of ["sg-1'; DROP TABLE security_groups; --", 'sg-1"}\nadd rule inet berth input accept', "sg-" + "f".repeat(5000)]) {
    await refuse({ subnets: [made.subnetId], securityGroups: [hostile] }, /does not exist/);
  }
  // The same refusal through the AWS CLI, in ECS's words.
  const viaCli = await cliError([
    "ecs",
    "run-task",
    "--cluster",
    "demo",
    "--task-definition",
    "web",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${otherSubnet}],securityGroups=[${made.web}]}`,
  ]);
  assert.deepEqual(viaCli, {
    code: "InvalidParameterException",
    message: `Security group ${made.web} does not appear to belong to the same VPC as the input subnets.`,
  });
  assert.equal((await ec2Sdk.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces!.length, interfacesBefore, "no interface written");
  const { tasks } = await host.converge();
  assert.equal(tasks.filter((desired) => desired.desiredStatus === "RUNNING").length, 1, "no task placed");

  // No securityGroups: the VPC's default group. Its address may equal one of the first VPC's.
  const defaultGroup = (
    (await cli(["ec2", "describe-security-groups", "--filters", `Name=vpc-id,Values=${other}`, "Name=group-name,Values=default"])).SecurityGroups as {
      GroupId: string;
    }[]
  )[0]!.GroupId;
  const inDefault = await runTask({ subnets: [otherSubnet] });
  const eni = await interfaceOf(inDefault.eniId);
  assert.deepEqual(eni.Groups, [{ GroupId: defaultGroup, GroupName: "default" }]);
  assert.equal(eni.VpcId, other);
  assert.ok(usableAddressOf("10.0.1.0/24", eni.PrivateIpAddress!));
  await stopTask(inDefault.taskArn);
  await cli(["ec2", "delete-security-group", "--group-id", otherGroup]);
  await cli(["ec2", "delete-subnet", "--subnet-id", otherSubnet]);
  await cli(["ec2", "delete-vpc", "--vpc-id", other]);
});

test("assignPublicIp ENABLED on a host with a public address shows association.publicIp on the ENI; DISABLED does not", async () => {
  const publicTask = await runTask({ subnets: [made.subnetId], securityGroups: [made.web], assignPublicIp: "ENABLED" }, "cli");
  const privateTask = await runTask({ subnets: [made.subnetId], securityGroups: [made.web], assignPublicIp: "DISABLED" });
  const publicEni = await interfaceOf(publicTask.eniId);
  assert.equal(publicEni.Association?.PublicIp, HOST_PUBLIC_ADDRESS);
  assert.equal((await interfaceOf(privateTask.eniId)).Association, undefined);
  const byPublicIp = (await cli(["ec2", "describe-network-interfaces", "--filters", `Name=association.public-ip,Values=${HOST_PUBLIC_ADDRESS}`]))
    .NetworkInterfaces as NetworkInterface[];
  assert.deepEqual(
    byPublicIp.map((eni) => eni.NetworkInterfaceId),
    [publicTask.eniId],
  );
  await stopTask(publicTask.taskArn);
  await stopTask(privateTask.taskArn);
});

test("a host registering a hostile public address (newlines, nft text, no address, 100,000 characters) is refused", async () => {
  const token = readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();
  const intruder = new FakeHost(createHttpControlLink({ serverUrl: server.endpoint, token }), "host-evil");
  for (const publicAddress of ["203.0.113.7\nflush ruleset", "203.0.113.7; nft flush ruleset", "999.1.1.1", "a".repeat(100_000)]) {
    await assert.rejects(intruder.register({ publicAddress }), (error: Error & { status?: number }) => {
      assert.equal(error.status, 400, error.message);
      return true;
    });
  }
});

test("a stopped task's ENI is gone, and its address is not handed out again at once", async () => {
  await stopTask(made.firstTask);
  const stopped = await describeTask(made.firstTask);
  assert.equal(stopped.lastStatus, "STOPPED");
  const gone = await cliError(["ec2", "describe-network-interfaces", "--network-interface-ids", made.firstEni]);
  assert.deepEqual(gone, { code: "InvalidNetworkInterfaceID.NotFound", message: `The networkInterface ID '${made.firstEni}' does not exist` });
  const { network } = await host.converge();
  assert.equal(
    network.interfaces.find((candidate) => candidate.eniId === made.firstEni),
    undefined,
  );

  const later = await runTask({ subnets: [made.subnetId], securityGroups: [made.web] });
  const eni = await interfaceOf(later.eniId);
  assert.notEqual(later.eniId, made.firstEni);
  // Next-fit: not the address just released (other hosts may not have heard of the release yet),
  // but the next one after the last given.
  assert.notEqual(eni.PrivateIpAddress, made.firstAddress, "an address just released is not handed out again at once");
  // With the last task gone, its group, subnet and VPC can go.
  await stopTask(later.taskArn);
  await cli(["ec2", "delete-security-group", "--group-id", made.web]);
  await cli(["ec2", "delete-security-group", "--group-id", made.lb]);
  await cli(["ec2", "delete-subnet", "--subnet-id", made.subnetId]);
  await cli(["ec2", "delete-vpc", "--vpc-id", made.vpcId]);
});
