// A bound UDP socket inside another network namespace (a VPC router's), held by this process: the
// UDP twin of namespace-listener.ts. A short-lived child started inside the namespace
// (`nsenter --net=<path>`) binds it and hands it back over the IPC channel (SCM_RIGHTS), then
// exits; the datagrams are the namespace's. Closed before the namespace is removed (an open
// socket keeps a deleted namespace alive).
import { spawn } from "node:child_process";
import type { Socket } from "node:dgram";

/** The child: bind, hand the socket over, wait to be let go. CommonJS (node -e). */
const CHILD = `
const dgram = require("node:dgram");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
socket.on("error", (error) => { process.send({ error: String(error && error.message) }, () => process.exit(1)); });
socket.bind({ address: host, port, exclusive: true }, () => process.send("socket", socket));
process.on("disconnect", () => process.exit(0));
`;

const TIMEOUT_MS = 10_000;

/** A UDP socket bound to host:port inside the namespace at `netnsPath`, owned by this process. */
export function bindUdpInNamespace(netnsPath: string, host: string, port: number): Promise<Socket> {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(netnsPath) || netnsPath.includes("..")) return Promise.reject(new RangeError(`refusing namespace path '${netnsPath}'`));
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535)
    return Promise.reject(new RangeError(`refusing address ${host}:${port}`));
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${netnsPath}`, process.execPath, "-e", CHILD, host, String(port)], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    let stderr = "";
    let settled = false;
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 2048) stderr += chunk.toString("utf8");
    });
    const finish = (error: Error | undefined, socket?: Socket) => {
      if (settled) {
        socket?.close();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      if (error) reject(error);
      else resolve(socket!);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new Error(`no UDP socket from ${netnsPath} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    child.on("message", (message: unknown, handle: unknown) => {
      if (message === "socket" && handle) return finish(undefined, handle as Socket);
      const why =
        typeof message === "object" && message !== null && "error" in message ? String((message as { error: unknown }).error) : "an unexpected message";
      finish(new Error(`binding ${host}:${port}/udp in ${netnsPath} failed: ${why}`));
    });
    child.on("error", (error) => finish(error));
    child.on("exit", (code) => finish(new Error(`the socket child in ${netnsPath} exited with ${String(code)} before handing over: ${stderr.trim()}`)));
  });
}
