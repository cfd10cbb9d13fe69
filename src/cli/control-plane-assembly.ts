// Wires the control plane of one `berth server` replica over its store: the Fleet (agents'
// protocol), the TaskLauncher, the built-in registry, the gateway with every API, and the periodic
// loops. Each replica of a shared (PostgreSQL) store builds the same thing: the loops run on the
// replica holding their lease, and the store's signals carry "host X's tasks changed" to the
// replica that host's agent polls.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { RequestListener } from "node:http";
import { createAgentRoute } from "../api/agent-route.js";
import { createEcsService } from "../api/ecs/index.js";
import { createGateway } from "../api/gateway/gateway.js";
import { RequestThrottle } from "../api/gateway/request-throttle.js";
import { createLogsService } from "../api/logs/index.js";
import { MetricFilterEvaluator } from "../api/logs/metric-filter-evaluator.js";
import { createEc2Service } from "../api/ec2/index.js";
import { createStsService } from "../api/sts/index.js";
import { createNetworkService } from "../api/network-service.js";
import { hostNetworkView } from "../control/host-network-view.js";
import { withLoadBalancerNames } from "../control/load-balancer-names.js";
import { Fleet } from "../control/fleet.js";
import { ELB_REQUESTER_ID, LoadBalancerNodes, nodeDescription } from "../control/load-balancer-nodes.js";
import { listenerCertificateBundle } from "../control/listener-certificates.js";
import { LoadBalancerMetrics } from "../control/load-balancer-metrics.js";
import { TaskCredentials } from "../control/task-credentials.js";
import { startLogRetention } from "../control/log-retention.js";
import { startServicePurge } from "../control/service-purge.js";
import { startSecretPurge } from "../control/secret-purge.js";
import { createSecretsManagerService } from "../api/secretsmanager/index.js";
import { createAcmService } from "../api/acm/index.js";
import { certificateUsers } from "../api/elbv2/certificate-users.js";
import { createSsmService } from "../api/ssm/index.js";
import { createIamService } from "../api/iam/index.js";
import { createElbv2Service } from "../api/elbv2/index.js";
import type { ServiceModule } from "../api/service-module.js";
import type { PeriodicLoop } from "../control/periodic-loop.js";
import { startPeriodicLoop } from "../control/periodic-loop.js";
import { withCheckedPullCredentials } from "../control/registry-pull-credentials.js";
import { ExecutionRoleGrants } from "../control/execution-role-grants.js";
import type { RolePermissionCheck } from "../control/authorizer.js";
import type { TaskSpec } from "../protocol/index.js";
import { TaskLauncher } from "../control/task-launcher.js";
import { ServiceScheduler } from "../control/service-scheduler.js";
import type { AccountScope } from "../core/arn.js";
import { systemClock } from "../core/clock.js";
import type { DefaultNetwork } from "../core/default-network.js";
import type { Logger } from "../core/logger.js";
import type { Registry } from "../registry/index.js";
import { createRegistry } from "../registry/index.js";
import type { Store } from "../store/index.js";
import { assembleIdentity } from "./identity-assembly.js";
import { createTaskSecrets } from "./task-secrets-assembly.js";
import { principalResolver } from "./principal-resolver.js";
import type { SecretBox } from "./root-credentials.js";
import type { ServerConfig } from "./server-config.js";

/** The service scheduler's pass when nothing signalled: a backstop for a signal lost between replicas, and for launch back-off expiring. */
const SERVICE_PASS_INTERVAL_MS = 2_000;
/** Signalled passes come at most this often: a replacement waits at most this much more, and a burst of task reports costs a few passes. */
const SERVICE_PASS_MIN_GAP_MS = 100;
/** Load balancer nodes are placed after every ELBv2 change; this pass moves those of lost hosts and places those waiting for a host. */
const LOAD_BALANCER_PASS_INTERVAL_MS = 5_000;

export interface ControlPlane {
  readonly fleet: Fleet;
  readonly registry: Registry;
  readonly listener: RequestListener;
  /** Set once the listener is bound: the registry's host:port as images name it, and every name it answers to. */
  setRegistryHosts(publicHost: string, ownHosts: readonly string[]): void;
  registryHosts(): readonly string[];
  /** Stops the loops (giving their leases up), the registry's maintenance and the signal subscription. */
  close(): Promise<void>;
}

