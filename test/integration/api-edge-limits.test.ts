// The API edge against an attacker holding a captured request, a key id, or nothing: X-Amz-Target
// and Content-Type must be signed (no replay as another operation), presigned URLs within their
// expiry only, bodies of unauthenticated callers refused unread, slow heads cut off, connections
// capped, failing addresses and busy keys throttled in AWS's words (429 on the registry).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { request as httpRequest } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer, testCredentials } from "../support/server.js";
import { waitFor } from "../support/wait-for.js";

const ECS = "AmazonEC2ContainerServiceV20141113";
const JSON_11 = "application/x-amz-json-1.1";

const signer = (secret = testCredentials.secretAccessKey) =>
  new SignatureV4({
    credentials: { accessKeyId: testCredentials.accessKeyId, secretAccessKey: secret },
    region: "us-east-1",
    service: "ecs",
    sha256: Hash.bind(null, "sha256"),
  });

function requestFor(server: TestServer, headers: Record<string, string>, body: string) {
  const url = new URL(server.endpoint);
  return { method: "POST", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: "/", headers: { host: url.host, ...headers }, body };
}

async function post(server: TestServer, headers: Record<string, string | string[]>, body: string, path = "/", localAddress?: string) {
  const url = new URL(server.endpoint);
  return new Promise<{ status: number; type: string | undefined; message: string; text: string }>((resolve, reject) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path,
        headers: headers as Record<string, string>,
        agent: false,
        ...(localAddress ? { localAddress } : {}),
      },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => {
          let message = "";
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? "";
          } catch {
            // not JSON
          }
          resolve({ status: response.statusCode!, type: response.headers["x-amzn-errortype"] as string | undefined, message, text });
        });
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe("what must be signed, presigned URLs, bodies of unknown callers", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    await server.cleanup();
  });

  test("a captured request replayed with another X-Amz-Target is refused, signed or not", async () => {
    const signed = await signer().sign(requestFor(server, { "content-type": JSON_11, "x-amz-target": `${ECS}.ListClusters` }, "{}"));
    assert.equal((await post(server, signed.headers, "{}")).status, 200, "the request as signed is answered");
    const replayed = await post(server, { ...signed.headers, "x-amz-target": `${ECS}.DeleteCluster` }, "{}");
    assert.equal(replayed.status, 403);
    assert.equal(replayed.type, "InvalidSignatureException");
    // Signed without the target, the target added afterwards: refused for the unsigned header.
    const withoutTarget = await signer().sign(requestFor(server, { "content-type": JSON_11 }, "{}"));
    const added = await post(server, { ...withoutTarget.headers, "x-amz-target": `${ECS}.DeleteCluster` }, "{}");
    assert.equal(added.status, 403);
    assert.equal(added.type, "InvalidSignatureException");
    assert.equal(added.message, "'x-amz-target' must be a 'SignedHeader' in the AWS Authorization.");
  });

  test("an unsigned Content-Type is refused", async () => {
    const signed = await signer().sign(requestFor(server, { "x-amz-target": `${ECS}.ListClusters` }, "{}"));
    const answer = await post(server, { ...signed.headers, "content-type": JSON_11 }, "{}");
    assert.equal(answer.status, 403);
    assert.equal(answer.type, "InvalidSignatureException");
    assert.equal(answer.message, "'Content-Type' must be a 'SignedHeader' in the AWS Authorization.");
  });

  test("a presigned URL is accepted within its expiry and refused after", async () => {
    const presign = async (signingDate: Date, expiresIn: number) => {
      const presigned = await signer().presign(requestFor(server, { "content-type": JSON_11, "x-amz-target": `${ECS}.ListClusters` }, "{}"), {
        signingDate,
        expiresIn,
      });
      return { path: `/?${new URLSearchParams(presigned.query as Record<string, string>).toString()}`, headers: presigned.headers };
    };
    const fresh = await presign(new Date(), 300);
    const answer = await post(server, fresh.headers, "{}", fresh.path);
    assert.equal(answer.status, 200, answer.text);
    assert.ok(Array.isArray((JSON.parse(answer.text) as { clusterArns: unknown }).clusterArns));
    const stale = await presign(new Date(Date.now() - 10 * 60_000), 60);
    const expired = await post(server, stale.headers, "{}", stale.path);
    assert.equal(expired.status, 403);
    assert.equal(expired.type, "InvalidSignatureException");
    assert.match(expired.message, /^Signature expired: /);
  });

  test("an unauthenticated 2 MiB body is refused before the client has sent it", async () => {
    const bodyBytes = 2 * 1024 * 1024 - 1024;
    const cases: [string, Record<string, string>][] = [
      ["no credentials", { host: "x", "content-type": JSON_11, "x-amz-target": `${ECS}.RegisterTaskDefinition` }],
      [
        "an unknown key",
        (
          await new SignatureV4({
            credentials: { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x".repeat(40) },
            region: "us-east-1",
            service: "ecs",
            sha256: Hash.bind(null, "sha256"),
          }).sign(requestFor(server, { "content-type": JSON_11, "x-amz-target": `${ECS}.RegisterTaskDefinition` }, ""))
        ).headers as Record<string, string>,
      ],
      [
        "a known key, a wrong secret and a declared payload hash",
        (
          await signer("not-the-secret-000000000000000000000000").sign(
            requestFor(server, { "content-type": JSON_11, "x-amz-target": `${ECS}.RegisterTaskDefinition`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }, ""),
          )
        ).headers as Record<string, string>,
      ],
    ];
    for (const [what, headers] of cases) assert.match(await answerBeforeBody(server, "/", headers, bodyBytes), /^HTTP\/1\.1 403 /, what);
  });

  test("the agent route authenticates the host before reading its (up to 8 MiB) body", async () => {
    const target = `/_berth/agent/v${protocolVersion}/logs`;
    const wrongSecret = { host: "x", "content-type": "application/json", authorization: "Bearer not-a-host-secret", "x-berth-host-id": "h-1" };
    assert.match(await answerBeforeBody(server, target, wrongSecret, 8 * 1024 * 1024 - 1024), /^HTTP\/1\.1 401 [\s\S]*HostNotRegistered/);
    // Without X-Berth-Host-Id the host is named in the body: only 64 KiB of it is read before auth.
    const { "x-berth-host-id": _named, ...unnamed } = wrongSecret;
    assert.match(await answerBeforeBody(server, target, unnamed, 1024 * 1024, 128 * 1024), /^HTTP\/1\.1 413 [\s\S]*X-Berth-Host-Id/);
  });
});

