// The control plane's half of the agent protocol, assembled from one owner per concern:
//
//   register, authenticateHost, mayRegister, heartbeat ─▶ HostRegistry     (host-registry.ts)
//   poll, notify, close                               ─▶ DesiredStateFeed (desired-state-feed.ts)
//   report                                            ─▶ ReportIngest     (report-ingest.ts)
//   putLogs                                           ─▶ LogIngest        (log-ingest.ts)
//   reapLostHosts (the server's periodic loop)        ─▶ LostHostReaper   (lost-host-reaper.ts)
//   targetHealth, the poll's loadBalancers            ─▶ LoadBalancerNodes (load-balancer-nodes.ts)
//   loadBalancerMetrics                               ─▶ LoadBalancerMetrics (load-balancer-metrics.ts)
//
// The HTTP route (api/agent-route.ts) and the embedded agent see one ControlPlaneLink; the server
// wires one Fleet from its store, clock and network. Nothing here but delegation and defaults.
import type { Clock } from "../core/clock.js";
import type { DefaultNetwork } from "../core/default-network.js";
import type {
  ControlPlaneLink,
  HostNetworkView,
  LogBatch,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
  TaskCredentialsAnswer,
  TaskSecretsAnswer,
  TargetHealthRequest,
  LoadBalancerMetricsRequest,
  TaskSpec,
} from "../protocol/index.js";
import { accessDeniedException } from "../core/errors.js";
import type { HostsRepository, LogsRepository, TasksRepository } from "../store/index.js";
import { DesiredStateFeed } from "./desired-state-feed.js";
import type { ExecutionRoleGrants } from "./execution-role-grants.js";
import type { LoadBalancerNodes } from "./load-balancer-nodes.js";
import { HostRegistry } from "./host-registry.js";
import { LogIngest } from "./log-ingest.js";
import { LostHostReaper } from "./lost-host-reaper.js";
import { ReportIngest } from "./report-ingest.js";
import type { TaskCredentials } from "./task-credentials.js";
import type { TaskSecrets } from "./task-secrets.js";

export interface FleetOptions {
  readonly hosts: HostsRepository;
  readonly tasks: TasksRepository;
  readonly logs: LogsRepository;
  readonly network: DefaultNetwork;
  readonly clock: Clock;
  readonly heartbeatIntervalMs?: number;
  /** How long a host may stay silent before it is lost (default: 4 heartbeat intervals). */
  readonly lostAfterMs?: number;
  /** Longest a poll waits for a change before answering with the unchanged list. */
  readonly pollWaitMs?: number;
  /** Adds what is issued fresh at hand-over and never stored (registry pull credentials). */
  readonly handOver?: (spec: TaskSpec) => TaskSpec | Promise<TaskSpec>;
  /** The network a host must enforce, sent with each poll answer (host-network-view.ts). */
  readonly networkView?: (hostId: string) => Promise<HostNetworkView>;
  /**
   * Called when tasks stopped (their interfaces were released with the stop): every host whose
   * view named them (as group members or overlay peers) must hear of it before the address is
   * handed to another task.
   */
  readonly onInterfacesReleased?: () => void;
  /** Service tasks changed state (a report, a lost host): the service scheduler has work. */
  readonly onServiceTasksChanged?: () => void;
  /** The hosts' load balancer nodes (poll answers) and the health they see; absent: no host runs one. */
  readonly loadBalancerNodes?: Pick<LoadBalancerNodes, "nodesFor" | "recordHealth">;
  /** Keeps what hosts' load balancer nodes measured (load-balancer-metrics.ts); absent: the call is refused. */
  readonly loadBalancerMetrics?: { record(hostId: string, request: LoadBalancerMetricsRequest): Promise<unknown> };
  /** Task role credentials for agents (task-credentials.ts); absent: the call is refused. */
  readonly taskCredentials?: TaskCredentials;
  /** Task secrets for agents (task-secrets.ts); absent: the call is refused. */
  readonly taskSecrets?: TaskSecrets;
  /** What each task's execution role allows (execution-role-grants.ts): log batches beyond it are refused. */
  readonly executionRoleGrants?: ExecutionRoleGrants;
}

