// Where this server's registry is reached from outside it: the host:port repository URIs name
// (`<host>:<port>/<repo>`, since ECR's `<account>.dkr.ecr.<region>.amazonaws.com` does not resolve
// here) and task images use. The bound address is right for a specific --listen address; a
// wildcard bind (0.0.0.0, ::) is no address at all, so there the machine's hostname stands in when
// it resolves somewhere other than loopback (so other hosts can use it), else 127.0.0.1.
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);
const isLoopback = (host: string) => host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1" || host === "[::1]";
const bracketed = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host);

export type ResolveHost = (name: string) => Promise<readonly string[]>;

const resolveWithDns: ResolveHost = async (name) => (await lookup(name, { all: true })).map((entry) => entry.address);

/** host:port of the registry as the world names it. */
export async function publicRegistryHost(options: {
  readonly listenHost: string;
  readonly boundPort: number;
  readonly configured: { readonly host: string; readonly port: number | undefined } | undefined;
  readonly machineName?: string;
  readonly resolve?: ResolveHost;
}): Promise<string> {
  if (options.configured) return `${bracketed(options.configured.host)}:${options.configured.port ?? options.boundPort}`;
  if (!WILDCARDS.has(options.listenHost)) return `${bracketed(options.listenHost)}:${options.boundPort}`;
  const name = (options.machineName ?? hostname()).toLowerCase();
  const addresses = await (options.resolve ?? resolveWithDns)(name).catch(() => [] as string[]);
  const reachable = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(name) && addresses.some((address) => !isLoopback(address));
  return reachable ? `${name}:${options.boundPort}` : `127.0.0.1:${options.boundPort}`;
}

/**
 * Every host:port an image may name to mean this registry: the public one, the bound address, and
 * for a loopback bind the loopback spellings (only this machine can reach it then).
 */
export function ownRegistryHosts(publicHost: string, listenHost: string, boundPort: number): string[] {
  const hosts = new Set([publicHost]);
  if (!WILDCARDS.has(listenHost)) hosts.add(`${bracketed(listenHost)}:${boundPort}`);
  if (isLoopback(listenHost)) for (const alias of ["127.0.0.1", "localhost", "[::1]"]) hosts.add(`${alias}:${boundPort}`);
  return [...hosts];
}
