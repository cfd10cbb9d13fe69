// A bound UDP socket inside another network namespace (a VPC router's), held by this process: the
// UDP twin of namespace-listener.ts (namespace-handle.ts makes it there); the datagrams are the
// namespace's. Closed before the namespace is removed.
import type { Socket } from "node:dgram";
import { handleFromNamespace } from "./namespace-handle.js";

/** The child: bind, hand the socket over, wait to be let go. CommonJS (node -e). */
const CHILD = `
const dgram = require("node:dgram");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
socket.on("error", (error) => { process.send({ error: String(error && error.message) }, () => process.exit(1)); });
socket.bind({ address: host, port, exclusive: true }, () => process.send("socket", socket));
process.on("disconnect", () => process.exit(0));
`;

/** A UDP socket bound to host:port inside the namespace at `netnsPath`, owned by this process. */
export function bindUdpInNamespace(netnsPath: string, host: string, port: number): Promise<Socket> {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535)
    return Promise.reject(new RangeError(`refusing address ${host}:${port}`));
  return handleFromNamespace<Socket>({
    netnsPath,
    child: CHILD,
    args: [host, String(port)],
    message: "socket",
    noun: "UDP socket",
    doing: `binding ${host}:${port}/udp`,
  });
}
