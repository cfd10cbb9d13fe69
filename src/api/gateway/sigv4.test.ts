import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { verifySigV4 } from "./sigv4.js";

const credentials = { accessKeyId: "AKIAUNITTEST00000000", secretAccessKey: "unit-test-secret-key-000000000000000000" };
const now = Date.UTC(2026, 10, 23, 1, 0, 0);

async function signAndVerify(path: string, query: Record<string, string>, sentTarget: string) {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "ecs", sha256: Hash.bind(null, "sha256") });
  const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: "h", path, query, headers: { host: "h" }, body: "{}" }, { signingDate: new Date(now) });
  return verifySigV4(
    { method: "POST", url: sentTarget, headers: signed.headers, body: Buffer.from("{}") },
    { region: "us-east-1", service: "ecs", now, secretFor: async (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined) },
  );
}

describe("SigV4 canonical request", () => {
  test("paths are encoded once more as they arrived, normalised as the SDK signer does", async () => {
    for (const path of ["/", "/a/b", "/a%2Fb", "/a%20b", "/%", "/a/./b/../c", "//x//"]) {
      assert.deepEqual(await signAndVerify(path, {}, path), { accessKeyId: credentials.accessKeyId }, path);
    }
  });
  test("query parameters are decoded, sorted and re-encoded", async () => {
    assert.ok(await signAndVerify("/", { b: "2", a: "x y/z" }, "/?b=2&a=x%20y%2Fz"));
  });
  test("a malformed escape in the query is InvalidSignatureException, not a URIError", async () => {
    for (const target of ["/?a=%", "/?%zz=1", "/?x=%E0%A4%A"]) {
      await assert.rejects(signAndVerify("/", {}, target), { name: "InvalidSignatureException" }, target);
    }
  });
  test("a signature differing in any one character is refused", async () => {
    const signer = new SignatureV4({ credentials, region: "us-east-1", service: "ecs", sha256: Hash.bind(null, "sha256") });
    const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: "h", path: "/", headers: { host: "h" }, body: "{}" }, { signingDate: new Date(now) });
    const expectations = { region: "us-east-1", service: "ecs", now, secretFor: async () => credentials.secretAccessKey };
    const authorization = String(signed.headers["authorization"]);
    const at = authorization.length - 64;
    assert.ok(await verifySigV4({ method: "POST", url: "/", headers: signed.headers, body: Buffer.from("{}") }, expectations));
    for (const position of [at, at + 31, authorization.length - 1]) {
      const flipped = authorization[position] === "0" ? "1" : "0";
      const headers = { ...signed.headers, authorization: authorization.slice(0, position) + flipped + authorization.slice(position + 1) };
      await assert.rejects(verifySigV4({ method: "POST", url: "/", headers, body: Buffer.from("{}") }, expectations), { name: "InvalidSignatureException" }, String(position));
    }
  });
});
