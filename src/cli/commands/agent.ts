// `berth agent`: joins this machine (or a network namespace of it) to a Berth server's fleet as a
// host that runs tasks. It speaks the agent protocol over HTTPS (verified: --ca-file, the CA the
// join token pins, or the system's roots) or, on loopback or with --insecure-http, plain HTTP.
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { createHttpControlLink } from "../../agent/control-link-http.js";
import { AGENT_USAGE, agentParseOptions, compileAgentConfig } from "../agent-config.js";
import { assembleHostAgent, uninstallHostAgent } from "../host-agent-assembly.js";
import { HostAgentLock } from "../../network/index.js";
import { parseCommandLine } from "../command-line.js";
import { serverTrust } from "../../agent/server-trust.js";
import { parseJoinToken } from "../../protocol/index.js";
import { ConfigError } from "../config-error.js";
import { isLoopbackHost } from "../server-config.js";

const USAGE = `usage: berth agent --server URL (--token TOKEN | --token-file FILE) [--data-dir DIR] [--region REGION]
                   [--ca-file FILE] [--insecure-registry HOST:PORT]... [options]
       berth agent --uninstall [--data-dir DIR]

  --server             the Berth server's endpoint, e.g. https://10.0.0.1:8470
  --token, --token-file  the server's agent join token (<server data dir>/agent-token, or one from
                       \`berth join-token create\`); it pins the server's CA when the server made one
  --ca-file            PEM CA certificate(s) the server's certificate must chain to (instead of the
                       token's pin; with neither, the system's roots)
  --insecure-http      allow an http:// --server that is not on loopback (join token, host secret
                       and images cross the network in clear)
  --data-dir           this agent's state, with its host id and the host secret the server issued
                       at registration (default /var/lib/berth-agent)
  --region             the server's region (default us-east-1)
  --insecure-registry  a registry to reach over plain HTTP (repeatable; loopback always is, and so is
                       the server's own registry at the --server address when that is http://; when
                       it is https://, that registry is reached over the same verified TLS)
  --uninstall          with the agent stopped: stop this host's tasks and remove every namespace,
                       veth, bridge and nftables table of Berth's, restore ip_forward (the data dir
                       and its images stay)
${AGENT_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("agent", USAGE, {
    args: argv,
    options: {
      server: { type: "string" },
      token: { type: "string" },
      "token-file": { type: "string" },
      "data-dir": { type: "string", default: "/var/lib/berth-agent" },
      region: { type: "string", default: "us-east-1" },
      "insecure-registry": { type: "string", multiple: true, default: [] },
      "ca-file": { type: "string" },
      "insecure-http": { type: "boolean", default: false },
      help: { type: "boolean" },
      uninstall: { type: "boolean" },
      ...agentParseOptions,
    },
    strict: true,
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (values.uninstall) return uninstall(values);
  const tokenText = values.token ?? (values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : undefined);
  if (!values.server || !tokenText) {
    process.stderr.write(`berth agent: --server and a token are required\n${USAGE}\n`);
    return 2;
  }
  let config;
  let token;
  let server: URL;
  let ca: string | undefined;
  try {
    token = parseJoinToken(tokenText);
    server = new URL(values.server);
    if (server.protocol !== "https:" && server.protocol !== "http:")
      throw new ConfigError(`--server must be an https:// (or http://) URL, not '${values.server}'`);
    if (server.protocol === "http:" && !values["insecure-http"] && !isLoopbackHost(server.hostname)) {
      throw new ConfigError(
        `refusing plain HTTP to ${server.host}: the join token and this host's secret would cross the network in clear. Use the server's https:// endpoint (berth server --tls), or pass --insecure-http`,
      );
    }
    mkdirSync(values["data-dir"]!, { recursive: true, mode: 0o700 });
    chmodSync(values["data-dir"]!, 0o700); // also when it existed: it holds the host secret and the image store
    ca = await serverTrust({ serverUrl: server, caFile: values["ca-file"], pin: token.caSha256, cacheFile: join(values["data-dir"]!, "server-ca.pem") });
    // The server's registry shares its listener: over plain HTTP when the agent speaks plain HTTP
    // to it, else over the same TLS with the same trust. A registry behind another name needs
    // --insecure-registry (or, over TLS, a certificate the system's roots accept).
    const serverRegistry = `${server.hostname}:${server.port || (server.protocol === "http:" ? "80" : "443")}`;
    const insecureRegistries = [...new Set([...(values["insecure-registry"] ?? []), ...(server.protocol === "http:" ? [serverRegistry] : [])])];
    const compiled = compileAgentConfig(values, { dataDir: values["data-dir"]!, region: values.region!, insecureRegistries });
    const trust = { ca };
    config = server.protocol === "https:" ? { ...compiled, registryTrust: (registry: string) => (registry === serverRegistry ? trust : undefined) } : compiled;
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n`);
    return 2;
  }
  const logger = pino({ base: { service: "berth-agent" } });
  const link = createHttpControlLink({
    serverUrl: values.server,
    token: token.secret,
    secretFile: join(values["data-dir"]!, "host-secret"),
    ...(ca ? { ca } : {}),
  });
  let assembled;
  try {
    assembled = assembleHostAgent({ config, link, logger });
  } catch (error) {
    // A declared capacity the control plane would refuse (see protocol/capacity-limits.ts).
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`berth agent: ${error.message}\n`);
    return 2;
  }
  try {
    // One agent per host (its firewall is the host's); the agent keeps this lock until it closes.
    HostAgentLock.acquire(config.dataDir);
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n`);
    return 2;
  }
  await assembled.start();
  process.stderr.write(`berth agent: host ${assembled.hostId} joined ${values.server} in ${config.availabilityZone}\n`);
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
