// Attacker review (h8): the VPC resolver's TCP side. One socket per resolver address and VPC, at
// most MAX_TCP_CONNECTIONS connections on it for every task of the VPC together, and the idle
// timer is reset by any byte: one task holding 32 connections, each trickling a byte of a query
// that never completes, keeps TCP DNS from every other task of its VPC for as long as it likes.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import dnsPacket from "dns-packet";
import { MAX_TCP_CONNECTIONS, SourceRateLimit, serveTcp } from "./dns-server.js";
import { privateZones } from "./vpc-dns.js";

test("h8: one source holding MAX_TCP_CONNECTIONS half-sent queries; another source's TCP query is still answered", { timeout: 20_000 }, async (t) => {
  const server = net.createServer();
  const closeConnections = serveTcp(server, {
    names: () => ({ names: new Map([["ip-10-0-0-5.ec2.internal", ["10.0.0.5"]]]), zones: privateZones("us-east-1") }),
    limit: new SourceRateLimit(),
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const attackers: net.Socket[] = [];
  t.after(() => {
    attackers.forEach((socket) => socket.destroy());
    closeConnections();
    server.close();
  });
  for (let i = 0; i < MAX_TCP_CONNECTIONS; i++) {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.1" });
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(Buffer.from([0x01])); // half of a length prefix; a byte every few seconds would keep it forever
    attackers.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  // The victim: another task of the VPC (another source address).
  const query = dnsPacket.encode({
    type: "query",
    id: 9,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", name: "ip-10-0-0-5.ec2.internal", class: "IN" }],
  });
  const frame = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
  const answered = await new Promise<string>((resolve) => {
    const victim = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.2" }, () => victim.write(frame));
    let got = Buffer.alloc(0);
    victim.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        victim.destroy();
        resolve("answered");
      }
    });
    victim.on("error", (error) => resolve(`error ${error.message}`));
    victim.on("close", () => resolve("closed without an answer"));
    setTimeout(() => {
      victim.destroy();
      resolve("no answer in 3 s");
    }, 3_000);
  });
  assert.equal(answered, "answered", `the victim's TCP query with ${MAX_TCP_CONNECTIONS} connections held by one source`);
});
