// Wires one host's agent from its real parts: image store, task runtime (conmon + runc), task
// networks, the durable agent, and its membership in the fleet through a ControlPlaneLink (the
// server's Fleet itself when embedded in `berth server`, HTTP for `berth agent`). Shared by both
// commands so an embedded agent and a joined one are the same thing.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import { arch, cpus, networkInterfaces, totalmem } from "node:os";
import { join } from "node:path";
import type { Logger } from "../core/logger.js";
import { AwslogsSink, HostAgent, ReportForwarder } from "../agent/host-agent.js";
import { createAgent } from "../agent/agent.js";
import { HostImageAdapter } from "../agent/image-adapter.js";
import type { RegistryCredentialsFor } from "../agent/image-adapter.js";
import { HostNetworkAdapter } from "../agent/network-adapter.js";
import { HostRuntimeAdapter } from "../agent/runtime-adapter.js";
import { systemClock } from "../core/clock.js";
import type { ImagePullPolicy, RegistryTrustFor } from "../images/index.js";
import { defaultImageStoreHighWaterBytes, ImageStore } from "../images/index.js";
import { HostAgentLock, HostFirewall, TaskNetworks } from "../network/index.js";
import type { EndpointListeners, IpForwardPolicy } from "../network/index.js";
import type { ControlPlaneLink, HostCapacity, LoadBalancerMetricsRequest, TargetHealthRequest, TaskCredentialsAnswer, TaskSpec } from "../protocol/index.js";
import { capacityProblem, MAX_EPHEMERAL_GIB_PER_SLOT } from "../protocol/index.js";
import { ConfigError } from "./config-error.js";
import type { LogSink, TaskStateReporter } from "../agent/ports.js";
import type { TaskSecretsPort } from "../agent/task-secrets-fetch.js";
import { CommandLauncher, TaskRuntime, systemCpuNs } from "../runtime/index.js";
import { TaskEndpoints } from "../agent/task-endpoints.js";
import { VpcResolvers } from "../agent/vpc-resolvers.js";
import { resolvConfUpstream } from "../endpoints/index.js";
import { LoadBalancerNodes } from "../agent/load-balancer-nodes.js";
import type { RelayTarget, Upstream } from "../endpoints/index.js";

export const AGENT_VERSION = "0.1.0";

export interface HostAgentConfig {
  readonly dataDir: string;
  readonly region: string;
  readonly availabilityZone: string;
  /** Subnets to serve; empty: every default subnet of the AZ. */
  readonly subnetIds: readonly string[];
  readonly insecureRegistries: readonly string[];
  /** The Berth server's own registry: HTTPS verified against the server's CA (see images/registry-trust.ts). */
  readonly registryTrust?: RegistryTrustFor;
  readonly pullPolicy: ImagePullPolicy;
  readonly capacityCpuUnits: number | undefined;
  readonly capacityMemoryMiB: number | undefined;
  readonly taskSlots: number;
  readonly runtimePath: string;
  /** net.ipv4.ip_forward while the agent runs (see src/network/host-firewall.ts). */
  readonly ipForward: IpForwardPolicy;
  /** The image store's high-water mark for image garbage collection; undefined: a quarter of its disk. */
  readonly imageStoreMaxBytes: number | undefined;
  /** The interface public tasks leave through (`--uplink`); none: no outbound access. */
  readonly uplink?: string | undefined;
  /** This host's underlay address for the VPC overlay (`--overlay-address`); none: no overlay. */
  readonly overlayAddress?: string | undefined;
  /** Where the VPC resolvers ask other names (`--dns-upstream`); none: the host's /etc/resolv.conf's first IPv4 nameserver. */
  readonly dnsUpstream?: Upstream | undefined;
}

/**
 * The addresses the control plane is told of: the overlay's as configured, and the uplink's first
 * IPv4 address (the public address of this host's public tasks, as DescribeNetworkInterfaces shows).
 */
function hostAddresses(config: HostAgentConfig): { overlayAddress?: string; publicAddress?: string } {
  const uplinkAddress = config.uplink === undefined ? undefined : networkInterfaces()[config.uplink]?.find((address) => address.family === "IPv4")?.address;
  if (config.uplink !== undefined && uplinkAddress === undefined) throw new ConfigError(`--uplink ${config.uplink}: no such interface with an IPv4 address`);
  return {
    ...(config.overlayAddress !== undefined ? { overlayAddress: config.overlayAddress } : {}),
    ...(uplinkAddress !== undefined ? { publicAddress: uplinkAddress } : {}),
  };
}

