import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificateNames, certificateSha256, ensureGeneratedTls, loadOperatorTls } from "./server-tls.js";
import { ConfigError } from "./config-error.js";

const names = { dns: ["localhost"], ips: ["127.0.0.1", "::1"] };

test("the generated CA is kept across starts; a new name re-issues the server certificate from the same CA", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-tls-unit-"));
  try {
    const first = await ensureGeneratedTls(dir, names);
    const leaf = readFileSync(join(dir, "tls", "server.pem"), "utf8");
    const again = await ensureGeneratedTls(dir, names);
    assert.equal(again.pinnedCa!.sha256, first.pinnedCa!.sha256);
    assert.equal(readFileSync(join(dir, "tls", "server.pem"), "utf8"), leaf, "a certificate that still covers every name is reused");
    const wider = await ensureGeneratedTls(dir, { dns: ["localhost", "berth.example"], ips: [...names.ips, "10.1.2.3"] });
    assert.equal(wider.pinnedCa!.sha256, first.pinnedCa!.sha256, "the CA, which agents pin, never changes");
    const reissued = new X509Certificate(readFileSync(join(dir, "tls", "server.pem")));
    assert.notEqual(reissued.toString(), new X509Certificate(leaf).toString());
    assert.equal(reissued.checkHost("berth.example"), "berth.example");
    assert.equal(reissued.checkIP("10.1.2.3"), "10.1.2.3");
    assert.ok(reissued.verify(new X509Certificate(first.pinnedCa!.pem).publicKey));
    assert.equal(statSync(join(dir, "tls", "server-key.pem")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, "ca.pem"), "utf8"), first.pinnedCa!.pem);
    assert.equal(certificateSha256(first.pinnedCa!.pem), first.pinnedCa!.sha256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an operator's certificate must load with its key; a private root sent in the chain is pinned", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-tls-operator-"));
  try {
    const generated = await ensureGeneratedTls(dir, names);
    writeFileSync(join(dir, "chain.pem"), generated.cert);
    writeFileSync(join(dir, "key.pem"), generated.key);
    const loaded = loadOperatorTls(join(dir, "chain.pem"), join(dir, "key.pem"));
    assert.equal(loaded.pinnedCa!.sha256, generated.pinnedCa!.sha256);
    // The leaf alone: nothing to pin (agents use --ca-file or the system's roots).
    writeFileSync(join(dir, "leaf.pem"), readFileSync(join(dir, "tls", "server.pem")));
    assert.equal(loadOperatorTls(join(dir, "leaf.pem"), join(dir, "key.pem")).pinnedCa, undefined);
    // Another key: refused before the listener starts.
    execFileSync("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", join(dir, "other.pem")]);
    assert.throws(() => loadOperatorTls(join(dir, "chain.pem"), join(dir, "other.pem")), ConfigError);
    assert.throws(() => loadOperatorTls(join(dir, "missing.pem"), join(dir, "key.pem")), /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("certificate names: loopback always, the listen and public hosts, never a wildcard address", () => {
  const named = certificateNames("10.0.0.5", "berth.example");
  assert.ok(named.ips.includes("10.0.0.5") && named.ips.includes("127.0.0.1") && named.ips.includes("::1"));
  assert.ok(named.dns.includes("berth.example") && named.dns.includes("localhost"));
  assert.ok(!certificateNames("0.0.0.0", undefined).ips.includes("0.0.0.0"));
});
