// A registry token server of the tests' own (the Docker "token authentication" spec that Docker
// Hub, ECR and GHCR follow): GET <realm>?service=…&scope=repository:NAME:ACTIONS with basic
// credentials answers {"token", "expires_in"}; the token is a JWT signed RS256 with a fresh
// self-signed certificate carried in its x5c header, which docker-registry trusts through its
// `rootcertbundle`. Listens on loopback only.
import { execFileSync } from "node:child_process";
import { createPrivateKey, createSign, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The certificate bundle docker-registry verifies tokens with. */
  readonly certPath: string;
  /** Scopes asked for, in order (to check the client followed the challenge). */
  readonly requests: string[];
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export async function startTokenServer(credentials: { username: string; password: string }): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), "berth-token-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=berth-test-token",
    ],
    { stdio: "ignore" },
  );
  const key = createPrivateKey(readFileSync(join(dir, "key.pem")));
  const certDer = new X509Certificate(readFileSync(join(dir, "cert.pem"))).raw;
  const service = "berth-test-registry";
  const issuer = "berth-test-token-server";
  const requests: string[] = [];
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const scope = url.searchParams.get("scope") ?? "";
    requests.push(scope);
    if (request.headers.authorization !== expected || url.searchParams.get("service") !== service) {
      response.writeHead(401, { "content-type": "application/json" });
      response.end(JSON.stringify({ details: "bad credentials" }));
      return;
    }
    // scope: repository:<name>:<action,action>; several scopes may be space-separated.
    const access = scope
      .split(" ")
      .filter(Boolean)
      .map((item) => {
        const [type, ...rest] = item.split(":");
        const actions = rest.pop()!.split(",");
        return { type, name: rest.join(":"), actions };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [certDer.toString("base64")] }));
    const claims = base64url(
      JSON.stringify({
        iss: issuer,
        sub: credentials.username,
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        access,
      }),
    );
    const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ token: `${header}.${claims}.${base64url(signature)}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath: join(dir, "cert.pem"),
    requests,
    async stop() {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
