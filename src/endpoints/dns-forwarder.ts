// The VPC resolver's way out: queries it does not answer go to one upstream resolver (the host's,
// from its /etc/resolv.conf, or --dns-upstream) over UDP from the agent's own namespace.
//
//   forward   the question re-encoded under an id of ours (random, unused), remembered with who asked
//             and what; at most MAX_PENDING at once (MAX_PENDING_PER_SCOPE per VPC,
//             MAX_PENDING_PER_SOURCE per asker, an asker being a VPC's address): beyond,
//             the query is refused at once rather than queued
//   answer    accepted only from the upstream's address and port, for a pending id, as a
//             response to the same question; given back under the asker's id. Anything else is
//             dropped. Bounded: MAX_ANSWER_BYTES
//   timeout   TIMEOUT_MS without an answer: SERVFAIL to the asker
//
// Only queries go out (the server forwards nothing else), and the answers go only to the task that
// asked, whose address the router checked (anti-spoofing): no reflection to third parties.
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import type { Socket } from "node:dgram";
import dnsPacket from "dns-packet";
import type { Question } from "dns-packet";
import { normalName, serverFailure } from "./vpc-dns.js";

export const MAX_PENDING = 1024;
export const MAX_PENDING_PER_SOURCE = 64;
/** Pending queries of one VPC (an asker's key is "<vpc>|<address>"): one VPC's tasks cannot take every VPC's share. */
export const MAX_PENDING_PER_SCOPE = 256;
export const MAX_ANSWER_BYTES = 4096;
export const TIMEOUT_MS = 3_000;

/** The VPC part of an asker's key ("<vpc>|<address>"; a bare address is its own scope). */
const scopeOf = (source: string) => (source.includes("|") ? source.slice(0, source.indexOf("|")) : source);

export interface Upstream {
  readonly address: string;
  readonly port: number;
}

interface Pending {
  readonly clientId: number;
  readonly query: Buffer;
  readonly question: Question;
  readonly source: string;
  readonly reply: (answer: Buffer) => void;
  readonly timer: NodeJS.Timeout;
}

export class DnsForwarder {
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly perSource = new Map<string, number>();
  private readonly perScope = new Map<string, number>();

  constructor(private readonly upstream: Upstream) {}

  private ensureSocket(): Socket {
    if (this.socket) return this.socket;
    const socket = dgram.createSocket("udp4");
    socket.on("message", (message, remote) => this.answer(message, remote));
    socket.on("error", () => undefined);
    socket.unref();
    this.socket = socket;
    return socket;
  }

  /** Sends `query` upstream for `source`; false when it was refused (too many pending). */
  forward(query: Buffer, question: Question, source: string, reply: (answer: Buffer) => void): boolean {
    const mine = this.perSource.get(source) ?? 0;
    const scope = scopeOf(source);
    const ours = this.perScope.get(scope) ?? 0;
    if (this.pending.size >= MAX_PENDING || mine >= MAX_PENDING_PER_SOURCE || ours >= MAX_PENDING_PER_SCOPE) return false;
    let id = randomInt(0x10000);
    for (let tries = 0; this.pending.has(id) && tries < 16; tries++) id = randomInt(0x10000);
    if (this.pending.has(id)) return false;
    // Rebuilt from the decoded question (and a clean EDNS record), never the asker's bytes: nothing
    // else of what a task sent reaches the host's resolver.
    const outgoing = dnsPacket.encode({
      type: "query",
      id,
      flags: query.readUInt16BE(2) & dnsPacket.RECURSION_DESIRED,
      questions: [{ name: question.name, type: question.type, class: question.class ?? "IN" }],
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: MAX_ANSWER_BYTES, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    });
    const timer = setTimeout(() => {
      if (this.settle(id)) reply(serverFailure(query, question));
    }, TIMEOUT_MS);
    timer.unref();
    this.pending.set(id, { clientId: query.readUInt16BE(0), query, question, source, reply, timer });
    this.perSource.set(source, mine + 1);
    this.perScope.set(scope, ours + 1);
    this.ensureSocket().send(outgoing, this.upstream.port, this.upstream.address, (error) => {
      if (error && this.settle(id)) reply(serverFailure(query, question));
    });
    return true;
  }

  /** Forgets a pending query; whether it was still pending. */
  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    const left = (this.perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) this.perSource.set(entry.source, left);
    else this.perSource.delete(entry.source);
    const scope = scopeOf(entry.source);
    const scopeLeft = (this.perScope.get(scope) ?? 1) - 1;
    if (scopeLeft > 0) this.perScope.set(scope, scopeLeft);
    else this.perScope.delete(scope);
    return entry;
  }

  private answer(message: Buffer, remote: { address: string; port: number }): void {
    if (remote.address !== this.upstream.address || remote.port !== this.upstream.port) return;
    if (message.length < 12 || message.length > MAX_ANSWER_BYTES) return;
    const id = message.readUInt16BE(0);
    const entry = this.pending.get(id);
    if (!entry || !(message.readUInt16BE(2) & 0x8000)) return;
    let question: Question | undefined;
    try {
      question = dnsPacket.decode(message).questions?.[0];
    } catch {
      return;
    }
    const asked = entry.question;
    if (!question || normalName(question.name) !== normalName(asked.name) || question.type !== asked.type || (question.class ?? "IN") !== (asked.class ?? "IN"))
      return;
    this.settle(id);
    const answer = Buffer.from(message);
    answer.writeUInt16BE(entry.clientId, 0);
    entry.reply(answer);
  }

  /** Every pending query answered SERVFAIL and the socket closed. */
  close(): void {
    for (const id of [...this.pending.keys()]) {
      const entry = this.settle(id);
      entry?.reply(serverFailure(entry.query, entry.question));
    }
    this.socket?.close();
    this.socket = undefined;
  }
}

/** The first IPv4 nameserver of a resolv.conf text (port 53), or undefined. */
export function resolvConfUpstream(text: string): Upstream | undefined {
  for (const line of text.split("\n")) {
    const match = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*(?:#.*)?$/.exec(line);
    if (match && match[1]!.split(".").every((part) => Number(part) <= 255)) return { address: match[1]!, port: 53 };
  }
  return undefined;
}
