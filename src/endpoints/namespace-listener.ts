// A listening TCP socket inside another network namespace (a VPC router's), held by this process
// (namespace-handle.ts makes it there). This process serves on it like any other server; its
// connections are the namespace's. Closed before the namespace is removed.
import type { Server } from "node:net";
import { handleFromNamespace } from "./namespace-handle.js";

/** The child: listen, hand the server over, wait to be let go. CommonJS (node -e). */
const CHILD = `
const net = require("node:net");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const server = net.createServer();
server.on("error", (error) => { process.send({ error: String(error && error.message) }, () => process.exit(1)); });
server.listen({ host, port, backlog: 1024, exclusive: true }, () => process.send("listener", server));
process.on("disconnect", () => process.exit(0));
`;

/** A listening server on host:port inside the namespace at `netnsPath`, owned by this process. */
export function listenInNamespace(netnsPath: string, host: string, port: number): Promise<Server> {
  return handleFromNamespace<Server>({
    netnsPath,
    child: CHILD,
    args: [host, String(port)],
    message: "listener",
    noun: "listener",
    doing: `listening on ${host}:${port}`,
  });
}
