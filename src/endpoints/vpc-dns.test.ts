import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import dnsPacket from "dns-packet";
import type { Packet, Question } from "dns-packet";
import { DnsForwarder, MAX_PENDING_PER_SOURCE, resolvConfUpstream } from "./dns-forwarder.js";
import { BURST, SourceRateLimit } from "./dns-server.js";
import { MAX_QUERY_BYTES, decideQuery, privateZones } from "./vpc-dns.js";
import type { VpcNames } from "./vpc-dns.js";

/** A decoded packet with what dns-packet's decoder gives beyond its declared type (rcode, answers' data). */
type Decoded = Omit<ReturnType<typeof dnsPacket.decode>, "answers"> & { rcode: string; answers?: { type: string; data: unknown }[] };
const decode = (packet: Buffer) => dnsPacket.decode(packet) as unknown as Decoded;

const vpc: VpcNames = {
  names: new Map([
    ["web-0123456789.us-east-1.elb.amazonaws.com", ["172.31.0.9", "172.31.1.9"]],
    ["ip-172-31-0-5.ec2.internal", ["172.31.0.5"]],
    ["many.us-east-1.elb.amazonaws.com", Array.from({ length: 20 }, (_, index) => `172.31.${index}.9`)],
  ]),
  zones: privateZones("us-east-1"),
};
const query = (name: string, type: "A" | "AAAA" | "TXT" = "A", extra: Partial<Packet> = {}) =>
  dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }], ...extra });
const answerOf = (decision: ReturnType<typeof decideQuery>) => {
  assert.equal(decision.kind, "answer");
  return decode((decision as { response: Buffer }).response);
};

test("a load balancer's name and a task's private name are answered from the VPC, case-insensitively, authoritatively", () => {
  const lb = answerOf(decideQuery(query("WEB-0123456789.us-east-1.elb.amazonaws.com."), vpc));
  assert.equal(lb.id, 4242);
  assert.equal(lb.rcode, "NOERROR");
  assert.equal(lb.flag_aa, true);
  assert.deepEqual(
    lb.answers?.map((answer) => [answer.type, answer.data]),
    [
      ["A", "172.31.0.9"],
      ["A", "172.31.1.9"],
    ],
  );
  // A name with more addresses than one answer holds: the first eight, as Route 53 gives.
  assert.equal(answerOf(decideQuery(query("many.us-east-1.elb.amazonaws.com"), vpc)).answers?.length, 8);
  const task = answerOf(decideQuery(query("ip-172-31-0-5.ec2.internal"), vpc));
  assert.equal(task.answers?.[0]?.data, "172.31.0.5");
  // Another type of a known name: no data, not NXDOMAIN.
  const aaaa = answerOf(decideQuery(query("ip-172-31-0-5.ec2.internal", "AAAA"), vpc));
  assert.equal(aaaa.rcode, "NOERROR");
  assert.equal(aaaa.answers?.length, 0);
  // Unknown under the VPC's zone: NXDOMAIN; anything else goes to the forwarder as sent.
  assert.equal(answerOf(decideQuery(query("ip-10-9-9-9.ec2.internal"), vpc)).rcode, "NXDOMAIN");
  const forward = decideQuery(query("example.com"), vpc);
  assert.equal(forward.kind, "forward");
  assert.equal((forward as { question: { name: string } }).question.name, "example.com");
});

