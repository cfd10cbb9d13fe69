import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiRelay } from "./api-relay.js";
import type { RelayTarget } from "./api-relay.js";
import { createEndpointServer } from "./endpoint-server.js";
import type { EndpointDirectory, EndpointTask } from "./endpoint-server.js";
import { endpointEnvironment, endpointIds } from "./endpoint-paths.js";
import { FailureBudget, relayVerdict, requestHeadersToForward, responseHeadersToReturn } from "./relay-rules.js";
import type { RelayLimits } from "./relay-rules.js";
import { makeTestCertificate } from "../../test/support/test-ca.js";

const SIGNED = "AWS4-HMAC-SHA256 Credential=ASIAX/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab";

test("what is relayed: signed API requests only; /_berth/ refused however spelled; /v2/ and odd targets never relayed", () => {
  assert.equal(relayVerdict("POST", "/", SIGNED), "relay");
  assert.equal(relayVerdict("GET", "/?Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x", undefined), "relay");
  assert.equal(relayVerdict("POST", "/", undefined), "local", "unsigned: answered as before");
  assert.equal(relayVerdict("POST", "/", "Basic dXNlcjpwYXNz"), "local");
  assert.equal(relayVerdict("POST", "/", "AWS4-HMAC-SHA256X"), "local");
  assert.equal(relayVerdict("POST", "/", ["AWS4-HMAC-SHA256 a", "b"]), "local");
  for (const path of ["/_berth/agent/poll", "/_berth/health", "/_berth", "//_berth/agent/poll", "/%5Fberth/agent/poll", "/%5fBERTH/x", "/_berth%2Fagent"])
    for (const auth of [SIGNED, undefined]) assert.equal(relayVerdict("POST", path, auth), "refuse", `${path} ${auth ?? "unsigned"}`);
  for (const target of ["http://evil.example/", "*", "", "evil.example:443", "/%E0%A4%A"]) assert.equal(relayVerdict("POST", target, SIGNED), "refuse", target);
  assert.equal(relayVerdict("GET", "/v2/_catalog", SIGNED), "refuse");
  assert.equal(relayVerdict("GET", "//v2/token", SIGNED), "refuse");
  assert.equal(relayVerdict("GET", "/v2/_catalog", undefined), "local");
  for (const method of ["CONNECT", "TRACE", "OPTIONS", "PATCH", undefined]) assert.equal(relayVerdict(method, "/", SIGNED), "refuse", method);
});

test("headers: hop-by-hop ones and those Connection names are dropped both ways; Host stays as sent; the body's length is the relay's", () => {
  const raw = ["Host", "169.254.170.2", "Connection", "keep-alive, X-Drop, host", "X-Drop", "1", "Transfer-Encoding", "chunked", "Content-Length", "99"];
  const sent = [
    ...raw,
    "Expect",
    "100-continue",
    "Proxy-Authorization",
    "Basic x",
    "TE",
    "trailers",
    "Authorization",
    SIGNED,
    "X-Amz-Date",
    "20260101T000000Z",
  ];
  assert.deepEqual(requestHeadersToForward(sent, 12), [
    "Host",
    "169.254.170.2",
    "Authorization",
    SIGNED,
    "X-Amz-Date",
    "20260101T000000Z",
    "Content-Length",
    "12",
  ]);
  assert.deepEqual(
    responseHeadersToReturn(["Content-Length", "5", "Connection", "close", "Keep-Alive", "timeout=5", "x-amzn-RequestId", "r", "Upgrade", "h2c"]),
    ["Content-Length", "5", "x-amzn-RequestId", "r"],
  );
});

test("the failure budget: a request holds a token until its answer proves it no failure; a task past its burst is refused, then refills", () => {
  let now = 0;
  const budget = new FailureBudget({ failuresPerTaskPerSecond: 1, failuresPerTaskBurst: 2, failuresPerSecond: 10, failuresBurst: 3 }, () => now);
  // Two in flight: the third is refused before any answer came (in-flight requests count).
  assert.equal(budget.reserve("a"), true);
  assert.equal(budget.reserve("a"), true);
  assert.equal(budget.reserve("a"), false);
  // One answered fine: its token comes back; the other failed: spent.
  budget.refund("a");
  assert.equal(budget.reserve("a"), true);
  assert.equal(budget.reserve("b"), true);
  assert.equal(budget.reserve("b"), false, "the agent's bucket (3) is spent");
  now += 1_000;
  assert.equal(budget.reserve("a"), true, "refilled at 1/s");
  assert.equal(budget.reserve("a"), false);
});

// --- through an endpoint server on loopback, to a control plane stand-in ---------------------------

