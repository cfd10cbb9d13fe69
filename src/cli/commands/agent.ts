// `berth agent`: joins this machine (or a network namespace of it) to a Berth server's fleet as a
// host that runs tasks. It speaks the agent protocol over HTTPS (verified: --ca-file, the CA the
// join token pins, or the system's roots) or, on loopback or with --insecure-http, plain HTTP, to
// one server or to several replicas of one control plane (--server repeated), moving to the next
// when the one it talks to fails (src/agent/control-link-failover.ts).
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import type { Logger } from "../../core/logger.js";
import { createFailoverControlLink } from "../../agent/control-link-failover.js";
import { AGENT_USAGE, agentParseOptions, compileAgentConfig } from "../agent-config.js";
import type { AgentServers } from "../agent-servers.js";
import { compileAgentServers } from "../agent-servers.js";
import { assembleHostAgent, uninstallHostAgent } from "../host-agent-assembly.js";
import type { AssembledHostAgent, HostAgentConfig } from "../host-agent-assembly.js";
import { HostAgentLock } from "../../network/index.js";
import { parseCommandLine } from "../command-line.js";
import { serverTrust } from "../../agent/server-trust.js";
import { parseJoinToken } from "../../protocol/index.js";
import type { JoinToken } from "../../protocol/index.js";
import { ConfigError } from "../config-error.js";

const USAGE = `usage: berth agent --server URL [--server URL]... (--token TOKEN | --token-file FILE) [--data-dir DIR]
                   [--region REGION] [--ca-file FILE] [--insecure-registry HOST:PORT]... [options]
       berth agent --uninstall [--data-dir DIR]

  --server             the Berth server's endpoint, e.g. https://10.0.0.1:8470; repeatable, for the
                       replicas of one control plane: tried in the order given, the agent stays on
                       one that answers and moves to the next when it cannot be reached or fails
                       (5xx), re-sending what it had not heard answered
  --token, --token-file  the server's agent join token (<server data dir>/agent-token, or one from
                       \`berth join-token create\`); it pins the server's CA when the server made one
  --ca-file            PEM CA certificate(s) every server's certificate must chain to (instead of the
                       token's pin; with neither, the system's roots)
  --insecure-http      allow an http:// --server that is not on loopback (join token, host secret
                       and images cross the network in clear)
  --data-dir           this agent's state, with its host id and the host secret the server issued
                       at registration (default /var/lib/berth-agent)
  --region             the server's region (default us-east-1)
  --insecure-registry  a registry to reach over plain HTTP (repeatable; loopback always is, and so is
                       the registry of each http:// --server address; that of an https:// one is
                       reached over the same verified TLS as the server)
  --uninstall          with the agent stopped: stop this host's tasks and remove every namespace,
                       veth, bridge and nftables table of Berth's, restore ip_forward (the data dir
                       and its images stay)
${AGENT_USAGE}`;

const commandOptions = {
  server: { type: "string", multiple: true, default: [] as string[] },
  token: { type: "string" },
  "token-file": { type: "string" },
  "data-dir": { type: "string", default: "/var/lib/berth-agent" },
  region: { type: "string", default: "us-east-1" },
  "insecure-registry": { type: "string", multiple: true, default: [] as string[] },
  "ca-file": { type: "string" },
  "insecure-http": { type: "boolean", default: false },
  help: { type: "boolean" },
  uninstall: { type: "boolean" },
  ...agentParseOptions,
} as const;

type AgentValues = Parameters<typeof compileAgentConfig>[0] & {
  server?: string[];
  token?: string;
  "token-file"?: string;
  "data-dir"?: string;
  region?: string;
  "insecure-registry"?: string[];
  "ca-file"?: string;
  "insecure-http"?: boolean;
};

/** What the agent runs with once its options are checked and its servers' trust is settled. */
interface PreparedAgent {
  readonly config: HostAgentConfig;
  readonly servers: AgentServers;
  readonly token: JoinToken;
  readonly ca: string | undefined;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("agent", USAGE, { args: argv, options: commandOptions, strict: true });
  if (typeof parsed === "number") return parsed;
  const values: AgentValues = parsed.values;
  if (parsed.values.uninstall) return uninstall(values);
  const prepared = await prepare(values);
  if (typeof prepared === "number") return prepared;
  const logger = pino({ base: { service: "berth-agent" } });
  const assembled = assemble(prepared, values["data-dir"]!, logger);
  if (typeof assembled === "number") return assembled;
  await assembled.start();
  const servers = prepared.servers.urls.map((url) => url.href.replace(/\/$/, "")).join(", ");
  process.stderr.write(`berth agent: host ${assembled.hostId} joined ${servers} in ${prepared.config.availabilityZone}\n`);
  return untilSignalled(assembled, logger);
}

