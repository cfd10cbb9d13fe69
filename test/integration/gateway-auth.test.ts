// The gateway's front door: SigV4 failures each answered with AWS's 403 code, and malformed input
// of every kind answered with an AWS-style 4xx (never a 500, never a crash), fuzzed.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { request as httpRequest } from "node:http";
import * as ecsSchemas from "@aws-sdk/client-ecs";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import type { RawRequest, RawResponse } from "../support/raw-http.js";
import { rawRequest } from "../support/raw-http.js";
import { randomInput } from "../support/schema-fuzz.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer, testCredentials } from "../support/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  assert.equal(await server.stop(), 0, "SIGTERM exits 0");
  server.cleanup();
});

interface Options {
  target?: string;
  body?: string;
  secret?: string;
  region?: string;
  service?: string;
  signingDate?: Date;
  tamper?: (body: string) => string;
  headers?: Record<string, string>;
  unsigned?: boolean;
}

async function send(options: Options = {}) {
  const url = new URL(server.endpoint);
  const body = options.body ?? "{}";
  const request = {
    method: "POST",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: {
      host: url.host,
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": options.target ?? "AmazonEC2ContainerServiceV20141113.ListClusters",
      ...options.headers,
    } as Record<string, string>,
    body,
  };
  const signer = new SignatureV4({
    credentials: { accessKeyId: testCredentials.accessKeyId, secretAccessKey: options.secret ?? testCredentials.secretAccessKey },
    region: options.region ?? "us-east-1",
    service: options.service ?? "ecs",
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = options.unsigned ? request : await signer.sign(request, options.signingDate ? { signingDate: options.signingDate } : {});
  const response = await fetch(server.endpoint, { method: "POST", headers: signed.headers as Record<string, string>, body: options.tamper ? options.tamper(body) : body });
  const text = await response.text();
  let json: { __type?: string; message?: string } = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, json, errorType: response.headers.get("x-amzn-errortype") };
}

describe("SigV4", () => {
  test("a correctly signed request is answered", async () => {
    const answer = await send();
    assert.equal(answer.status, 200);
    const ecs = new ECSClient(sdkConfig(server));
    assert.ok(Array.isArray((await ecs.send(new ListClustersCommand({}))).clusterArns));
    ecs.destroy();
  });
  test("a wrong secret key is InvalidSignatureException (403)", async () => {
    const answer = await send({ secret: "wrong-secret-key-wrong-secret-key-wrong" });
    assert.equal(answer.status, 403);
    assert.equal(answer.json.__type, "InvalidSignatureException");
    assert.match(answer.json.message!, /^The request signature we calculated does not match the signature you provided/);
  });
  test("an unknown access key is UnrecognizedClientException (403)", async () => {
    const ecs = new ECSClient({ ...sdkConfig(server), credentials: { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x".repeat(40) } });
    await assert.rejects(ecs.send(new ListClustersCommand({})), { name: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
    ecs.destroy();
  });
  test("a body changed after signing is InvalidSignatureException (403)", async () => {
    const answer = await send({ body: '{"maxResults":5}', tamper: () => '{"maxResults":6}' });
    assert.equal(answer.status, 403);
    assert.equal(answer.json.__type, "InvalidSignatureException");
  });
  test("a date more than 15 minutes old is rejected as expired (403)", async () => {
    const answer = await send({ signingDate: new Date(Date.now() - 16 * 60_000) });
    assert.equal(answer.status, 403);
    assert.equal(answer.json.__type, "InvalidSignatureException");
    assert.match(answer.json.message!, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
  });
  test("the wrong region or service in the scope is refused (403)", async () => {
    assert.match((await send({ region: "eu-west-1" })).json.message!, /Credential should be scoped to a valid region/);
    assert.match((await send({ service: "s3" })).json.message!, /Credential should be scoped to correct service: 'ecs'/);
  });
  test("no Authorization header is MissingAuthenticationTokenException (403)", async () => {
    const answer = await send({ unsigned: true });
    assert.equal(answer.status, 403);
    assert.equal(answer.json.__type, "MissingAuthenticationTokenException");
  });
});

describe("malformed requests", () => {
  test("an unknown operation", async () => {
    const answer = await send({ target: "AmazonEC2ContainerServiceV20141113.LaunchRockets" });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.__type, "UnknownOperationException");
  });
  test("malformed JSON", async () => assert.equal((await send({ body: "{not json" })).json.__type, "SerializationException"));
  test("a wrong member type", async () => assert.equal((await send({ body: '{"maxResults":"ten"}' })).json.__type, "SerializationException"));
  test("a missing required member", async () => {
    const answer = await send({ target: "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition", body: "{}" });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.__type, "InvalidParameterException");
    assert.match(answer.json.message!, /Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null/);
  });
  test("an oversized body", async () => {
    const answer = await send({ body: JSON.stringify({ clusterName: "x".repeat(3 * 1024 * 1024) }), target: "AmazonEC2ContainerServiceV20141113.CreateCluster" });
    assert.equal(answer.status, 413);
    assert.equal(answer.json.__type, "RequestEntityTooLargeException");
  });

  test("3,000 fuzzed requests all get an AWS-style 4xx and the server stays healthy", async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const operations = ["CreateCluster", "DescribeClusters", "RegisterTaskDefinition", "ListTaskDefinitions", "TagResource", "DeleteCluster", "Nope", ""];
    const values = [null, 0, -1, 1e308, "", "x", true, [], {}, [1, "a"], { a: { b: [null] } }, "\u0000\ud800", 1.5];
    const members = ["clusterName", "clusters", "family", "containerDefinitions", "cpu", "memory", "maxResults", "nextToken", "tags", "resourceArn", "include", "settings"];
    const bodies = () => {
      switch (Math.floor(random() * 6)) {
        case 0:
          return "{".repeat(Math.floor(random() * 5000));
        case 1:
          return Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))).toString("latin1");
        case 2:
          return JSON.stringify(pick(values));
        case 3:
          return `{"${pick(members)}": ${JSON.stringify(pick(values))}`;
        case 4: {
          let nested: unknown = pick(values);
          for (let i = 0; i < random() * 200; i++) nested = { containerDefinitions: [nested] };
          return JSON.stringify(nested);
        }
        default: {
          const record: Record<string, unknown> = {};
          for (let i = 0; i < 4; i++) record[pick(members)] = pick(values);
          return JSON.stringify(record);
        }
      }
    };
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 100; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => {
          const operation = pick(operations);
          const prefix = random() < 0.9 ? "AmazonEC2ContainerServiceV20141113" : pick(["Logs_20140328", "Bogus", ""]);
          return send({
            target: operation ? `${prefix}.${operation}` : prefix,
            body: bodies(),
            ...(random() < 0.1 ? { unsigned: true } : {}),
            ...(random() < 0.05 ? { headers: { "x-amz-date": "garbage" } } : {}),
          });
        }),
      );
      for (const answer of answers) {
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.ok(answer.status < 500, `got ${answer.status} ${JSON.stringify(answer.json)}`);
        if (answer.status >= 400) {
          assert.equal(typeof answer.json.__type, "string");
          assert.equal(answer.errorType, answer.json.__type);
        }
      }
    }
    const health = await fetch(`${server.endpoint}/_berth/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
  });
});

const ECS = "AmazonEC2ContainerServiceV20141113";
const OVERSIZED = 3 * 1024 * 1024;

/** Signs like an SDK would, then hands back the headers so a test can spoil them after signing. */
async function signedHeaders(options: { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: string; secret?: string }) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: testCredentials.accessKeyId, secretAccessKey: options.secret ?? testCredentials.secretAccessKey },
    region: "us-east-1",
    service: "ecs",
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign({ method: options.method, protocol: "http:", hostname: url.hostname, port: Number(url.port), path: options.path, query: options.query, headers: { host: url.host, ...options.headers }, body: options.body });
  return signed.headers as Record<string, string>;
}

function assertAwsShaped(answer: RawResponse, method: string, what: string): void {
  assert.ok(!answer.incomplete, `${what}: no complete answer (connection reset or closed)`);
  assert.ok(answer.status >= 200 && answer.status < 500, `${what}: got ${answer.status} ${answer.body}`);
  if (answer.status >= 400) {
    const type = answer.headers["x-amzn-errortype"];
    assert.equal(typeof type, "string", `${what}: no x-amzn-errortype`);
    if (method !== "HEAD") assert.equal((JSON.parse(answer.body) as { __type: string }).__type, type, what);
  }
}

const port = () => Number(new URL(server.endpoint).port);

/** The query as the signer wants it; a malformed escape is kept as is (the server must refuse it). */
function parseQuery(query: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of query.replace(/^\?/, "").split("&").filter(Boolean)) {
    const [name = "", value = ""] = pair.split("=", 2);
    try {
      result[decodeURIComponent(name)] = decodeURIComponent(value);
    } catch {
      result[name] = value;
    }
  }
  return result;
}

describe("requests off the beaten path", () => {
  test("a malformed escape in the path or query of a signed request is a 403, not a 500", async () => {
    for (const target of ["/%", "/%zz", "/a/%e0%a4%a", "/?a=%", "/?%zz=1"]) {
      const [path, query = ""] = target.split("?");
      const headers = await signedHeaders({ method: "POST", path: "/", query: {}, headers: { "x-amz-target": `${ECS}.ListClusters`, "content-type": "application/x-amz-json-1.1" }, body: "{}" });
      const answer = await rawRequest(port(), {
        method: "POST",
        target: query ? `${path}?${query}` : path!,
        headers: [...Object.entries(headers), ["content-length", "2"]],
        body: "{}",
      });
      assertAwsShaped(answer, "POST", target);
      assert.equal(answer.status, 403, target);
      assert.equal(answer.headers["x-amzn-errortype"], "InvalidSignatureException", target);
    }
  });

  test("GET / is authenticated first: anonymous → 403 MissingAuthenticationToken, signed → 400 UnknownOperation", async () => {
    const anonymous = await rawRequest(port(), { method: "GET", target: "/", headers: [["host", "x"]] });
    assertAwsShaped(anonymous, "GET", "anonymous GET /");
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.headers["x-amzn-errortype"], "MissingAuthenticationTokenException");
    const headers = await signedHeaders({ method: "GET", path: "/", query: {}, headers: {}, body: "" });
    const signed = await rawRequest(port(), { method: "GET", target: "/", headers: Object.entries(headers) });
    assertAwsShaped(signed, "GET", "signed GET /");
    assert.equal(signed.status, 400);
    assert.equal(signed.headers["x-amzn-errortype"], "UnknownOperationException");
  });

  test("a chunked body streamed past the limit is answered 413 before the connection closes", async () => {
    // Signed in the head (the signature covers the body's hash, so the body is read to check it).
    const headers = await signedHeaders({ method: "POST", path: "/", query: {}, headers: { "x-amz-target": `${ECS}.CreateCluster`, "content-type": "application/x-amz-json-1.1" }, body: "" });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(server.endpoint);
      const request = httpRequest({ host: url.hostname, port: url.port, method: "POST", path: "/", headers }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode!, body }));
      });
      request.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, "x");
      let sent = 0;
      const pump = () => {
        while (sent < OVERSIZED) {
          sent += chunk.length;
          if (!request.write(chunk)) return void request.once("drain", pump);
        }
        request.end();
      };
      pump();
    });
    assert.equal(answer.status, 413);
    assert.equal((JSON.parse(answer.body) as { __type: string }).__type, "RequestEntityTooLargeException");
  });

  test("a Content-Length longer than the body sent (then the client stops) is a 400", async () => {
    const headers = await signedHeaders({ method: "POST", path: "/", query: {}, headers: { "x-amz-target": `${ECS}.ListClusters`, "content-type": "application/x-amz-json-1.1" }, body: "{}" });
    const answer = await rawRequest(port(), { method: "POST", target: "/", headers: [...Object.entries(headers), ["content-length", "100"]], body: "{}", endAfterWrite: true });
    assertAwsShaped(answer, "POST", "lying content-length");
    assert.equal(answer.status, 400);
  });

  test("4,000 raw requests varying method, path, query, framing, headers spoiled after signing and schema-typed bodies: every one an AWS-style 4xx or a 200, the server healthy after", async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const methods = ["POST", "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    const paths = ["/", "/", "/", "/", "/%", "/%zz", "/a/%", "/foo", "//", "/%2F%2f", "/./../", "/_berth/healthz", "/_berth/health/x", "/_berth/"];
    const queries = ["", "", "", "?a=b", "?%", "?a=%zz", "?&&=&", "?a=1&a=2", "?x=%E0%A4%A", "?Action=ListClusters"];
    const operations = [
      "CreateCluster", "DescribeClusters", "ListClusters", "UpdateCluster", "UpdateClusterSettings", "DeleteCluster", "PutClusterCapacityProviders",
      "DescribeCapacityProviders", "RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies",
      "DeregisterTaskDefinition", "DeleteTaskDefinitions", "TagResource", "UntagResource", "ListTagsForResource", "ListAccountSettings",
      "PutAccountSetting", "PutAccountSettingDefault", "DeleteAccountSetting", "RunTask", "StopTask", "DescribeTasks", "ListTasks", "Nope",
    ];
    const schemas = ecsSchemas as unknown as Record<string, unknown>;
    const body = (operation: string): string => {
      const roll = random();
      if (roll < 0.6 && schemas[`${operation}Request$`]) return JSON.stringify(randomInput(schemas[`${operation}Request$`], random));
      if (roll < 0.7) return "{".repeat(Math.floor(random() * 3000));
      if (roll < 0.8) return Buffer.from(Array.from({ length: 48 }, () => Math.floor(random() * 256))).toString("latin1");
      if (roll < 0.9) return JSON.stringify(pick([null, 0, "", [], {}, [null], { containerDefinitions: [null] }, { family: "f", containerDefinitions: [null, {}] }]));
      return "{}";
    };
    type Case = RawRequest & { expectStatus?: number; what: string };
    const makeCase = async (): Promise<Case> => {
      // Most requests have the request line an SDK sends, so that many reach the handlers.
      const clean = random() < 0.6;
      const method = clean ? "POST" : pick(methods);
      const path = clean ? "/" : pick(paths);
      const query = clean ? "" : pick(queries);
      const operation = pick(operations);
      const text = body(operation);
      const base: Record<string, string> = { "x-amz-target": random() < 0.95 ? `${ECS}.${operation}` : pick(["", ECS, "Bogus.X", `${ECS}.`, "."]), "content-type": "application/x-amz-json-1.1" };
      const signing = random();
      let headers: Record<string, string>;
      if (signing < 0.1) headers = { host: "127.0.0.1", ...base };
      else headers = await signedHeaders({ method, path, query: parseQuery(query), headers: base, body: text, ...(signing < 0.15 ? { secret: "not-the-secret-key-000000000000000000000" } : {}) });
      // Spoiled after signing, so the server really sees them.
      const spoil = random();
      if (spoil < 0.08) headers["x-amz-date"] = pick(["garbage", "", "20261399T999999Z", "99999999T999999Z", "2026-11-23T00:00:00Z", "0", "\u00ff\u00fe"]);
      else if (spoil < 0.12) headers.authorization = pick(["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=/////", "Bearer x", (headers.authorization ?? "").slice(0, 40), `${headers.authorization ?? ""},extra`]);
      else if (spoil < 0.15) headers["x-amz-content-sha256"] = pick(["zz", "UNSIGNED-PAYLOAD", "0".repeat(64)]);
      else if (spoil < 0.17) delete headers.host;
      const what = `${method} ${path}${query} ${operation} spoil=${spoil.toFixed(2)}`;
      const lines = Object.entries(headers);
      const framing = random();
      // A chunked body is read only once the head authenticates (refused with a 403 before that);
      // a declared Content-Length over the limit is refused on its own.
      const headAuthenticates = signing >= 0.1 && spoil >= 0.17;
      if (framing < 0.03) {
        const chunk = `10000\r\n${"x".repeat(0x10000)}\r\n`;
        return {
          method: "POST",
          target: "/",
          headers: [...lines, ["transfer-encoding", "chunked"]],
          body: [...Array.from({ length: OVERSIZED / 0x10000 + 1 }, () => chunk), "0\r\n\r\n"],
          ...(headAuthenticates ? { expectStatus: 413 } : {}),
          what: `chunked oversized ${what}`,
        };
      }
      if (framing < 0.05) return { method: "POST", target: "/", headers: [...lines, ["content-length", String(OVERSIZED)]], body: "x".repeat(OVERSIZED), expectStatus: 413, what: `oversized ${what}` };
      if (framing < 0.1) {
        const pieces = text.match(/[\s\S]{1,7}/g) ?? [];
        return { method, target: path + query, headers: [...lines, ["transfer-encoding", "chunked"]], body: [...pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`), "0\r\n\r\n"], what: `chunked ${what}` };
      }
      if (framing < 0.14) return { method, target: path + query, headers: [...lines, ["content-length", String(Math.max(0, Buffer.byteLength(text) - 3))]], body: text, what: `short content-length ${what}` };
      if (framing < 0.18) return { method, target: path + query, headers: [...lines, ["content-length", String(Buffer.byteLength(text) + 50)]], body: text, endAfterWrite: true, what: `long content-length ${what}` };
      if (framing < 0.2) return { method, target: path + query, headers: [...lines, ["content-length", pick(["-1", "abc", "1e3", " 5"])]], body: text, endAfterWrite: true, what: `bad content-length ${what}` };
      return { method, target: path + query, headers: [...lines, ["content-length", String(Buffer.byteLength(text))]], body: text, what };
    };
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 160; batch++) {
      const cases = await Promise.all(Array.from({ length: 25 }, makeCase));
      const answers = await Promise.all(cases.map((one) => rawRequest(port(), one)));
      answers.forEach((answer, index) => {
        const one = cases[index]!;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assertAwsShaped(answer, one.method, one.what);
        if (one.expectStatus !== undefined) assert.equal(answer.status, one.expectStatus, one.what);
      });
    }
    assert.ok((statuses.get(200) ?? 0) > 50, `some requests reach the handlers and succeed: ${JSON.stringify([...statuses])}`);
    console.log(`fuzz statuses: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(413) ?? 0) > 50, `oversized bodies were sent: ${JSON.stringify([...statuses])}`);
    const health = await fetch(`${server.endpoint}/_berth/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
    const ecs = new ECSClient(sdkConfig(server));
    assert.ok(Array.isArray((await ecs.send(new ListClustersCommand({}))).clusterArns));
    ecs.destroy();
  });
});
