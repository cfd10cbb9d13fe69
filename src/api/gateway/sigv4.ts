// AWS Signature Version 4 verification, header form
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). The server
// recomputes the signature over the request exactly as it arrived (method, path, query, the signed
// headers, the body's SHA-256) with the caller's secret and compares in constant time.
import { createHmac, hash } from "node:crypto";
import {
  incompleteSignatureException,
  invalidSignatureException,
  missingAuthenticationTokenException,
  unrecognizedClientException,
} from "../../core/errors.js";

export interface SignedRequest {
  readonly method: string;
  /** Path and query as received, e.g. "/" or "/x?a=b". */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface VerifiedCaller {
  readonly accessKeyId: string;
}

export interface SigV4Expectations {
  readonly region: string;
  /** The signing name the credential scope must carry, or the set of names any of which will do. */
  readonly service: string | ReadonlySet<string>;
  readonly now: number;
  /** The secret of an access key, or undefined when the key is unknown. */
  readonly secretFor: (accessKeyId: string) => Promise<string | undefined>;
}

const MAX_SKEW_MS = 15 * 60_000;
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;\-_.]+),\s*Signature=([0-9a-f]{64})$/;
const signingKeys = new Map<string, Buffer>();

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
// One-shot hashing (crypto.hash) avoids a Hash object per call on this hot path.
const sha256Hex = (data: Buffer | string) => hash("sha256", data, "hex");

// The last key used, checked before the map: one caller signing with one key is the common case,
// and building the map's string key cost more than the check.
let lastKey: { secret: string; date: string; region: string; service: string; key: Buffer } | undefined;

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  if (lastKey && lastKey.secret === secret && lastKey.date === date && lastKey.region === region && lastKey.service === service) return lastKey.key;
  const cacheKey = `${secret}\0${date}\0${region}\0${service}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
    if (signingKeys.size > 1000) signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  lastKey = { secret, date, region, service, key };
  return key;
}

/** RFC 3986 encoding as SigV4 wants it (everything but unreserved characters). */
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * decodeURIComponent for query parameters that refuses malformed escapes ("%", "%zz") with a 403
 * instead of throwing a URIError: no signer produces such a query, so no signature can match it.
 */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalidSignatureException("The request URI contains a malformed percent-encoding, so its signature cannot be verified."); // wording not confirmed
  }
}

function canonicalQuery(query: string): string {
  if (!query) return "";
  return query
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [name = "", value = ""] = pair.split("=", 2).map((part) => decode(part.replace(/\+/g, " ")));
      return [encode(name), encode(value)] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/**
 * Non-S3 services URI-encode the path twice: the path as it arrived (already encoded once) is
 * normalised ("." and ".." resolved, empty segments dropped) and encoded once more, as botocore and
 * the smithy signer do. Nothing is decoded, so a malformed escape such as "%" is just a character.
 */
function canonicalPath(path: string): string {
  if (path === "/") return path;
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith("/") ? "/" : ""}${segments.join("/")}${segments.length > 0 && path.endsWith("/") ? "/" : ""}`;
  return encode(normalised).replace(/%2F/g, "/");
}

const header = (headers: SignedRequest["headers"], name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
};

// Consecutive requests mostly carry the same X-Amz-Date (a second's resolution): parse once.
let lastAmzDate = "";
let lastAmzDateMs = 0;

function amzDateToMs(text: string): number | undefined {
  if (text === lastAmzDate) return lastAmzDateMs;
  const match = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  lastAmzDateMs = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  lastAmzDate = text;
  return lastAmzDateMs;
}

/** A signed header's value as the canonical request wants it: trimmed, inner runs of whitespace as one space. */
function canonicalValue(value: string): string {
  const trimmed = value.trim();
  // Most values have no run of whitespace to fold; testing is cheaper than replacing.
  return MULTIPLE_SPACES.test(trimmed) ? trimmed.replace(/\s+/g, " ") : trimmed;
}
const MULTIPLE_SPACES = /\s\s|[\t\n\r\f\v]/;

