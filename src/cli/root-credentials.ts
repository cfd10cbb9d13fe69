// The account's root access key. Given by BERTH_ACCESS_KEY_ID / BERTH_SECRET_ACCESS_KEY, or
// generated on first start and written once to <data-dir>/credentials (AWS shared-credentials
// format, profile "berth", mode 0600). In the store the secret is encrypted with AES-256-GCM under
// <data-dir>/master.key (0600): SigV4 is an HMAC keyed by the secret, so the server must be able to
// recover it and a one-way hash would not do.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AccessKeysRepository } from "../store/index.js";

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

export async function ensureRootKey(options: {
  dataDir: string;
  accountId: string;
  partition: string;
  accessKeys: AccessKeysRepository;
  box: SecretBox;
  fromEnvironment: { accessKeyId: string; secretAccessKey: string } | undefined;
  now: number;
}): Promise<{ accessKeyId: string; credentialsFile?: string }> {
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
  if ((await options.accessKeys.count()) > 0 && existsSync(credentialsFile)) {
    const match = /aws_access_key_id\s*=\s*(\S+)/.exec(readFileSync(credentialsFile, "utf8"));
    return { accessKeyId: match?.[1] ?? "(see the credentials file)", credentialsFile };
  }
  const key = generateAccessKey();
  await store(key);
  // Written once ("wx"): a later start never rewrites the file.
  writeFileSync(credentialsFile, `[berth]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`, { mode: 0o600, flag: "wx" });
  return { accessKeyId: key.accessKeyId, credentialsFile };
}
