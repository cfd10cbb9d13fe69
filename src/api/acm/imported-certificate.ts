// What ACM reads from a certificate it imports (ImportCertificate): one X.509 certificate in PEM,
// its unencrypted private key, which must be the certificate's, and an optional chain. The fields
// DescribeCertificate and ListCertificates answer (domain, names, serial, validity, key and
// signature algorithms, extended key usages) are read here once, at import, with node:crypto.
// Everything in the request is hostile: sizes are capped before parsing, and what cannot be parsed
// is refused with a ValidationException rather than stored.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { AwsError } from "../../core/errors.js";

/** ACM's limits on the import's members (ImportCertificate request parameters). */
const MAX_CERTIFICATE_BYTES = 32_768;
const MAX_PRIVATE_KEY_BYTES = 5_120;
const MAX_CHAIN_BYTES = 2_097_152;
const MAX_CHAIN_CERTIFICATES = 10;

export interface ImportedCertificate {
  readonly certificatePem: string;
  readonly chainPem: string | undefined;
  readonly privateKeyPem: string;
  readonly domainName: string;
  /** JSON-safe DescribeCertificate fields of the certificate (dates in epoch ms). */
  readonly details: {
    readonly SubjectAlternativeNames: string[];
    readonly Serial: string;
    readonly Subject: string;
    readonly Issuer: string;
    readonly NotBefore: number;
    readonly NotAfter: number;
    readonly KeyAlgorithm: string;
    readonly SignatureAlgorithm?: string;
    readonly ExtendedKeyUsages: { Name: string; OID: string }[];
  };
}

const validation = (message: string) => new AwsError("ValidationException", message, { httpStatus: 400 });

const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";

/**
 * The PEM certificate blocks of a text, at most `limit` (then one more, to tell "too many"), in one
 * forward scan: a lazy regular expression over BEGIN markers without an END took quadratic time
 * (a 1.5 MB chain of BEGINs held the server 27 s).
 */
function pemBlocks(text: string, limit: number): string[] {
  const blocks: string[] = [];
  let from = 0;
  while (blocks.length <= limit) {
    const begin = text.indexOf(BEGIN, from);
    if (begin < 0) break;
    const end = text.indexOf(END, begin + BEGIN.length);
    if (end < 0) break;
    blocks.push(text.slice(begin, end + END.length));
    from = end + END.length;
  }
  return blocks;
}

