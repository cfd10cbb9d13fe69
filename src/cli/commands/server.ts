// `berth server`: the control plane (gateway with the ECS and CloudWatch Logs APIs, the agent
// protocol endpoint, the control loops) on one listener, state in <data-dir> or in a PostgreSQL
// database several replicas share (--store). run() reads as the steps of a start; each step is a
// function below, and control-plane-assembly.ts wires the parts.
import { chmodSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Logger as PinoLogger } from "pino";
import { pino } from "pino";
import { answerClientError } from "../../api/gateway/client-error.js";
import { applyServerLimits } from "../../api/gateway/server-limits.js";
import { defaultNetwork } from "../../core/default-network.js";
import { seedDefaultVpc } from "../../control/default-vpc.js";
import type { DefaultNetwork } from "../../core/default-network.js";
import { HostAgentLock } from "../../network/index.js";
import type { Store } from "../../store/index.js";
import { openStore } from "../../store/index.js";
import { hostCapacity, assembleHostAgent, uninstallHostAgent } from "../host-agent-assembly.js";
import type { AssembledHostAgent } from "../host-agent-assembly.js";
import type { RelayTarget } from "../../endpoints/index.js";
import { ConfigError } from "../config-error.js";
import type { ControlPlane } from "../control-plane-assembly.js";
import { assembleControlPlane } from "../control-plane-assembly.js";
import { ownRegistryHosts, publicRegistryHost } from "../public-host.js";
import { ensureSharedRootKey } from "../root-credentials.js";
import type { StoreKey } from "../shared-control-plane-state.js";
import { loadSharedState, storeKeyFor } from "../shared-control-plane-state.js";
import type { ServerConfig } from "../server-config.js";
import { compileServerConfig, redacted, SERVER_USAGE } from "../server-config.js";
import { ensureSharedBootstrapJoinToken } from "../bootstrap-join-token.js";
import type { ListenerTls } from "../server-tls.js";
import { certificateNames, ensureGeneratedTls, loadOperatorTls } from "../server-tls.js";

const VERSION = "0.1.0";

