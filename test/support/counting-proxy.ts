// A plain HTTP forwarding proxy on loopback that counts the response bytes of each request path,
// to measure what a registry client really transfers (e.g. "a second pull moves 0 layer bytes").
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface CountingProxy {
  /** host:port of the proxy. */
  readonly address: string;
  /** Response body bytes per "METHOD path" since the last reset. */
  readonly bytes: Map<string, number>;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  const bytes = new Map<string, number>();
  const server = createServer((incoming, outgoing) => {
    const key = `${incoming.method} ${(incoming.url ?? "/").split("?")[0]}`;
    const upstream = request({ host: target.host, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on("data", (chunk: Buffer) => bytes.set(key, (bytes.get(key) ?? 0) + chunk.length));
      answer.pipe(outgoing);
    });
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes,
    reset: () => bytes.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
