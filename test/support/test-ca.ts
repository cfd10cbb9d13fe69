// A private CA and one server certificate it signs, made with Debian's openssl CLI, for tests that
// give several servers one certificate (`berth server --tls-cert/--tls-key`). The certificate file
// holds the chain up to the CA, so a join token pins that CA as it pins a generated one.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificate {
  /** The server certificate followed by the CA (PEM): what --tls-cert takes. */
  readonly cert: string;
  /** Its private key (PEM): --tls-key. */
  readonly key: string;
  /** The CA certificate (PEM), for clients to trust. */
  readonly caPem: string;
}

/** Makes `dir` (0700) and a CA and server certificate in it, valid two days for `ips`. */
export async function makeTestCertificate(dir: string, ips: readonly string[]): Promise<TestCertificate> {
  mkdirSync(dir, { mode: 0o700 });
  const file = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", ["req", "-x509", "-new", ...ec, "-keyout", file("ca-key.pem"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=Berth test CA"]);
  await run("openssl", ["req", "-new", ...ec, "-keyout", file("key.pem"), "-out", file("server.csr"), "-subj", "/CN=berth test server"]);
  const names = ips.map((ip) => `IP:${ip}`).join(",");
  writeFileSync(file("ext.cnf"), `subjectAltName=${names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  const sign = ["-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"), "-CAcreateserial", "-days", "2"];
  await run("openssl", ["x509", ...sign, "-extfile", file("ext.cnf"), "-out", file("leaf.pem")]);
  const caPem = readFileSync(file("ca.pem"), "utf8");
  writeFileSync(file("chain.pem"), readFileSync(file("leaf.pem"), "utf8") + caPem);
  return { cert: file("chain.pem"), key: file("key.pem"), caPem };
}