type Seen = { method: string; url: string; rawHeaders: string[]; body: string };
const seen: Seen[] = [];
let behaviour: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => response.end("{}");
const servers: Server[] = [];

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}
after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

const upstreamServer = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() });
    behaviour(req, res);
  });
});
let upstreamPortOnce: Promise<number> | undefined;
const upstream = () => (upstreamPortOnce ??= listen(upstreamServer));

const task: EndpointTask = { taskArn: "arn:aws:ecs:us-east-1:1:task/c/t1", ids: endpointIds(Buffer.alloc(32), "t1", ["app"]), hasTaskRole: true };
let known = true;

async function endpointOn(target: () => RelayTarget | undefined, limits: Partial<RelayLimits>): Promise<{ port: number; relay: ApiRelay }> {
  const relay = new ApiRelay(target, () => undefined, limits);
  const directory = {
    find: () => (known ? task : undefined),
    relay: (found: EndpointTask, req: IncomingMessage, res: ServerResponse) => relay.relay(found.taskArn, req, res),
    onError: () => undefined,
  } as unknown as EndpointDirectory;
  return { port: await listen(createEndpointServer(directory, "vpc-1")), relay };
}

function call(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }) {
  return new Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: options.method ?? "POST", path: options.path ?? "/", headers: { host: "169.254.170.2", ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

test("a signed request goes to the control plane as sent (method, path, query, Host, headers, body) and its answer comes back", async () => {
  const upstreamPort = await upstream();
  const { port } = await endpointOn(() => ({ url: new URL(`http://127.0.0.1:${upstreamPort}`) }), {});
  behaviour = (_req, res) => {
    res.writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "AccessDeniedException", connection: "close" });
    res.end('{"__type":"AccessDeniedException"}');
  };
  seen.length = 0;
  const body = '{"clusters":["a"]}';
  const answer = await call(port, {
    path: "/?x=1",
    headers: { authorization: SIGNED, "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeClusters", "Proxy-Authorization": "Basic x" },
    body,
  });
  assert.equal(answer.status, 400);
  assert.equal(answer.body, '{"__type":"AccessDeniedException"}');
  assert.equal(answer.headers["x-amzn-errortype"], "AccessDeniedException");
  assert.equal(seen.length, 1);
  const got = seen[0]!;
  assert.equal(got.method, "POST");
  assert.equal(got.url, "/?x=1");
  assert.equal(got.body, body);
  const headers = new Map<string, string>();
  for (let i = 0; i < got.rawHeaders.length; i += 2) headers.set(got.rawHeaders[i]!.toLowerCase(), got.rawHeaders[i + 1]!);
  assert.equal(headers.get("host"), "169.254.170.2");
  assert.equal(headers.get("authorization"), SIGNED);
  assert.equal(headers.get("x-amz-target"), "AmazonEC2ContainerServiceV20141113.DescribeClusters");
  assert.equal(headers.get("content-length"), String(body.length));
  assert.equal(headers.has("proxy-authorization"), false);
  assert.equal(headers.has("x-forwarded-for"), false, "the relay adds nothing of its own");
});

test("refused or answered locally, never sent: /_berth/, unsigned calls, unknown tasks, bodies over the limit; redirects are returned, not followed", async () => {
  const upstreamPort = await upstream();
  const { port } = await endpointOn(() => ({ url: new URL(`http://127.0.0.1:${upstreamPort}`) }), { maxBodyBytes: 1024 });
  seen.length = 0;
  assert.equal((await call(port, { path: "/_berth/agent/poll", headers: { authorization: SIGNED }, body: "{}" })).status, 403);
  assert.equal((await call(port, { method: "GET", path: "/%5Fberth/health" })).status, 403);
  assert.equal((await call(port, { body: "{}" })).status, 405, "unsigned POST: the endpoint's own answer");
  assert.equal((await call(port, { method: "GET", path: "/latest/meta-data/" })).status, 404);
  assert.equal((await call(port, { headers: { authorization: SIGNED }, body: Buffer.alloc(1025) })).status, 413);
  assert.equal((await call(port, { headers: { authorization: SIGNED, "transfer-encoding": "chunked" }, body: Buffer.alloc(2048) })).status, 413);
  known = false;
  assert.equal((await call(port, { headers: { authorization: SIGNED }, body: "{}" })).status, 405, "no task at this address: nothing relayed");
  known = true;
  assert.equal(seen.length, 0);
  behaviour = (_req, res) => res.writeHead(302, { location: "http://evil.example/" }).end();
  const redirected = await call(port, { headers: { authorization: SIGNED }, body: "{}" });
  assert.equal(redirected.status, 302);
  assert.equal(redirected.headers.location, "http://evil.example/");
  assert.equal(seen.length, 1);
});