/** A start refused for a reason the user can fix: printed, exit code 2. */
class StartRefused extends Error {}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${SERVER_USAGE}\n`);
    return 0;
  }
  let config: ServerConfig;
  try {
    config = compileServerConfig(argv, process.env);
  } catch (error) {
    process.stderr.write(`berth server: ${(error as Error).message}\n${SERVER_USAGE}\n`);
    return 2;
  }
  const logger = pino({ base: { service: "berth-server" } });
  if (config.uninstall) return uninstall(config, logger);
  try {
    prepareDataDir(config, logger);
    return await serve(config, logger);
  } catch (error) {
    if (!(error instanceof StartRefused)) throw error;
    process.stderr.write(`berth server: ${error.message}\n`);
    return 2;
  }
}

async function uninstall(config: ServerConfig, logger: PinoLogger): Promise<number> {
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

/** The data dir (0700), and what must be true of this host before anything starts. */
function prepareDataDir(config: ServerConfig, logger: PinoLogger): void {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Also when it already existed: it holds the keys, the database and the image store (whose
  // layers keep their setuid files); tasks never need to reach into it (see runtime/task-filesystem.ts).
  chmodSync(config.dataDir, 0o700);
  if (!config.agent) return;
  // The embedded agent's declared capacity must be one the Fleet accepts: say so before starting.
  try {
    hostCapacity(config.agent, logger);
  } catch (error) {
    if (error instanceof ConfigError) throw new StartRefused(error.message);
    throw error;
  }
  // One agent per host (its firewall is the host's): refused here, before anything is started,
  // when another agent runs. The embedded agent keeps this lock until it closes.
  try {
    HostAgentLock.acquire(config.dataDir);
  } catch (error) {
    throw new StartRefused((error as Error).message);
  }
}

/** SQLite in the data dir, or the PostgreSQL database the replicas share. */
function openServerStore(config: ServerConfig, logger: PinoLogger): Promise<Store> {
  return config.store.kind === "postgres"
    ? openStore({ url: config.store.url, logger: logger.child({ component: "store" }) })
    : openStore({ path: join(config.dataDir, "berth.db") });
}

/** The listener's certificate, before anything is served; agents pin its CA from their join token. */
async function listenerTls(config: ServerConfig): Promise<ListenerTls | undefined> {
  try {
    return config.tls.mode === "files"
      ? loadOperatorTls(config.tls.certFile, config.tls.keyFile)
      : config.tls.mode === "generated"
        ? await ensureGeneratedTls(config.dataDir, certificateNames(config.listenHost, config.publicHost?.host))
        : undefined;
  } catch (error) {
    throw new StartRefused((error as Error).message);
  }
}

/** Turns a ConfigError of `work` (a bad key file, a store made for another account or key) into a refused start. */
async function refusingBadConfig<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConfigError) throw new StartRefused(error.message);
    throw error;
  }
}

async function serve(config: ServerConfig, logger: PinoLogger): Promise<number> {
  const startedAt = Date.now();
  const key = await refusingBadConfig(() => storeKeyFor({ storeKeyFile: config.storeKeyFile, dataDir: config.dataDir }));
  const store = await openServerStore(config, logger);
  let started: Started;
  try {
    // What every replica of the store agrees on comes from the store (shared-control-plane-state.ts).
    const shared = await refusingBadConfig(() =>
      loadSharedState({
        state: store.controlPlaneState,
        key,
        dataDir: config.dataDir,
        migrateFromDataDir: config.store.kind === "sqlite",
        accountId: config.accountId,
        now: Date.now(),
      }),
    );
    const scope = { partition: config.partition, region: config.region, accountId: shared.accountId };
    started = await start(config, logger, store, { ...shared, key, scope, startedAt });
  } catch (error) {
    await store.close();
    throw error;
  }
  return untilSignalled(logger, store, started);
}

interface Started {
  readonly server: Server;
  readonly controlPlane: ControlPlane;
  readonly embedded: AssembledHostAgent | undefined;
}

async function start(
  config: ServerConfig,
  logger: PinoLogger,
  store: Store,
  identity: {
    accountId: string;
    key: StoreKey;
    registryTokenKey: Buffer;
    scope: { partition: string; region: string; accountId: string };
    startedAt: number;
  },
): Promise<Started> {
  const { accountId, scope } = identity;
  const box = identity.key.box;
  // The store's secrets and what this replica writes to its data dir from them.
  const sealed = { state: store.controlPlaneState, box, keySource: identity.key.source, migrateFromDataDir: config.store.kind === "sqlite" };
  const root = await refusingBadConfig(() =>
    ensureSharedRootKey({
      ...sealed,
      dataDir: config.dataDir,
      accountId,
      partition: config.partition,
      accessKeys: store.accessKeys,
      fromEnvironment: config.rootKey,
      now: Date.now(),
    }),
  );
  if (root.readopted) logger.warn({ accessKeyId: root.accessKeyId }, "the store held no key of the credentials file; its [berth] key is the root key again");
  if (root.replacedFileKey)
    logger.warn({ accessKeyId: root.accessKeyId, replaced: root.replacedFileKey }, "the credentials file named another key; it now holds the store's root key");
  const tls = await listenerTls(config);
  const bootstrapToken = await refusingBadConfig(() =>
    ensureSharedBootstrapJoinToken({ ...sealed, dataDir: config.dataDir, joinTokens: store.joinTokens, caSha256: tls?.pinnedCa?.sha256, now: Date.now() }),
  );
  const network = defaultNetwork({ accountId, region: config.region, vpcCidr: config.vpcCidr });
  // The default VPC is an ordinary EC2 VPC in the store, made once per store (control/default-vpc.ts).
  await seedDefaultVpc(store, { network, accountId, region: config.region, nowMs: Date.now() });
  if (config.store.kind === "postgres" && config.blobDir === join(config.dataDir, "registry")) {
    logger.warn(
      { blobDir: config.blobDir },
      "the registry's blob dir is this replica's own: images pushed here cannot be pulled through another replica (--blob-dir)",
    );
  }
  const controlPlane = assembleControlPlane({
    config,
    store,
    box,
    registryTokenKey: identity.registryTokenKey,
    scope,
    network,
    logger,
    health: () => ({ status: "ok", version: VERSION, uptimeSeconds: Math.round((Date.now() - identity.startedAt) / 1000) }),
  });
  const server = await listen(config, tls, controlPlane);
  const address = server.address() as AddressInfo;
  const registryHost = await publicRegistryHost({ listenHost: config.listenHost, boundPort: address.port, configured: config.publicHost });
  controlPlane.setRegistryHosts(registryHost, ownRegistryHosts(registryHost, config.listenHost, address.port));
  // The embedded agent registers this machine before the banner says the server listens: a script
  // that runs a task as soon as it reads "listening on" finds a host to place it on.
  const embedded = await startEmbeddedAgent(config, logger, { tls, network, controlPlane, address, registryHost });
  printBanner({
    config,
    logger,
    address,
    tls,
    registryHost,
    accountId,
    rootAccessKeyId: root.accessKeyId,
    credentialsFile: root.credentialsFile,
    bootstrapToken,
  });
  return { server, controlPlane, embedded };
}

async function listen(config: ServerConfig, tls: ListenerTls | undefined, controlPlane: ControlPlane): Promise<Server> {
  const server = tls
    ? // handshakeTimeout: a connection that never finishes its TLS handshake is not covered by the
      // head timeout; node's default (120 s) would let a few addresses hold every connection slot.
      createHttpsServer(
        { keepAliveTimeout: 65_000, requireHostHeader: false, cert: tls.cert, key: tls.key, minVersion: "TLSv1.2", handshakeTimeout: 10_000 },
        controlPlane.listener,
      )
    : createServer({ keepAliveTimeout: 65_000, requireHostHeader: false }, controlPlane.listener);
  // A request without Host reaches the gateway, whose SigV4 check (host is always signed) refuses
  // it in AWS's words; node's own check would answer with an empty 400.
  server.on("clientError", answerClientError);
  applyServerLimits(server, config.limits);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listenPort, config.listenHost, resolve);
  });
  return server;
}

function printBanner(facts: {
  config: ServerConfig;
  logger: PinoLogger;
  address: AddressInfo;
  tls: ListenerTls | undefined;
  registryHost: string;
  accountId: string;
  rootAccessKeyId: string;
  credentialsFile: string | undefined;
  bootstrapToken: { file: string; expiresAt: number };
}): void {
  const { config, address, tls, registryHost, accountId, bootstrapToken } = facts;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const endpoint = `${tls ? "https" : "http"}://${host}:${address.port}`;
  const caBundle = tls?.caFile ? ` --ca-bundle ${tls.caFile}` : "";
  // A wildcard address is where the listener is bound, not a name a client can verify a
  // certificate for: the hints name the registry's public host (this machine's hostname or
  // --public-host), which the certificate covers.
  const clientEndpoint = address.address === "0.0.0.0" || address.address === "::" ? `${tls ? "https" : "http"}://${registryHost}` : endpoint;
  facts.logger.info({ config: redacted(config), accountId, endpoint }, "berth server started");
  process.stderr.write(
    [
      `berth: listening on ${endpoint}`,
      `berth: account ${accountId}, region ${config.region}, root access key ${facts.rootAccessKeyId}`,
      facts.credentialsFile
        ? `berth: point the AWS CLI at it:\n  export AWS_SHARED_CREDENTIALS_FILE=${facts.credentialsFile} AWS_PROFILE=berth AWS_DEFAULT_REGION=${config.region}\n  aws${caBundle} --endpoint-url ${clientEndpoint} ecs list-clusters`
        : `berth: point the AWS CLI at it: AWS_DEFAULT_REGION=${config.region} aws${caBundle} --endpoint-url ${clientEndpoint} ecs list-clusters`,
      ...(tls?.caFile ? [`berth: TLS certificate generated by this server; clients trust its CA ${tls.caFile} (CA sha256 ${tls.pinnedCa!.sha256})`] : []),
      `berth: agents join with: berth agent --server ${clientEndpoint} --token-file ${bootstrapToken.file} (valid until ${new Date(bootstrapToken.expiresAt).toISOString()}${tls?.pinnedCa ? "; it pins this server's CA" : ""})`,
      `berth: built-in registry at ${registryHost} (repository URIs ${registryHost}/<name>; set with --public-host)`,
      config.store.kind === "postgres"
        ? "berth: (or a token of their own: berth join-token create --store <this --store URL>)"
        : `berth: (or a token of their own: berth join-token create --data-dir ${config.dataDir})`,
      "",
    ].join("\n"),
  );
}