/** Kept back for the host itself: the agent, conmon processes, the kernel. */
const RESERVED_CPU_UNITS = 256;
const RESERVED_MEMORY_MIB = 1024;
/** Ephemeral storage is thin (sparse files): a task's 20 GiB costs nothing until written. */
const EPHEMERAL_GIB_PER_SLOT = 20;

/** The machine as the control plane is told of it (capacity must fit it, see protocol/capacity-limits.ts). */
export function hostMachine(): { cpuCount: number; memoryMiB: number } {
  return { cpuCount: Math.max(cpus().length, 1), memoryMiB: Math.floor(totalmem() / 1024 / 1024) };
}

/**
 * What this machine offers, or what the operator declared (deliberate overcommit, logged), with
 * the machine it runs on. Declarations beyond what the control plane accepts are refused here, at
 * start, with the same words the control plane would use.
 */
export function hostCapacity(
  config: HostAgentConfig,
  logger: Logger,
): { capacity: HostCapacity; machine: { cpuCount: number; memoryMiB: number }; overcommit: boolean } {
  const machine = hostMachine();
  const machineCpu = Math.max(machine.cpuCount * 1024 - RESERVED_CPU_UNITS, 256);
  const machineMemory = Math.max(machine.memoryMiB - RESERVED_MEMORY_MIB, 512);
  const cpuUnits = config.capacityCpuUnits ?? machineCpu;
  const memoryMiB = config.capacityMemoryMiB ?? machineMemory;
  const overcommit = cpuUnits > machine.cpuCount * 1024 || memoryMiB > machine.memoryMiB;
  if (cpuUnits > machineCpu || memoryMiB > machineMemory) {
    logger.warn(
      { declared: { cpuUnits, memoryMiB }, machine: { cpuUnits: machineCpu, memoryMiB: machineMemory } },
      "capacity declared above the machine's: reservations are overcommitted",
    );
  }
  const disk = statfsSync(config.dataDir);
  const diskGiB = Math.floor((disk.bavail * disk.bsize) / 1024 ** 3);
  // Thin ephemeral storage, but no more than Fargate's largest (200 GiB) for every slot.
  const ephemeralGiB = Math.min(Math.max(diskGiB, config.taskSlots * EPHEMERAL_GIB_PER_SLOT), config.taskSlots * MAX_EPHEMERAL_GIB_PER_SLOT);
  const capacity = { cpuUnits, memoryMiB, taskSlots: config.taskSlots, ephemeralGiB };
  const problem = capacityProblem({ capacity, machine, overcommit });
  if (problem) throw new ConfigError(problem);
  return { capacity, machine, overcommit };
}