export interface ControlPlaneParts {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly box: SecretBox;
  /** The registry passwords' HMAC key, from the store (shared-control-plane-state.ts). */
  readonly registryTokenKey: Buffer;
  readonly scope: AccountScope;
  readonly network: DefaultNetwork;
  readonly logger: Logger & { child(bindings: object): Logger };
  readonly health: () => object;
}

/** This replica's name in the store's leases: unique per process, readable in diagnostics. */
function replicaName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/** The services that are the store's repositories behind an AWS API, nothing more. */
function storeBackedServices(parts: ControlPlaneParts): ServiceModule[] {
  const { store, scope, box } = parts;
  return [
    createSecretsManagerService({ secrets: store.secrets, clock: systemClock, scope, sealer: box }),
    createSsmService({ parameters: store.parameters, clock: systemClock, scope, sealer: box }),
    createIamService({ iam: store.iam, clock: systemClock, sealer: box }),
    // A change to the model reaches every replica: its hosts' polls answer with their recompiled nodes.
    // DescribeLoadBalancers reports where internet-facing load balancers are published (a host's public address).
    createElbv2Service({
      store,
      clock: systemClock,
      onChange: () => store.signals.publish("load-balancers", "changed"),
      publishedAddresses: () => loadBalancerNodesOf(parts).publishedAddresses(),
    }),
    createAcmService({ certificates: store.certificates, clock: systemClock, scope, sealer: box, certificateUsers: () => certificateUsers(store) }),
  ];
}

export function assembleControlPlane(parts: ControlPlaneParts): ControlPlane {
  const { config, store, scope, network, logger } = parts;
  let registryHost = "";
  let ownRegistryHosts: readonly string[] = [];
  const identity = assembleIdentity(store, parts.box, scope);
  const registry = createRegistry({
    store,
    blobDir: config.blobDir,
    tokenKey: parts.registryTokenKey,
    clock: systemClock,
    scope,
    logger: logger.child({ component: "registry" }),
    publicHost: () => registryHost,
    // Tokens issued to IAM users and role sessions are held to their policies on every /v2/ request.
    authorize: identity.registryAuthorize,
    tokenTtlMs: config.registryTokenTtlMs,
    // Lifecycle policies and garbage collection run in this replica's leased loop (startLoops).
    maintenanceIntervalMs: 0,
  });
  const roles = executionRoleChecks(identity.authorizer, registry, () => ownRegistryHosts, scope, identity.repositoryPolicyOf);
  const loadBalancerNodes = loadBalancerNodesOf(parts);
  const logsApi = assembleLogs(parts);
  const fleet = new Fleet({
    loadBalancerNodes,
    loadBalancerMetrics: new LoadBalancerMetrics({ store, clock: systemClock, requesterId: ELB_REQUESTER_ID, descriptionOf: nodeDescription }),
    taskCredentials: new TaskCredentials({ tasks: store.tasks, issuer: identity.sessions }),
    // Secrets read with each task's execution role (identity policies), at its start, for its own host only.
    taskSecrets: createTaskSecrets({ store, sealer: parts.box, scope, clock: systemClock, permissions: identity.authorizer, logger, grants: roles.grants }),
    hosts: store.hosts,
    tasks: store.tasks,
    logs: logsApi.logs,
    network,
    clock: systemClock,
    ...roles.fleet,
    // With the names of its VPCs' load balancers, which the host's VPC resolvers answer.
    networkView: async (hostId) => withLoadBalancerNames(hostNetworkView(await store.hostNetwork.rowsForHost(hostId)), store),
    onInterfacesReleased: () => store.signals.publish("network", "interfaces"),
    onServiceTasksChanged: () => store.signals.publish("services", "tasks"),
  });
  // A change to a host's desired tasks, made on any replica, wakes that host's long poll here.
  const unsubscribeTasks = store.signals.subscribe("host-tasks", (hostId) => (hostId === undefined ? fleet.notifyAll() : fleet.notify(hostId)));
  // A change to what hosts enforce (a group's rules or members, an interface's groups, a task's
  // interface made or released) may concern any host: every long poll answers with its new view.
  const unsubscribeNetwork = store.signals.subscribe("network", () => fleet.notifyAll());
  const unsubscribe = () => [unsubscribeTasks, unsubscribeNetwork, services.unsubscribe, nodes.unsubscribe].forEach((stop) => stop());
  const launcher = new TaskLauncher({ store, clock: systemClock, scope, network, notifyHost: (hostId) => store.signals.publish("host-tasks", hostId) });
  const loops = startLoops(parts, fleet, registry);
  const services = startServiceScheduler(parts, launcher);
  loops.push(services.loop);
  const nodes = startLoadBalancerPlacement(parts, loadBalancerNodes, fleet);
  loops.push(nodes.loop);
  const listener = createGateway({
    services: [
      createEcsService({ store, clock: systemClock, scope, launcher, servicesPerCluster: config.servicesPerCluster }),
      logsApi.service,
      createNetworkService(store),
      registry.ecrService,
      createEc2Service({ store, clock: systemClock }),
      createStsService(identity.sessions, async (userName) => (await store.iam.getUser(userName))?.userId),
      ...storeBackedServices(parts),
    ],
    httpRoutes: [createAgentRoute({ fleet, joinTokenStatus: (hash) => store.joinTokens.status(hash, Date.now()), logger }), registry.route],
    principalFor: principalResolver(store, parts.box),
    authorization: identity.authorization,
    region: config.region,
    partition: config.partition,
    clock: systemClock,
    logger,
    health: parts.health,
    throttle: new RequestThrottle(config.limits.throttle),
  });
  return {
    fleet,
    registry,
    listener,
    setRegistryHosts(publicHost, ownHosts) {
      registryHost = publicHost;
      ownRegistryHosts = ownHosts;
    },
    registryHosts: () => ownRegistryHosts,
    async close() {
      unsubscribe();
      await Promise.all(loops.map((loop) => loop.stop()));
      // The registry's maintenance pass must finish before the store it writes to closes.
      await registry.close();
    },
  };
}