test("the control plane unreachable or too slow: 502 with no detail; requests over the in-flight cap: 429", async () => {
  const closed = createServer();
  const closedPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = await endpointOn(() => ({ url: new URL(`http://127.0.0.1:${closedPort}`) }), {});
  const failed = await call(down.port, { headers: { authorization: SIGNED }, body: "{}" });
  assert.equal(failed.status, 502);
  assert.doesNotMatch(failed.body, /ECONNREFUSED|127\.0\.0\.1/);
  const none = await endpointOn(() => undefined, {});
  assert.equal((await call(none.port, { headers: { authorization: SIGNED }, body: "{}" })).status, 502);

  const upstreamPort = await upstream();
  let release: () => void = () => undefined;
  behaviour = (_req, res) => {
    release = () => res.end("{}");
  };
  const slow = await endpointOn(() => ({ url: new URL(`http://127.0.0.1:${upstreamPort}`) }), { perTask: 1, timeoutMs: 300 });
  const first = call(slow.port, { headers: { authorization: SIGNED }, body: "{}" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await call(slow.port, { headers: { authorization: SIGNED }, body: "{}" })).status, 429);
  assert.equal((await first).status, 502, "no answer within the timeout");
  release();
  behaviour = (_req, res) => res.end("{}");
  assert.equal((await call(slow.port, { headers: { authorization: SIGNED }, body: "{}" })).status, 200, "the slot is free again");
});

test("a task whose calls keep failing authentication is refused before the host's address is throttled", async () => {
  const upstreamPort = await upstream();
  const { port } = await endpointOn(() => ({ url: new URL(`http://127.0.0.1:${upstreamPort}`) }), { failuresPerTaskBurst: 3, failuresPerTaskPerSecond: 0.001 });
  behaviour = (_req, res) => res.writeHead(403).end('{"__type":"InvalidSignatureException"}');
  seen.length = 0;
  behaviour = (_req, res) => res.writeHead(403, { "x-amzn-errortype": "AccessDeniedException" }).end("{}");
  for (let i = 0; i < 5; i++)
    assert.equal((await call(port, { headers: { authorization: SIGNED }, body: "{}" })).status, 403, "a policy's denial is not a failed authentication");
  behaviour = (_req, res) => res.writeHead(403).end('{"__type":"InvalidSignatureException"}');
  seen.length = 0;
  for (let i = 0; i < 3; i++) assert.equal((await call(port, { headers: { authorization: SIGNED }, body: "{}" })).status, 403);
  assert.equal((await call(port, { headers: { authorization: SIGNED }, body: "{}" })).status, 429);
  assert.equal(seen.length, 3);
});

test("containers are told AWS_ENDPOINT_URL only where the agent relays", () => {
  const ids = endpointIds(Buffer.alloc(32), "t1", ["app"]);
  assert.equal(endpointEnvironment(ids, "app", true).AWS_ENDPOINT_URL, undefined);
  assert.equal(endpointEnvironment(ids, "app", false, true).AWS_ENDPOINT_URL, "http://169.254.170.2");
});

test("over TLS the control plane's certificate is verified against the agent's trust: the pinned CA passes, anything else is 502", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-relay-tls-"));
  try {
    const certificate = await makeTestCertificate(join(dir, "ca"), ["127.0.0.1"]);
    const other = await makeTestCertificate(join(dir, "other"), ["127.0.0.1"]);
    const tlsServer = createHttpsServer({ cert: readFileSync(certificate.cert), key: readFileSync(certificate.key) }, (req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ host: req.headers.host }));
    });
    const tlsPort = await listen(tlsServer);
    const url = new URL(`https://127.0.0.1:${tlsPort}`);
    const pinned = await endpointOn(() => ({ url, ca: certificate.caPem }), {});
    const answered = await call(pinned.port, { headers: { authorization: SIGNED }, body: "{}" });
    assert.equal(answered.status, 200);
    assert.deepEqual(JSON.parse(answered.body), { host: "169.254.170.2" });
    const wrongCa = await endpointOn(() => ({ url, ca: other.caPem }), {});
    assert.equal((await call(wrongCa.port, { headers: { authorization: SIGNED }, body: "{}" })).status, 502);
    const systemRoots = await endpointOn(() => ({ url }), {});
    assert.equal((await call(systemRoots.port, { headers: { authorization: SIGNED }, body: "{}" })).status, 502);
    for (const relay of [pinned, wrongCa, systemRoots]) relay.relay.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
