import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { createHash } from "node:crypto";
import { verifySigV4 } from "./sigv4.js";

const credentials = { accessKeyId: "AKIAUNITTEST00000000", secretAccessKey: "unit-test-secret-key-000000000000000000" };
const now = Date.UTC(2026, 10, 23, 1, 0, 0);
const bodyOf = (text: string) => async () => Buffer.from(text);

async function signAndVerify(path: string, query: Record<string, string>, sentTarget: string) {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "ecs", sha256: Hash.bind(null, "sha256") });
  const signed = await signer.sign(
    { method: "POST", protocol: "http:", hostname: "h", path, query, headers: { host: "h" }, body: "{}" },
    { signingDate: new Date(now) },
  );
  const verified = await verifySigV4(
    { method: "POST", url: sentTarget, headers: signed.headers },
    { region: "us-east-1", service: "ecs", now, secretFor: async (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined) },
    bodyOf("{}"),
  );
  return { accessKeyId: verified.accessKeyId };
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
    const signed = await signer.sign(
      { method: "POST", protocol: "http:", hostname: "h", path: "/", headers: { host: "h" }, body: "{}" },
      { signingDate: new Date(now) },
    );
    const expectations = { region: "us-east-1", service: "ecs", now, secretFor: async () => credentials.secretAccessKey };
    const authorization = String(signed.headers["authorization"]);
    const at = authorization.length - 64;
    assert.ok(await verifySigV4({ method: "POST", url: "/", headers: signed.headers }, expectations, bodyOf("{}")));
    for (const position of [at, at + 31, authorization.length - 1]) {
      const flipped = authorization[position] === "0" ? "1" : "0";
      const headers = { ...signed.headers, authorization: authorization.slice(0, position) + flipped + authorization.slice(position + 1) };
      await assert.rejects(
        verifySigV4({ method: "POST", url: "/", headers }, expectations, bodyOf("{}")),
        { name: "InvalidSignatureException" },
        String(position),
      );
    }
  });
});

