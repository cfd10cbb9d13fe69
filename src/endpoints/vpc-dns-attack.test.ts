// Attacker review (h8): what the VPC resolver forwards to the host's resolver must not be the task's
// packet as sent (an additional record that is not EDNS's OPT, a TSIG, an UPDATE-style record, or
// bytes after the message would go upstream from the agent's own address). The forwarder re-encodes
// the question with a clean OPT record; this checks what the upstream receives.
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import dnsPacket from "dns-packet";
import { DnsForwarder } from "./dns-forwarder.js";
import { decideQuery, privateZones } from "./vpc-dns.js";

const vpc = { names: new Map<string, string[]>(), zones: privateZones("us-east-1") };

test("a forwarded query carries neither a non-OPT additional record nor trailing bytes of the task's", async () => {
  const query = dnsPacket.encode({
    type: "query",
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", name: "example.com", class: "IN" }],
    additionals: [{ type: "TXT", name: "x", class: "IN", ttl: 0, data: "carried upstream" }],
  });
  const decision = decideQuery(Buffer.concat([query, Buffer.from("TRAILING-JUNK")]), vpc);
  assert.equal(decision.kind, "forward");
  const { query: raw, question } = decision as { query: Buffer; question: dnsPacket.Question };
  const upstream = dgram.createSocket("udp4");
  const received = new Promise<Buffer>((resolve) => upstream.once("message", resolve));
  await new Promise<void>((resolve) => upstream.bind(0, "127.0.0.1", resolve));
  const forwarder = new DnsForwarder({ address: "127.0.0.1", port: upstream.address().port });
  try {
    assert.equal(
      forwarder.forward(raw, question, "10.0.1.5", () => undefined),
      true,
    );
    const sent = await received;
    assert.equal(sent.includes(Buffer.from("carried upstream")), false, "the task's TXT additional record is forwarded upstream");
    assert.equal(sent.includes(Buffer.from("TRAILING-JUNK")), false, "bytes after the message are forwarded upstream");
    const decoded = dnsPacket.decode(sent);
    assert.deepEqual(
      decoded.questions?.map((q) => [q.name, q.type]),
      [["example.com", "A"]],
    );
    assert.deepEqual(
      decoded.additionals?.map((record) => record.type),
      ["OPT"],
    );
  } finally {
    forwarder.close();
    upstream.close();
  }
});
