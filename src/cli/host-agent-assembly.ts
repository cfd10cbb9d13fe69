// Wires one host's agent from its real parts: image store, task runtime (conmon + runc), task
// networks, the durable agent, and its membership in the fleet through a ControlPlaneLink (the
// server's Fleet itself when embedded in `berth server`, HTTP for `berth agent`). Shared by both
// commands so an embedded agent and a joined one are the same thing.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import { arch, cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { AwslogsSink, HostAgent, ReportForwarder } from "../agent/host-agent.js";
import { createAgent } from "../agent/agent.js";
import { HostImageAdapter } from "../agent/image-adapter.js";
import type { RegistryCredentialsFor } from "../agent/image-adapter.js";
import { HostNetworkAdapter } from "../agent/network-adapter.js";
import { HostRuntimeAdapter } from "../agent/runtime-adapter.js";
import { systemClock } from "../core/clock.js";
import type { ImagePullPolicy } from "../images/index.js";
import { ImageStore } from "../images/index.js";
import { TaskNetworks } from "../network/index.js";
import type { ControlPlaneLink, HostCapacity, TaskSpec } from "../protocol/index.js";
import { CommandLauncher, TaskRuntime } from "../runtime/index.js";

export const AGENT_VERSION = "0.1.0";

export interface HostAgentConfig {
  readonly dataDir: string;
  readonly region: string;
  readonly availabilityZone: string;
  /** Subnets to serve; empty: every default subnet of the AZ. */
  readonly subnetIds: readonly string[];
  readonly insecureRegistries: readonly string[];
  readonly pullPolicy: ImagePullPolicy;
  readonly capacityCpuUnits: number | undefined;
  readonly capacityMemoryMiB: number | undefined;
  readonly taskSlots: number;
  readonly runtimePath: string;
}

/** Kept back for the host itself: the agent, conmon processes, the kernel. */
const RESERVED_CPU_UNITS = 256;
const RESERVED_MEMORY_MIB = 1024;
/** Ephemeral storage is thin (sparse files): a task's 20 GiB costs nothing until written. */
const EPHEMERAL_GIB_PER_SLOT = 20;

/** What this machine offers, or what the operator declared (deliberate overcommit, logged). */
export function hostCapacity(config: HostAgentConfig, logger: Logger): HostCapacity {
  const machineCpu = Math.max(cpus().length * 1024 - RESERVED_CPU_UNITS, 256);
  const machineMemory = Math.max(Math.floor(totalmem() / 1024 / 1024) - RESERVED_MEMORY_MIB, 512);
  const cpuUnits = config.capacityCpuUnits ?? machineCpu;
  const memoryMiB = config.capacityMemoryMiB ?? machineMemory;
  if (cpuUnits > machineCpu || memoryMiB > machineMemory) {
    logger.warn({ declared: { cpuUnits, memoryMiB }, machine: { cpuUnits: machineCpu, memoryMiB: machineMemory } }, "capacity declared above the machine's: reservations are overcommitted");
  }
  const disk = statfsSync(config.dataDir);
  const diskGiB = Math.floor((disk.bavail * disk.bsize) / 1024 ** 3);
  return { cpuUnits, memoryMiB, taskSlots: config.taskSlots, ephemeralGiB: Math.max(diskGiB, config.taskSlots * EPHEMERAL_GIB_PER_SLOT) };
}

function persistentHostId(dir: string): string {
  const path = join(dir, "host-id");
  if (!existsSync(path)) writeFileSync(path, `host-${randomBytes(8).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  return readFileSync(path, "utf8").trim();
}

export interface AssembledHostAgent {
  readonly hostAgent: HostAgent;
  readonly hostId: string;
  close(): Promise<void>;
}

export function assembleHostAgent(options: { config: HostAgentConfig; link: ControlPlaneLink; logger: Logger; credentialsFor?: RegistryCredentialsFor }): AssembledHostAgent {
  const { config, link, logger } = options;
  const agentDir = join(config.dataDir, "agent");
  mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  const hostId = persistentHostId(agentDir);
  const images = new ImageStore({ root: join(config.dataDir, "images"), insecureRegistries: config.insecureRegistries });
  // Host tools run from a small helper process: forking this one for each costs the event loop.
  const launcher = new CommandLauncher();
  const runtime = new TaskRuntime({ stateDir: join(agentDir, "runtime"), runtimePath: config.runtimePath, run: launcher.run, startSupervised: launcher.startWithSyncPipe });
  const networks = new TaskNetworks({
    stateDir: join(agentDir, "network"),
    region: config.region,
    // Network errors name the whole command (its stderr says which line of a batch failed).
    run: (command, args, input) => launcher.run(command, args, { input }).catch((error: Error & { stderr?: string }) => Promise.reject(new Error(`${command} ${args.join(" ")}: ${error.stderr?.trim() || error.message}`))),
  });
  const reports = new ReportForwarder(link, systemClock, logger);
  const servedSubnets = new Set<string>();
  // The sink asks the agent (made just below) for each task's log configuration.
  const logSink = new AwslogsSink(link, (taskId): TaskSpec | undefined => agent.specOf(taskId));
  const agent = createAgent({
    stateDir: join(agentDir, "tasks"),
    images: new HostImageAdapter(images, { policy: config.pullPolicy, credentialsFor: options.credentialsFor }),
    runtime: new HostRuntimeAdapter(runtime, (digest) => images.get(digest)),
    networks: new HostNetworkAdapter(networks, servedSubnets),
    logSink,
    reporter: reports,
    clock: systemClock,
    logger,
  });
  const hostAgent = new HostAgent({
    agent,
    link,
    identity: {
      hostId,
      agentVersion: AGENT_VERSION,
      availabilityZone: config.availabilityZone,
      architecture: arch() === "arm64" ? "ARM64" : "X86_64",
      capacity: hostCapacity(config, logger),
      subnetIds: config.subnetIds,
    },
    reports,
    logSink,
    clock: systemClock,
    logger,
    onRegistered: async (subnets) => {
      for (const subnet of subnets) {
        servedSubnets.add(subnet.subnetId);
        await networks.ensureSubnet({ subnetId: subnet.subnetId, cidr: subnet.cidrBlock });
      }
    },
  });
  return {
    hostAgent,
    hostId,
    async close() {
      await hostAgent.close();
      // Bridges of subnets no running task uses go with the agent; busy ones stay for their tasks.
      for (const subnetId of servedSubnets) await networks.removeSubnetIfIdle(subnetId);
      launcher.close();
    },
  };
}