describe("what must be signed, and when the body is read", () => {
  const expectations = { region: "us-east-1", service: "ecs", now, secretFor: async () => credentials.secretAccessKey };
  const signer = () => new SignatureV4({ credentials, region: "us-east-1", service: "ecs", sha256: Hash.bind(null, "sha256") });
  const ecsHeaders = { host: "h", "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters" };

  test("an x-amz-* header or content-type present but not signed is refused in AWS's words", async () => {
    const signed = await signer().sign(
      { method: "POST", protocol: "http:", hostname: "h", path: "/", headers: { host: "h" }, body: "{}" },
      { signingDate: new Date(now) },
    );
    await assert.rejects(
      verifySigV4(
        { method: "POST", url: "/", headers: { ...signed.headers, "x-amz-target": "AmazonEC2ContainerServiceV20141113.DeleteCluster" } },
        expectations,
        bodyOf("{}"),
      ),
      {
        name: "InvalidSignatureException",
        message: "'x-amz-target' must be a 'SignedHeader' in the AWS Authorization.",
      },
    );
    await assert.rejects(verifySigV4({ method: "POST", url: "/", headers: { ...signed.headers, "content-type": "text/plain" } }, expectations, bodyOf("{}")), {
      name: "InvalidSignatureException",
      message: "'Content-Type' must be a 'SignedHeader' in the AWS Authorization.",
    });
  });

  test("a signed x-amz-target changed after signing no longer matches", async () => {
    const signed = await signer().sign(
      { method: "POST", protocol: "http:", hostname: "h", path: "/", headers: ecsHeaders, body: "{}" },
      { signingDate: new Date(now) },
    );
    const headers = { ...signed.headers, "x-amz-target": "AmazonEC2ContainerServiceV20141113.DeleteCluster" };
    await assert.rejects(verifySigV4({ method: "POST", url: "/", headers }, expectations, bodyOf("{}")), {
      name: "InvalidSignatureException",
      message: /^The request signature we calculated/,
    });
  });

  test("with a declared payload hash, a wrong signature is refused without reading the body", async () => {
    const body = "{}";
    const declared = { ...ecsHeaders, "x-amz-content-sha256": createHash("sha256").update(body).digest("hex") };
    const signed = await signer().sign(
      { method: "POST", protocol: "http:", hostname: "h", path: "/", headers: declared, body },
      { signingDate: new Date(now) },
    );
    let reads = 0;
    const counting = async () => {
      reads++;
      return Buffer.from(body);
    };
    assert.equal((await verifySigV4({ method: "POST", url: "/", headers: signed.headers }, expectations, counting)).body.toString(), body);
    assert.equal(reads, 1);
    const wrong = { ...signed.headers, authorization: String(signed.headers.authorization).replace(/.$/, (c) => (c === "0" ? "1" : "0")) };
    await assert.rejects(verifySigV4({ method: "POST", url: "/", headers: wrong }, expectations, counting), { name: "InvalidSignatureException" });
    assert.equal(reads, 1, "the body was not read for a failing signature");
    await assert.rejects(verifySigV4({ method: "POST", url: "/", headers: signed.headers }, expectations, bodyOf('{"a":1}')), {
      message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
    });
  });

  test("UNSIGNED-PAYLOAD (botocore's unsigned-body operations) is accepted, the headers still signed", async () => {
    const headers = { ...ecsHeaders, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
    const signed = await signer().sign({ method: "POST", protocol: "http:", hostname: "h", path: "/", headers, body: "{}" }, { signingDate: new Date(now) });
    assert.equal(
      (await verifySigV4({ method: "POST", url: "/", headers: signed.headers }, expectations, bodyOf('{"any":1}'))).accessKeyId,
      credentials.accessKeyId,
    );
  });

  test("a presigned request (query-string auth) is accepted within X-Amz-Expires and refused after", async () => {
    const presigned = await signer().presign(
      { method: "POST", protocol: "http:", hostname: "h", path: "/", headers: ecsHeaders, body: "{}" },
      { signingDate: new Date(now), expiresIn: 300 },
    );
    const search = new URLSearchParams(presigned.query as Record<string, string>).toString();
    assert.match(search, /x-amz-target=/i, "the presigner hoists x-amz-* headers into the query");
    const head = { method: "POST", url: `/?${search}`, headers: presigned.headers };
    assert.ok(await verifySigV4(head, { ...expectations, now: now + 299_000 }, bodyOf("{}")));
    await assert.rejects(verifySigV4(head, { ...expectations, now: now + 301_000 }, bodyOf("{}")), {
      name: "InvalidSignatureException",
      message: /^Signature expired: /,
    });
    await assert.rejects(verifySigV4({ ...head, headers: { ...presigned.headers, authorization: "AWS4-HMAC-SHA256 x" } }, expectations, bodyOf("{}")), {
      message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    });
    await assert.rejects(verifySigV4({ ...head, url: head.url.replace(/X-Amz-Credential=[^&]*&/, "") }, expectations, bodyOf("{}")), {
      name: "IncompleteSignatureException",
      message: "AWS query-string parameters must include 'X-Amz-Credential'. Re-examine the query-string parameters.",
    });
  });

  test("a header-form date more than 15 minutes away is refused either way", async () => {
    const signed = await signer().sign(
      { method: "POST", protocol: "http:", hostname: "h", path: "/", headers: ecsHeaders, body: "{}" },
      { signingDate: new Date(now) },
    );
    await assert.rejects(verifySigV4({ method: "POST", url: "/", headers: signed.headers }, { ...expectations, now: now + 16 * 60_000 }, bodyOf("{}")), {
      message: /^Signature expired/,
    });
    await assert.rejects(verifySigV4({ method: "POST", url: "/", headers: signed.headers }, { ...expectations, now: now - 16 * 60_000 }, bodyOf("{}")), {
      message: /^Signature not yet current/,
    });
  });
});

describe("SigV4 signed header names", () => {
  test("names that only exist on Object.prototype (constructor, __proto__, toString) are missing headers: 4xx, never a crash", async () => {
    for (const name of ["constructor", "__proto__", "toString"]) {
      const headers = {
        host: "h",
        "x-amz-date": "20261123T010000Z",
        authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20261123/us-east-1/ecs/aws4_request, SignedHeaders=${name};host;x-amz-date, Signature=${"0".repeat(64)}`,
      };
      await assert.rejects(
        verifySigV4(
          { method: "POST", url: "/", headers },
          { region: "us-east-1", service: "ecs", now, secretFor: async () => credentials.secretAccessKey },
          bodyOf("{}"),
        ),
        (error: { code?: string; httpStatus?: number }) => error.httpStatus === 403 && error.code === "IncompleteSignatureException",
        name,
      );
    }
  });
});
