// The servers a `berth agent` talks to (--server, repeatable): replicas of one control plane, tried
// in the order given (src/agent/control-link-failover.ts). Each is checked as one alone would be,
// and each is also the address of the server's own registry, which shares its listener.
import { ConfigError } from "./config-error.js";
import { isLoopbackHost } from "./server-config.js";

export interface AgentServers {
  readonly urls: readonly URL[];
  /** The registries of the http:// servers: reached over plain HTTP, like the protocol. */
  readonly plainRegistries: readonly string[];
  /** The registries of the https:// servers: reached over the same verified TLS as the protocol. */
  readonly tlsRegistries: ReadonlySet<string>;
}

/** One URL per server, in order; refuses a URL that is not a server's endpoint, and a server given twice. */
export function compileAgentServers(texts: readonly string[], options: { insecureHttp: boolean }): AgentServers {
  if (texts.length === 0) throw new ConfigError("--server is required");
  const urls: URL[] = [];
  const seen = new Map<string, string>();
  for (const text of texts) {
    const url = serverUrl(text, options.insecureHttp);
    // The same server however it is spelt (host case, default port, trailing slash).
    const key = url.href.replace(/\/+$/, "");
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`--server '${text}' names the same server as '${first}'; give each server once`);
    seen.set(key, text);
    urls.push(url);
  }
  const registryOf = (url: URL) => `${url.hostname}:${url.port || (url.protocol === "http:" ? "80" : "443")}`;
  return Object.freeze({
    urls: Object.freeze(urls),
    plainRegistries: Object.freeze(urls.filter((url) => url.protocol === "http:").map(registryOf)),
    tlsRegistries: new Set(urls.filter((url) => url.protocol === "https:").map(registryOf)),
  });
}

function serverUrl(text: string, insecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`--server must be an https:// (or http://) URL, not '${text}'`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(`--server must be an https:// (or http://) URL, not '${text}'`);
  // The protocol's paths are appended to the URL: a query or fragment would swallow them, and
  // credentials in it would be written to the agent's log with every failure.
  if (url.username || url.password || url.search || url.hash)
    throw new ConfigError(`--server '${text}' must be a server's endpoint, without credentials, query or fragment`);
  if (url.protocol === "http:" && !insecureHttp && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      `refusing plain HTTP to ${url.host}: the join token and this host's secret would cross the network in clear. Use the server's https:// endpoint (berth server --tls), or pass --insecure-http`,
    );
  }
  return url;
}