/**
 * The embedded agent: this machine is a host of its own fleet, talking to the Fleet through the
 * same protocol interface a remote `berth agent` uses over HTTP.
 */
async function startEmbeddedAgent(
  config: ServerConfig,
  logger: PinoLogger,
  parts: { tls: ListenerTls | undefined; network: DefaultNetwork; controlPlane: ControlPlane; address: AddressInfo; registryHost: string },
): Promise<AssembledHostAgent | undefined> {
  if (!config.agent) return undefined;
  const { tls, network, controlPlane, address, registryHost } = parts;
  const withSubnets = config.agent.subnetIds.length > 0 ? config.agent : { ...config.agent, subnetIds: network.subnets.map((subnet) => subnet.subnetId) };
  // This server's own registry shares its listener: over plain HTTP when the API is (loopback or
  // --insecure-http), else over the same TLS, verified against the same CA as any agent uses.
  const ownCa = tls?.pinnedCa?.pem;
  const registryHosts = controlPlane.registryHosts();
  const agentConfig = tls
    ? { ...withSubnets, registryTrust: (registry: string) => (registryHosts.includes(registry) ? { ca: ownCa } : undefined) }
    : { ...withSubnets, insecureRegistries: [...new Set([...withSubnets.insecureRegistries, ...registryHosts])] };
  const apiTarget = ownApiTarget(address, tls, registryHost);
  const embedded = assembleHostAgent({
    config: agentConfig,
    link: controlPlane.fleet,
    logger: logger.child({ component: "agent" }),
    apiTarget: () => apiTarget,
  });
  await embedded.start();
  return embedded;
}

