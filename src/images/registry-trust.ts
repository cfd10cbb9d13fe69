// Which CA a registry's TLS certificate must chain to. The agent pulls from its Berth server's
// built-in registry over the same TLS, with the same trust, as it speaks the agent protocol: the
// server's generated CA (pinned from the join token or given as a file) and nothing else. Other
// registries use the system roots (or plain HTTP where the operator said --insecure-registry).
import { Agent } from "undici";
import type { Dispatcher } from "undici";

export interface RegistryTrust {
  /** PEM trust anchors replacing the system roots for this registry; undefined: the system roots. */
  readonly ca: string | undefined;
}

/** Answers for the registries that must be reached over HTTPS with a given trust (even on loopback). */
export type RegistryTrustFor = (registry: string) => RegistryTrust | undefined;

// One connection pool per CA for the process's lifetime: a pull creates a client per image, and a
// pool per pull would open a fresh TLS session for every image.
const dispatchers = new Map<string, Dispatcher>();

/** The fetch dispatcher verifying against `ca` (Node's fetch is undici 6: same dispatcher API). */
export function dispatcherFor(ca: string): Dispatcher {
  let dispatcher = dispatchers.get(ca);
  if (!dispatcher) {
    dispatcher = new Agent({ connect: { ca, rejectUnauthorized: true } });
    dispatchers.set(ca, dispatcher);
  }
  return dispatcher;
}
