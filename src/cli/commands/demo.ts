// `berth demo`: the quick start. Against a running `berth server` it does what a Fargate user's
// first day does — build a small web image, push it to the built-in registry (ECR), create a
// cluster, register AWS's `sample-fargate-app` task definition with that image, run it, wait for
// RUNNING, fetch the page from the task's private IP — printing before each step the `aws` (or
// `berth`) command that does the same by hand. The task is left running unless --cleanup. With
// --service the app runs as a 2-task ECS service instead (demo-service.ts).
import { clientTls } from "../client-tls.js";
import type { ClientTls } from "../client-tls.js";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import type { ParseArgsConfig } from "node:util";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import type { RegisterTaskDefinitionCommandInput, Task } from "@aws-sdk/client-ecs";
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import type { Repository } from "@aws-sdk/client-ecr";
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { buildImage, pushImage } from "../../images/index.js";
import { describeDefaultNetwork } from "../default-network-client.js";
import type { DescribedNetwork } from "../default-network-client.js";
import { DEMO_COMMAND, DEMO_PAGE_TITLE, writeDemoSite } from "../demo-site.js";
import { parseCommandLine } from "../command-line.js";
import { DEMO_SERVICE_TASKS, deleteDemoService, runDemoService } from "./demo-service.js";
import { demoElbClient, demoLoadBalancerAddress, deleteDemoLoadBalancer, ensureDemoLoadBalancer } from "./demo-load-balancer.js";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";

const USAGE = `usage: berth demo [--endpoint URL] [--data-dir DIR] [--ca-bundle FILE] [--region REGION] [--service] [--cleanup] [--timeout-seconds N]

Builds a small web image, pushes it to the server's built-in registry, registers AWS's
sample-fargate-app task definition with it, runs it and fetches its page, printing the equivalent
aws command of every step.

  --endpoint         the Berth server (default http://127.0.0.1:8470)
  --data-dir         the server's data dir, for its credentials file when no AWS credentials are
                     set in the environment, and its ca.pem for an https:// endpoint (default /var/lib/berth)
  --ca-bundle        CA certificate(s) for an https:// endpoint (default $AWS_CA_BUNDLE, else
                     <data-dir>/ca.pem when present, else the system's roots)
  --region           the server's region (default $AWS_REGION or us-east-1)
  --service          run the app as a 2-task ECS service (create-service, or update-service on a
                     second run) instead of one task, and fetch the page from each of its tasks
  --cleanup          stop the task (delete the service) at the end (default: leave it running)
  --timeout-seconds  how long to wait for RUNNING (default 180)`;

const REPOSITORY = "sample-fargate-app";
const CLUSTER = "berth-demo";
const DEMO_GROUP = "berth-demo-web";
const FAMILY = "sample-fargate-app";
const CONTAINER = "sample-app";

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

class DemoError extends Error {}

/** The usual AWS sources when the environment names some; else the server's own credentials file. */
function credentialsFor(dataDir: string): { credentials: Credentials | ReturnType<typeof defaultProvider>; file?: string } {
  const fromEnvironment =
    process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined || process.env.AWS_SHARED_CREDENTIALS_FILE !== undefined;
  const file = join(dataDir, "credentials");
  if (!fromEnvironment) {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      text = undefined; // unreadable (not root) or absent: fall back to the default chain
    }
    const section = text ? /\[berth\]([^[]*)/.exec(text)?.[1] : undefined;
    const id = section ? /aws_access_key_id\s*=\s*(\S+)/.exec(section)?.[1] : undefined;
    const secret = section ? /aws_secret_access_key\s*=\s*(\S+)/.exec(section)?.[1] : undefined;
    if (id && secret) return { credentials: { accessKeyId: id, secretAccessKey: secret }, file };
  }
  return { credentials: defaultProvider() };
}

/** `bin/berth` as the user would type it from here. */
function selfCommand(): string {
  const script = process.argv[1];
  if (!script) return "berth";
  const relativePath = relative(process.cwd(), script);
  return relativePath && !relativePath.startsWith("..") && !isAbsolute(relativePath) ? relativePath : script;
}

