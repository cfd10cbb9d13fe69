// Envelope encryption of the values a user stores (Secrets Manager secret versions, SSM
// SecureString parameters). Each value gets its own random 256-bit data key; the value is sealed
// with it under AES-256-GCM, bound by the associated data to what it belongs to (a secret's ARN,
// version id and value kind; a parameter's exact name, incarnation, version and type), so a value
// copied onto another secret, parameter or version fails to open. The data key itself is sealed with the store key, which never sits in the
// database (store-key.ts: --store-key-file or <data-dir>/master.key), through the KeySealer port.
//
//   sealed = "e1." + sealer.seal(base64(dataKey)) + "." + iv + "." + tag + "." + ciphertext
//
// The store key's own sealing ("v1.iv.tag.ct") contains dots, so it is stored base64url-encoded.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** Seals short texts under the store key (the control plane's SecretBox). */
export interface KeySealer {
  seal(plaintext: string): string;
  unseal(sealed: string): string;
}

const FORMAT = "e1";

export function sealValue(sealer: KeySealer, plaintext: Buffer, associatedData: string): string {
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", dataKey, iv);
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const sealedKey = Buffer.from(sealer.seal(dataKey.toString("base64")), "utf8").toString("base64url");
  dataKey.fill(0);
  return [FORMAT, sealedKey, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}

/** The plaintext; throws when the text is not an envelope, its key is not the store's, or the associated data differs. */
export function openValue(sealer: KeySealer, sealed: string, associatedData: string): Buffer {
  const [format, sealedKey, iv, tag, ciphertext, ...rest] = sealed.split(".");
  if (format !== FORMAT || !sealedKey || !iv || !tag || ciphertext === undefined || rest.length > 0) throw new Error("unrecognised envelope format");
  const dataKey = Buffer.from(sealer.unseal(Buffer.from(sealedKey, "base64url").toString("utf8")), "base64");
  if (dataKey.length !== 32) throw new Error("an envelope's data key is 32 bytes");
  try {
    const ivBytes = Buffer.from(iv, "base64url");
    const tagBytes = Buffer.from(tag, "base64url");
    // A 12-byte IV and the full 16-byte tag only: Node would accept a truncated GCM tag.
    if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error("an envelope's IV is 12 bytes and its tag 16");
    const decipher = createDecipheriv("aes-256-gcm", dataKey, ivBytes, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
  } finally {
    dataKey.fill(0);
  }
}
