// What the VPC resolver does with one query (pure): answer it from the VPC's names, refuse it, or
// hand it to the forwarder. Every packet comes from a task and is hostile: its size is bounded
// before anything reads it, its header is checked before it is decoded (one question, no answer or
// authority records, at most one additional: EDNS's OPT), a response (QR set) is never answered
// (no loops), and nothing answered is larger than what was asked by more than MAX_ANSWERS records.
//
//   a name of the VPC     A: its addresses (a load balancer has one per subnet; at most
//                         MAX_ANSWERS, as Route 53 gives an ALB's name at most 8; authoritative,
//                         TTL 60); another type: no data (NOERROR)
//   under the VPC's zone  (ec2.internal, <region>.compute.internal) but unknown: NXDOMAIN
//   anything else         forwarded (the query as sent; the forwarder gives it its own id)
//   not a standard query  NOTIMP; a malformed header FORMERR; undecodable: dropped
// Names compare case-insensitively, without the final dot (RFC 4343).
import dnsPacket from "dns-packet";
import type { Answer, Question } from "dns-packet";

/** The largest query read (RFC 1035's UDP message size; a query is a fraction of it). */
export const MAX_QUERY_BYTES = 512;
/** The TTL of the VPC's own names (AWS's Route 53 Resolver gives its private names 60 s). */
export const LOCAL_TTL_SECONDS = 60;
/** The most A records one answer holds (Route 53 answers an ALB's name with at most 8 addresses). */
export const MAX_ANSWERS = 8;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const QR = 0x8000;
const RD = 0x0100;

export interface VpcNames {
  /** Lower-case name without the final dot → its IPv4 addresses (one or more). */
  readonly names: ReadonlyMap<string, readonly string[]>;
  /** Zones the resolver is authoritative for (lower case): an unknown name under them is NXDOMAIN. */
  readonly zones: readonly string[];
}

export type DnsDecision =
  | { readonly kind: "answer"; readonly response: Buffer }
  | { readonly kind: "forward"; readonly query: Buffer; readonly question: Question }
  | { readonly kind: "drop"; readonly reason: string };

/** A name as compared: lower case, no final dot. */
export const normalName = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** A header-only answer (no question echoed): the size of the query's header, never more. */
function headerOnly(query: Buffer, rcode: number): Buffer {
  const response = Buffer.alloc(12);
  response.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, the query's opcode and RD kept, the rest cleared, the code set.
  response.writeUInt16BE(QR | (query.readUInt16BE(2) & (0x7800 | RD)) | rcode, 2);
  return response;
}

function respond(id: number, requestFlags: number, question: Question, rcode: number, answers: Answer[], authoritative: boolean): Buffer {
  const flags = (requestFlags & RD) | dnsPacket.RECURSION_AVAILABLE | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcode;
  return dnsPacket.encode({ type: "response", id, flags, questions: [question], answers });
}

/** The decision for one query from a task of the VPC whose names are `vpc`. */
export function decideQuery(query: Buffer, vpc: VpcNames): DnsDecision {
  if (query.length < 12) return { kind: "drop", reason: "shorter than a header" };
  if (query.length > MAX_QUERY_BYTES) return { kind: "drop", reason: "larger than a query" };
  const flags = query.readUInt16BE(2);
  if (flags & QR) return { kind: "drop", reason: "a response" };
  if (((flags >> 11) & 0xf) !== 0) return { kind: "answer", response: headerOnly(query, RCODE.NOTIMP) };
  const [questions, answers, authorities, additionals] = [4, 6, 8, 10].map((offset) => query.readUInt16BE(offset)) as [number, number, number, number];
  if (questions !== 1 || answers !== 0 || authorities !== 0 || additionals > 1) return { kind: "answer", response: headerOnly(query, RCODE.FORMERR) };
  let decoded: ReturnType<typeof dnsPacket.decode>;
  try {
    decoded = dnsPacket.decode(query);
  } catch {
    return { kind: "drop", reason: "undecodable" };
  }
  const question = decoded.questions?.[0];
  if (!question || typeof question.name !== "string" || question.name.length > 253) return { kind: "answer", response: headerOnly(query, RCODE.FORMERR) };
  const id = query.readUInt16BE(0);
  if ((question.class ?? "IN") !== "IN") return { kind: "answer", response: respond(id, flags, question, RCODE.REFUSED, [], false) };
  const name = normalName(question.name);
  const addresses = vpc.names.get(name);
  if (addresses !== undefined) {
    const records: Answer[] =
      question.type === "A"
        ? addresses.slice(0, MAX_ANSWERS).map((address) => ({ type: "A", name: question.name, ttl: LOCAL_TTL_SECONDS, class: "IN", data: address }))
        : [];
    return { kind: "answer", response: respond(id, flags, question, RCODE.NOERROR, records, true) };
  }
  if (vpc.zones.some((zone) => name === zone || name.endsWith(`.${zone}`)))
    return { kind: "answer", response: respond(id, flags, question, RCODE.NXDOMAIN, [], true) };
  return { kind: "forward", query, question };
}

/** SERVFAIL for a query the forwarder could not answer (the question echoed, as a resolver does). */
export function serverFailure(query: Buffer, question: Question): Buffer {
  return respond(query.readUInt16BE(0), query.readUInt16BE(2), question, RCODE.SERVFAIL, [], false);
}

/** The zones a VPC's resolver answers for in `region`: EC2's private DNS names (ip-10-0-1-4.ec2.internal). */
export function privateZones(region: string): string[] {
  return [region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`];
}