const quote = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The page as text: tags dropped, table rows as "name: value". */
function pageText(html: string): string {
  return html
    .replace(/<(style|title)[^>]*>[\s\S]*?<\/\1>/g, "")
    .replace(/<\/th>\s*<td>/g, ": ")
    .replace(/<[^>]+>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join("\n");
}

const OPTIONS = {
  endpoint: { type: "string", default: "http://127.0.0.1:8470" },
  "data-dir": { type: "string", default: "/var/lib/berth" },
  "ca-bundle": { type: "string" },
  region: { type: "string" },
  cleanup: { type: "boolean", default: false },
  service: { type: "boolean", default: false },
  "timeout-seconds": { type: "string", default: "180" },
  help: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

/** What every step uses: the clients, the printer of steps, and how to spell the commands shown. */
class DemoSession {
  stepNumber = 0;
  readonly berth = selfCommand();
  readonly ecr: ECRClient;
  readonly ecs: ECSClient;
  readonly ec2: EC2Client;
  readonly elb: ElasticLoadBalancingV2Client;

  constructor(
    readonly endpoint: string,
    readonly region: string,
    readonly tls: ClientTls,
    readonly credentials: Credentials | ReturnType<typeof defaultProvider>,
  ) {
    const config = { endpoint, region, credentials, maxAttempts: 2, ...(tls.requestHandler ? { requestHandler: tls.requestHandler } : {}) };
    this.ecr = new ECRClient(config);
    this.ecs = new ECSClient(config);
    this.ec2 = new EC2Client(config);
    this.elb = demoElbClient(config);
  }

  out(line = ""): void {
    process.stdout.write(`${line}\n`);
  }

  step(title: string, commands: readonly string[]): void {
    this.out();
    this.out(`==> ${++this.stepNumber}. ${title}`);
    for (const command of commands) this.out(command.startsWith("#") ? `    ${command}` : `    $ ${command}`);
  }

  /** The aws command line that does the same against this server. */
  aws(args: string): string {
    return `aws${this.tls.caFile ? ` --ca-bundle ${this.tls.caFile}` : ""} --endpoint-url ${this.endpoint} ${args}`;
  }
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("demo", USAGE, { args: argv, options: OPTIONS, strict: true });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const timeoutMs = Number(values["timeout-seconds"]) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    process.stderr.write(`berth demo: --timeout-seconds must be a positive number\n`);
    return 2;
  }
  const endpoint = values.endpoint.replace(/\/$/, "");
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const tls = clientTls({ endpoint, caBundle: values["ca-bundle"], dataDir: values["data-dir"], env: process.env });
  const unreachable = await serverUnreachable(endpoint, tls);
  if (unreachable !== undefined) return unreachable;
  const { credentials, file } = credentialsFor(values["data-dir"]);
  const session = new DemoSession(endpoint, region, tls, credentials);
  // Kept after the run: the printed commands refer to the site and the task definition file.
  const work = join(tmpdir(), "berth-demo");
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    printCredentials(session, file);
    // The image: busybox httpd and a CGI page, one reproducible layer.
    const site = writeDemoSite(work);
    const repository = await ensureRepository(session);
    const imageUri = await buildAndPush(session, repository.repositoryUri, site);
    await createCluster(session);
    const taskDefinitionArn = await registerDefinition(session, imageUri, repository.registryId ?? "000000000000", work);
    const network = await demoNetwork(session);
    const deadline = Date.now() + timeoutMs;
    if (values.service) {
      // The service behind a load balancer: its tasks are registered in the target group as they start.
      const balancer = await ensureDemoLoadBalancer(session, network.subnets, network.groupId, network.vpcId);
      const ips = await runDemoService(session, {
        cluster: CLUSTER,
        taskDefinition: taskDefinitionArn,
        ...network,
        deadline,
        targetGroupArn: balancer.targetGroupArn,
      });
      for (const ip of ips) await fetchAndPrintPage(session, ip);
      const address = await demoLoadBalancerAddress(session, balancer.loadBalancerArn, deadline);
      await fetchAndPrintPage(session, address, "through the load balancer at");
      if (values.cleanup) {
        await deleteDemoService(session, CLUSTER, deadline);
        await deleteDemoLoadBalancer(session);
      } else
        session.out(
          `\nThe service keeps its ${DEMO_SERVICE_TASKS} tasks running behind the load balancer: open http://${address}/ from this machine. Delete them with --cleanup, or by hand (update-service --desired-count 0, delete-service, then delete-load-balancer and delete-target-group).`,
        );
      return 0;
    }
    const taskArn = await runDemoTask(session, taskDefinitionArn, network);
    const ip = await waitUntilRunning(session, taskArn, deadline, timeoutMs);
    await fetchAndPrintPage(session, ip);
    await stopOrLeaveRunning(session, taskArn, values.cleanup, deadline);
    return 0;
  } catch (error) {
    reportFailure(error, session.stepNumber);
    return 1;
  }
}

