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
import { randomInput, randomJson } from "../support/schema-fuzz.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { parseJoinToken } from "../../src/protocol/join-token.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer, testCredentials } from "../support/server.js";

let server: TestServer;
before(async () => {
  // The fuzzes below fail authentication on purpose thousands of times from one address; the
  // per-address throttle (tested in api-edge-limits.test.ts) would turn those into ThrottlingException.
  server = await startTestServer({ args: ["--auth-failures-per-second-per-address", "0"] });
});
after(async () => {
  assert.equal(await server.stop(), 0, "SIGTERM exits 0");
  await server.cleanup();
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
  const response = await fetch(server.endpoint, {
    method: "POST",
    headers: signed.headers as Record<string, string>,
    body: options.tamper ? options.tamper(body) : body,
  });
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
    await assert.rejects(ecs.send(new ListClustersCommand({})), {
      name: "UnrecognizedClientException",
      message: "The security token included in the request is invalid.",
    });
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
    const answer = await send({
      body: JSON.stringify({ clusterName: "x".repeat(3 * 1024 * 1024) }),
      target: "AmazonEC2ContainerServiceV20141113.CreateCluster",
    });
    assert.equal(answer.status, 413);
    assert.equal(answer.json.__type, "RequestEntityTooLargeException");
  });

  test("3,000 fuzzed requests all get an AWS-style 4xx and the server stays healthy", async () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const operations = ["CreateCluster", "DescribeClusters", "RegisterTaskDefinition", "ListTaskDefinitions", "TagResource", "DeleteCluster", "Nope", ""];
    const values = [null, 0, -1, 1e308, "", "x", true, [], {}, [1, "a"], { a: { b: [null] } }, "\u0000\ud800", 1.5];
    const members = [
      "clusterName",
      "clusters",
      "family",
      "containerDefinitions",
      "cpu",
      "memory",
      "maxResults",
      "nextToken",
      "tags",
      "resourceArn",
      "include",
      "settings",
    ];
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
async function signedHeaders(options: {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  secret?: string;
}) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: testCredentials.accessKeyId, secretAccessKey: options.secret ?? testCredentials.secretAccessKey },
    region: "us-east-1",
    service: "ecs",
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign({
    method: options.method,
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: options.path,
    query: options.query,
    headers: { host: url.host, ...options.headers },
    body: options.body,
  });
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
      const headers = await signedHeaders({
        method: "POST",
        path: "/",
        query: {},
        headers: { "x-amz-target": `${ECS}.ListClusters`, "content-type": "application/x-amz-json-1.1" },
        body: "{}",
      });
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
    const headers = await signedHeaders({
      method: "POST",
      path: "/",
      query: {},
      headers: { "x-amz-target": `${ECS}.CreateCluster`, "content-type": "application/x-amz-json-1.1" },
      body: "",
    });
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
    const headers = await signedHeaders({
      method: "POST",
      path: "/",
      query: {},
      headers: { "x-amz-target": `${ECS}.ListClusters`, "content-type": "application/x-amz-json-1.1" },
      body: "{}",
    });
    const answer = await rawRequest(port(), {
      method: "POST",
      target: "/",
      headers: [...Object.entries(headers), ["content-length", "100"]],
      body: "{}",
      endAfterWrite: true,
    });
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
      "CreateCluster",
      "DescribeClusters",
      "ListClusters",
      "UpdateCluster",
      "UpdateClusterSettings",
      "DeleteCluster",
      "PutClusterCapacityProviders",
      "DescribeCapacityProviders",
      "RegisterTaskDefinition",
      "DescribeTaskDefinition",
      "ListTaskDefinitions",
      "ListTaskDefinitionFamilies",
      "DeregisterTaskDefinition",
      "DeleteTaskDefinitions",
      "TagResource",
      "UntagResource",
      "ListTagsForResource",
      "ListAccountSettings",
      "PutAccountSetting",
      "PutAccountSettingDefault",
      "DeleteAccountSetting",
      "RunTask",
      "StopTask",
      "DescribeTasks",
      "ListTasks",
      "Nope",
    ];
    const schemas = ecsSchemas as unknown as Record<string, unknown>;
    const body = (operation: string): string => {
      const roll = random();
      if (roll < 0.6 && schemas[`${operation}Request$`]) return JSON.stringify(randomInput(schemas[`${operation}Request$`], random));
      if (roll < 0.7) return "{".repeat(Math.floor(random() * 3000));
      if (roll < 0.8) return Buffer.from(Array.from({ length: 48 }, () => Math.floor(random() * 256))).toString("latin1");
      if (roll < 0.9)
        return JSON.stringify(pick([null, 0, "", [], {}, [null], { containerDefinitions: [null] }, { family: "f", containerDefinitions: [null, {}] }]));
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
      const base: Record<string, string> = {
        "x-amz-target": random() < 0.95 ? `${ECS}.${operation}` : pick(["", ECS, "Bogus.X", `${ECS}.`, "."]),
        "content-type": "application/x-amz-json-1.1",
      };
      const signing = random();
      let headers: Record<string, string>;
      if (signing < 0.1) headers = { host: "127.0.0.1", ...base };
      else
        headers = await signedHeaders({
          method,
          path,
          query: parseQuery(query),
          headers: base,
          body: text,
          ...(signing < 0.15 ? { secret: "not-the-secret-key-000000000000000000000" } : {}),
        });
      // Spoiled after signing, so the server really sees them.
      const spoil = random();
      if (spoil < 0.08) headers["x-amz-date"] = pick(["garbage", "", "20261399T999999Z", "99999999T999999Z", "2026-11-23T00:00:00Z", "0", "\u00ff\u00fe"]);
      else if (spoil < 0.12)
        headers.authorization = pick([
          "AWS4-HMAC-SHA256",
          "AWS4-HMAC-SHA256 Credential=/////",
          "Bearer x",
          (headers.authorization ?? "").slice(0, 40),
          `${headers.authorization ?? ""},extra`,
        ]);
      else if (spoil < 0.15) headers["x-amz-content-sha256"] = pick(["zz", "UNSIGNED-PAYLOAD", "0".repeat(64)]);
      else if (spoil < 0.17) delete headers.host;
      const what = `${method} ${path}${query} ${operation} spoil=${spoil.toFixed(2)}`;
      const lines = Object.entries(headers);
      const framing = random();
      // A chunked body is read only once the head authenticates (refused with a 403 before that);
      // a declared Content-Length over the limit is refused on its own. The signer declares the
      // payload hash (x-amz-content-sha256), so the signature itself is checked from the head: it
      // holds only for the request line it was made for (POST /).
      const headAuthenticates = signing >= 0.15 && spoil >= 0.17 && method === "POST" && path === "/" && query === "";
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
      if (framing < 0.05)
        return {
          method: "POST",
          target: "/",
          headers: [...lines, ["content-length", String(OVERSIZED)]],
          body: "x".repeat(OVERSIZED),
          expectStatus: 413,
          what: `oversized ${what}`,
        };
      if (framing < 0.1) {
        const pieces = text.match(/[\s\S]{1,7}/g) ?? [];
        return {
          method,
          target: path + query,
          headers: [...lines, ["transfer-encoding", "chunked"]],
          body: [...pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`), "0\r\n\r\n"],
          what: `chunked ${what}`,
        };
      }
      if (framing < 0.14)
        return {
          method,
          target: path + query,
          headers: [...lines, ["content-length", String(Math.max(0, Buffer.byteLength(text) - 3))]],
          body: text,
          what: `short content-length ${what}`,
        };
      if (framing < 0.18)
        return {
          method,
          target: path + query,
          headers: [...lines, ["content-length", String(Buffer.byteLength(text) + 50)]],
          body: text,
          endAfterWrite: true,
          what: `long content-length ${what}`,
        };
      if (framing < 0.2)
        return {
          method,
          target: path + query,
          headers: [...lines, ["content-length", pick(["-1", "abc", "1e3", " 5"])]],
          body: text,
          endAfterWrite: true,
          what: `bad content-length ${what}`,
        };
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

describe("the registry and agent routes, fuzzed", () => {
  const lcg = (start: number) => {
    let seed = start;
    return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  };

  test("2,000 registry requests with hostile paths, escapes, auth and bodies: every one a 2xx/3xx or an OCI-shaped 4xx", async () => {
    const ecr = new ECRClient(sdkConfig(server));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "fuzz" }));
    const password = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!;
    ecr.destroy();
    const random = lcg(11);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const names = ["fuzz", "fuzz", "missing", "%zz", "%", "a/../b", "FUZZ", "a".repeat(300), "fuzz%2fx", "%e0%a4%a", "", ".."];
    const digest = () => pick(["sha256:" + "a".repeat(64), "sha256:%zz", "%zz", "sha256:../../x", "sha512:" + "b".repeat(128), "md5:x", ""]);
    const suffixes = () =>
      pick([
        `manifests/${pick(["latest", "%zz", "%", "a".repeat(200), digest(), "v1%2F2"])}`,
        `blobs/${digest()}`,
        "blobs/uploads/",
        `blobs/uploads/${pick(["%zz", "00000000-0000-0000-0000-000000000000", "..", "x"])}?digest=${digest()}`,
        `tags/list?n=${pick(["%zz", "-1", "1e9", "5", ""])}&last=${pick(["%", "x"])}`,
        `referrers/${digest()}`,
      ]);
    const makeCase = (): RawRequest & { what: string } => {
      const method = pick(["GET", "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]);
      const target =
        random() < 0.1 ? pick(["/v2/", "/v2/_catalog?n=%zz", "/v2/token?scope=%zz&service=%", "/v2/%zz", "/v2//"]) : `/v2/${pick(names)}/${suffixes()}`;
      const auth = pick([`Basic ${password}`, `Basic ${password}`, "Basic %%%", `Basic ${Buffer.from("AWS:nope").toString("base64")}`, "Bearer x.y.z", ""]);
      const body =
        random() < 0.5
          ? ""
          : random() < 0.5
            ? JSON.stringify(randomJson(random))
            : Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))).toString("latin1");
      const headers: [string, string][] = [
        ["host", "127.0.0.1"],
        ["content-length", String(Buffer.byteLength(body, "latin1"))],
      ];
      if (auth) headers.push(["authorization", auth]);
      if (random() < 0.5) headers.push(["content-type", pick(["application/vnd.oci.image.manifest.v1+json", "application/octet-stream", "text/%zz", ""])]);
      if (random() < 0.2) headers.push(["content-range", pick(["0-10", "x", "5-1", "%"])]);
      return { method, target, headers, body: Buffer.from(body, "latin1"), what: `${method} ${target} auth=${auth.slice(0, 12)}` };
    };
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 80; batch++) {
      const cases = Array.from({ length: 25 }, makeCase);
      const answers = await Promise.all(cases.map((one) => rawRequest(port(), one)));
      answers.forEach((answer, index) => {
        const one = cases[index]!;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.ok(!answer.incomplete, `${one.what}: no complete answer`);
        assert.ok(answer.status >= 200 && answer.status < 500, `${one.what}: got ${answer.status} ${answer.body}`);
        if (answer.status >= 400 && one.method !== "HEAD") {
          const errors = (JSON.parse(answer.body) as { errors?: { code?: unknown }[] }).errors;
          assert.equal(typeof errors?.[0]?.code, "string", `${one.what}: OCI error shape, got ${answer.body}`);
        }
      });
    }
    console.log(`registry fuzz statuses: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(401) ?? 0) > 50 && [...statuses.keys()].some((status) => status === 400 || status === 404), JSON.stringify([...statuses]));
  });

  test("1,500 agent protocol calls with hostile credentials, host ids and bodies: never a 5xx, always a JSON {code, message}", async () => {
    const joinSecret = parseJoinToken(readFileSync(join(server.dataDir, "agent-token"), "utf8")).secret;
    const random = lcg(23);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const makeCase = (): RawRequest & { what: string } => {
      const call = pick(["register", "register", "heartbeat", "report", "logs", "nope", "", "%zz"]);
      const bearer = pick([joinSecret, joinSecret, "x", "", "%zz"]);
      let body: string;
      const roll = random();
      if (roll < 0.3) {
        const identity = {
          protocolVersion,
          hostId: pick(["h-1", "h-2", "", "%zz"]),
          agentVersion: "fuzz",
          availabilityZone: pick(["us-east-1a", "nope"]),
          architecture: "X86_64",
          capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 },
          machine: { cpuCount: 8, memoryMiB: 16384 },
          overcommit: false,
          subnetIds: [],
        };
        const field = pick(Object.keys(identity)) as keyof typeof identity;
        body = JSON.stringify({ ...identity, [field]: randomJson(random) });
      } else if (roll < 0.8) body = JSON.stringify(randomJson(random));
      else body = pick(["{", "[]", "null", "\u0000", "{".repeat(2000), ""]);
      const headers: [string, string][] = [
        ["host", "127.0.0.1"],
        ["content-type", "application/json"],
        ["content-length", String(Buffer.byteLength(body))],
      ];
      if (bearer) headers.push(["authorization", `Bearer ${bearer}`]);
      if (random() < 0.5) headers.push(["x-berth-host-id", pick(["h-1", "h-2", "", "x".repeat(300)])]);
      if (random() < 0.2) headers.push(["x-berth-host-secret", pick(["x", ""])]);
      const method = random() < 0.9 ? "POST" : pick(["GET", "PUT"]);
      return {
        method,
        target: `/_berth/agent/v${protocolVersion}/${call}`,
        headers,
        body,
        what: `${method} ${call} bearer=${bearer === joinSecret ? "join" : bearer} ${body.slice(0, 80)}`,
      };
    };
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 60; batch++) {
      const cases = Array.from({ length: 25 }, makeCase);
      const answers = await Promise.all(cases.map((one) => rawRequest(port(), one)));
      answers.forEach((answer, index) => {
        const one = cases[index]!;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.ok(!answer.incomplete, `${one.what}: no complete answer`);
        assert.ok(answer.status >= 200 && answer.status < 500, `${one.what}: got ${answer.status} ${answer.body}`);
        if (answer.status >= 400) {
          const parsed = JSON.parse(answer.body) as { code?: unknown; message?: unknown };
          assert.equal(typeof parsed.code, "string", `${one.what}: ${answer.body}`);
          assert.equal(typeof parsed.message, "string", `${one.what}: ${answer.body}`);
        }
      });
    }
    console.log(`agent fuzz statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(
      (statuses.get(200) ?? 0) >= 1 && (statuses.get(400) ?? 0) > 50,
      `registrations reach the Fleet, malformed ones refused: ${JSON.stringify([...statuses])}`,
    );
    const health = await fetch(`${server.endpoint}/_berth/health`);
    assert.equal(health.status, 200);
  });
});
