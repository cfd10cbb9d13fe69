// DNS over UDP and TCP on sockets the agent opened in a VPC router's namespace (namespace-udp.ts,
// namespace-listener.ts): each query is decided by vpc-dns.ts and answered, or forwarded
// (dns-forwarder.ts), under a per-source rate limit.
//
//   rate      RATE_PER_SECOND queries a second per source address, BURST at once (a token
//             bucket); beyond, dropped. At most MAX_SOURCES tracked (idle ones forgotten first)
//   UDP       an answer larger than the asker accepts (512 bytes, or its EDNS size up to 4096) is
//             cut to its header and question with TC set (the asker retries over TCP)
//   TCP       length-prefixed messages (RFC 7766), a query at most MAX_QUERY_BYTES, at most
//             MAX_TCP_CONNECTIONS at once per socket (MAX_TCP_CONNECTIONS_PER_SOURCE from one
//             source, none older than TCP_MAX_LIFETIME_MS), TCP_IDLE_MS idle, MAX_TCP_QUERIES a
//             connection, MAX_TCP_PENDING unanswered at once on one
import type { Socket as UdpSocket, RemoteInfo } from "node:dgram";
import type { Server, Socket } from "node:net";
import dnsPacket from "dns-packet";
import type { DnsForwarder } from "./dns-forwarder.js";
import { MAX_QUERY_BYTES, decideQuery } from "./vpc-dns.js";
import type { VpcNames } from "./vpc-dns.js";

export const RATE_PER_SECOND = 50;
export const BURST = 100;
export const MAX_SOURCES = 4096;
export const MAX_TCP_CONNECTIONS = 32;
/** Connections one source may hold at once: a task cannot take the VPC's whole share. */
export const MAX_TCP_CONNECTIONS_PER_SOURCE = 4;
/** The longest a connection lives, whatever it sends (the idle timer alone is reset by a byte a second). */
export const TCP_MAX_LIFETIME_MS = 30_000;
export const TCP_IDLE_MS = 10_000;
export const MAX_TCP_QUERIES = 100;
export const MAX_TCP_PENDING = 8;

/** A token bucket per source address. */
export class SourceRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  allow(source: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (!bucket) {
      if (this.buckets.size >= MAX_SOURCES) this.forgetIdle(now);
      if (this.buckets.size >= MAX_SOURCES) return false;
      bucket = { tokens: BURST, at: now };
      this.buckets.set(source, bucket);
    }
    bucket.tokens = Math.min(BURST, bucket.tokens + ((now - bucket.at) / 1000) * RATE_PER_SECOND);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private forgetIdle(now: number): void {
    // A bucket refilled to its burst is no different from a new one.
    for (const [source, bucket] of this.buckets) if (now - bucket.at >= (BURST / RATE_PER_SECOND) * 1000) this.buckets.delete(source);
  }
}

export interface DnsServerOptions {
  /** The names of the VPC whose router the sockets are in, as of now. */
  readonly names: () => VpcNames;
  /** Where other names are asked; none: they are refused. */
  readonly forwarder?: DnsForwarder | undefined;
  readonly limit: SourceRateLimit;
  /** The VPC the sockets serve: the rate limit and the forwarder's shares are per VPC and address (VPCs may overlap). */
  readonly scope?: string;
}

/** The key an asker is counted under: its address within its VPC. */
const askerKey = (options: DnsServerOptions, address: string) => (options.scope === undefined ? address : `${options.scope}|${address}`);

/** What a UDP asker accepts: 512 bytes, or its EDNS payload size (at most 4096). */
function udpLimit(query: Buffer): number {
  try {
    const opt = dnsPacket.decode(query).additionals?.find((record) => record.type === "OPT") as { udpPayloadSize?: number } | undefined;
    return Math.min(Math.max(opt?.udpPayloadSize ?? 512, 512), 4096);
  } catch {
    return 512;
  }
}

/** The answer cut to what a UDP asker takes: header and question, TC set. */
function truncated(answer: Buffer, limit: number): Buffer {
  if (answer.length <= limit) return answer;
  try {
    const decoded = dnsPacket.decode(answer);
    return dnsPacket.encode({
      type: "response",
      id: decoded.id ?? 0,
      flags: (decoded.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
      questions: decoded.questions ?? [],
    });
  } catch {
    return answer.subarray(0, 0);
  }
}

/** Serves DNS on a UDP socket in the router's namespace. */
export function serveUdp(socket: UdpSocket, options: DnsServerOptions): void {
  socket.on("error", () => undefined);
  socket.on("message", (message: Buffer, remote: RemoteInfo) => {
    if (!options.limit.allow(askerKey(options, remote.address))) return;
    const send = (answer: Buffer) => {
      const reply = truncated(answer, udpLimit(message));
      if (reply.length > 0) socket.send(reply, remote.port, remote.address, () => undefined);
    };
    handle(message, askerKey(options, remote.address), options, send);
  });
}

function handle(message: Buffer, source: string, options: DnsServerOptions, send: (answer: Buffer) => void): void {
  const decision = decideQuery(message, options.names());
  if (decision.kind === "answer") send(decision.response);
  else if (decision.kind === "forward" && !options.forwarder?.forward(decision.query, decision.question, source, send)) {
    // No upstream, or too many pending: refused now rather than queued.
    const refused = Buffer.from(message.subarray(0, 12));
    refused.writeUInt16BE(0x8000 | (message.readUInt16BE(2) & 0x7900) | 5, 2);
    refused.fill(0, 4);
    send(refused);
  }
}

/** Serves DNS over TCP on a listening server in the router's namespace; returns what ends its open connections. */
export function serveTcp(server: Server, options: DnsServerOptions): () => void {
  const connections = new Set<Socket>();
  server.maxConnections = MAX_TCP_CONNECTIONS;
  server.on("error", () => undefined);
  const perSource = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const source = socket.remoteAddress ?? "";
    if ((perSource.get(source) ?? 0) >= MAX_TCP_CONNECTIONS_PER_SOURCE) return void socket.destroy();
    perSource.set(source, (perSource.get(source) ?? 0) + 1);
    connections.add(socket);
    const lifetime = setTimeout(() => socket.destroy(), TCP_MAX_LIFETIME_MS);
    socket.on("close", () => {
      clearTimeout(lifetime);
      connections.delete(socket);
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
    });
    serveConnection(socket, options);
  });
  return () => connections.forEach((socket) => socket.destroy());
}

function serveConnection(socket: Socket, options: DnsServerOptions): void {
  const source = socket.remoteAddress ?? "";
  let buffered = Buffer.alloc(0);
  let queries = 0;
  let pending = 0;
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (length > MAX_QUERY_BYTES || length < 12) return void socket.destroy();
      if (buffered.length < 2 + length) break;
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      if (++queries > MAX_TCP_QUERIES || ++pending > MAX_TCP_PENDING) return void socket.destroy();
      if (!options.limit.allow(askerKey(options, source))) return void socket.destroy();
      handle(Buffer.from(message), askerKey(options, source), options, (answer) => {
        pending--;
        if (socket.destroyed || answer.length > 0xffff) return;
        const frame = Buffer.alloc(2);
        frame.writeUInt16BE(answer.length, 0);
        socket.write(Buffer.concat([frame, answer]));
      });
    }
    if (buffered.length > 2 + MAX_QUERY_BYTES) socket.destroy();
  });
}
