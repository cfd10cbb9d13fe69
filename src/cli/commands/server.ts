// `berth server`: the control plane (gateway with the ECS and CloudWatch Logs APIs, the agent
// protocol endpoint, the control loops) on one listener, state in <data-dir>.
import { randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pino } from "pino";
import { createAgentRoute } from "../../api/agent-route.js";
import { createEcsService } from "../../api/ecs/index.js";
import { answerClientError } from "../../api/gateway/client-error.js";
import { createGateway } from "../../api/gateway/gateway.js";
import { RequestThrottle } from "../../api/gateway/request-throttle.js";
import { applyServerLimits } from "../../api/gateway/server-limits.js";
import { createLogsService } from "../../api/logs/index.js";
import { createNetworkService } from "../../api/network-service.js";
import { Fleet } from "../../control/fleet.js";
import { withRegistryPullCredentials } from "../../control/registry-pull-credentials.js";
import { TaskLauncher } from "../../control/task-launcher.js";
import { startLogRetention } from "../../control/log-retention.js";
import { startPeriodicLoop } from "../../control/periodic-loop.js";
import { systemClock } from "../../core/clock.js";
import { defaultNetwork } from "../../core/default-network.js";
import { HostAgentLock } from "../../network/index.js";
import { createRegistry } from "../../registry/index.js";
import { openStore } from "../../store/index.js";
import { hostCapacity, assembleHostAgent, uninstallHostAgent } from "../host-agent-assembly.js";
import type { AssembledHostAgent } from "../host-agent-assembly.js";
import { ConfigError } from "../config-error.js";
import { ownRegistryHosts, publicRegistryHost } from "../public-host.js";
import { ensureRootKey, SecretBox } from "../root-credentials.js";
import { compileServerConfig, redacted, SERVER_USAGE } from "../server-config.js";
import { ensureBootstrapJoinToken } from "../bootstrap-join-token.js";
import type { ListenerTls } from "../server-tls.js";
import { certificateNames, ensureGeneratedTls, loadOperatorTls } from "../server-tls.js";

/** How long a resolved access key is trusted without a store read. */
const PRINCIPAL_CACHE_MS = 60_000;

const VERSION = "0.1.0";