test("hostile packets: too short, too long, responses, odd counts, other opcodes and classes, garbage", () => {
  assert.equal(decideQuery(Buffer.alloc(11), vpc).kind, "drop");
  assert.equal(decideQuery(Buffer.alloc(MAX_QUERY_BYTES + 1), vpc).kind, "drop");
  // A response is never answered (no loops between resolvers).
  const response = dnsPacket.encode({ type: "response", id: 1, questions: [{ type: "A", name: "example.com" }] });
  assert.equal(decideQuery(response, vpc).kind, "drop");
  // Two questions, an answer record, a count that lies: FORMERR, header only (no larger than asked).
  const two = dnsPacket.encode({
    type: "query",
    id: 7,
    questions: [
      { type: "A", name: "a.example" },
      { type: "A", name: "b.example" },
    ],
  });
  const formerr = decideQuery(two, vpc);
  assert.equal(answerOf(formerr).rcode, "FORMERR");
  assert.equal((formerr as { response: Buffer }).response.length, 12);
  const lying = Buffer.from(query("example.com"));
  lying.writeUInt16BE(0xffff, 4);
  assert.equal(answerOf(decideQuery(lying, vpc)).rcode, "FORMERR");
  const withAnswer = dnsPacket.encode({
    type: "query",
    id: 9,
    questions: [{ type: "A", name: "x.example" }],
    answers: [{ type: "A", name: "x.example", data: "1.2.3.4" }],
  });
  assert.equal(answerOf(decideQuery(withAnswer, vpc)).rcode, "FORMERR");
  // An opcode other than QUERY (here UPDATE, 5): NOTIMP.
  const update = Buffer.from(query("example.com"));
  update.writeUInt16BE((5 << 11) | 0x0100, 2);
  assert.equal(answerOf(decideQuery(update, vpc)).rcode, "NOTIMP");
  // CHAOS class (version.bind and friends): refused.
  const chaos = dnsPacket.encode({ type: "query", id: 3, questions: [{ type: "TXT", name: "version.bind", class: "CH" }] });
  assert.equal(answerOf(decideQuery(chaos, vpc)).rcode, "REFUSED");
  // Random bytes with a plausible header: dropped or refused, never a crash, never larger than 512.
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.from(Array.from({ length: 12 + (i % 200) }, () => Math.floor(Math.random() * 256)));
    junk.writeUInt16BE(1, 4);
    junk.writeUInt16BE(0, 6);
    junk.writeUInt16BE(0, 8);
    junk.writeUInt16BE(0, 10);
    junk.writeUInt16BE(junk.readUInt16BE(2) & 0x07ff, 2);
    const decision = decideQuery(junk, vpc);
    if (decision.kind === "answer") assert.ok(decision.response.length <= 512);
  }
  // A name pointer loop (compression pointing at itself).
  const loop = Buffer.concat([query("a.example").subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.notEqual(decideQuery(loop, vpc).kind, "forward");
});

test("the rate limit lets a burst through per source, then about RATE a second; other sources are not affected", () => {
  let now = 0;
  const limit = new SourceRateLimit(() => now);
  let allowed = 0;
  for (let i = 0; i < BURST * 2; i++) if (limit.allow("10.0.0.1")) allowed++;
  assert.equal(allowed, BURST);
  assert.equal(limit.allow("10.0.0.2"), true);
  now += 100; // 0.1 s: 5 more at 50 a second
  allowed = 0;
  for (let i = 0; i < 20; i++) if (limit.allow("10.0.0.1")) allowed++;
  assert.equal(allowed, 5);
});

test("resolv.conf: the first IPv4 nameserver; none, undefined", () => {
  assert.deepEqual(resolvConfUpstream("# x\nsearch example\nnameserver ::1\nnameserver 10.255.255.53 # cloud\nnameserver 10.0.0.2\n"), {
    address: "10.255.255.53",
    port: 53,
  });
  assert.equal(resolvConfUpstream("nameserver 999.1.1.1\nnameserver fe80::1\n"), undefined);
  assert.equal(resolvConfUpstream(""), undefined);
});

/** An upstream resolver on loopback answering every A query with 192.0.2.77, or misbehaving as told. */
async function upstream(behaviour: "answer" | "wrong-question" | "silent"): Promise<{ port: number; close: () => void; queries: Packet[] }> {
  const socket = dgram.createSocket("udp4");
  const queries: Packet[] = [];
  socket.on("message", (message, remote) => {
    const asked = dnsPacket.decode(message);
    queries.push(asked);
    if (behaviour === "silent") return;
    const question = behaviour === "wrong-question" ? { type: "A" as const, name: "other.example" } : asked.questions![0]!;
    const answer = dnsPacket.encode({
      type: "response",
      id: asked.id,
      questions: [question],
      answers: [{ type: "A", name: question.name, data: "192.0.2.77" }],
    });
    socket.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, close: () => socket.close(), queries };
}

test("forwarding: the upstream's answer comes back under the asker's id; an answer to another question is ignored (SERVFAIL on timeout); pending bounded per source", async (t) => {
  const good = await upstream("answer");
  t.after(good.close);
  const forwarder = new DnsForwarder({ address: "127.0.0.1", port: good.port });
  t.after(() => forwarder.close());
  const asked = query("example.com");
  const decision = decideQuery(asked, vpc);
  assert.equal(decision.kind, "forward");
  const reply = await new Promise<Buffer>((resolve) => forwarder.forward(asked, (decision as { question: Question }).question, "10.0.0.1", resolve));
  const decoded = decode(reply);
  assert.equal(decoded.id, 4242);
  assert.equal(decoded.answers?.[0]?.data, "192.0.2.77");
  assert.notEqual(good.queries[0]!.id, undefined);

  const wrong = await upstream("wrong-question");
  t.after(wrong.close);
  const fooled = new DnsForwarder({ address: "127.0.0.1", port: wrong.port });
  t.after(() => fooled.close());
  const started = Date.now();
  const failure = await new Promise<Buffer>((resolve) => fooled.forward(asked, { type: "A", name: "example.com", class: "IN" }, "10.0.0.1", resolve));
  assert.equal(decode(failure).rcode, "SERVFAIL");
  assert.ok(Date.now() - started >= 2_500, "the wrong answer was not taken: the query timed out");

  const silent = await upstream("silent");
  t.after(silent.close);
  const slow = new DnsForwarder({ address: "127.0.0.1", port: silent.port });
  let accepted = 0;
  for (let i = 0; i < MAX_PENDING_PER_SOURCE + 10; i++) if (slow.forward(asked, { type: "A", name: "example.com" }, "10.0.0.9", () => undefined)) accepted++;
  assert.equal(accepted, MAX_PENDING_PER_SOURCE);
  assert.equal(
    slow.forward(asked, { type: "A", name: "example.com" }, "10.0.0.10", () => undefined),
    true,
    "another source still gets through",
  );
  slow.close();
});