/** A server that is not there is the likeliest first failure: say so plainly (exit 1), else undefined. */
async function serverUnreachable(endpoint: string, tls: ClientTls): Promise<number | undefined> {
  try {
    await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(5_000), ...tls.fetchInit });
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? "";
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(cause)) {
      process.stderr.write(
        `berth demo: the server at ${endpoint} presented a certificate not trusted here (${cause}); pass --ca-bundle <server data dir>/ca.pem\n`,
      );
      return 1;
    }
    process.stderr.write(`berth demo: no Berth server answers at ${endpoint}; start one first (e.g. \`${selfCommand()} server\` in another shell)\n`);
    return 1;
  }
}

function printCredentials(session: DemoSession, file: string | undefined): void {
  const { endpoint, region } = session;
  session.out(`berth demo against ${endpoint} (region ${region})`);
  if (file)
    session.out(
      `Credentials: the server's root key from ${file}. For the aws commands below:\n  export AWS_SHARED_CREDENTIALS_FILE=${file} AWS_PROFILE=berth AWS_DEFAULT_REGION=${region}`,
    );
  else session.out(`Credentials: the usual AWS sources (environment, AWS_PROFILE, ~/.aws). Region for the aws commands: export AWS_DEFAULT_REGION=${region}`);
}

/** The demo's repository in the built-in registry, created or found; with its repositoryUri. */
async function ensureRepository(session: DemoSession): Promise<Repository & { repositoryUri: string }> {
  session.step("Create the repository in the built-in registry (ECR)", [session.aws(`ecr create-repository --repository-name ${REPOSITORY}`)]);
  let repository: Repository | undefined;
  try {
    repository = (await session.ecr.send(new CreateRepositoryCommand({ repositoryName: REPOSITORY }))).repository;
    session.out(`    created ${repository?.repositoryUri}`);
  } catch (error) {
    if ((error as Error).name !== "RepositoryAlreadyExistsException") throw error;
    repository = (await session.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [REPOSITORY] }))).repositories?.[0];
    session.out(`    already there: ${repository?.repositoryUri}`);
  }
  const repositoryUri = repository?.repositoryUri;
  if (!repositoryUri) throw new DemoError("the server returned no repositoryUri");
  return { ...repository, repositoryUri };
}

/** The demo's image built from the site and pushed to the repository; its URI. */
async function buildAndPush(session: DemoSession, repositoryUri: string, site: string): Promise<string> {
  const { tls, endpoint, berth } = session;
  const registryHost = repositoryUri.slice(0, repositoryUri.indexOf("/"));
  const imageUri = `${repositoryUri}:latest`;
  // The built-in registry shares the server's listener: plain HTTP, or the same TLS and CA.
  const insecure = endpoint.startsWith("http://") ? [registryHost] : [];
  const insecureFlag = insecure.length > 0 ? ` --insecure-registry ${registryHost}` : tls.caFile ? ` --ca-bundle ${tls.caFile}` : "";
  const skopeoTls = insecure.length > 0 ? "--tls-verify=false" : tls.caFile ? `--cert-dir <a directory holding ${tls.caFile} as ca.crt>` : "";
  const buildArgs = `image build --tag ${imageUri} --dir ${site}:/www --cmd ${quote(JSON.stringify(DEMO_COMMAND))}`;

  session.step("Build a small web image (busybox httpd serving a page of the task's metadata) and push it", [
    session.aws(`ecr get-login-password | ${berth} ${buildArgs} --push --username AWS --password-stdin${insecureFlag}`),
    `# or with skopeo: ${session.aws("ecr get-login-password")} | skopeo login ${skopeoTls} --username AWS --password-stdin ${registryHost}`,
  ]);
  const image = await buildImage({
    busybox: true,
    directories: [{ source: site, destination: "/www" }],
    architecture: arch() === "arm64" ? "arm64" : "amd64",
    cmd: [...DEMO_COMMAND],
    exposedPorts: ["80/tcp"],
  });
  const token = (await session.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken;
  if (!token) throw new DemoError("GetAuthorizationToken returned no token");
  const password = Buffer.from(token, "base64").toString("utf8").replace(/^AWS:/, "");
  await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, imageUri, {
    insecureRegistries: insecure,
    credentials: { username: "AWS", password },
    ...(insecure.length === 0 ? { trust: { ca: tls.ca } } : {}),
  });
  session.out(`    pushed ${imageUri}@${image.manifest.digest} (${image.layers.reduce((sum, layer) => sum + layer.bytes.length, 0)} bytes of layers)`);
  return imageUri;
}