/**
 * Sends a head declaring `bodyBytes` and only `sentBytes` of the body, and returns the answer's
 * head once it arrives; fails if none arrives while the rest of the body is still unsent.
 */
async function answerBeforeBody(
  server: TestServer,
  target: string,
  headers: Record<string, string>,
  bodyBytes: number,
  sentBytes = 16 * 1024,
): Promise<string> {
  const socket = connect(Number(new URL(server.endpoint).port), "127.0.0.1");
  let received = "";
  const answered = new Promise<"answered">((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (/\r\n\r\n[\s\S]*\}/.test(received)) resolve("answered");
    });
  });
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  const head = `POST ${target} HTTP/1.1\r\n${Object.entries({ ...headers, "content-length": String(bodyBytes) })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`;
  socket.write(head + "x".repeat(sentBytes));
  const deadline = new Promise<"none">((resolve) => setTimeout(() => resolve("none"), 3_000));
  const outcome = await Promise.race([answered, deadline]);
  socket.destroy();
  assert.equal(outcome, "answered", `${target}: answered while the body is unsent (got ${JSON.stringify(received.slice(0, 200))})`);
  return received;
}

describe("throttling", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ args: ["--auth-failures-per-second-per-address", "0.5", "--requests-per-second-per-key", "5"] });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    await server.cleanup();
  });

  test("an address that keeps failing authentication gets ThrottlingException, others do not", async () => {
    const headers = async (secret?: string) =>
      (await signer(secret).sign(requestFor(server, { "content-type": JSON_11, "x-amz-target": `${ECS}.ListClusters` }, "{}"))).headers;
    const bad = await headers("not-the-secret-000000000000000000000000");
    // Burst 10 × 0.5/s = 5 failures are answered as failures, then the address is refused.
    const types: (string | undefined)[] = [];
    for (let i = 0; i < 8; i++) types.push((await post(server, bad, "{}", "/", "127.0.0.2")).type);
    assert.deepEqual(types.slice(0, 5), Array(5).fill("InvalidSignatureException"));
    assert.deepEqual(types.slice(5), Array(3).fill("ThrottlingException"));
    const good = await post(server, await headers(), "{}", "/", "127.0.0.2");
    assert.equal(good.type, "ThrottlingException", "even a good request from the refused address");
    assert.equal(good.status, 400);
    assert.equal(good.message, "Rate exceeded");
    const registry = await fetch(`${server.endpoint}/v2/`, { headers: { authorization: "Basic QVdTOndyb25n" } });
    assert.equal(registry.status, 401, "another address (127.0.0.1) is not refused");
    const elsewhere = await post(server, await headers(), "{}", "/", "127.0.0.3");
    assert.equal(elsewhere.status, 200, elsewhere.text);
  });

  test("the registry answers an address over its failure rate with 429 TOOMANYREQUESTS", async () => {
    const get = () =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const url = new URL(server.endpoint);
        httpRequest(
          { host: url.hostname, port: url.port, path: "/v2/", headers: { authorization: "Basic QVdTOndyb25n" }, agent: false, localAddress: "127.0.0.4" },
          (response) => {
            let text = "";
            response.on("data", (chunk: Buffer) => (text += chunk.toString()));
            response.on("end", () => resolve({ status: response.statusCode!, text }));
          },
        )
          .on("error", reject)
          .end();
      });
    const statuses: number[] = [];
    let last = "";
    for (let i = 0; i < 8; i++) {
      const answer = await get();
      statuses.push(answer.status);
      last = answer.text;
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    assert.equal((JSON.parse(last) as { errors: { code: string }[] }).errors[0]!.code, "TOOMANYREQUESTS");
  });

  test("a key over its request rate gets ThrottlingException (the SDK sees it by name)", async () => {
    const ecs = new ECSClient(sdkConfig(server));
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => ecs.send(new ListClustersCommand({}))));
    ecs.destroy();
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    assert.ok(refused.length >= 10, `${refused.length} of 30 refused (burst 10, 5/s)`);
    for (const outcome of refused) assert.equal((outcome.reason as Error).name, "ThrottlingException");
    assert.ok(outcomes.some((outcome) => outcome.status === "fulfilled"));
  });
});

