// The listener's TLS material: the operator's certificate (--tls-cert/--tls-key) or one generated
// on first start (--tls) in <data-dir>/tls: a small CA (kept, 10 years) and a server certificate it
// signs for every name and address clients and agents may use (re-issued from the same CA when a
// name is missing or it is within 30 days of expiry, so the CA — the thing clients and agents
// trust, and that join tokens pin — never changes). The CA certificate is copied to
// <data-dir>/ca.pem, next to the credentials file, for `aws --ca-bundle` and boto3's `verify=`.
//
// Generated with Debian's `openssl` CLI rather than an npm X.509 library: it is the host's
// maintained, security-updated implementation, already what the OS trusts, and needs no new code
// in this process that parses or signs certificates. Keys are ECDSA P-256 (fast to make, accepted
// by every client here: Node, Python's ssl under the AWS CLI and boto3, Go's under skopeo).
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { isIP } from "node:net";
import { runCommand } from "../core/command-runner.js";
import { ConfigError } from "./config-error.js";

/** openssl req arguments for a new, unencrypted P-256 key (the CA's and the server's). */
const NEW_P256_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export interface ListenerTls {
  /** PEM: the server certificate followed by its chain (the CA, for a generated one). */
  readonly cert: string;
  readonly key: string;
  /**
   * The CA agents pin (its PEM and the SHA-256 of its DER, hex), when the served chain ends in a
   * private CA: the generated one, or an operator's self-signed root sent in the chain. Undefined
   * for a chain to a public root: agents use the system's roots then.
   */
  readonly pinnedCa: { readonly pem: string; readonly sha256: string } | undefined;
  /** Where the CA certificate was written for clients (`<data-dir>/ca.pem`), generated only. */
  readonly caFile: string | undefined;
}

const SERVER_CERT_DAYS = 397;
const RENEW_BEFORE_MS = 30 * 24 * 3600_000;
const OPENSSL = "/usr/bin/openssl";

/** SHA-256 of a certificate's DER encoding, lowercase hex (what `openssl x509 -fingerprint -sha256` shows). */
export function certificateSha256(pem: string): string {
  return createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
}

/** The PEM blocks of a file, in order. */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((match) => `${match[0]}\n`);
}

