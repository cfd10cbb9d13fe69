import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readImport } from "./imported-certificate.js";

function made(args: string[]): { certificate: Buffer; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "berth-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-nodes", "-days", "2", ...args, "-keyout", join(dir, "k"), "-out", join(dir, "c")], { stdio: "ignore" });
    return { certificate: readFileSync(join(dir, "c")), key: readFileSync(join(dir, "k")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("an EC certificate without a common name: its domain is its first DNS name, its signature SHA256WITHECDSA", () => {
  const { certificate, key } = made([
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:secp384r1",
    "-subj",
    "/O=Org",
    "-addext",
    "subjectAltName=DNS:a.example,IP:10.0.0.1,DNS:b.example",
  ]);
  const imported = readImport({ Certificate: certificate.toString("base64"), PrivateKey: key });
  assert.equal(imported.domainName, "a.example");
  assert.deepEqual(imported.details.SubjectAlternativeNames, ["a.example", "b.example"]);
  assert.equal(imported.details.KeyAlgorithm, "EC_secp384r1");
  assert.equal(imported.details.SignatureAlgorithm, "SHA256WITHECDSA");
  assert.match(imported.details.Serial, /^[0-9a-f]{2}(:[0-9a-f]{2})*$/);
  assert.match(imported.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test("refuses what is not one certificate with its own unencrypted key", () => {
  const { certificate, key } = made(["-newkey", "rsa:2048", "-subj", "/CN=x.example"]);
  const other = made(["-newkey", "rsa:2048", "-subj", "/CN=y.example"]);
  assert.throws(() => readImport({ Certificate: certificate, PrivateKey: other.key }), { name: "ValidationException" });
  assert.throws(() => readImport({ Certificate: Buffer.concat([certificate, other.certificate]), PrivateKey: key }), /more than one certificate/);
  assert.throws(
    () => readImport({ Certificate: certificate, PrivateKey: Buffer.from("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA\n-----END ENCRYPTED PRIVATE KEY-----\n") }),
    {
      name: "ValidationException",
    },
  );
  assert.throws(() => readImport({ Certificate: "", PrivateKey: key }), { name: "ValidationException" });
  assert.throws(() => readImport({ Certificate: certificate, PrivateKey: key, CertificateChain: Buffer.from("not a chain") }), { name: "ValidationException" });
  const chain = readImport({ Certificate: certificate, PrivateKey: key, CertificateChain: other.certificate }).chainPem;
  assert.match(chain ?? "", /^-----BEGIN CERTIFICATE-----[\s\S]*-----END CERTIFICATE-----\n$/);
});

test("a chain of BEGIN markers without an END is refused in one scan, not quadratic time", () => {
  const { certificate, key } = made(["-newkey", "rsa:2048", "-subj", "/CN=x.example"]);
  const hostile = Buffer.from("-----BEGIN CERTIFICATE-----".repeat(56_000));
  const started = performance.now();
  assert.throws(() => readImport({ Certificate: certificate, PrivateKey: key, CertificateChain: hostile }), { name: "ValidationException" });
  // The lazy regular expression this replaced took ~27 s on this input; a linear scan takes milliseconds.
  assert.ok(performance.now() - started < 3_000);
});

test("a DNS name Node quotes (a comma inside) is not read as other names", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-cnf-"));
  try {
    const config = join(dir, "alt.cnf");
    writeFileSync(
      config,
      "[req]\ndistinguished_name=dn\nx509_extensions=ext\n[dn]\n[ext]\nsubjectAltName=@alt\n[alt]\nDNS.1 = a.example, DNS:evil.example\nDNS.2 = b.example\n",
    );
    const { certificate, key } = made(["-newkey", "rsa:2048", "-subj", "/CN=x.example", "-config", config]);
    assert.deepEqual(readImport({ Certificate: certificate, PrivateKey: key }).details.SubjectAlternativeNames, ["b.example"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