/**
 * What each task's execution role allows (own-registry pulls, awslogs), decided once per task at its
 * start, and the hand-over that issues pull credentials only to a task it allows.
 */
function executionRoleChecks(
  permissions: RolePermissionCheck,
  registry: Registry,
  registryHosts: () => readonly string[],
  scope: AccountScope,
  repositoryPolicyOf: (name: string) => Promise<string | undefined>,
) {
  const grants = new ExecutionRoleGrants({ permissions, registryHosts, scope, repositoryPolicyOf });
  const issuer = {
    registryHosts,
    issue: (grant: { readonly repositories: readonly string[]; readonly roleArn: string }) => registry.issuePullCredentials(grant),
  };
  return { grants, fleet: { handOver: (spec: TaskSpec) => withCheckedPullCredentials(spec, issuer, grants), executionRoleGrants: grants } };
}

/**
 * The service scheduler's loop, under its lease. A service changed (API) or one of its tasks did (a
 * report, a lost host), on any replica: the replica holding the lease runs a pass now rather than
 * at the end of the interval.
 */
function startServiceScheduler(parts: ControlPlaneParts, launcher: TaskLauncher): { loop: PeriodicLoop; unsubscribe: () => void } {
  const { store, logger } = parts;
  const scheduler = new ServiceScheduler({
    store,
    launcher,
    clock: systemClock,
    logger: logger.child({ component: "service-scheduler" }),
    // Tasks registered in or deregistered from target groups: the load balancers' nodes recompile.
    onTargetsChanged: () => store.signals.publish("load-balancers", "targets"),
  });
  const loop = startPeriodicLoop({
    clock: systemClock,
    logger,
    store,
    holder: replicaName(),
    name: "service-scheduler",
    intervalMs: SERVICE_PASS_INTERVAL_MS,
    firstPassAfterMs: 1_000,
    minGapMs: SERVICE_PASS_MIN_GAP_MS,
    pass: (fenced, lease, renew) => scheduler.pass(fenced, lease, renew),
  });
  return { loop, unsubscribe: store.signals.subscribe("services", () => loop.wake()) };
}

/** Where load balancer nodes run and what they are told; a host whose nodes changed is woken on whichever replica it polls. */
function loadBalancerNodesOf({ store, scope, box }: ControlPlaneParts): LoadBalancerNodes {
  return new LoadBalancerNodes({
    store,
    clock: systemClock,
    accountId: scope.accountId,
    certificateBundle: (arn) => listenerCertificateBundle(store.certificates, box, arn),
    notifyHosts: (hostIds) => hostIds.forEach((hostId) => store.signals.publish("host-tasks", hostId)),
  });
}

