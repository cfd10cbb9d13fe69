// The agent's side of 169.254.170.2 (src/endpoints serves it): one listener per VPC router (opened
// inside the router's namespace when the router is ready, closed before it is removed), the
// directory that names the task behind a connection, and the environment each container is given.
//
//   index   router (VPC id) → task address → entry: O(1) per request. An entry is added when a
//           container of the task is created (its environment is made then), and the whole index
//           is rebuilt from the agent's tasks after a restart or on a miss (at most once a second,
//           so a flood of misses costs nothing). A STOPPED task's entry is dropped when found.
//   ids     HMACs of the task ARN under a key kept 0600 in the agent's dir (endpoint-paths.ts).
//   creds   fetched from the control plane (`taskCredentials`) and cached in memory only.
//   relay   a task's signed AWS API calls go on to apiTarget (src/endpoints/api-relay.ts).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Server } from "node:net";
import type { Server as HttpServer } from "node:http";
import type { TaskCredentialsAnswer, TaskSpec, TaskStatusReport } from "../protocol/index.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EndpointDirectory, EndpointTask, RelayTarget, TaskEndpointIds, UsageCounters, UsageSample } from "../endpoints/index.js";
import {
  ApiRelay,
  CredentialsCache,
  METADATA_HOST,
  containerMetadata,
  createEndpointServer,
  endpointEnvironment,
  endpointIds,
  listenInNamespace,
  statsDocument,
  taskMetadata,
} from "../endpoints/index.js";
import type { EndpointListeners, RouterRecord } from "../network/index.js";
import { privateDnsName } from "../network/index.js";

export interface TaskEndpointsOptions {
  /** The agent's own dir (0700): the id key lives there. */
  readonly stateDir: string;
  readonly tasks: { list(): TaskStatusReport[]; describe(taskArn: string): TaskStatusReport | undefined; specOf(taskId: string): TaskSpec | undefined };
  readonly usage: (taskId: string, containerName?: string) => UsageCounters | undefined;
  readonly systemCpuNs: () => number | undefined;
  readonly ephemeralUsedMiB: (taskId: string) => number | undefined;
  /** The control plane's `taskCredentials` for this host; undefined: the link cannot issue them. */
  readonly credentials?: ((taskArn: string) => Promise<TaskCredentialsAnswer>) | undefined;
  /** Where tasks' signed API calls are relayed (the control plane this agent uses); undefined: no relay, no AWS_ENDPOINT_URL. */
  readonly apiTarget?: (() => RelayTarget | undefined) | undefined;
  readonly onError: (error: unknown, what: string) => void;
  readonly now?: () => number;
}

interface Entry extends EndpointTask {
  readonly spec: TaskSpec;
  readonly vpcId: string;
  readonly ipv4: string;
}

const REBUILD_INTERVAL_MS = 1_000;

/** The key the ids are derived from, made once per agent dir. */
export function loadEndpointKey(stateDir: string): Buffer {
  const path = join(stateDir, "endpoint-key");
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  return Buffer.from(readFileSync(path, "utf8").trim(), "hex");
}

export class TaskEndpoints implements EndpointListeners, EndpointDirectory {
  private readonly key: Buffer;
  private readonly servers = new Map<string, HttpServer>();
  private readonly index = new Map<string, Map<string, Entry>>();
  private readonly samples = new Map<string, UsageSample>();
  private readonly cache: CredentialsCache;
  private rebuiltAtMs = -Infinity;
  private closed = false;
  private readonly now: () => number;
  private readonly apiRelay: ApiRelay | undefined;
  readonly relay: ((task: EndpointTask, request: IncomingMessage, response: ServerResponse) => Promise<void>) | undefined;

  constructor(private readonly options: TaskEndpointsOptions) {
    this.key = loadEndpointKey(options.stateDir);
    this.now = options.now ?? Date.now;
    const apiRelay = options.apiTarget ? new ApiRelay(options.apiTarget, (error, what) => options.onError(error, what)) : undefined;
    this.apiRelay = apiRelay;
    this.relay = apiRelay && ((task, request, response) => apiRelay.relay(task.taskArn, request, response));
    this.cache = new CredentialsCache((taskArn) => {
      if (!options.credentials) return Promise.reject(new Error("this agent's control plane link issues no task credentials"));
      return options.credentials(taskArn);
    }, this.now);
  }

  // --- listeners (EndpointListeners, called by the VPC routers) -------------------------------

