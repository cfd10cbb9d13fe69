// A PostgreSQL of the tests' own: a cluster made with initdb in a temporary directory, started
// with pg_ctl on a free loopback port (its socket in that directory too), and removed afterwards.
// Nothing here touches a PostgreSQL the machine may already run.
//
// scripts/test.sh starts one cluster for the whole run and exports its URL as
// BERTH_TEST_POSTGRES_URL; a test file run on its own starts one for itself. Either way each user
// of `freshPostgresDatabase` gets a database of its own, dropped when it is done.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface PostgresCluster {
  /** postgres://berth@127.0.0.1:PORT/postgres: the superuser's maintenance database. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Where Debian puts the server's programs (the newest major version), else the PATH. */
function postgresBin(program: string): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, "bin", program)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions.length > 0 ? join(root, versions[0]!, "bin", program) : program;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * initdb refuses to run as root: as root the cluster belongs to the `postgres` system user (made by
 * Debian's postgresql package), everything else runs as whoever runs the tests.
 */
function asClusterOwner(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

/**
 * Starts a cluster. Unless `keep` (scripts/test.sh starts one for the whole run and stops it
 * itself), it is also stopped and removed when this process exits, whatever the tests did.
 */
export async function startPostgresCluster(options: { keep?: boolean; durable?: boolean } = {}): Promise<PostgresCluster & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "berth-pg-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, "data");
  const port = await freePort();
  const exec = (program: string, args: string[]) => run(...asClusterOwner(postgresBin(program), args), { timeout: 60_000 });
  try {
    await exec("initdb", ["-D", data, "-U", "berth", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C"]);
    // fsync off: a test cluster is thrown away, and its durability is not what the tests measure.
    // Benchmarks ask for `durable`: commits fsynced, as a production store (and SQLite) does them.
    const durability = options.durable ? "" : " -c fsync=off -c synchronous_commit=off";
    const settings = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=300${durability}`;
    await exec("pg_ctl", ["-D", data, "-o", settings, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", stopNow);
    stopPostgresClusterSync(dir);
  };
  if (!options.keep) process.once("exit", stopNow);
  return {
    url: `postgres://berth@127.0.0.1:${port}/postgres`,
    dir,
    async stop() {
      stopNow();
    },
  };
}

/** Stops a cluster made by startPostgresCluster and removes its directory (synchronous: usable at process exit). */
export function stopPostgresClusterSync(dir: string): void {
  try {
    const [command, args] = asClusterOwner(postgresBin("pg_ctl"), ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
    execFileSync(command, args, { stdio: "ignore", timeout: 30_000 });
  } catch {
    // Already stopped (or never started): the directory goes all the same.
  }
  rmSync(dir, { recursive: true, force: true });
}

export interface PostgresDatabase {
  /** A database of its own on the cluster: postgres://…/berth_test_<random>. */
  readonly url: string;
  drop(): Promise<void>;
}

let ownCluster: Promise<PostgresCluster> | undefined;

/**
 * The run's cluster (BERTH_TEST_POSTGRES_URL) or, without one, a cluster of this process's, started
 * on first use and stopped by `stopOwnPostgresCluster` (call it in the file's `after`).
 */
async function clusterUrl(): Promise<string> {
  const shared = process.env.BERTH_TEST_POSTGRES_URL;
  if (shared) return shared;
  ownCluster ??= startPostgresCluster();
  return (await ownCluster).url;
}

export async function stopOwnPostgresCluster(): Promise<void> {
  const cluster = ownCluster;
  ownCluster = undefined;
  if (cluster) await (await cluster).stop();
}

export async function freshPostgresDatabase(): Promise<PostgresDatabase> {
  const maintenance = await clusterUrl();
  const name = `berth_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: maintenance });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(maintenance);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: maintenance });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
