// `berth join-token create|list|revoke`: agent join tokens on this server's data dir, besides the
// bootstrap <data-dir>/agent-token (listed and revocable like the others). A token is printed once
// at creation; only its sha256 is stored, and its id (the hash's first 12 hex digits) names it
// afterwards. Tokens expire (default 24 h); expiry and revocation stop new hosts joining, never a
// registered host (it holds a secret of its own). Works while the server runs (SQLite WAL), and
// against the PostgreSQL store of a replicated control plane (--store postgres://…): a token made
// there joins hosts through every replica.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { formatJoinToken } from "../../protocol/index.js";
import type { Store, StoredJoinToken } from "../../store/index.js";
import { isPostgresUrl, openStore } from "../../store/index.js";
import { newJoinTokenSecret, readAgentCaPin, tokenSha256 } from "../bootstrap-join-token.js";
import { parseCommandLine } from "../command-line.js";
import { ConfigError } from "../config-error.js";
import { loadStoreKeyFile, SecretBox, wrongStoreKey } from "../store-key.js";

const USAGE = `usage: berth join-token create [--ttl DURATION] [--description TEXT] [store options]
       berth join-token list [store options]
       berth join-token revoke ID [store options]

  create         prints a new token for \`berth agent --token\` (with the server's CA pin when the
                 server serves TLS with its generated CA)
  list           every token by id: status (valid, expired, revoked), created, expires, description
  revoke         stops a token joining new hosts (ID: as listed, or a unique prefix of 4+ digits)
  --ttl          how long the token joins new hosts: N followed by s, m, h or d (default 24h, most 365d)
  --description  a note kept with the token (e.g. which host it is for)
  --data-dir     the server's data dir (default /var/lib/berth): its SQLite store, and the CA pin
                 a created token carries
  --store        the server's --store: sqlite (the default: <data-dir>/berth.db) or the
                 postgres:// URL its replicas share
  --store-key-file  the servers' --store-key-file; when given, checked against the store first (a
                 token itself is stored as a hash and needs no key)`;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseTtl(text: string): number | undefined {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : Number.NaN;
  return ms >= 1000 && ms <= 365 * UNIT_MS.d! ? ms : undefined;
}

const iso = (ms: number | null) => (ms === null ? "never" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

function statusOf(token: StoredJoinToken, now: number): string {
  if (token.revokedAt !== null) return "revoked";
  return token.expiresAt === null || token.expiresAt > now ? "valid" : "expired";
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("join-token", USAGE, {
    args: argv,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string", default: "/var/lib/berth" },
      store: { type: "string", default: "sqlite" },
      "store-key-file": { type: "string" },
      ttl: { type: "string", default: "24h" },
      description: { type: "string", default: "" },
      help: { type: "boolean" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const [action, ...rest] = positionals;
  const arity: Record<string, number> = { create: 0, list: 0, revoke: 1 };
  if (action === undefined || arity[action] !== rest.length) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const ttlMs = parseTtl(values.ttl!);
  if (ttlMs === undefined) {
    process.stderr.write(`berth join-token: --ttl must be a number followed by s, m, h or d, from 1s to 365d, not '${values.ttl}'\n`);
    return 2;
  }
  const dataDir = values["data-dir"]!;
  let store: Store;
  try {
    store = await openTokenStore(dataDir, values.store!, values["store-key-file"]);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`berth join-token: ${error.message}\n`);
    return 2;
  }
  const now = Date.now();
  try {
    if (action === "create") {
      const secret = newJoinTokenSecret();
      await store.joinTokens.create({
        tokenSha256: tokenSha256(secret),
        createdAt: now,
        expiresAt: now + ttlMs,
        description: values.description!.slice(0, 256),
      });
      process.stdout.write(`${formatJoinToken(secret, readAgentCaPin(dataDir))}\n`);
      process.stderr.write(`berth join-token: token ${tokenSha256(secret).slice(0, 12)} joins new hosts until ${iso(now + ttlMs)}\n`);
      return 0;
    }
    if (action === "list") {
      const rows = (await store.joinTokens.list()).map((token) => [
        token.id,
        statusOf(token, now),
        iso(token.createdAt),
        iso(token.expiresAt),
        token.description,
      ]);
      const header = ["ID", "STATUS", "CREATED", "EXPIRES", "DESCRIPTION"];
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
      for (const row of [header, ...rows])
        process.stdout.write(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")}\n`);
      return 0;
    }
    const revoked = await store.joinTokens.revoke(rest[0]!.toLowerCase(), now);
    if (revoked.length !== 1) {
      process.stderr.write(
        `berth join-token: ${revoked.length === 0 ? `no token with id ${rest[0]}` : `${revoked.length} tokens start with ${rest[0]}; give more digits`}\n`,
      );
      return 1;
    }
    process.stdout.write(`revoked ${revoked[0]!.id}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** The server's store, by --store (and --data-dir for SQLite); with --store-key-file, only if the key is the store's. */
async function openTokenStore(dataDir: string, location: string, keyFile: string | undefined): Promise<Store> {
  if (location !== "sqlite" && !isPostgresUrl(location)) throw new ConfigError("--store must be sqlite or a postgres:// URL");
  const database = join(dataDir, "berth.db");
  if (location === "sqlite" && !existsSync(database))
    throw new ConfigError(`no Berth server data in ${dataDir} (start berth server with that --data-dir first)`);
  const box = keyFile === undefined ? undefined : SecretBox.withKey(loadStoreKeyFile(keyFile));
  const store = await (location === "sqlite" ? openStore({ path: database }) : openStore({ url: location, maxConnections: 2, schema: "check" })).catch(
    (error: unknown) => {
      throw new ConfigError(`cannot open the store: ${(error as Error).message}`);
    },
  );
  // The check value is made by the first server start; before it there is nothing to compare with.
  const check = box ? await store.controlPlaneState.get("store-key-check") : undefined;
  if (box && check !== undefined && box.tryUnseal(check) === undefined) {
    await store.close();
    throw wrongStoreKey(keyFile!);
  }
  return store;
}