/** The checked options, the data dir made private and the servers' trust: an exit code when any is wrong. */
async function prepare(values: AgentValues): Promise<PreparedAgent | number> {
  if ((values.server ?? []).length === 0 || (values.token === undefined && values["token-file"] === undefined)) {
    process.stderr.write(`berth agent: --server and a token are required\n${USAGE}\n`);
    return 2;
  }
  try {
    const token = parseJoinToken(values.token ?? readFileSync(values["token-file"]!, "utf8").trim());
    const servers = compileAgentServers(values.server ?? [], { insecureHttp: values["insecure-http"] ?? false });
    const dataDir = values["data-dir"]!;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700); // also when it existed: it holds the host secret and the image store
    const ca = await serverTrust({ serverUrls: servers.urls, caFile: values["ca-file"], pin: token.caSha256, cacheFile: join(dataDir, "server-ca.pem") });
    return { config: agentConfig(values, servers, ca), servers, token, ca };
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n`);
    return 2;
  }
}

/**
 * The host agent's config. Each server's registry shares its listener: over plain HTTP when the
 * agent speaks plain HTTP to that server, else over the same TLS with the same trust. A registry
 * behind another name needs --insecure-registry (or, over TLS, a certificate the system's roots accept).
 */
function agentConfig(values: AgentValues, servers: AgentServers, ca: string | undefined): HostAgentConfig {
  const insecureRegistries = [...new Set([...(values["insecure-registry"] ?? []), ...servers.plainRegistries])];
  const compiled = compileAgentConfig(values, { dataDir: values["data-dir"]!, region: values.region!, insecureRegistries });
  if (servers.tlsRegistries.size === 0) return compiled;
  const trust = { ca };
  return { ...compiled, registryTrust: (registry: string) => (servers.tlsRegistries.has(registry) ? trust : undefined) };
}

/** The agent over a link to the servers, holding this host's agent lock: an exit code when refused. */
function assemble(prepared: PreparedAgent, dataDir: string, logger: Logger): AssembledHostAgent | number {
  const link = createFailoverControlLink({
    serverUrls: prepared.servers.urls.map((url) => url.href),
    token: prepared.token.secret,
    secretFile: join(dataDir, "host-secret"),
    ...(prepared.ca ? { ca: prepared.ca } : {}),
    logger,
  });
  let assembled;
  try {
    // Tasks' API calls are relayed to whichever server the agent talks to now, with the same trust.
    const apiTarget = () => ({ url: new URL(link.currentServer), ca: prepared.ca });
    assembled = assembleHostAgent({ config: prepared.config, link, logger, apiTarget });
  } catch (error) {
    // A declared capacity the control plane would refuse (see protocol/capacity-limits.ts).
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`berth agent: ${error.message}\n`);
    return 2;
  }
  try {
    // One agent per host (its firewall is the host's); the agent keeps this lock until it closes.
    HostAgentLock.acquire(prepared.config.dataDir);
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n`);
    return 2;
  }
  return assembled;
}

/** Runs until SIGTERM or SIGINT, then closes the agent (its containers keep running). */
function untilSignalled(assembled: AssembledHostAgent, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      logger.info({ signal }, "berth agent stopping; containers keep running under conmon");
      await assembled.close();
      resolve(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}

async function uninstall(values: Parameters<typeof compileAgentConfig>[0] & { "data-dir"?: string; region?: string }): Promise<number> {
  let config;
  try {
    config = compileAgentConfig(values, { dataDir: values["data-dir"]!, region: values.region!, insecureRegistries: [] });
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let tasksStopped;
  try {
    ({ tasksStopped } = await uninstallHostAgent({ config, logger: pino({ base: { service: "berth-agent" } }) }));
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`berth agent: uninstalled (${tasksStopped} task(s) stopped); ${values["data-dir"]} is left for you to remove\n`);
  return 0;
}