async function createCluster(session: DemoSession): Promise<void> {
  session.step("Create a cluster", [session.aws(`ecs create-cluster --cluster-name ${CLUSTER}`)]);
  const cluster = (await session.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }))).cluster;
  session.out(`    ${cluster?.clusterArn} (${cluster?.status})`);
}

/** Registers the task definition (also written to a file, for the printed command); its ARN, else the family. */
async function registerDefinition(session: DemoSession, imageUri: string, accountId: string, work: string): Promise<string> {
  // AWS's sample (ECS Developer Guide, "sample-fargate-app"): same family, size and port; the
  // image is ours, and pulling it from the registry needs the execution role, as with ECR.
  const definition: RegisterTaskDefinitionCommandInput = {
    family: FAMILY,
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    executionRoleArn: `arn:aws:iam::${accountId}:role/ecsTaskExecutionRole`,
    containerDefinitions: [{ name: CONTAINER, image: imageUri, essential: true, portMappings: [{ containerPort: 80, protocol: "tcp" }] }],
  };
  const definitionFile = join(work, `${FAMILY}.json`);
  writeFileSync(definitionFile, `${JSON.stringify(definition, null, 2)}\n`);
  session.step(`Register the task definition ${FAMILY} (written to ${definitionFile})`, [
    session.aws(`ecs register-task-definition --cli-input-json file://${definitionFile}`),
  ]);
  const registered = (await session.ecs.send(new RegisterTaskDefinitionCommand(definition))).taskDefinition;
  session.out(`    ${registered?.taskDefinitionArn}`);
  return registered?.taskDefinitionArn ?? FAMILY;
}

/** The default subnets, and the demo's security group that lets port 80 in. */
async function demoNetwork(session: DemoSession): Promise<{ subnetIds: string[]; groupId: string; vpcId: string; subnets: DescribedNetwork["subnets"] }> {
  const { endpoint, region, credentials, tls } = session;
  session.step("Find the default subnets", [`${session.berth} network --endpoint ${endpoint}`]);
  const network = await describeDefaultNetwork({ endpoint, region, credentials, fetchInit: tls.fetchInit });
  // All of them (RunTask takes up to 16): placement picks one a host serves, as on Fargate.
  const subnetIds = network.subnets.slice(0, 16).map((subnet) => subnet.subnetId);
  if (subnetIds.length === 0) throw new DemoError("the server's default VPC has no subnets");
  for (const subnet of network.subnets.slice(0, 16)) session.out(`    ${subnet.subnetId} in ${subnet.availabilityZone} (${subnet.cidrBlock})`);
  return { subnetIds, groupId: await openWebPort(session), vpcId: network.vpc.vpcId, subnets: network.subnets.slice(0, 16) };
}

/** Runs the task in the default subnets; its ARN. */
async function runDemoTask(session: DemoSession, taskDefinition: string, { subnetIds, groupId }: { subnetIds: string[]; groupId: string }): Promise<string> {
  session.step("Run the task", [
    session.aws(
      `ecs run-task --cluster ${CLUSTER} --task-definition ${FAMILY} --launch-type FARGATE --network-configuration 'awsvpcConfiguration={subnets=[${subnetIds.join(",")}],securityGroups=[${groupId}],assignPublicIp=DISABLED}'`,
    ),
  ]);
  const ran = await session.ecs.send(
    new RunTaskCommand({
      cluster: CLUSTER,
      taskDefinition,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: subnetIds, securityGroups: [groupId], assignPublicIp: "DISABLED" } },
    }),
  );
  const taskArn = ran.tasks?.[0]?.taskArn;
  if (!taskArn) throw new DemoError(`RunTask placed no task: ${(ran.failures ?? []).map((failure) => failure.reason).join("; ") || "no reason given"}`);
  session.out(`    ${taskArn}`);
  return taskArn;
}

/**
 * A security group of the default VPC that lets port 80 in: security groups are enforced, and the
 * VPC's default group lets in only its own members, so without it this machine could not fetch the
 * page. Made once; a second demo finds it (and its rule) and goes on. Its id.
 */
