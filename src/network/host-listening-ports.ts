// The TCP ports something listens on in this (the host's) network namespace, from /proc/net/tcp and
// /proc/net/tcp6: a load balancer is never published on one of them (the host's DNAT runs before
// its input chain, so a published port would take the connections of sshd, the API, the registry).
import { readFileSync } from "node:fs";

/** /proc/net/tcp's state of a listening socket. */
const LISTEN = "0A";

/** The local ports of listening sockets in a /proc/net/tcp(6) table's text. */
export function listeningPortsOf(table: string): Set<number> {
  const ports = new Set<number>();
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, state] = [fields[1], fields[3]];
    if (state !== LISTEN || !local) continue;
    const port = Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return ports;
}

/** Every TCP port with a listening socket in the host's namespace now (IPv4 and IPv6). */
export function hostListeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // no IPv6 on this host
    }
    for (const port of listeningPortsOf(text)) ports.add(port);
  }
  return ports;
}
