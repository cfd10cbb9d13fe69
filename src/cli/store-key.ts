// The store key: the 32-byte AES-256-GCM key every secret in the store is sealed with (access-key
// secrets, the registry's token key, the root key, the bootstrap join token). SigV4 and the
// registry's HMAC need those secrets back in the clear, so they are sealed, not hashed.
//
// Where it comes from:
// - a SQLite store (one server): <data-dir>/master.key, generated on first start (0600), as ever;
// - --store-key-file FILE (required with a PostgreSQL store, whose replicas must all hold the same
//   key): 32 random bytes, or their base64; refused when group or others may read it.
// The store keeps a check value sealed under its key (control_plane_state "store-key-check"): a
// replica started with another key stops at start with a message saying so, not later with
// decryption errors in the middle of a request.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ControlPlaneStateRepository } from "../store/index.js";
import { ConfigError } from "./config-error.js";

const KEY_BYTES = 32;
const CHECK_PLAINTEXT = "berth store key check v1";
export const MAKE_STORE_KEY_HINT = "make one with: head -c 32 /dev/urandom > store.key; chmod 600 store.key";

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** A box over `key`, which must be 32 bytes. */
  static withKey(key: Buffer): SecretBox {
    if (key.length !== KEY_BYTES) throw new Error(`a store key is ${KEY_BYTES} bytes, not ${key.length}`);
    return new SecretBox(Buffer.from(key));
  }

  /** The SQLite default: <data-dir>/master.key, generated on first start. */
  static open(dataDir: string): SecretBox {
    const path = join(dataDir, "master.key");
    if (!existsSync(path)) writeFileSync(path, randomBytes(KEY_BYTES), { mode: 0o600, flag: "wx" });
    return SecretBox.withKey(readFileSync(path));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), sealed.toString("base64")].join(".");
  }

  unseal(text: string): string {
    const [version, iv, tag, sealed, ...rest] = text.split(".");
    if (version !== "v1" || !iv || !tag || sealed === undefined || rest.length > 0) throw new Error("unrecognised secret format");
    const ivBytes = Buffer.from(iv, "base64");
    const tagBytes = Buffer.from(tag, "base64");
    // A 12-byte IV and the full 16-byte tag only: Node would accept a truncated GCM tag.
    if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error("a sealed secret's IV is 12 bytes and its tag 16");
    const decipher = createDecipheriv("aes-256-gcm", this.key, ivBytes, { authTagLength: 16 });
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(sealed, "base64")), decipher.final()]).toString("utf8");
  }

  /** The plaintext, or undefined when `text` was not sealed under this key (or is not a sealed value). */
  tryUnseal(text: string): string | undefined {
    try {
      return this.unseal(text);
    } catch {
      return undefined;
    }
  }
}

/**
 * Reads --store-key-file: exactly 32 bytes, or the base64 (or base64url) of 32 bytes with optional
 * surrounding whitespace. Refused: not a regular file, readable or writable by group or others, any
 * other length. Every refusal is a ConfigError that says how to make a good one.
 */
export function loadStoreKeyFile(path: string): Buffer {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new ConfigError(`--store-key-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (${MAKE_STORE_KEY_HINT})`);
  }
  if (!stats.isFile()) throw new ConfigError(`--store-key-file ${path} is not a regular file (${MAKE_STORE_KEY_HINT})`);
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
    throw new ConfigError(`--store-key-file ${path} may be read by group or others (mode ${mode}); it seals every secret in the store: chmod 600 ${path}`);
  }
  const bytes = readFileSync(path);
  // 32 bytes that are all printable are a typed password, not random bytes (a random key is all
  // printable with odds of 1 in 10^13): read as text, and so refused as too short.
  if (bytes.length === KEY_BYTES && !/^[\x20-\x7e]*$/.test(bytes.toString("latin1"))) return bytes;
  const text = bytes.toString("latin1").trim();
  const decoded = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, /[-_]/.test(text) ? "base64url" : "base64") : undefined;
  if (decoded?.length === KEY_BYTES) return decoded;
  const printable = /^[\x20-\x7e\s]*$/.test(bytes.toString("latin1"));
  const length = decoded ? `${decoded.length} bytes of base64` : printable && bytes.length > 0 ? `${bytes.length} bytes of text` : `${bytes.length} bytes`;
  const verdict = (decoded?.length ?? bytes.length) < KEY_BYTES ? "too short" : printable && !decoded ? "a password, not random bytes" : "not a key";
  throw new ConfigError(`--store-key-file ${path} holds ${length}, ${verdict}: a store key is 32 random bytes, or their base64 (${MAKE_STORE_KEY_HINT})`);
}

/**
 * Confirms that `box` holds the key the store's secrets are sealed with: the first start seals the
 * check value (whichever replica gets there first), every start unseals it. `keySource` names the
 * key in the message (the file, or <data-dir>/master.key).
 */
export async function verifyStoreKey(state: ControlPlaneStateRepository, box: SecretBox, keySource: string, now: number): Promise<void> {
  const { value } = await state.createOnce("store-key-check", box.seal(CHECK_PLAINTEXT), now);
  if (box.tryUnseal(value) !== CHECK_PLAINTEXT) throw wrongStoreKey(keySource);
}

/** The refusal of a key that does not open the store's secrets. */
export function wrongStoreKey(keySource: string): ConfigError {
  return new ConfigError(
    `the store's secrets are sealed with another key than ${keySource}: every replica of a store needs the same key. ` +
      "Give this server the key file the store was first started with (copy it, mode 0600); a new key cannot open what the old one sealed",
  );
}
