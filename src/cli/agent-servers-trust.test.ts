// The pinned CA of an agent with several servers (src/agent/server-trust.ts): learnt from the
// first server that presents it, whatever the ones before it do. Real TLS listeners on loopback,
// with the certificates `berth server --tls` generates.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:tls";
import type { Server } from "node:tls";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTrust, ServerTrustError } from "../agent/server-trust.js";
import { ensureGeneratedTls } from "./server-tls.js";

const dirs: string[] = [];
const servers: Server[] = [];
after(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function tlsListener() {
  const dir = mkdtempSync(join(tmpdir(), "berth-trust-"));
  dirs.push(dir);
  const tls = await ensureGeneratedTls(dir, { dns: ["localhost"], ips: ["127.0.0.1"] });
  const server = createServer({ cert: tls.cert, key: tls.key }, (socket) => socket.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`), pin: tls.pinnedCa!.sha256, ca: tls.pinnedCa!.pem };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<URL> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return new URL(`https://127.0.0.1:${port}`);
}

test("the pinned CA comes from the first server that presents it: one down, or one presenting another CA, is passed over", async () => {
  const good = await tlsListener();
  const stranger = await tlsListener(); // a server of another control plane: not the pinned CA
  const down = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), "berth-trust-agent-"));
  dirs.push(dir);
  const ca = await serverTrust({ serverUrls: [down, stranger.url, good.url], caFile: undefined, pin: good.pin, cacheFile: join(dir, "server-ca.pem") });
  assert.equal(ca, good.ca);
});

test("when no server presents the pinned CA, the agent is refused with every server's reason", async () => {
  const stranger = await tlsListener();
  const down = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), "berth-trust-agent-"));
  dirs.push(dir);
  await assert.rejects(
    serverTrust({ serverUrls: [down, stranger.url], caFile: undefined, pin: "0".repeat(64), cacheFile: join(dir, "server-ca.pem") }),
    (error: Error) =>
      error instanceof ServerTrustError &&
      error.message.includes(`cannot reach ${down.host}`) &&
      error.message.includes(`the server at ${stranger.url.host} presented no certificate with the join token's CA pin`),
  );
});

test("plain http:// servers need no trust; https:// ones among them still do", async () => {
  const good = await tlsListener();
  const dir = mkdtempSync(join(tmpdir(), "berth-trust-agent-"));
  dirs.push(dir);
  const plain = new URL("http://127.0.0.1:8470");
  assert.equal(await serverTrust({ serverUrls: [plain], caFile: undefined, pin: good.pin, cacheFile: join(dir, "server-ca.pem") }), undefined);
  assert.equal(await serverTrust({ serverUrls: [plain, good.url], caFile: undefined, pin: good.pin, cacheFile: join(dir, "server-ca.pem") }), good.ca);
});
