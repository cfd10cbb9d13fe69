// The listener's own limits, set explicitly rather than left to node's defaults, so that a client
// holding nothing cannot hold the server's sockets:
//   headersTimeout     the whole head must arrive within this (slowloris: headers trickled a byte
//                      at a time); node answers 408, as client-error.ts words it
//   requestTimeout     the whole request, body included (long enough for a large layer upload)
//   keepAliveTimeout   an idle keep-alive connection is closed after this (> the SDKs' idle reuse)
//   maxConnections     beyond this node closes new connections at once
//   per address        connections from one remote address beyond this are closed at once
// Node checks the two request timeouts on a timer whose period it reads when the server starts
// listening (connectionsCheckingInterval, 30 s by default): it is set here too, so a slow head is
// cut off close to headersTimeout rather than up to 30 s later. Call before listen().
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { ThrottleLimits } from "./request-throttle.js";

export interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly throttle: ThrottleLimits;
}

/**
 * Generous enough for the SDKs' connection pools, the test suite's concurrent calls and the API
 * benchmark's 32 connections from one address; the per-key rate is off (one account per server:
 * its keys are the operator's), the per-address failed-authentication rate on.
 */
export const DEFAULT_SERVER_LIMITS: ServerLimits = Object.freeze({
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 4096,
  maxConnectionsPerAddress: 512,
  throttle: Object.freeze({ perKeyRatePerSecond: 0, perKeyBurst: 0, authFailuresPerAddressPerSecond: 100, authFailuresPerAddressBurst: 1000 }),
});

const MAX_CHECKING_INTERVAL_MS = 1_000;

export function applyServerLimits(server: HttpServer | HttpsServer, limits: ServerLimits = DEFAULT_SERVER_LIMITS): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  // Read by node's 'listening' handler (lib/_http_server.js setupConnectionsTracking).
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.max(
    100,
    Math.min(MAX_CHECKING_INTERVAL_MS, limits.headersTimeoutMs / 2),
  );

  const perAddress = new Map<string, number>();
  // 'connection' is the raw TCP socket for HTTPS too: the count is taken before any TLS work.
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    socket.once("close", () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });
}
