// The forwarder's shares (from an attacker review): one VPC's tasks cannot take every VPC's pending
// queries, and an address of one VPC is not the same asker as that address in another (VPCs may
// overlap). The upstream here never answers, so every query stays pending.
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import dnsPacket from "dns-packet";
import type { Question } from "dns-packet";
import { DnsForwarder, MAX_PENDING_PER_SCOPE, MAX_PENDING_PER_SOURCE } from "./dns-forwarder.js";

const question = (name: string): Question => ({ type: "A", name, class: "IN" });
const query = (name: string) => dnsPacket.encode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [question(name)] });

async function silentUpstream() {
  const socket = dgram.createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return { socket, port: socket.address().port };
}

test("tasks of one VPC holding their shares leave the other VPCs' share: a task of another VPC is still forwarded", async (t) => {
  const upstream = await silentUpstream();
  const forwarder = new DnsForwarder({ address: "127.0.0.1", port: upstream.port });
  t.after(() => {
    forwarder.close();
    upstream.socket.close();
  });
  let accepted = 0;
  for (let a = 0; a < 16; a++)
    for (let i = 0; i < MAX_PENDING_PER_SOURCE; i++)
      if (forwarder.forward(query(`x${i}.slow.example`), question(`x${i}.slow.example`), `vpc-a|10.0.${a}.9`, () => undefined)) accepted++;
  assert.equal(accepted, MAX_PENDING_PER_SCOPE, "one VPC holds at most its share");
  assert.equal(
    forwarder.forward(query("example.com"), question("example.com"), "vpc-b|172.31.5.5", () => undefined),
    true,
  );
});

test("an address of one VPC is not the same asker as that address in another VPC", async (t) => {
  const upstream = await silentUpstream();
  const forwarder = new DnsForwarder({ address: "127.0.0.1", port: upstream.port });
  t.after(() => {
    forwarder.close();
    upstream.socket.close();
  });
  for (let i = 0; i < MAX_PENDING_PER_SOURCE; i++)
    forwarder.forward(query(`a${i}.slow.example`), question(`a${i}.slow.example`), "vpc-a|10.0.1.5", () => undefined);
  assert.equal(
    forwarder.forward(query("one-more.example"), question("one-more.example"), "vpc-a|10.0.1.5", () => undefined),
    false,
    "its own share is full",
  );
  assert.equal(
    forwarder.forward(query("example.com"), question("example.com"), "vpc-b|10.0.1.5", () => undefined),
    true,
    "the other VPC's task at the same address",
  );
});
