// `berth agent`: joins this machine (or a network namespace of it) to a Berth server's fleet as a
// host that runs tasks. It speaks the agent protocol over HTTP with the server's join token.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { createHttpControlLink } from "../../agent/control-link-http.js";
import { AGENT_USAGE, agentParseOptions, compileAgentConfig } from "../agent-config.js";
import { assembleHostAgent, uninstallHostAgent } from "../host-agent-assembly.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: berth agent --server URL (--token TOKEN | --token-file FILE) [--data-dir DIR] [--region REGION]
                   [--insecure-registry HOST:PORT]... [options]
       berth agent --uninstall [--data-dir DIR]

  --server             the Berth server's endpoint, e.g. http://10.0.0.1:8470
  --token, --token-file  the server's agent join token (<server data dir>/agent-token)
  --data-dir           this agent's state, with its host id and the host secret the server issued
                       at registration (default /var/lib/berth-agent)
  --region             the server's region (default us-east-1)
  --insecure-registry  a registry to reach over plain HTTP (repeatable; loopback always is, and so is
                       the server's own registry at the --server address when that is http://)
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
      help: { type: "boolean" },
      uninstall: { type: "boolean" },
      ...agentParseOptions,
    },
    strict: true,
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (values.uninstall) return uninstall(values);
  const token = values.token ?? (values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : undefined);
  if (!values.server || !token) {
    process.stderr.write(`berth agent: --server and a token are required\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    mkdirSync(values["data-dir"]!, { recursive: true, mode: 0o700 });
    // The server's registry shares its listener: when the agent already speaks plain HTTP to it, its
    // images come over plain HTTP too. A registry behind another name needs --insecure-registry.
    const server = new URL(values.server);
    const serverRegistry = server.protocol === "http:" ? [`${server.hostname}:${server.port || "80"}`] : [];
    const insecureRegistries = [...new Set([...(values["insecure-registry"] ?? []), ...serverRegistry])];
    config = compileAgentConfig(values, { dataDir: values["data-dir"]!, region: values.region!, insecureRegistries });
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const logger = pino({ base: { service: "berth-agent" } });
  const link = createHttpControlLink({ serverUrl: values.server, token, secretFile: join(values["data-dir"]!, "host-secret") });
  const assembled = assembleHostAgent({ config, link, logger });
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
  const { tasksStopped } = await uninstallHostAgent({ config, logger: pino({ base: { service: "berth-agent" } }) });
  process.stderr.write(`berth agent: uninstalled (${tasksStopped} task(s) stopped); ${values["data-dir"]} is left for you to remove\n`);
  return 0;
}