/** A value generated once and kept in a 0600 file of the data dir. */
function persistentValue(path: string, make: () => string): string {
  if (!existsSync(path)) writeFileSync(path, `${make()}\n`, { mode: 0o600, flag: "wx" });
  return readFileSync(path, "utf8").trim();
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${SERVER_USAGE}\n`);
    return 0;
  }
  let config;
  try {
    config = compileServerConfig(argv, process.env);
  } catch (error) {
    process.stderr.write(`berth server: ${(error as Error).message}\n${SERVER_USAGE}\n`);
    return 2;
  }
  const startedAt = Date.now();
  const logger = pino({ base: { service: "berth-server" } });
  if (config.uninstall) {
    let tasksStopped = 0;
    try {
      if (config.agent) ({ tasksStopped } = await uninstallHostAgent({ config: config.agent, logger: logger.child({ component: "agent" }) }));
    } catch (error) {
      process.stderr.write(`berth server: ${(error as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`berth server: uninstalled (${tasksStopped} task(s) stopped); ${config.dataDir} is left for you to remove\n`);
    return 0;
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Also when it already existed: it holds the keys, the database and the image store (whose
  // layers keep their setuid files); tasks never need to reach into it (see runtime/task-filesystem.ts).
  chmodSync(config.dataDir, 0o700);
  if (config.agent) {
    // The embedded agent's declared capacity must be one the Fleet accepts: say so before starting.
    try {
      hostCapacity(config.agent, logger);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`berth server: ${error.message}\n`);
      return 2;
    }
    // One agent per host (its firewall is the host's): refused here, before anything is started,
    // when another agent runs. The embedded agent keeps this lock until it closes.
    try {
      HostAgentLock.acquire(config.dataDir);
    } catch (error) {
      process.stderr.write(`berth server: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const accountId =
    config.accountId ??
    persistentValue(join(config.dataDir, "account-id"), () => String(randomInt(100_000, 1_000_000)) + String(randomInt(100_000, 1_000_000)));
  const scope = { partition: config.partition, region: config.region, accountId };
  const store = await openStore({ path: join(config.dataDir, "berth.db") });
  const box = SecretBox.open(config.dataDir);
  let root;
  try {
    root = await ensureRootKey({
      dataDir: config.dataDir,
      accountId,
      partition: config.partition,
      accessKeys: store.accessKeys,
      box,
      fromEnvironment: config.rootKey,
      now: Date.now(),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await store.close();
    process.stderr.write(`berth server: ${error.message}\n`);
    return 2;
  }
  if (root.readopted) logger.warn({ accessKeyId: root.accessKeyId }, "the store held no key of the credentials file; its [berth] key is the root key again");
  // The listener's certificate, before anything is served; agents pin its CA from their join token.
  let tls: ListenerTls | undefined;
  try {
    tls =
      config.tls.mode === "files"
        ? loadOperatorTls(config.tls.certFile, config.tls.keyFile)
        : config.tls.mode === "generated"
          ? await ensureGeneratedTls(config.dataDir, certificateNames(config.listenHost, config.publicHost?.host))
          : undefined;
  } catch (error) {
    await store.close();
    process.stderr.write(`berth server: ${(error as Error).message}\n`);
    return 2;
  }
  const bootstrapToken = await ensureBootstrapJoinToken({
    dataDir: config.dataDir,
    joinTokens: store.joinTokens,
    caSha256: tls?.pinnedCa?.sha256,
    now: Date.now(),
  });

  const network = defaultNetwork({ accountId, region: config.region, vpcCidr: config.vpcCidr });
  // The registry's host:port as images name it; known once the listener is bound (port 0).
  let registryHost = "";
  let registryHosts: readonly string[] = [];
  const fleet = new Fleet({
    hosts: store.hosts,
    tasks: store.tasks,
    logs: store.logs,
    network,
    clock: systemClock,
    handOver: (spec) => withRegistryPullCredentials(spec, { registryHosts: () => registryHosts, issue: (grant) => registry.issuePullCredentials(grant) }),
  });
  const launcher = new TaskLauncher({ store, clock: systemClock, scope, network, notifyHost: (hostId) => fleet.notify(hostId) });
  const loops = [
    startLogRetention({ logs: store.logs, clock: systemClock, logger }),
    startPeriodicLoop({
      name: "lost-hosts",
      intervalMs: fleet.heartbeatIntervalMs,
      clock: systemClock,
      logger,
      pass: async () => void (await fleet.reapLostHosts()),
    }),
    startPeriodicLoop({
      name: "stopped-task-retention",
      intervalMs: 60_000,
      clock: systemClock,
      logger,
      pass: async () => void (await store.tasks.purgeStopped(Date.now() - config.stoppedTaskRetentionMs)),
    }),
  ];

  // Access keys resolved recently (a store read and an unseal per request would cost the hot path).
  // Entries expire, so a key removed from the store stops working within PRINCIPAL_CACHE_MS.
  const principals = new Map<string, { principal: { secretAccessKey: string; accountId: string; principalArn: string }; expiresAt: number }>();
  // The built-in registry (OCI distribution under /v2/ + ECR), reached at the public host.
  const registry = createRegistry({
    store,
    dataDir: config.dataDir,
    clock: systemClock,
    scope,
    logger: logger.child({ component: "registry" }),
    publicHost: () => registryHost,
    tokenTtlMs: config.registryTokenTtlMs,
  });
  const listener = createGateway({
    services: [
      createEcsService({ store, clock: systemClock, scope, launcher }),
      createLogsService({ logs: store.logs, clock: systemClock, scope }),
      createNetworkService(network),
      registry.ecrService,
    ],
    httpRoutes: [createAgentRoute({ fleet, joinTokenStatus: (hash) => store.joinTokens.status(hash, Date.now()), logger }), registry.route],
    principalFor: async (accessKeyId) => {
      const cached = principals.get(accessKeyId);
      if (cached && cached.expiresAt > Date.now()) return cached.principal;
      principals.delete(accessKeyId);
      const stored = await store.accessKeys.get(accessKeyId);
      const principal = stored
        ? { secretAccessKey: box.unseal(stored.secretCiphertext), accountId: stored.accountId, principalArn: stored.principalArn }
        : undefined;
      if (principal) principals.set(accessKeyId, { principal, expiresAt: Date.now() + PRINCIPAL_CACHE_MS });
      return principal;
    },
    region: config.region,
    partition: config.partition,
    clock: systemClock,
    logger,
    health: () => ({ status: "ok", version: VERSION, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
    throttle: new RequestThrottle(config.limits.throttle),
  });
  const server = tls
    ? // handshakeTimeout: a connection that never finishes its TLS handshake is not covered by the
      // head timeout; node's default (120 s) would let a few addresses hold every connection slot.
      createHttpsServer(
        { keepAliveTimeout: 65_000, requireHostHeader: false, cert: tls.cert, key: tls.key, minVersion: "TLSv1.2", handshakeTimeout: 10_000 },
        listener,
      )
    : createServer({ keepAliveTimeout: 65_000, requireHostHeader: false }, listener);
  // A request without Host reaches the gateway, whose SigV4 check (host is always signed) refuses
  // it in AWS's words; node's own check would answer with an empty 400.
  server.on("clientError", answerClientError);
  applyServerLimits(server, config.limits);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listenPort, config.listenHost, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const endpoint = `${tls ? "https" : "http"}://${host}:${address.port}`;
  const caBundle = tls?.caFile ? ` --ca-bundle ${tls.caFile}` : "";
  registryHost = await publicRegistryHost({ listenHost: config.listenHost, boundPort: address.port, configured: config.publicHost });
  registryHosts = ownRegistryHosts(registryHost, config.listenHost, address.port);
  // A wildcard address is where the listener is bound, not a name a client can verify a
  // certificate for: the hints name the registry's public host (this machine's hostname or
  // --public-host), which the certificate covers.
  const clientEndpoint = address.address === "0.0.0.0" || address.address === "::" ? `${tls ? "https" : "http"}://${registryHost}` : endpoint;
  logger.info({ config: redacted(config), accountId, endpoint }, "berth server started");
  process.stderr.write(
    [
      `berth: listening on ${endpoint}`,
      `berth: account ${accountId}, region ${config.region}, root access key ${root.accessKeyId}`,
      root.credentialsFile
        ? `berth: point the AWS CLI at it:\n  export AWS_SHARED_CREDENTIALS_FILE=${root.credentialsFile} AWS_PROFILE=berth AWS_DEFAULT_REGION=${config.region}\n  aws${caBundle} --endpoint-url ${clientEndpoint} ecs list-clusters`
        : `berth: point the AWS CLI at it: AWS_DEFAULT_REGION=${config.region} aws${caBundle} --endpoint-url ${clientEndpoint} ecs list-clusters`,
      ...(tls?.caFile ? [`berth: TLS certificate generated by this server; clients trust its CA ${tls.caFile} (CA sha256 ${tls.pinnedCa!.sha256})`] : []),
      `berth: agents join with: berth agent --server ${clientEndpoint} --token-file ${bootstrapToken.file} (valid until ${new Date(bootstrapToken.expiresAt).toISOString()}${tls?.pinnedCa ? "; it pins this server's CA" : ""})`,
      `berth: built-in registry at ${registryHost} (repository URIs ${registryHost}/<name>; set with --public-host)`,
      `berth: (or a token of their own: berth join-token create --data-dir ${config.dataDir})`,
      "",
    ].join("\n"),
  );

  // The embedded agent: this machine is a host of its own fleet, talking to the Fleet through the
  // same protocol interface a remote `berth agent` uses over HTTP.
  let embedded: AssembledHostAgent | undefined;
  if (config.agent) {
    const withSubnets = config.agent.subnetIds.length > 0 ? config.agent : { ...config.agent, subnetIds: network.subnets.map((subnet) => subnet.subnetId) };
    // This server's own registry shares its listener: over plain HTTP when the API is (loopback or
    // --insecure-http), else over the same TLS, verified against the same CA as any agent uses.
    const ownCa = tls?.pinnedCa?.pem;
    const agentConfig = tls
      ? { ...withSubnets, registryTrust: (registry: string) => (registryHosts.includes(registry) ? { ca: ownCa } : undefined) }
      : { ...withSubnets, insecureRegistries: [...new Set([...withSubnets.insecureRegistries, ...registryHosts])] };
    embedded = assembleHostAgent({ config: agentConfig, link: fleet, logger: logger.child({ component: "agent" }) });
    await embedded.start();
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "berth server stopping");
      // Shutdown must finish even if some part hangs: a supervisor's SIGTERM is not a request.
      setTimeout(() => {
        logger.error({}, "berth server did not stop within 15 s; exiting anyway");
        process.exit(1);
      }, 15_000).unref();
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Idle keep-alive connections would hold close() open; in-flight requests finish first and
      // their connections are closed as soon as they go idle (checked every 50 ms).
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      void closed.then(() => clearInterval(idle));
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
      void (async () => {
        // Containers keep running under conmon; the agent picks them up again on the next start.
        await embedded?.close();
        // Remote agents' long polls would hold close() open for up to their wait time: answer them
        // (and any poll after them) with "shutting down" so they back off.
        fleet.close();
        await closed;
        await Promise.all(loops.map((loop) => loop.stop()));
        // The registry's maintenance pass must finish before the store it writes to closes.
        await registry.close();
        await store.close();
        logger.info({}, "berth server stopped");
        resolve(0);
      })();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