function persistentHostId(dir: string): string {
  const path = join(dir, "host-id");
  if (!existsSync(path)) writeFileSync(path, `host-${randomBytes(8).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  return readFileSync(path, "utf8").trim();
}

export interface AssembledHostAgent {
  readonly hostAgent: HostAgent;
  readonly hostId: string;
  /** The host firewall (before anything can touch a task network), then the agent. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The agent and the host parts under it, with the report and log sinks `makeSinks` gives it. */
function assembleParts<Sinks extends { readonly reports: TaskStateReporter; readonly logSink: LogSink }>(
  config: HostAgentConfig,
  logger: Logger,
  makeSinks: (specOf: (taskId: string) => TaskSpec | undefined) => Sinks,
  credentialsFor?: RegistryCredentialsFor,
  secretsFor?: (hostId: string) => TaskSecretsPort,
  taskCredentials?: (hostId: string, taskArn: string) => Promise<TaskCredentialsAnswer>,
  apiTarget?: () => RelayTarget | undefined,
) {
  const agentDir = join(config.dataDir, "agent");
  mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  const hostId = persistentHostId(agentDir);
  const images = new ImageStore({
    root: join(config.dataDir, "images"),
    insecureRegistries: config.insecureRegistries,
    ...(config.registryTrust ? { trustFor: config.registryTrust } : {}),
  });
  const imageCollection = {
    // Every task the agent still holds keeps its images (a stopped one until it is forgotten).
    inUse: () => new Set(agent.list().flatMap((task) => task.containers.flatMap((container) => (container.imageDigest ? [container.imageDigest] : [])))),
    highWaterBytes: config.imageStoreMaxBytes ?? defaultImageStoreHighWaterBytes(join(config.dataDir, "images")),
    onError: (error: unknown) => logger.error({ err: error }, "image garbage collection failed"),
  };
  // Host tools run from a small helper process: forking this one for each costs the event loop.
  const launcher = new CommandLauncher();
  const runtime = new TaskRuntime({
    stateDir: join(agentDir, "runtime"),
    runtimePath: config.runtimePath,
    run: launcher.run,
    startSupervised: launcher.startWithSyncPipe,
  });
  // 169.254.170.2: a listener in each VPC router, answering the task behind each connection.
  const endpoints = new TaskEndpoints({
    stateDir: agentDir,
    tasks: { list: () => agent.list(), describe: (taskArn) => agent.describe(taskArn), specOf: (taskId) => agent.specOf(taskId) },
    usage: (taskId, containerName) => runtime.cgroups.usage(taskId, containerName),
    systemCpuNs,
    ephemeralUsedMiB: (taskId) => runtime.filesystems.ephemeralUsedMiB(taskId),
    credentials: taskCredentials ? (taskArn) => taskCredentials(hostId, taskArn) : undefined,
    apiTarget,
    onError: (error, what) => logger.warn({ err: error }, what),
  });
  // 169.254.169.253 and the VPC base + 2: the VPC resolver in each router.
  const resolvers = new VpcResolvers({
    region: config.region,
    upstream: config.dnsUpstream ?? hostResolver(),
    onError: (error, what) => logger.warn({ err: error }, what),
  });
  const networkDir = join(agentDir, "network");
  const networks = new TaskNetworks({
    endpointListeners: routerListeners(endpoints, resolvers),
    stateDir: networkDir,
    region: config.region,
    run: launcher.run,
    firewall: new HostFirewall({
      stateDir: networkDir,
      run: launcher.run,
      ipForward: config.ipForward,
      uplink: config.uplink,
      overlayAddress: config.overlayAddress,
    }),
  });
  // The sinks ask the agent (made just below) for each task's log configuration.
  const sinks = makeSinks((taskId) => agent.specOf(taskId));
  const agent = createAgent({
    stateDir: join(agentDir, "tasks"),
    images: new HostImageAdapter(images, { policy: config.pullPolicy, credentialsFor, collection: imageCollection }),
    runtime: new HostRuntimeAdapter(
      runtime,
      (digest) => images.get(digest),
      (spec, containerName) => endpoints.environment(spec, containerName),
    ),
    networks: new HostNetworkAdapter(networks),
    logSink: sinks.logSink,
    reporter: sinks.reports,
    clock: systemClock,
    logger,
    ...(secretsFor ? { secrets: secretsFor(hostId) } : {}),
  });
  return { ...sinks, agent, networks, launcher, runtime, hostId, endpoints, resolvers };
}

/** What each VPC router serves from this process: the metadata endpoint, then the VPC resolver (closed in the reverse order). */
function routerListeners(endpoints: EndpointListeners, resolvers: EndpointListeners): EndpointListeners {
  return {
    open: async (record) => {
      await endpoints.open(record);
      await resolvers.open(record);
    },
    close: async (record) => {
      await resolvers.close(record);
      await endpoints.close(record);
    },
  };
}

/** The host's resolver as the agent starts: the first IPv4 nameserver of /etc/resolv.conf (none: other names are refused). */
function hostResolver(): Upstream | undefined {
  try {
    return resolvConfUpstream(readFileSync("/etc/resolv.conf", "utf8"));
  } catch {
    return undefined;
  }
}

export function assembleHostAgent(options: {
  config: HostAgentConfig;
  link: ControlPlaneLink;
  logger: Logger;
  credentialsFor?: RegistryCredentialsFor;
  /** The control plane's API as this agent reaches it: tasks' signed calls are relayed there (169.254.170.2). */
  apiTarget?: () => RelayTarget | undefined;
}): AssembledHostAgent {
  const { config, link, logger } = options;
  const { agent, networks, launcher, runtime, hostId, reports, logSink, endpoints, resolvers } = assembleParts(
    config,
    logger,
    (specOf) => ({ reports: new ReportForwarder(link, systemClock, logger), logSink: new AwslogsSink(link, specOf) }),
    options.credentialsFor,
    // Asked of the control plane at each task's start; a link without the call fails tasks that name secrets.
    (hostId) => async (taskArn) => {
      if (!link.taskSecrets) throw new Error("the control plane link does not serve task secrets");
      return link.taskSecrets(hostId, taskArn);
    },
    link.taskCredentials ? (hostId, taskArn) => link.taskCredentials!(hostId, taskArn) : undefined,
    options.apiTarget,
  );
  const loadBalancers = new LoadBalancerNodes({
    stateDir: join(config.dataDir, "agent", "load-balancers"),
    networks,
    run: launcher.run,
    clock: systemClock,
    logger,
    ...(link.targetHealth ? { sendHealth: (request: TargetHealthRequest) => link.targetHealth!(hostId, request) } : {}),
    ...(link.loadBalancerMetrics ? { sendMetrics: (request: LoadBalancerMetricsRequest) => link.loadBalancerMetrics!(hostId, request) } : {}),
  });
  const hostAgent = new HostAgent({
    agent,
    link,
    identity: {
      hostId,
      agentVersion: AGENT_VERSION,
      availabilityZone: config.availabilityZone,
      architecture: arch() === "arm64" ? "ARM64" : "X86_64",
      ...hostCapacity(config, logger),
      subnetIds: config.subnetIds,
      ...hostAddresses(config),
    },
    // Each poll answer's view: routers, security groups and overlay peers follow it.
    applyNetwork: async (view) => {
      resolvers.setView(view);
      await networks.applyView(view);
    },
    convergeLoadBalancers: (nodes) => loadBalancers.converge(nodes),
    reports,
    logSink,
    clock: systemClock,
    logger,
  });
  let hostLock: HostAgentLock | undefined;
  return {
    hostAgent,
    hostId,
    async start() {
      // Before anything touches the host's firewall: a second agent on this host is refused.
      hostLock = HostAgentLock.acquire(config.dataDir);
      await networks.start();
      await hostAgent.start();
      loadBalancers.start();
    },
    async close() {
      // The nodes keep serving while no agent runs (as tasks do); the next agent finds them again.
      await loadBalancers.close();
      await hostAgent.close();
      await endpoints.closeAll();
      await resolvers.closeAll();
      // With no task left the routers and the firewall go with the agent; otherwise they stay for their tasks.
      await networks.stop();
      launcher.close();
      runtime.filesystems.removeExposedRootIfEmpty();
      hostLock?.release();
    },
  };
}

/**
 * `--uninstall`, with no agent running on this data dir: stops every task this host still runs,
 * then removes every namespace, veth, bridge and the firewall tables, and gives ip_forward back.
 * Nothing is connected to a control plane, so reports and log lines of those last moments are
 * dropped rather than retried forever. Images and the data dir stay (remove them by hand).
 */
export async function uninstallHostAgent(options: { config: HostAgentConfig; logger: Logger }): Promise<{ tasksStopped: number }> {
  const { agent, networks, launcher, runtime, endpoints, resolvers } = assembleParts(options.config, options.logger, () => ({
    reports: { report: async () => undefined },
    logSink: { write: async () => undefined },
  }));
  // Refused while an agent runs on this host (it would rebuild what this removes).
  const hostLock = HostAgentLock.acquire(options.config.dataDir);
  try {
    // The firewall guards the tasks while they stop, whatever a crash left of it.
    await networks.start();
    await agent.start();
    const live = agent.list().filter((status) => status.lastStatus !== "STOPPED");
    for (const status of live) await agent.stopTask(status.taskArn, "Host uninstalled (berth --uninstall)", "UserInitiated");
    await Promise.all(live.map((status) => agent.whenStopped(status.taskArn)));
    await agent.close();
    await new LoadBalancerNodes({
      stateDir: join(options.config.dataDir, "agent", "load-balancers"),
      networks,
      run: launcher.run,
      clock: systemClock,
      logger: options.logger,
    }).stopAll();
    await endpoints.closeAll();
    await resolvers.closeAll();
    await networks.removeEverything();
    runtime.filesystems.removeExposedRootIfEmpty();
    return { tasksStopped: live.length };
  } finally {
    launcher.close();
    hostLock.release();
  }
}
