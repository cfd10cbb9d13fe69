// Debian's docker-registry (the reference distribution registry) on a free loopback port with its
// storage in a temp dir, optionally behind htpasswd basic auth or a bearer token server.
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./wait-for.js";

export interface TestRegistry {
  readonly address: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `host`: the address to listen on (default loopback; a test may use an address it created). */
export async function startRegistry(
  options: {
    htpasswd?: { username: string; password: string };
    token?: { realm: string; service: string; issuer: string; certPath: string };
    host?: string;
  } = {},
): Promise<TestRegistry> {
  const host = options.host ?? "127.0.0.1";
  const dir = mkdtempSync(join(tmpdir(), "berth-registry-"));
  const port = await freePort();
  const auth = options.htpasswd
    ? (() => {
        writeFileSync(join(dir, "htpasswd"), execFileSync("htpasswd", ["-Bbn", options.htpasswd.username, options.htpasswd.password], { encoding: "utf8" }));
        return `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, "htpasswd")}\n`;
      })()
    : options.token
      ? `auth:\n  token:\n    realm: ${options.token.realm}\n    service: ${options.token.service}\n    issuer: ${options.token.issuer}\n    rootcertbundle: ${options.token.certPath}\n`
      : "";
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}:${port}\n${auth}`,
  );
  const child: ChildProcess = spawn("/usr/bin/docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
  const address = `${host}:${port}`;
  await waitFor(
    () =>
      fetch(`http://${address}/v2/`).then(
        () => true,
        () => false,
      ),
    { what: "docker-registry to start", timeoutMs: 10_000 },
  );
  return {
    address,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