/**
 * Load balancer nodes' placement, under its lease: after every ELBv2 change (any replica's) and
 * every few seconds (a host lost or joined). A change also re-answers this replica's hosts' polls,
 * so the nodes' models follow at once.
 */
function startLoadBalancerPlacement(parts: ControlPlaneParts, nodes: LoadBalancerNodes, fleet: Fleet): { loop: PeriodicLoop; unsubscribe: () => void } {
  const { store, logger } = parts;
  const loop = startPeriodicLoop({
    clock: systemClock,
    logger,
    store,
    holder: replicaName(),
    name: "load-balancer-placement",
    intervalMs: LOAD_BALANCER_PASS_INTERVAL_MS,
    firstPassAfterMs: 500,
    minGapMs: SERVICE_PASS_MIN_GAP_MS,
    pass: async (_fenced, lease) => void (await nodes.place({ lease, now: () => systemClock.now() })),
  });
  const unsubscribe = store.signals.subscribe("load-balancers", () => {
    fleet.notifyAll();
    loop.wake();
  });
  return { loop, unsubscribe };
}

/** A Logs Insights query that failed for a reason of the server's (not of the query's), logged with its id. */
function logsQueryError(logger: Logger): (queryId: string, err: unknown) => void {
  return (queryId, err) => logger.error({ err, queryId }, "logs insights query failed");
}

/**
 * CloudWatch Logs over the log store as ingest sees it: every event stored (PutLogEvents and the
 * agents' awslogs lines, through the Fleet) goes through its group's metric filters.
 */
function assembleLogs({ store, scope, logger }: ControlPlaneParts) {
  const evaluator = new MetricFilterEvaluator(
    store.logMetricFilters,
    () => systemClock.now(),
    (err) => logger.error({ err }, "recording log metric filter values failed"),
  );
  const logs = evaluator.wrap(store.logs);
  const service = createLogsService({
    logs,
    metricFilters: { repository: store.logMetricFilters, evaluator },
    resourcePolicies: store.logResourcePolicies,
    clock: systemClock,
    scope,
    insights: store.logsInsights,
    onQueryError: logsQueryError(logger),
  });
  return { logs, service };
}

/** The control loops, each under its lease in the store (one replica runs each). */
function startLoops(parts: ControlPlaneParts, fleet: Fleet, registry: Registry): PeriodicLoop[] {
  const { store, logger, config } = parts;
  const common = { clock: systemClock, logger, store, holder: replicaName() };
  return [
    startLogRetention(common),
    startServicePurge(common),
    startSecretPurge(common),
    startPeriodicLoop({
      ...common,
      name: "lost-hosts",
      intervalMs: fleet.heartbeatIntervalMs,
      pass: (fenced) => fenced((tx) => fleet.reapLostHosts(tx)).then(() => undefined),
    }),
    startPeriodicLoop({
      ...common,
      name: "stopped-task-retention",
      intervalMs: 60_000,
      pass: (fenced) => fenced((tx) => tx.tasks.purgeStopped(Date.now() - config.stoppedTaskRetentionMs)).then(() => undefined),
    }),
    // Registry maintenance deletes blob files, which no transaction covers: the lease is checked
    // (fenced) before each of its two phases, not around each deletion, and the collector itself is
    // safe against a second one running at once (it moves a blob aside and re-checks its links
    // before deleting, registry/blob-store.ts).
    startPeriodicLoop({
      ...common,
      name: "registry-maintenance",
      intervalMs: 3_600_000,
      // Soon after start: it clears what a crash left (orphan files, stale uploads).
      firstPassAfterMs: 5_000,
      pass: async (fenced) => {
        await fenced(async () => undefined);
        await registry.applyLifecyclePolicies();
        await fenced(async () => undefined); // still the holder after the lifecycle phase?
        const report = await registry.collectGarbage();
        if (report.blobsRemoved + report.linksRemoved + report.uploadsRemoved > 0) logger.info({ ...report }, "registry garbage collected");
      },
    }),
  ];
}