/** The operator's certificate and key, checked to load and to match before the listener starts. */
export function loadOperatorTls(certFile: string, keyFile: string): ListenerTls {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, "utf8");
    key = readFileSync(keyFile, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the TLS certificate or key: ${(error as Error).message}`);
  }
  const chain = pemCertificates(cert);
  if (chain.length === 0) throw new ConfigError(`--tls-cert ${certFile} holds no PEM certificate`);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(`--tls-cert and --tls-key do not load together: ${(error as Error).message}`);
  }
  const top = new X509Certificate(chain[chain.length - 1]!);
  // A self-signed CA at the top of the served chain is private: agents can pin it from the token.
  const privateRoot = top.ca && top.checkIssued(top) && chain.length > 1;
  return { cert, key, pinnedCa: privateRoot ? { pem: top.toString(), sha256: certificateSha256(top.toString()) } : undefined, caFile: undefined };
}

async function openssl(args: string[]): Promise<void> {
  await runCommand(OPENSSL, args, { timeoutMs: 30_000 });
}

/** The names a generated server certificate covers: loopback, this host, the listen and public hosts. */
export function certificateNames(listenHost: string, publicHost: string | undefined): { dns: string[]; ips: string[] } {
  const dns = new Set(["localhost"]);
  const ips = new Set(["127.0.0.1", "::1"]);
  const add = (name: string | undefined) => {
    const bare = name?.replace(/^\[|\]$/g, "").toLowerCase();
    if (!bare || bare === "0.0.0.0" || bare === "::") return;
    if (isIP(bare)) ips.add(bare);
    else if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(bare)) dns.add(bare);
  };
  add(hostname());
  add(listenHost);
  add(publicHost);
  // A wildcard listen is reached at any of this machine's addresses.
  if (listenHost === "0.0.0.0" || listenHost === "::" || listenHost === "[::]") {
    for (const entries of Object.values(networkInterfaces())) for (const entry of entries ?? []) if (!entry.address.startsWith("fe80")) add(entry.address);
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

function covers(certificate: X509Certificate, names: { dns: string[]; ips: string[] }): boolean {
  return (
    names.dns.every((name) => certificate.checkHost(name, { subject: "never" }) !== undefined) && names.ips.every((ip) => certificate.checkIP(ip) !== undefined)
  );
}

/**
 * The generated CA and server certificate in <dataDir>/tls (made or renewed as needed). The tls
 * directory is 0700 and every key 0600: openssl writes them under the 0700 directory, so no
 * moment exists where another user could read one.
 */
export async function ensureGeneratedTls(dataDir: string, names: { dns: string[]; ips: string[] }, now = Date.now()): Promise<ListenerTls> {
  const dir = join(dataDir, "tls");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const caKey = join(dir, "ca-key.pem");
  const caCert = join(dir, "ca.pem");
  if (!existsSync(caKey) || !existsSync(caCert)) {
    const config = join(dir, "ca.cnf");
    writeFileSync(
      config,
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        "CN = Berth CA",
        "[ext]",
        "basicConstraints = critical,CA:TRUE,pathlen:0",
        "keyUsage = critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier = hash",
        "",
      ].join("\n"),
    );
    const subject = `/O=Berth/CN=Berth CA ${hostname().replace(/[/=,+]/g, "-")} ${randomBytes(4).toString("hex")}`;
    await openssl([
      "req",
      "-x509",
      "-new",
      ...NEW_P256_KEY,
      "-keyout",
      `${caKey}.new`,
      "-out",
      `${caCert}.new`,
      "-days",
      "3650",
      "-config",
      config,
      "-extensions",
      "ext",
      "-subj",
      subject,
    ]);
    chmodSync(`${caKey}.new`, 0o600);
    renameSync(`${caKey}.new`, caKey);
    renameSync(`${caCert}.new`, caCert);
    rmSync(config, { force: true });
  }
  const caPem = readFileSync(caCert, "utf8");
  const serverKey = join(dir, "server-key.pem");
  const serverCert = join(dir, "server.pem");
  const current = existsSync(serverKey) && existsSync(serverCert) ? new X509Certificate(readFileSync(serverCert, "utf8")) : undefined;
  const stillGood =
    current && current.verify(new X509Certificate(caPem).publicKey) && Date.parse(current.validTo) - now > RENEW_BEFORE_MS && covers(current, names);
  if (!stillGood) await issueServerCertificate(dir, caKey, caCert, names);
  const published = join(dataDir, "ca.pem");
  if (!existsSync(published) || readFileSync(published, "utf8") !== caPem) {
    copyFileSync(caCert, `${published}.new`);
    chmodSync(`${published}.new`, 0o644);
    renameSync(`${published}.new`, published);
  }
  return {
    // The chain sent in the handshake carries the CA, so an agent can find the certificate its token pins.
    cert: readFileSync(serverCert, "utf8") + caPem,
    key: readFileSync(serverKey, "utf8"),
    pinnedCa: { pem: caPem, sha256: certificateSha256(caPem) },
    caFile: published,
  };
}

async function issueServerCertificate(dir: string, caKey: string, caCert: string, names: { dns: string[]; ips: string[] }): Promise<void> {
  const extensions = join(dir, "server.ext");
  const san = [...names.dns.map((name) => `DNS:${name}`), ...names.ips.map((ip) => `IP:${ip}`)].join(",");
  // keyUsage, SKI/AKI and a non-CA basicConstraints: what strict verifiers (Python 3.13's
  // VERIFY_X509_STRICT, Go) require of a leaf.
  writeFileSync(
    extensions,
    [
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature",
      "extendedKeyUsage = serverAuth",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid",
      `subjectAltName = ${san}`,
      "",
    ].join("\n"),
  );
  const key = join(dir, "server-key.pem.new");
  const request = join(dir, "server.csr");
  const cert = join(dir, "server.pem.new");
  await openssl([
    "req",
    "-new",
    ...NEW_P256_KEY,
    "-keyout",
    key,
    "-out",
    request,
    "-subj",
    `/O=Berth/CN=${names.dns.find((name) => name !== "localhost") ?? "localhost"}`,
  ]);
  chmodSync(key, 0o600);
  await openssl([
    "x509",
    "-req",
    "-in",
    request,
    "-CA",
    caCert,
    "-CAkey",
    caKey,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-days",
    String(SERVER_CERT_DAYS),
    "-extfile",
    extensions,
    "-out",
    cert,
  ]);
  renameSync(key, join(dir, "server-key.pem"));
  renameSync(cert, join(dir, "server.pem"));
  rmSync(request, { force: true });
  rmSync(extensions, { force: true });
}