async function openWebPort(session: DemoSession): Promise<string> {
  session.step(`Let port 80 in: security group ${DEMO_GROUP} in the default VPC`, [
    session.aws(`ec2 create-security-group --group-name ${DEMO_GROUP} --description 'berth demo: the web page'`),
    session.aws(`ec2 authorize-security-group-ingress --group-id sg-… --protocol tcp --port 80 --cidr 0.0.0.0/0`),
  ]);
  let groupId: string | undefined;
  try {
    groupId = (await session.ec2.send(new CreateSecurityGroupCommand({ GroupName: DEMO_GROUP, Description: "berth demo: the web page" }))).GroupId;
  } catch (error) {
    if ((error as { name?: string }).name !== "InvalidGroup.Duplicate") throw error;
    groupId = (await session.ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: [DEMO_GROUP] }))).SecurityGroups?.[0]?.GroupId;
  }
  if (!groupId) throw new DemoError(`the security group ${DEMO_GROUP} could not be made or found`);
  try {
    await session.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [{ IpProtocol: "tcp", FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== "InvalidPermission.Duplicate") throw error;
  }
  session.out(`    ${groupId}`);
  return groupId;
}

/** Polls until the task is RUNNING (printing each status it passes); its private IPv4 address. */
async function waitUntilRunning(session: DemoSession, taskArn: string, deadline: number, timeoutMs: number): Promise<string> {
  session.step("Wait until it is RUNNING", [session.aws(`ecs wait tasks-running --cluster ${CLUSTER} --tasks ${taskArn}`)]);
  let task: Task | undefined;
  let last = "";
  for (;;) {
    task = (await session.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks?.[0];
    const status = task?.lastStatus ?? "UNKNOWN";
    if (status !== last) session.out(`    ${status}`);
    last = status;
    if (status === "RUNNING") break;
    if (status === "STOPPED") throw new DemoError(`the task stopped: ${task?.stoppedReason ?? "no reason given"}`);
    if (Date.now() > deadline) throw new DemoError(`the task is still ${status} after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
  const ip =
    task?.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address ??
    task?.attachments?.[0]?.details?.find((detail) => detail.name === "privateIPv4Address")?.value;
  if (!ip) throw new DemoError("the running task reports no private IPv4 address");
  return ip;
}

async function fetchAndPrintPage(session: DemoSession, ip: string, from = "from the task's private IP"): Promise<void> {
  session.step(`Fetch the page ${from} ${ip}`, [`curl http://${ip}/`]);
  let page: string | undefined;
  for (let attempt = 0; attempt < 40 && page === undefined; attempt++) {
    try {
      const response = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(2_000) });
      const text = response.ok ? await response.text() : "";
      // The whole page or nothing: a CGI answer cut short is fetched again.
      if (text.includes("</html>")) page = text;
      else await sleep(250);
    } catch {
      await sleep(250); // httpd may still be binding its port
    }
  }
  if (page === undefined)
    throw new DemoError(`http://${ip}/ did not answer with the page from this machine (the task runs on the host its agent serves; fetch it from there)`);
  if (!page.includes(DEMO_PAGE_TITLE)) throw new DemoError(`http://${ip}/ answered with an unexpected page:\n${page.slice(0, 500)}`);
  session.out();
  session.out(pageText(page).replace(/^/gm, "    | "));
}

async function stopOrLeaveRunning(session: DemoSession, taskArn: string, cleanup: boolean, deadline: number): Promise<void> {
  const stop = session.aws(`ecs stop-task --cluster ${CLUSTER} --task ${taskArn}`);
  if (!cleanup) {
    session.out();
    session.out(`The task keeps running. Stop it with:\n  ${stop}`);
    return;
  }
  session.step("Stop the task (--cleanup)", [stop]);
  await session.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: taskArn, reason: "berth demo --cleanup" }));
  for (;;) {
    const status = (await session.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks?.[0]?.lastStatus;
    if (status === "STOPPED") break;
    if (Date.now() > deadline + 120_000) throw new DemoError(`the task did not stop (still ${status})`);
    await sleep(500);
  }
  session.out("    STOPPED");
}

function reportFailure(error: unknown, stepNumber: number): void {
  const name = (error as Error).name;
  const prefix = error instanceof DemoError || name === "Error" ? "" : `${name}: `;
  process.stderr.write(`berth demo: step ${stepNumber} failed: ${prefix}${(error as Error).message}\n`);
  if (name === "UnrecognizedClientException" || name === "CredentialsProviderError" || name === "InvalidSignatureException") {
    process.stderr.write(
      `berth demo: use the server's credentials (printed at its start), e.g. run as root with --data-dir pointing at the server's data dir, or export AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials AWS_PROFILE=berth\n`,
    );
  }
}