describe("slow heads and connection caps", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ args: ["--headers-timeout-seconds", "1", "--max-connections-per-address", "3", "--max-connections", "5"] });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    await server.cleanup();
  });
  const port = () => Number(new URL(server.endpoint).port);

  test("a head trickled a header at a time is cut off by the headers timeout", async () => {
    const socket = connect(port(), "127.0.0.1");
    socket.on("error", () => {});
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    const started = Date.now();
    socket.write("POST / HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 200);
    await new Promise((resolve) => socket.once("close", resolve));
    clearInterval(trickle);
    const elapsedMs = Date.now() - started;
    assert.ok(elapsedMs < 4_000, `closed after ${elapsedMs} ms (headers timeout 1 s)`);
    assert.ok(elapsedMs >= 900, `not before the timeout: ${elapsedMs} ms`);
    assert.match(received, /^HTTP\/1\.1 408 /);
  });

  /** Opens a connection and reports whether the server keeps it (answers a request on it). */
  async function open(localAddress: string): Promise<{ socket: Socket; kept: boolean }> {
    const socket = connect({ port: port(), host: "127.0.0.1", localAddress });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    const answered = new Promise<boolean>((resolve) => {
      socket.once("data", () => resolve(true));
      socket.once("close", () => resolve(false));
    });
    socket.write("GET /_berth/health HTTP/1.1\r\nHost: x\r\n\r\n");
    return { socket, kept: await answered };
  }

  test("connections beyond the per-address cap and the total cap are closed at once", async () => {
    const sockets: Socket[] = [];
    try {
      const fromOne = [];
      for (let i = 0; i < 4; i++) {
        const one = await open("127.0.0.1");
        sockets.push(one.socket);
        fromOne.push(one.kept);
      }
      assert.deepEqual(fromOne, [true, true, true, false], "3 per address");
      const fromTwo = [];
      for (let i = 0; i < 3; i++) {
        const one = await open("127.0.0.2");
        sockets.push(one.socket);
        fromTwo.push(one.kept);
      }
      assert.deepEqual(fromTwo, [true, true, false], "5 in all");
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    // Room again once the server has seen them close.
    await waitFor(
      async () => {
        const again = await open("127.0.0.3");
        again.socket.destroy();
        return again.kept;
      },
      { what: "room again once they closed", timeoutMs: 5_000 },
    );
  });
});
