// RuntimePort over the real task runtime (src/runtime): resolves the container's image from the
// host's image store by digest, adds the environment Fargate gives every container, and hands
// the rest to the runtime.
import type { TaskSpec } from "../protocol/index.js";
import type { IdRange } from "../core/id-range.js";
import type { TaskRuntime } from "../runtime/index.js";
import { runtimeIdOf } from "../runtime/index.js";
import type { ContainerExit, ContainerState, LogChunk, RuntimePort, TaskNetworkInfo } from "./ports.js";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";

/** What the runtime needs of a pulled image. */
export interface ImageForRuntime {
  readonly layerDirs: readonly string[];
  readonly config: {
    readonly env: readonly string[];
    readonly entrypoint?: readonly string[];
    readonly cmd?: readonly string[];
    readonly workingDir?: string;
    readonly user?: string;
  };
}

/** The Amazon-provided DNS address every VPC answers on (Berth does not serve DNS yet). */
const VPC_RESOLVER = "169.254.169.253";

/**
 * The variables Fargate sets in every container (names as in the ECS docs). The metadata and
 * credentials URIs (ECS_CONTAINER_METADATA_URI_V4, ECS_CONTAINER_METADATA_URI,
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) come from the endpoint that serves them
 * (task-endpoints.ts), handed in as `endpointEnvironment`: without it they are not set.
 */
export function fargateEnvironment(spec: TaskSpec): Record<string, string> {
  return {
    AWS_EXECUTION_ENV: "AWS_ECS_FARGATE",
    AWS_REGION: spec.region,
    AWS_DEFAULT_REGION: spec.region,
  };
}

export class HostRuntimeAdapter implements RuntimePort {
  constructor(
    private readonly runtime: TaskRuntime,
    private readonly imageByDigest: (digest: string) => ImageForRuntime | undefined,
    private readonly endpointEnvironment?: (spec: TaskSpec, containerName: string) => Record<string, string>,
  ) {}

  runtimeIdOf(taskId: string, containerName: string): string {
    return runtimeIdOf(taskId, containerName);
  }

  idRange(taskId: string): Promise<IdRange> {
    return this.runtime.idRange(taskId);
  }

  prepareTask(spec: TaskSpec): Promise<void> {
    return this.runtime.prepareTask(spec.taskId, { cpuUnits: spec.cpuUnits, memoryMiB: spec.memoryMiB }, spec.ephemeralStorageGiB);
  }

  removeTask(taskId: string): Promise<void> {
    return this.runtime.removeTask(taskId);
  }

  async create(input: {
    taskId: string;
    spec: TaskSpec;
    container: ContainerDefinition;
    imageDigest: string;
    network: TaskNetworkInfo;
    secretEnv?: Readonly<Record<string, string>>;
  }): Promise<{ runtimeId: string }> {
    const image = this.imageByDigest(input.imageDigest);
    if (!image) throw new Error(`image ${input.imageDigest} is not in the host's image store`);
    const { spec } = input;
    const domain = spec.region === "us-east-1" ? "ec2.internal" : `${spec.region}.compute.internal`;
    const runtimeId = runtimeIdOf(input.taskId, input.container.name ?? "");
    await this.runtime.createContainer({
      taskId: input.taskId,
      budget: { cpuUnits: spec.cpuUnits, memoryMiB: spec.memoryMiB },
      taskDefinition: spec.taskDefinition,
      container: input.container,
      image: { ...image.config, layerDirs: image.layerDirs },
      // Secrets before the platform's variables: a secret cannot replace what Fargate sets.
      platformEnv: { ...input.secretEnv, ...fargateEnvironment(spec), ...this.endpointEnvironment?.(spec, input.container.name ?? "") },
      network: {
        netnsPath: input.network.netnsPath,
        userNamespacePath: input.network.userNamespacePath,
        ipv4: input.network.ipv4,
        hostname: input.network.privateDnsName,
        nameservers: [VPC_RESOLVER],
        searchDomains: [domain],
      },
    });
    return { runtimeId };
  }

  start(runtimeId: string): Promise<void> {
    return this.runtime.start(runtimeId);
  }

  async state(runtimeId: string): Promise<ContainerState> {
    const state = await this.runtime.state(runtimeId);
    if (state.kind === "exited") return { kind: "exited", exit: { exitCode: state.exitCode, oomKilled: state.oomKilled } };
    if (state.kind === "missing") return { kind: "missing" };
    return { kind: state.kind };
  }

  waitExit(runtimeId: string, signal?: AbortSignal): Promise<ContainerExit> {
    return this.runtime.waitExit(runtimeId, signal);
  }

  kill(runtimeId: string, signal: string): Promise<void> {
    return this.runtime.kill(runtimeId, signal);
  }

  exec(runtimeId: string, argv: readonly string[], timeoutMs: number): Promise<{ exitCode: number }> {
    return this.runtime.exec(runtimeId, argv, timeoutMs);
  }

  remove(runtimeId: string): Promise<void> {
    return this.runtime.removeContainer(runtimeId);
  }

  async readLogs(runtimeId: string, offset: number, options: { final?: boolean } = {}): Promise<LogChunk> {
    const chunk = await this.runtime.readLogs(runtimeId, offset, options);
    return {
      events: chunk.lines.map((line) => ({ timestamp: line.timestamp, message: line.message, stream: line.stream, offset: line.offset })),
      nextOffset: chunk.nextOffset,
    };
  }
}
