// A socket made inside another network namespace (a VPC router's) and held by this process.
//
// A socket belongs to the namespace of the process that created it, for its whole life. Node
// cannot switch its own namespace (setns needs native code, and would move every thread), so a
// short-lived child is started inside the namespace (`nsenter --net=<path>`), makes the socket
// there and hands it back over the IPC channel (the fd passes as SCM_RIGHTS); the child then exits.
// While the socket is open it keeps the namespace alive even after `ip netns del`, so whoever
// removes a router closes its sockets first. namespace-listener.ts (TCP) and namespace-udp.ts (UDP)
// give the child script; this file runs it and takes the handle.
import { spawn } from "node:child_process";

const TIMEOUT_MS = 10_000;

export const NETNS_PATH = /^\/[A-Za-z0-9_./-]+$/;

export interface HandleRequest {
  readonly netnsPath: string;
  /** The child (CommonJS for `node -e`): makes the socket from argv[1] and argv[2], sends `message` with it, exits on disconnect. */
  readonly child: string;
  readonly args: readonly string[];
  /** The message the child sends with the handle. */
  readonly message: string;
  /** What it is, for errors: "listener", "UDP socket". */
  readonly noun: string;
  /** What the child does, for errors: "listening on 10.0.0.2:53". */
  readonly doing: string;
}

/** The handle the child made inside the namespace, owned by this process. */
export function handleFromNamespace<T extends { close(): unknown }>(request: HandleRequest): Promise<T> {
  const { netnsPath, noun } = request;
  if (!NETNS_PATH.test(netnsPath) || netnsPath.includes("..")) return Promise.reject(new RangeError(`refusing namespace path '${netnsPath}'`));
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${netnsPath}`, process.execPath, "-e", request.child, ...request.args], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      // Not the agent's own flags (a loader, inspector): the child is plain Node.
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    let stderr = "";
    let settled = false;
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 2048) stderr += chunk.toString("utf8");
    });
    const finish = (error: Error | undefined, handle?: T) => {
      if (settled) {
        handle?.close();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      if (error) reject(error);
      else resolve(handle!);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new Error(`no ${noun} from ${netnsPath} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    child.on("message", (message: unknown, handle: unknown) => {
      if (message === request.message && handle) return finish(undefined, handle as T);
      const why =
        typeof message === "object" && message !== null && "error" in message ? String((message as { error: unknown }).error) : "an unexpected message";
      finish(new Error(`${request.doing} in ${netnsPath} failed: ${why}`));
    });
    child.on("error", (error) => finish(error));
    child.on("exit", (code) => finish(new Error(`the ${noun} child in ${netnsPath} exited with ${String(code)} before handing over: ${stderr.trim()}`)));
  });
}
