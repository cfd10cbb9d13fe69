// What every replica of a store must agree on and so reads from the store, not from its own data
// dir: the store key's check, the account id and the registry's token key (the root key and the
// bootstrap join token have files of their own: root-credentials.ts, bootstrap-join-token.ts).
// Each value is made once by whichever replica starts first (control_plane_state, createOnce).
//
// A SQLite store of a server from before these values lived in the store finds them in its data
// dir: <data-dir>/account-id and <data-dir>/registry/token-key are read once, as the initial values,
// so an upgraded server keeps its account id and its registry passwords stay valid. The files are
// left where they are and not read again.
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ControlPlaneStateRepository } from "../store/index.js";
import { ConfigError } from "./config-error.js";
import { loadStoreKeyFile, SecretBox, verifyStoreKey, wrongStoreKey } from "./store-key.js";

export interface StoreKey {
  readonly box: SecretBox;
  /** The key's origin, as messages name it. */
  readonly source: string;
}

/**
 * The key that seals the store's secrets: --store-key-file when given (required with a PostgreSQL
 * store: server-config.ts refuses one without it), else <data-dir>/master.key, generated on first start.
 */
export function storeKeyFor(options: { readonly storeKeyFile: string | undefined; readonly dataDir: string }): StoreKey {
  if (options.storeKeyFile !== undefined) return { box: SecretBox.withKey(loadStoreKeyFile(options.storeKeyFile)), source: options.storeKeyFile };
  return { box: SecretBox.open(options.dataDir), source: join(options.dataDir, "master.key") };
}

export interface SharedStateOptions {
  readonly state: ControlPlaneStateRepository;
  readonly key: StoreKey;
  readonly dataDir: string;
  /** A SQLite store: the data dir's files are the initial values. */
  readonly migrateFromDataDir: boolean;
  /** --account-id, when given. */
  readonly accountId: string | undefined;
  readonly now: number;
}

export interface SharedState {
  readonly accountId: string;
  /** The HMAC key of the registry's passwords (registry-tokens.ts). */
  readonly registryTokenKey: Buffer;
}

/** Checks the store key, then reads (or makes) the account id and the registry's token key. */
export async function loadSharedState(options: SharedStateOptions): Promise<SharedState> {
  await verifyStoreKey(options.state, options.key.box, options.key.source, options.now);
  return { accountId: await sharedAccountId(options), registryTokenKey: await sharedRegistryTokenKey(options) };
}

async function sharedAccountId(options: SharedStateOptions): Promise<string> {
  const legacyFile = join(options.dataDir, "account-id");
  const fromFile = options.migrateFromDataDir && existsSync(legacyFile) ? readFileSync(legacyFile, "utf8").trim() : undefined;
  const initial = options.accountId ?? (fromFile && /^\d{12}$/.test(fromFile) ? fromFile : generatedAccountId());
  const { value } = await options.state.createOnce("account-id", initial, options.now);
  if (options.accountId !== undefined && value !== options.accountId) {
    throw new ConfigError(
      `--account-id ${options.accountId} contradicts the store, which is account ${value}: its ARNs, keys and images belong to that account. ` +
        `Leave --account-id out (or give ${value}), or start with another store`,
    );
  }
  return value;
}

function generatedAccountId(): string {
  return String(randomInt(100_000, 1_000_000)) + String(randomInt(100_000, 1_000_000));
}

async function sharedRegistryTokenKey(options: SharedStateOptions): Promise<Buffer> {
  const { box } = options.key;
  let sealed = await options.state.get("registry-token-key");
  if (sealed === undefined) {
    const legacyFile = join(options.dataDir, "registry", "token-key");
    const fromFile = options.migrateFromDataDir && existsSync(legacyFile) ? Buffer.from(readFileSync(legacyFile, "utf8").trim(), "base64") : undefined;
    const initial = fromFile && fromFile.length >= 32 ? fromFile : randomBytes(32);
    sealed = (await options.state.createOnce("registry-token-key", box.seal(initial.toString("base64")), options.now)).value;
  }
  const text = box.tryUnseal(sealed);
  if (text === undefined) throw wrongStoreKey(options.key.source);
  return Buffer.from(text, "base64");
}
