// The account's root access key. Given by BERTH_ACCESS_KEY_ID / BERTH_SECRET_ACCESS_KEY, or
// generated on first start and written once to <data-dir>/credentials (AWS shared-credentials
// format, profile "berth", mode 0600). In the store the secret is encrypted with AES-256-GCM under
// <data-dir>/master.key (0600): SigV4 is an HMAC keyed by the secret, so the server must be able to
// recover it and a one-way hash would not do.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AccessKeysRepository } from "../store/index.js";
import { ConfigError } from "./config-error.js";

const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function generateAccessKey(): { accessKeyId: string; secretAccessKey: string } {
  const id = [...randomBytes(16)].map((byte) => KEY_ALPHABET[byte % 32]).join("");
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString("base64").replace(/[+/]/g, "A").slice(0, 40) };
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static open(dataDir: string): SecretBox {
    const path = join(dataDir, "master.key");
    if (!existsSync(path)) writeFileSync(path, randomBytes(32), { mode: 0o600, flag: "wx" });
    return new SecretBox(readFileSync(path));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), sealed.toString("base64")].join(".");
  }

  unseal(text: string): string {
    const [version, iv, tag, sealed] = text.split(".");
    if (version !== "v1" || !iv || !tag || !sealed) throw new Error("unrecognised secret format");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
    decipher.setAuthTag(Buffer.from(tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed, "base64")), decipher.final()]).toString("utf8");
  }
}

/** The [berth] profile of a shared-credentials file, or undefined when it has none. */
export function readBerthProfile(text: string): { accessKeyId: string; secretAccessKey: string } | undefined {
  let inBerth = false;
  let accessKeyId: string | undefined;
  let secretAccessKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      inBerth = section[1] === "berth";
      continue;
    }
    const setting = /^([A-Za-z_]+)\s*=\s*(\S+)$/.exec(line);
    if (!inBerth || !setting) continue;
    if (setting[1] === "aws_access_key_id") accessKeyId = setting[2];
    if (setting[1] === "aws_secret_access_key") secretAccessKey = setting[2];
  }
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
}

/**
 * Makes sure the root key exists in the store and says which it is:
 * - given by the environment: that key;
 * - <data-dir>/credentials exists: its [berth] key, stored again if the store lost it (the data
 *   dir's database was removed or replaced), so the profile the user's AWS CLI points at keeps
 *   working; a file without a [berth] key is refused with a clear message, never overwritten;
 * - otherwise: a new key, stored, and written once to <data-dir>/credentials (0600).
 */
export async function ensureRootKey(options: {
  dataDir: string;
  accountId: string;
  partition: string;
  accessKeys: AccessKeysRepository;
  box: SecretBox;
  fromEnvironment: { accessKeyId: string; secretAccessKey: string } | undefined;
  now: number;
}): Promise<{ accessKeyId: string; credentialsFile?: string; readopted?: boolean }> {
  const principalArn = `arn:${options.partition}:iam::${options.accountId}:root`;
  const store = async (key: { accessKeyId: string; secretAccessKey: string }) =>
    options.accessKeys.put({
      accessKeyId: key.accessKeyId,
      secretCiphertext: options.box.seal(key.secretAccessKey),
      accountId: options.accountId,
      principalArn,
      createdAt: options.now,
    });
  if (options.fromEnvironment) {
    await store(options.fromEnvironment);
    return { accessKeyId: options.fromEnvironment.accessKeyId };
  }
  const credentialsFile = join(options.dataDir, "credentials");
  if (existsSync(credentialsFile)) {
    const key = readBerthProfile(readFileSync(credentialsFile, "utf8"));
    if (!key) {
      throw new ConfigError(
        `${credentialsFile} exists but holds no [berth] profile with aws_access_key_id and aws_secret_access_key; ` +
          "move it away to have a new root key generated, or set BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY",
      );
    }
    if (await options.accessKeys.get(key.accessKeyId)) return { accessKeyId: key.accessKeyId, credentialsFile };
    await store(key);
    return { accessKeyId: key.accessKeyId, credentialsFile, readopted: true };
  }
  const key = generateAccessKey();
  await store(key);
  // "wx": never replaces a file; a later start finds it and keeps its key.
  writeFileSync(credentialsFile, `[berth]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`, {
    mode: 0o600,
    flag: "wx",
  });
  return { accessKeyId: key.accessKeyId, credentialsFile };
}