/**
 * Compares two 64-character lowercase hex signatures without an early exit, so the time taken says
 * nothing about how much of a guess was right. Comparing the hex text directly saves the two
 * buffers timingSafeEqual needs (~0.7 µs a request); the AUTHORIZATION pattern guarantees the
 * presented signature's form.
 */
function equalHexInConstantTime(expected: string, presented: string): boolean {
  let difference = expected.length ^ presented.length;
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ presented.charCodeAt(i);
  return difference === 0;
}

const formatAmzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

export async function verifySigV4(request: SignedRequest, expect: SigV4Expectations): Promise<VerifiedCaller> {
  const authorization = header(request.headers, "authorization");
  if (!authorization) throw missingAuthenticationTokenException("Missing Authentication Token");
  const match = AUTHORIZATION.exec(authorization.trim());
  if (!match) {
    throw incompleteSignatureException(
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters with algorithm AWS4-HMAC-SHA256. Authorization=${authorization.split(" ")[0]}`,
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match as unknown as string[];
  const amzDate = header(request.headers, "x-amz-date");
  const signedAtMs = amzDate ? amzDateToMs(amzDate) : undefined;
  if (!amzDate || signedAtMs === undefined) {
    throw incompleteSignatureException("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const signedHeaders = signedHeaderList!.split(";");
  if (!signedHeaders.includes("host")) throw incompleteSignatureException("Signed headers must include 'host'.");
  const secret = await expect.secretFor(accessKeyId!);
  if (secret === undefined) throw unrecognizedClientException("The security token included in the request is invalid.");
  if (region !== expect.region) throw invalidSignatureException(`Credential should be scoped to a valid region. `);
  if (typeof expect.service === "string" ? service !== expect.service : !expect.service.has(service!)) {
    const wanted = typeof expect.service === "string" ? expect.service : [...expect.service].join("' or '");
    throw invalidSignatureException(`Credential should be scoped to correct service: '${wanted}'. `);
  }
  if (scopeDate !== amzDate.slice(0, 8)) throw invalidSignatureException("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.");
  if (signedAtMs < expect.now - MAX_SKEW_MS) {
    throw invalidSignatureException(`Signature expired: ${amzDate} is now earlier than ${formatAmzDate(expect.now - MAX_SKEW_MS)} (${formatAmzDate(expect.now)} - 15 min.)`);
  }
  if (signedAtMs > expect.now + MAX_SKEW_MS) {
    throw invalidSignatureException(`Signature not yet current: ${amzDate} is still later than ${formatAmzDate(expect.now + MAX_SKEW_MS)} (${formatAmzDate(expect.now)} + 15 min.)`);
  }

  const queryIndex = request.url.indexOf("?");
  const path = queryIndex < 0 ? request.url : request.url.slice(0, queryIndex);
  const query = queryIndex < 0 ? "" : request.url.slice(queryIndex + 1);
  let canonicalHeaders = "";
  for (const name of signedHeaders) canonicalHeaders += `${name}:${canonicalValue(header(request.headers, name) ?? "")}\n`;
  const declaredPayloadHash = header(request.headers, "x-amz-content-sha256");
  const bodyHash = sha256Hex(request.body);
  const payloadHash = declaredPayloadHash && declaredPayloadHash !== "UNSIGNED-PAYLOAD" ? declaredPayloadHash : bodyHash;
  if (payloadHash !== bodyHash && declaredPayloadHash !== "UNSIGNED-PAYLOAD") {
    throw invalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const canonicalRequest = `${request.method}\n${canonicalPath(path)}\n${canonicalQuery(query)}\n${canonicalHeaders}\n${signedHeaderList}\n${payloadHash}`;
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const expected = createHmac("sha256", signingKey(secret, scopeDate!, region!, service!)).update(stringToSign).digest("hex");
  if (!equalHexInConstantTime(expected, signature!)) {
    throw invalidSignatureException(
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
  return { accessKeyId: accessKeyId! };
}
