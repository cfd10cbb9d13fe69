// The agent's ports: the small interfaces the task runner drives. The real images/runtime/network
// folders are adapted to these in src/agent (thin adapters); tests implement them with fakes.
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { IdRange } from "../core/id-range.js";
import type { CredentialsReference, PullPolicy, TaskNetworkSpec, TaskPlatform, TaskSpec, TaskStatusReport } from "../protocol/index.js";

/** A private registry's basic-auth login. */
export interface RegistryLogin {
  readonly username: string;
  readonly password: string;
}

export interface PulledImageInfo {
  readonly digest: string;
  /** The image config's StopSignal (OCI image spec); SIGTERM when absent. */
  readonly stopSignal?: string;
}

export interface ImagePort {
  /**
   * `registryCredentials` are the container's `repositoryCredentials` as the control plane resolved
   * them with the task's execution role (a secret's username and password); a secret, never logged.
   */
  pull(
    image: string,
    options: { platform: TaskPlatform; policy: PullPolicy; credentials: CredentialsReference; registryCredentials?: RegistryLogin },
  ): Promise<PulledImageInfo>;
}

export interface TaskNetworkInfo {
  readonly netnsPath: string;
  /** The task's user namespace, which owns its network namespace; its containers join both. */
  readonly userNamespacePath: string;
  readonly ipv4: string;
  readonly macAddress: string;
  readonly eniId: string;
  readonly privateDnsName: string;
}

/**
 * A task's network in two steps, so containers can be created while the network is plugged in.
 * Every call is idempotent: reserve twice returns the same network, connect of a connected network
 * does nothing, teardown of nothing succeeds.
 */
export interface NetworkPort {
  /**
   * The task's address, and its network namespace inside a user namespace mapping the task's
   * host id range (RuntimePort.idRange): enough to create its containers.
   */
  reserve(taskId: string, network: TaskNetworkSpec, ids: IdRange): Promise<TaskNetworkInfo>;
  /** Plugs the reserved namespace into its subnet; containers may start once it resolves. */
  connect(taskId: string): Promise<void>;
  teardown(taskId: string): Promise<void>;
}

export interface ContainerExit {
  readonly exitCode: number;
  readonly oomKilled: boolean;
}

export type ContainerState =
  { readonly kind: "created" } | { readonly kind: "running" } | { readonly kind: "exited"; readonly exit: ContainerExit } | { readonly kind: "missing" };

export interface LogEvent {
  readonly timestamp: number;
  readonly message: string;
  readonly stream: "stdout" | "stderr";
  /**
   * The line's position in its container's log (just after its last record): increasing per
   * container, so a sink can drop lines it already stored when they are sent again after an
   * agent crash between the sink's acknowledgement and the saved offset.
   */
  readonly offset: number;
}

export interface LogChunk {
  readonly events: readonly LogEvent[];
  /** Opaque position after these events; hand it back to continue exactly after them. */
  readonly nextOffset: number;
}

/** Every create is idempotent (same task/container → same runtime id); every remove tolerates absence. */
export interface RuntimePort {
  /** The id `create` will give this container: saved before create, so a failed create is cleaned up. */
  runtimeIdOf(taskId: string, containerName: string): string;
  /** The host uid/gid range of the task's user namespace; the same range on every call for a task. */
  idRange(taskId: string): Promise<IdRange>;
  /** The task's cgroup budget (cpu, memory) and its ephemeral storage of spec.ephemeralStorageGiB. */
  prepareTask(spec: TaskSpec): Promise<void>;
  /** Releases everything prepareTask made; tolerates it being gone. */
  removeTask(taskId: string): Promise<void>;
  create(input: {
    taskId: string;
    spec: TaskSpec;
    container: ContainerDefinition;
    imageDigest: string;
    network: TaskNetworkInfo;
    /** Environment variables from the container's `secrets`: into the runtime's config only (0600), never logged or saved. */
    secretEnv?: Readonly<Record<string, string>>;
  }): Promise<{ runtimeId: string }>;
  start(runtimeId: string): Promise<void>;
  state(runtimeId: string): Promise<ContainerState>;
  /**
   * Resolves when the container exits (also when it had already exited); rejects with the
   * signal's reason once `signal` aborts (the agent shutting down must not wait on containers).
   */
  waitExit(runtimeId: string, signal?: AbortSignal): Promise<ContainerExit>;
  kill(runtimeId: string, signal: string): Promise<void>;
  exec(runtimeId: string, argv: readonly string[], timeoutMs: number): Promise<{ exitCode: number }>;
  remove(runtimeId: string): Promise<void>;
  /**
   * Log lines after `offset`. `final` (the container has exited, nothing more will be written):
   * a trailing partial line counts as complete, so the last line is not held back forever.
   */
  readLogs(runtimeId: string, offset: number, options?: { final?: boolean }): Promise<LogChunk>;
}

/**
 * The sink refuses the lines for a reason retrying soon will not fix (a log group that does not
 * exist, without awslogs-create-group): the runner backs off instead of retrying at poll speed.
 */
export class LogDeliveryRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LogDeliveryRefusedError";
  }
}

/**
 * Acknowledged batches: resolving means the events are durable on the sink's side. The runner
 * sends a line again when it crashed before saving the offset after an acknowledgement; a sink
 * that must not store it twice drops events whose `offset` it has already stored.
 */
export interface LogSink {
  write(taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void>;
}

/** At-least-once delivery of status reports; the protocol issue wires it to the control plane. */
export interface TaskStateReporter {
  report(status: TaskStatusReport): Promise<void>;
}
