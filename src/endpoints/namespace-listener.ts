// A listening socket inside another network namespace (a VPC router's), held by this process.
//
// A socket belongs to the namespace of the process that created it, for its whole life. Node
// cannot switch its own namespace (setns needs native code, and would move every thread), so a
// short-lived child is started inside the namespace (`nsenter --net=<path>`), creates the listening
// socket there and hands it back over the IPC channel (the fd passes as SCM_RIGHTS); the child then
// exits. This process serves HTTP on it like any other server; its connections are the
// namespace's. While the socket is open it keeps the namespace alive even after `ip netns del`, so
// whoever removes a router closes its listener first.
import { spawn } from "node:child_process";
import type { Server } from "node:net";

/** The child: listen, hand the server over, wait to be let go. CommonJS (node -e). */
const CHILD = `
const net = require("node:net");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const server = net.createServer();
server.on("error", (error) => { process.send({ error: String(error && error.message) }, () => process.exit(1)); });
server.listen({ host, port, backlog: 1024, exclusive: true }, () => process.send("listener", server));
process.on("disconnect", () => process.exit(0));
`;

const TIMEOUT_MS = 10_000;

/** A listening server on host:port inside the namespace at `netnsPath`, owned by this process. */
export function listenInNamespace(netnsPath: string, host: string, port: number): Promise<Server> {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(netnsPath) || netnsPath.includes("..")) return Promise.reject(new RangeError(`refusing namespace path '${netnsPath}'`));
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${netnsPath}`, process.execPath, "-e", CHILD, host, String(port)], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      // Not the agent's own flags (a loader, inspector): the child is plain Node.
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    let stderr = "";
    let settled = false;
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 2048) stderr += chunk.toString("utf8");
    });
    const finish = (error: Error | undefined, server?: Server) => {
      if (settled) {
        server?.close();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      if (error) reject(error);
      else resolve(server!);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new Error(`no listener from ${netnsPath} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    child.on("message", (message: unknown, handle: unknown) => {
      if (message === "listener" && handle) return finish(undefined, handle as Server);
      const why =
        typeof message === "object" && message !== null && "error" in message ? String((message as { error: unknown }).error) : "an unexpected message";
      finish(new Error(`listening on ${host}:${port} in ${netnsPath} failed: ${why}`));
    });
    child.on("error", (error) => finish(error));
    child.on("exit", (code) => finish(new Error(`the listener child in ${netnsPath} exited with ${String(code)} before handing over: ${stderr.trim()}`)));
  });
}