export class Fleet implements ControlPlaneLink {
  readonly heartbeatIntervalMs: number;
  readonly lostAfterMs: number;
  private readonly registry: HostRegistry;
  private readonly feed: DesiredStateFeed;
  private readonly reports: ReportIngest;
  private readonly logIngest: LogIngest;
  private readonly reaper: LostHostReaper;
  private readonly onInterfacesReleased: () => void;
  private readonly onServiceTasksChanged: () => void;
  private readonly credentials: TaskCredentials | undefined;
  private readonly secrets: TaskSecrets | undefined;
  private readonly loadBalancerNodes: Pick<LoadBalancerNodes, "nodesFor" | "recordHealth"> | undefined;
  private readonly metrics: FleetOptions["loadBalancerMetrics"];

  constructor(options: FleetOptions) {
    const { hosts, tasks, logs, network, clock } = options;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
    this.lostAfterMs = options.lostAfterMs ?? 4 * this.heartbeatIntervalMs;
    this.registry = new HostRegistry({ hosts, network, clock, heartbeatIntervalMs: this.heartbeatIntervalMs });
    this.feed = new DesiredStateFeed({
      tasks,
      clock,
      pollWaitMs: options.pollWaitMs ?? 20_000,
      ...(options.handOver ? { handOver: options.handOver } : {}),
      ...(options.networkView ? { networkView: options.networkView } : {}),
      ...(options.loadBalancerNodes ? { loadBalancerNodes: (hostId: string) => options.loadBalancerNodes!.nodesFor(hostId) } : {}),
    });
    this.loadBalancerNodes = options.loadBalancerNodes;
    this.metrics = options.loadBalancerMetrics;
    this.onInterfacesReleased = options.onInterfacesReleased ?? (() => undefined);
    this.onServiceTasksChanged = options.onServiceTasksChanged ?? (() => undefined);
    this.reports = new ReportIngest({ tasks, clock, onServiceTasksChanged: () => this.onServiceTasksChanged() });
    this.logIngest = new LogIngest({ tasks, logs, clock, ...(options.executionRoleGrants ? { grants: options.executionRoleGrants } : {}) });
    this.reaper = new LostHostReaper({ hosts, tasks, clock, lostAfterMs: this.lostAfterMs });
    this.credentials = options.taskCredentials;
    this.secrets = options.taskSecrets;
  }

  close(): void {
    this.feed.close();
  }
  authenticateHost(hostId: string, secret: string): Promise<boolean> {
    return this.registry.authenticateHost(hostId, secret);
  }
  mayRegister(hostId: string, presentedSecret: string | undefined): Promise<boolean> {
    return this.registry.mayRegister(hostId, presentedSecret);
  }
  notify(hostId: string): void {
    this.feed.notify(hostId);
  }
  notifyAll(): void {
    this.feed.notifyAll();
  }
  register(request: RegisterRequest): Promise<RegisterResponse> {
    return this.registry.register(request);
  }
  poll(hostId: string, knownGeneration: number, signal?: AbortSignal): Promise<PollResponse> {
    return this.feed.poll(hostId, knownGeneration, signal);
  }
  async report(hostId: string, request: ReportRequest): Promise<void> {
    await this.reports.report(hostId, request);
    if (request.reports.some((report) => report.lastStatus === "STOPPED")) this.onInterfacesReleased();
  }
  heartbeat(hostId: string): Promise<void> {
    return this.registry.heartbeat(hostId);
  }
  putLogs(hostId: string, batches: readonly LogBatch[]): Promise<void> {
    return this.logIngest.putLogs(hostId, batches);
  }
  taskCredentials(hostId: string, taskArn: string): Promise<TaskCredentialsAnswer> {
    if (!this.credentials) return Promise.reject(accessDeniedException("This server issues no task role credentials.")); // wording not confirmed (Berth's own)
    return this.credentials.forHost(hostId, taskArn);
  }
  taskSecrets(hostId: string, taskArn: string): Promise<TaskSecretsAnswer> {
    if (!this.secrets) return Promise.reject(accessDeniedException("This server resolves no task secrets.")); // Berth's own text
    return this.secrets.resolve(hostId, taskArn);
  }
  async targetHealth(hostId: string, request: TargetHealthRequest): Promise<void> {
    await this.loadBalancerNodes?.recordHealth(hostId, request.results);
  }
  async loadBalancerMetrics(hostId: string, request: LoadBalancerMetricsRequest): Promise<void> {
    await this.metrics?.record(hostId, request);
  }
  async reapLostHosts(within?: Parameters<LostHostReaper["reapLostHosts"]>[0]): Promise<string[]> {
    const stopped = await this.reaper.reapLostHosts(within);
    if (stopped.length > 0) {
      this.onInterfacesReleased();
      this.onServiceTasksChanged();
    }
    return stopped;
  }
}