/**
 * The embedded agent's relay target (tasks' API calls, src/endpoints/api-relay.ts): this server's
 * own listener, over loopback when it listens on every address. Over TLS the certificate is checked
 * against the generated CA (which names 127.0.0.1 and ::1), else against the system's roots for
 * the public host the operator's certificate is for.
 */
function ownApiTarget(address: AddressInfo, tls: ListenerTls | undefined, publicHost: string): RelayTarget {
  const wildcard = address.address === "0.0.0.0" || address.address === "::";
  const host = wildcard ? (address.family === "IPv6" ? "::1" : "127.0.0.1") : address.address;
  const url = new URL(`${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${address.port}`);
  if (!tls || tls.caFile !== undefined) return { url, ca: tls?.pinnedCa?.pem };
  // An operator's certificate names the public host: checked for that name (SNI takes no address).
  const name = new URL(`https://${publicHost}`).hostname;
  return isIP(name) ? { url, ca: tls.pinnedCa?.pem } : { url, ca: tls.pinnedCa?.pem, servername: name };
}

/** Serves until SIGTERM or SIGINT, then shuts down in order. */
function untilSignalled(logger: PinoLogger, store: Store, started: Started): Promise<number> {
  const { server, controlPlane, embedded } = started;
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
        controlPlane.fleet.close();
        await closed;
        await controlPlane.close();
        await store.close();
        logger.info({}, "berth server stopped");
        resolve(0);
      })();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