  async open(record: RouterRecord): Promise<void> {
    if (this.closed || this.servers.has(record.vpcId)) return;
    const listener: Server = await listenInNamespace(record.netnsPath, METADATA_HOST, 80);
    const server = createEndpointServer(this, record.vpcId);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listener, () => resolve());
    });
    this.servers.set(record.vpcId, server);
  }

  async close(record: Pick<RouterRecord, "vpcId">): Promise<void> {
    const server = this.servers.get(record.vpcId);
    if (!server) return;
    this.servers.delete(record.vpcId);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Agent stop: every listener closed (the routers outlive the agent; nothing answers until the next one opens them again). */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.servers.keys()].map((vpcId) => this.close({ vpcId })));
    this.apiRelay?.close();
  }

  // --- the environment and the index -----------------------------------------------------------

  private entryOf(spec: TaskSpec): Entry | undefined {
    const { vpcId, privateIpv4Address } = spec.network;
    if (!vpcId || !privateIpv4Address) return undefined;
    const names = (spec.taskDefinition.containerDefinitions ?? []).map((definition) => definition.name ?? "");
    const ids: TaskEndpointIds = endpointIds(this.key, spec.taskArn, names);
    return { taskArn: spec.taskArn, ids, hasTaskRole: Boolean(spec.taskDefinition.taskRoleArn), spec, vpcId, ipv4: privateIpv4Address };
  }

  private add(entry: Entry): void {
    let byAddress = this.index.get(entry.vpcId);
    if (!byAddress) this.index.set(entry.vpcId, (byAddress = new Map()));
    byAddress.set(entry.ipv4, entry);
  }

  /** The variables a container of the task gets for the endpoints (none for a task without an allocated interface). */
  environment(spec: TaskSpec, containerName: string): Record<string, string> {
    const entry = this.entryOf(spec);
    if (!entry) return {};
    this.add(entry);
    return endpointEnvironment(entry.ids, containerName, entry.hasTaskRole, this.apiRelay !== undefined);
  }

  private rebuild(): void {
    this.rebuiltAtMs = this.now();
    this.index.clear();
    for (const status of this.options.tasks.list()) {
      if (status.lastStatus === "STOPPED") continue;
      const spec = this.options.tasks.specOf(status.taskArn.slice(status.taskArn.lastIndexOf("/") + 1));
      const entry = spec && this.entryOf(spec);
      if (entry) this.add(entry);
    }
    for (const taskArn of this.cache.tasks()) if (this.options.tasks.describe(taskArn)?.lastStatus !== "RUNNING") this.cache.forget(taskArn);
  }

  find(router: string, address: string): Entry | undefined {
    let entry = this.index.get(router)?.get(address);
    if (!entry && this.now() - this.rebuiltAtMs >= REBUILD_INTERVAL_MS) {
      this.rebuild();
      entry = this.index.get(router)?.get(address);
    }
    if (!entry) return undefined;
    const status = this.options.tasks.describe(entry.taskArn);
    if (!status || status.lastStatus === "STOPPED") {
      this.index.get(router)?.delete(address);
      this.cache.forget(entry.taskArn);
      return undefined;
    }
    return entry;
  }

  // --- documents (EndpointDirectory) ------------------------------------------------------------

  private input(task: EndpointTask) {
    const entry = task as Entry;
    const status = this.options.tasks.describe(entry.taskArn);
    if (!status) return undefined;
    const { spec } = entry;
    return {
      spec,
      status,
      network: { ipv4: entry.ipv4, macAddress: spec.network.macAddress ?? "", privateDnsName: privateDnsName(entry.ipv4, spec.region) },
      ephemeralUtilizedMiB: this.options.ephemeralUsedMiB(spec.taskId),
    };
  }

  taskDocument(task: EndpointTask, version: 3 | 4): object | undefined {
    const input = this.input(task);
    return input && taskMetadata(input, version);
  }

  containerDocument(task: EndpointTask, containerName: string, version: 3 | 4): object | undefined {
    const input = this.input(task);
    return input && containerMetadata(input, containerName, version);
  }

  private sample(entry: Entry, containerName: string, runtimeId: string): object | undefined {
    const usage = this.options.usage(entry.spec.taskId, containerName);
    if (!usage) return undefined;
    const key = `${entry.taskArn}\0${containerName}`;
    const sample: UsageSample = { readAtMs: this.now(), usage, systemCpuNs: this.options.systemCpuNs(), onlineCpus: availableParallelism() };
    const previous = this.samples.get(key);
    this.samples.set(key, sample);
    return statsDocument({ id: runtimeId, name: containerName }, sample, previous);
  }

  containerStats(task: EndpointTask, containerName: string): object | undefined {
    const container = this.options.tasks.describe(task.taskArn)?.containers.find((candidate) => candidate.name === containerName);
    return container?.runtimeId ? this.sample(task as Entry, containerName, container.runtimeId) : undefined;
  }

  taskStats(task: EndpointTask): object | undefined {
    const status = this.options.tasks.describe(task.taskArn);
    if (!status) return undefined;
    const out: Record<string, object> = {};
    for (const container of status.containers) {
      const stats = container.runtimeId ? this.sample(task as Entry, container.name, container.runtimeId) : undefined;
      if (container.runtimeId && stats) out[container.runtimeId] = stats;
    }
    return out;
  }

  credentials(task: EndpointTask): Promise<TaskCredentialsAnswer> {
    return this.cache.get(task.taskArn);
  }

  onError(error: unknown, what: string): void {
    this.options.onError(error, what);
  }
}
