// A hostile (or broken) server in the agent's list: whatever it answers, the agent neither crashes
// nor stays on it, nor follows it anywhere; the next server of the list gets every call.
import { EMPTY_NETWORK_VIEW } from "../protocol/index.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AGENT_ROUTE_PREFIX, protocolVersion } from "../protocol/index.js";
import type { RegisterRequest } from "../protocol/index.js";
import { createFailoverControlLink } from "./control-link-failover.js";
import { ControlLinkError } from "./control-link-http.js";

const TOKEN = "join-token";
const SECRET = "host-secret-1";
const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(handle: (request: IncomingMessage, response: ServerResponse) => void) {
  const seen: { url: string; authorization: string | undefined }[] = [];
  const server = createServer((request, response) => {
    seen.push({ url: request.url ?? "", authorization: request.headers.authorization });
    request.resume();
    request.on("end", () => handle(request, response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A well-behaved server: registers anyone with the token, answers every other call. */
const good = () =>
  listen((request, response) => {
    const call = (request.url ?? "").slice(AGENT_ROUTE_PREFIX.length);
    const json = (value: unknown) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
    if (call === "register") return json({ hostId: "host-1", hostSecret: SECRET, heartbeatIntervalMs: 1_000, subnets: [] });
    if (call === "poll") return json({ generation: 1, tasks: [], network: EMPTY_NETWORK_VIEW });
    return json({});
  });

/** Where a redirect points: nothing may ever arrive here. */
const capture = await listen((_request, response) => response.end("{}"));

const MiB = 1024 * 1024;
const hostile: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  "answers garbage (200, not JSON)": (_request, response) => response.writeHead(200).end("<html>ok</html>"),
  "answers JSON that is no answer of the protocol": (request, response) =>
    response.writeHead(200, { "content-type": "application/json" }).end(request.url!.endsWith("register") ? '{"hostId":"host-1","hostSecret":7}' : "[1,2,3]"),
  "answers an empty 200": (_request, response) => response.writeHead(200).end(),
  "answers a register whose heartbeat would spin the agent": (request, response) =>
    response
      .writeHead(200, { "content-type": "application/json" })
      .end(request.url!.endsWith("register") ? JSON.stringify({ hostId: "host-1", hostSecret: "s", heartbeatIntervalMs: 0, subnets: [] }) : "null"),
  "streams a huge body without a length": (_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(MiB, 0x20);
    let sent = 0;
    const more = () => {
      while (sent < 40 && response.write(chunk)) sent++;
      if (sent < 40) response.once("drain", more);
      else response.end();
    };
    response.on("close", () => (sent = 40));
    more();
  },
  "declares a huge body": (_request, response) => {
    response.writeHead(200, { "content-type": "application/json", "content-length": String(1024 * MiB) });
    response.write("{");
  },
  "answers a huge error": (_request, response) => response.writeHead(500).end("x".repeat(4 * MiB)),
  "redirects elsewhere": (_request, response) => response.writeHead(307, { location: `${capture.url}${AGENT_ROUTE_PREFIX}register` }).end(),
  "redirects permanently": (_request, response) => response.writeHead(308, { location: capture.url }).end(),
  "answers 404 in HTML (not a Berth server)": (_request, response) => response.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"),
  "refuses registration in Berth's words": (_request, response) =>
    response.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ code: "HostIdInUse", message: "go away" })),
  "resets the connection": (request) => request.socket.destroy(),
  "accepts and never answers": () => undefined,
  "trickles its answer": (_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    const timer = setInterval(() => response.write(" "), 20);
    response.on("close", () => clearInterval(timer));
  },
};

const identity: RegisterRequest = {
  protocolVersion,
  hostId: "host-1",
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64",
  capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 200 },
  machine: { cpuCount: 2, memoryMiB: 4096 },
  overcommit: false,
  subnetIds: [],
};

for (const [behaviour, handle] of Object.entries(hostile)) {
  test(`a server that ${behaviour} is left for the next one, which gets every call`, async () => {
    const bad = await listen(handle);
    const next = await good();
    const link = createFailoverControlLink({
      serverUrls: [bad.url, next.url],
      token: TOKEN,
      clock: { sleep: async () => undefined },
      maxResponseBytes: 4 * MiB,
      callTimeoutMs: 500,
      pollTimeoutMs: 500,
    });
    const registration = await link.register(identity);
    assert.equal(registration.hostSecret, SECRET, "the good server's registration is the one kept");
    assert.equal(link.currentServer, next.url);
    await link.report("host-1", { reports: [] });
    await link.heartbeat("host-1");
    assert.equal((await link.poll("host-1", -1)).generation, 1);
    assert.equal(bad.seen.length, 1, "one attempt, then never again while the next server works");
    assert.deepEqual(
      next.seen.map((seen) => seen.url.slice(AGENT_ROUTE_PREFIX.length)),
      ["register", "report", "heartbeat", "poll"],
    );
    assert.ok(
      next.seen.slice(1).every((seen) => seen.authorization === `Bearer ${SECRET}`),
      "every later call with the secret the good server issued",
    );
    assert.deepEqual(capture.seen, [], "a redirect is never followed: neither the token nor the secret goes where it points");
  });
}

test("alone in the list, a hostile server's answer is an error the agent retries, cut to size, never a crash", async () => {
  const bad = await listen(hostile["answers a huge error"]!);
  const link = createFailoverControlLink({ serverUrls: [bad.url], token: TOKEN, clock: { sleep: async () => undefined } });
  await assert.rejects(link.register(identity), (error: unknown) => error instanceof ControlLinkError && error.status === 500 && error.message.length < 600);
  const redirecting = await listen(hostile["redirects elsewhere"]!);
  const redirected = createFailoverControlLink({ serverUrls: [redirecting.url], token: TOKEN, clock: { sleep: async () => undefined } });
  await assert.rejects(
    redirected.register(identity),
    (error: unknown) => error instanceof ControlLinkError && error.status === 0 && /redirect/.test(error.message),
  );
  assert.deepEqual(capture.seen, []);
});
