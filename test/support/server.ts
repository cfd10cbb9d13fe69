// Starts a real `berth server` (bin/berth, the built dist) on a free loopback port with a temporary
// data dir and a known root key, for integration tests; plus helpers to drive it with the AWS CLI
// (/usr/bin/aws) and the AWS SDK v3.
//
// BERTH_TEST_STORE=postgres runs every such server on a PostgreSQL store instead of SQLite: a
// database of its own on the tests' cluster (test/support/postgres.ts), kept for a restart on the
// same data dir and dropped by cleanup(). scripts/test.sh runs the integration suite both ways.
import { spawn, execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { PostgresDatabase } from "./postgres.js";
import { freshPostgresDatabase } from "./postgres.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface TestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Removes the data dir (after stop/kill), and the server's PostgreSQL database if it had one. */
  cleanup(): Promise<void>;
}

/** Which store test servers use: SQLite unless BERTH_TEST_STORE=postgres. */
export const testStoreBackend: "sqlite" | "postgres" = process.env.BERTH_TEST_STORE === "postgres" ? "postgres" : "sqlite";

/** A server's PostgreSQL database, by data dir: a restart on the same data dir finds its state again. */
const databases = new Map<string, PostgresDatabase>();

async function storeArgs(dataDir: string, given: { url: string } | undefined): Promise<string[]> {
  if (given) return ["--store", given.url, "--store-key-file", testStoreKeyFile()];
  if (testStoreBackend !== "postgres") return [];
  let database = databases.get(dataDir);
  if (!database) {
    database = await freshPostgresDatabase();
    databases.set(dataDir, database);
  }
  return ["--store", database.url, "--store-key-file", testStoreKeyFile()];
}

let storeKeyFile: string | undefined;

/**
 * The key every PostgreSQL test server of this process seals its store's secrets with (a postgres://
 * store needs one: --store-key-file; a test's own --store-key-file in `args` comes later and wins).
 */
export function testStoreKeyFile(): string {
  if (!storeKeyFile) {
    const dir = mkdtempSync(join(tmpdir(), "berth-store-key-"));
    storeKeyFile = join(dir, "store.key");
    writeFileSync(storeKeyFile, randomBytes(32), { mode: 0o600 });
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return storeKeyFile;
}

/**
 * Where the store of a server started by startTestServer (without `store`) is, and the file with
 * the key its secrets are sealed with: what a test opens to read a server's sealed values.
 */
export function testServerStore(dataDir: string): { location: { url: string } | { path: string }; keyFile: string } {
  const database = databases.get(dataDir);
  return database
    ? { location: { url: database.url }, keyFile: testStoreKeyFile() }
    : { location: { path: join(dataDir, "berth.db") }, keyFile: join(dataDir, "master.key") };
}

export const testCredentials = { accessKeyId: "AKIABERTHTESTKEY0001", secretAccessKey: "berth-test-secret-key-0000000000000000000" };

/**
 * `agent: true` runs the embedded agent (root, real containers); otherwise the server is a control
 * plane only. `netns`: the server runs in that network namespace (nsenter --net, the mounts stay the
 * host's), so its embedded agent takes the namespace for its host. `generatedKey: true` gives no
 * root key in the environment: the server generates one into <data-dir>/credentials, and
 * `credentials` is read back from that file.
 */
export async function startTestServer(
  options: {
    dataDir?: string;
    args?: string[];
    env?: Record<string, string>;
    agent?: boolean;
    generatedKey?: boolean;
    store?: { url: string };
    netns?: string;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "berth-test-"));
  const store = await storeArgs(dataDir, options.store);
  const accountId = "123456789012";
  // nsenter execs the server in place: the child's pid is the server's, signals reach it.
  const child = spawn(
    options.netns === undefined ? process.execPath : "nsenter",
    [
      ...(options.netns === undefined ? [] : [`--net=/run/netns/${options.netns}`, process.execPath]),
      join(root, "bin", "berth"),
      "server",
      "--listen",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
      "--account-id",
      accountId,
      // The VPC resolver forwards to loopback's discard port unless the test runs its own (the
      // network rule: a test never asks the machine's real resolver).
      ...(options.agent ? (options.args?.includes("--dns-upstream") ? [] : ["--dns-upstream", "127.0.0.1:9"]) : ["--no-agent"]),
      ...store,
      ...(options.args ?? []),
    ],
    {
      env: {
        ...withoutRootKey(process.env),
        ...(options.generatedKey ? {} : { BERTH_ACCESS_KEY_ID: testCredentials.accessKeyId, BERTH_SECRET_ACCESS_KEY: testCredentials.secretAccessKey }),
        ...options.env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth server did not start:\n${stderr}`)), 20_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`berth server exited with ${code}:\n${stderr}`));
    });
  });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    endpoint,
    region: "us-east-1",
    accountId,
    credentials: options.generatedKey ? generatedCredentials(dataDir) : testCredentials,
    dataDir,
    process: child,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      const database = databases.get(dataDir);
      databases.delete(dataDir);
      await database?.drop();
    },
  };
}

function withoutRootKey(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { BERTH_ACCESS_KEY_ID: _id, BERTH_SECRET_ACCESS_KEY: _secret, ...rest } = env;
  return rest;
}

function generatedCredentials(dataDir: string): { accessKeyId: string; secretAccessKey: string } {
  const text = readFileSync(join(dataDir, "credentials"), "utf8");
  return { accessKeyId: /aws_access_key_id = (\S+)/.exec(text)![1]!, secretAccessKey: /aws_secret_access_key = (\S+)/.exec(text)![1]! };
}

/** Client configuration for any @aws-sdk/client-* constructor. */
export function sdkConfig(server: TestServer) {
  return { endpoint: server.endpoint, region: server.region, credentials: server.credentials, maxAttempts: 1 };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: unknown;
}

/** Runs Debian's AWS CLI against the server with the test key. */
export function awsCli(server: TestServer, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      "/usr/bin/aws",
      ["--endpoint-url", server.endpoint, "--output", "json", ...args],
      {
        env: {
          PATH: "/usr/bin:/bin",
          HOME: tmpdir(),
          AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
          AWS_REGION: server.region,
          AWS_PAGER: "",
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          ...env,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        let json: unknown;
        try {
          json = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr, json });
      },
    );
  });
}
