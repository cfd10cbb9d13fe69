// The gateway's front door: SigV4 failures each answered with AWS's 403 code, and malformed input
// of every kind answered with an AWS-style 4xx (never a 500, never a crash), fuzzed.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
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
