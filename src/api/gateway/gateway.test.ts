import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { systemClock } from "../../core/clock.js";
import type { JsonServiceModule } from "../service-module.js";
import type { GatewayOptions } from "./gateway.js";
import { createGateway } from "./gateway.js";

// A service of one operation, Echo, whose input is a structure with one required string member.
const credentials = { accessKeyId: "AKIAUNITTEST00000000", secretAccessKey: "unit-test-secret-key-000000000000000000" };
const echo: JsonServiceModule = {
  signingName: "echo",
  targetPrefix: "Echo_20260101",
  jsonVersion: "1.1",
  schemas: { Echo$: [9, "test", "Echo", 0, () => [3, "test", "EchoRequest", 0, ["text"], [0], 1], [3, "test", "EchoResponse", 0, [], []]] },
  operations: { Echo: async (input) => ({ text: input["text"] }) },
};
const options = (services: readonly JsonServiceModule[]): GatewayOptions => ({
  services,
  principalFor: async (accessKeyId) =>
    accessKeyId === credentials.accessKeyId
      ? {
          secretAccessKey: credentials.secretAccessKey,
          accountId: "123456789012",
          principalArn: "arn:aws:iam::123456789012:root",
          identity: { kind: "root" as const, arn: "arn:aws:iam::123456789012:root", account: "123456789012" },
        }
      : undefined,
  region: "us-east-1",
  partition: "aws",
  clock: systemClock,
  logger: { error: () => {} },
  health: () => ({}),
});

const server = createServer(createGateway(options([echo])));
let port: number;
before(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve())).then(() => void (port = (server.address() as AddressInfo).port)));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function call(operation: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "echo", sha256: Hash.bind(null, "sha256") });
  const headers = { host: `127.0.0.1:${port}`, "content-type": "application/x-amz-json-1.1", "x-amz-target": `Echo_20260101.${operation}` };
  const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: "127.0.0.1", port, path: "/", headers, body });
  const response = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: signed.headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test("an operation's input is checked against its schema before its handler runs", async () => {
  assert.deepEqual(await call("Echo", '{"text":"hi"}'), { status: 200, body: { text: "hi" } });
  const missing = await call("Echo", "{}");
  assert.equal(missing.status, 400);
  assert.equal(missing.body["__type"], "InvalidParameterException");
  assert.equal((await call("Echo", '{"text":1}')).body["__type"], "SerializationException");
});

test("a target naming a member every object inherits is an unknown operation, not a call to it", async () => {
  for (const name of ["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"]) {
    const answer = await call(name, "{}");
    assert.equal(answer.status, 400, name);
    assert.equal(answer.body["__type"], "UnknownOperationException", name);
  }
});

test("the gateway refuses to start with an operation that has no input schema", () => {
  const unchecked: JsonServiceModule = { ...echo, operations: { ...echo.operations, Shout: async () => ({}) } };
  assert.throws(() => createGateway(options([unchecked])), /Echo_20260101: no input schema for Shout\b/);
  assert.throws(() => createGateway(options([{ ...echo, schemas: {} }])), /no input schema for Echo\b/);
});