/** The blob as the gateway hands it over (base64 text of the wire) or bytes, as UTF-8 PEM text, within `max` bytes. */
function pemText(value: Uint8Array | string | undefined, member: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  const bytes = typeof value === "string" ? Buffer.from(value, "base64") : Buffer.from(value);
  if (bytes.length === 0) throw validation(`The ${member} field must not be empty.`); // wording not confirmed
  if (bytes.length > max)
    throw validation(`1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  return bytes.toString("utf8");
}

export function readImport(input: {
  readonly Certificate?: Uint8Array | string | undefined;
  readonly PrivateKey?: Uint8Array | string | undefined;
  readonly CertificateChain?: Uint8Array | string | undefined;
}): ImportedCertificate {
  const certificateText = pemText(input.Certificate, "certificate", MAX_CERTIFICATE_BYTES) ?? "";
  const keyText = pemText(input.PrivateKey, "privateKey", MAX_PRIVATE_KEY_BYTES) ?? "";
  const chainText = pemText(input.CertificateChain, "certificateChain", MAX_CHAIN_BYTES);
  const blocks = pemBlocks(certificateText, 1);
  if (blocks.length > 1) throw validation("The certificate field contains more than one certificate. You can specify only one certificate in this field.");
  const certificate = parseCertificate(blocks[0], "The certificate is not a valid PEM-encoded X.509 certificate."); // wording not confirmed
  const privateKey = parsePrivateKey(keyText);
  if (!certificate.checkPrivateKey(privateKey)) throw validation("The private key does not match the public key in the certificate."); // wording not confirmed
  const chain = chainText === undefined ? undefined : pemBlocks(chainText, MAX_CHAIN_CERTIFICATES);
  if (chain !== undefined) {
    if (chain.length === 0 || chain.length > MAX_CHAIN_CERTIFICATES) throw validation("The certificate chain is not valid."); // wording not confirmed
    for (const block of chain) parseCertificate(block, "The certificate chain is not valid."); // wording not confirmed
  }
  const names = alternativeNames(certificate);
  const commonName = fieldOf(certificate.subject, "CN");
  const domainName = commonName ?? names[0];
  if (domainName === undefined) throw validation("The certificate must have a domain name in its subject or subject alternative names."); // wording not confirmed
  return {
    certificatePem: `${(blocks[0] as string).trim()}\n`,
    chainPem: chain === undefined ? undefined : `${chain.map((block) => block.trim()).join("\n")}\n`,
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    domainName,
    details: {
      SubjectAlternativeNames: names.length > 0 ? names : [domainName],
      Serial: serialOf(certificate.serialNumber),
      Subject: distinguishedName(certificate.subject),
      Issuer: fieldOf(certificate.issuer, "O") ?? fieldOf(certificate.issuer, "CN") ?? distinguishedName(certificate.issuer),
      NotBefore: Date.parse(certificate.validFrom),
      NotAfter: Date.parse(certificate.validTo),
      KeyAlgorithm: keyAlgorithmOf(certificate),
      ...signatureAlgorithm(certificate.raw),
      ExtendedKeyUsages: (certificate.keyUsage ?? []).map(extendedKeyUsage),
    },
  };
}

function parseCertificate(pem: string | undefined, message: string): X509Certificate {
  if (pem === undefined) throw validation(message);
  try {
    return new X509Certificate(pem);
  } catch {
    throw validation(message);
  }
}

function parsePrivateKey(pem: string) {
  if (/ENCRYPTED/.test(pem)) throw validation("The private key is encrypted. You must import an unencrypted private key."); // wording not confirmed
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw validation("The private key is not a valid PEM-encoded private key."); // wording not confirmed
  }
}

/** The key algorithms ACM imports (KeyAlgorithm): RSA of 1024–4096 bits, EC on its three curves. */
function keyAlgorithmOf(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa" && [1024, 2048, 3072, 4096].includes(details.modulusLength ?? 0)) return `RSA_${details.modulusLength}`;
  if (key.asymmetricKeyType === "ec" && ["prime256v1", "secp384r1", "secp521r1"].includes(details.namedCurve ?? "")) return `EC_${details.namedCurve}`;
  throw validation(
    "The certificate's key algorithm is not supported. ACM imports RSA keys of 1024, 2048, 3072 or 4096 bits and EC keys on prime256v1, secp384r1 or secp521r1.",
  ); // wording not confirmed
}

/** "DNS:a.example, DNS:b.example, IP Address:…" → the DNS names. */
function alternativeNames(certificate: X509Certificate): string[] {
  const text = certificate.subjectAltName;
  if (text === undefined) return [];
  return (
    text
      .split(/,\s*/)
      .filter((entry) => entry.startsWith("DNS:"))
      .map((entry) => entry.slice(4))
      // Node quotes a name holding commas or quotes ("DNS:\"a, b\""): such a name is no host name, and split on ", " it would read as others.
      .filter((name) => /^[A-Za-z0-9*._-]{1,253}$/.test(name))
      .slice(0, 100)
  );
}

/** One attribute of node's multi-line distinguished name ("C=US\nO=Example\nCN=example.com"). */
function fieldOf(name: string, key: string): string | undefined {
  for (const line of name.split("\n")) if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  return undefined;
}

const distinguishedName = (name: string) => name.split("\n").filter(Boolean).join(", ");

/** ACM prints the serial as colon-separated lower-case hex bytes. */
function serialOf(hex: string): string {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return (even.toLowerCase().match(/../g) ?? []).join(":");
}

const EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
  "1.3.6.1.5.5.7.3.1": "TLS_WEB_SERVER_AUTHENTICATION",
  "1.3.6.1.5.5.7.3.2": "TLS_WEB_CLIENT_AUTHENTICATION",
  "1.3.6.1.5.5.7.3.3": "CODE_SIGNING",
  "1.3.6.1.5.5.7.3.4": "EMAIL_PROTECTION",
  "1.3.6.1.5.5.7.3.5": "IPSEC_END_SYSTEM",
  "1.3.6.1.5.5.7.3.6": "IPSEC_TUNNEL",
  "1.3.6.1.5.5.7.3.7": "IPSEC_USER",
  "1.3.6.1.5.5.7.3.8": "TIME_STAMPING",
  "1.3.6.1.5.5.7.3.9": "OCSP_SIGNING",
  "2.5.29.37.0": "ANY",
};

const extendedKeyUsage = (oid: string) => ({ Name: EXTENDED_KEY_USAGES[oid] ?? "CUSTOM", OID: oid });

/** Signature algorithm OIDs (RFC 4055, RFC 5758) → ACM's names. */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.5": "SHA1WITHRSA",
  "1.2.840.113549.1.1.11": "SHA256WITHRSA",
  "1.2.840.113549.1.1.12": "SHA384WITHRSA",
  "1.2.840.113549.1.1.13": "SHA512WITHRSA",
  "1.2.840.10045.4.3.2": "SHA256WITHECDSA",
  "1.2.840.10045.4.3.3": "SHA384WITHECDSA",
  "1.2.840.10045.4.3.4": "SHA512WITHECDSA",
};

/**
 * The certificate's signatureAlgorithm (the AlgorithmIdentifier after tbsCertificate in the outer
 * SEQUENCE, RFC 5280 §4.1), which node:crypto of Node 20 does not expose; none when unknown.
 */
function signatureAlgorithm(der: Buffer): { SignatureAlgorithm?: string } {
  const outer = derHeader(der, 0);
  if (outer === undefined) return {};
  const tbs = derHeader(der, outer.contentStart);
  if (tbs === undefined) return {};
  const algorithm = derHeader(der, tbs.contentStart + tbs.length);
  if (algorithm === undefined) return {};
  const oid = derHeader(der, algorithm.contentStart);
  if (oid === undefined || der[oid.start] !== 0x06) return {};
  const name = SIGNATURE_ALGORITHMS[decodeOid(der.subarray(oid.contentStart, oid.contentStart + oid.length))];
  return name === undefined ? {} : { SignatureAlgorithm: name };
}

/** One DER tag-length header at `start`: where its content starts and how long it is (definite lengths only). */
function derHeader(der: Buffer, start: number): { start: number; contentStart: number; length: number } | undefined {
  if (start + 2 > der.length) return undefined;
  const first = der[start + 1] as number;
  if (first < 0x80) return { start, contentStart: start + 2, length: first };
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || start + 2 + octets > der.length) return undefined;
  let length = 0;
  for (let index = 0; index < octets; index++) length = length * 256 + (der[start + 2 + index] as number);
  return { start, contentStart: start + 2 + octets, length };
}

function decodeOid(bytes: Buffer): string {
  if (bytes.length === 0) return "";
  const head = bytes[0] as number;
  const parts = [Math.floor(head / 40), head % 40];
  let value = 0;
  for (const byte of bytes.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}
