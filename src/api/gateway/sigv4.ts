// AWS Signature Version 4 verification, header form and query-string (presigned) form
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#presigned-urls).
// The server recomputes the signature over the request exactly as it arrived (method, path, query,
// the signed headers, the payload hash) with the caller's secret and compares in constant time.
//
// Everything that can be checked from the head is checked before a byte of the body is read: the
// form, the date and its skew (or the presigned URL's expiry), that `host`, `content-type` and
// every `x-amz-*` header present are signed (so X-Amz-Target, which routes the call, cannot be
// swapped after signing), the credential scope and that the access key exists. When the payload
// hash is declared (x-amz-content-sha256: a SHA-256 or UNSIGNED-PAYLOAD, as botocore sends for
// unsigned-body operations) the signature itself is verified before the body is read too, and the
// body is then held to the declared hash. Otherwise the signature covers the body's hash and the
// body must be read first: the caller (the gateway) is told so, and bounds what it buffers for
// requests not yet verified. Seen on the wire (2026-12): SDK v3 for JavaScript declares and signs
// x-amz-content-sha256 on every JSON call (and signs amz-sdk-*, x-amz-user-agent, content-length);
// the AWS CLI 2.9 (botocore) signs content-type;host;x-amz-date;x-amz-target and declares no hash.
import { createHmac, hash } from "node:crypto";
import {
  incompleteSignatureException,
  invalidSignatureException,
  missingAuthenticationTokenException,
  unrecognizedClientException,
} from "../../core/errors.js";

export interface SignedRequestHead {
  readonly method: string;
  /** Path and query as received, e.g. "/" or "/x?a=b". */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Reads the whole body; `verified` says whether the signature has already been checked. */
export type BodyReader = (verified: boolean) => Promise<Buffer>;

export interface VerifiedRequest {
  readonly accessKeyId: string;
  readonly body: Buffer;
  /** The session token the request carries (signed: an x-amz-* header, or a presigned URL's parameter), if any. */
  readonly sessionToken: string | undefined;
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
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;\-_.]+),\s*Signature=([0-9a-f]{64})$/;
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

/** The query's parameters, decoded ("+" is a space, as the signers encode it). */
function queryPairs(query: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const pair of query.split("&")) {
    if (!pair) continue;
    const equals = pair.indexOf("=");
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? "" : pair.slice(equals + 1);
    pairs.push([decode(name.replace(/\+/g, " ")), decode(value.replace(/\+/g, " "))]);
  }
  return pairs;
}

/** Sorted, re-encoded; a presigned request's own X-Amz-Signature is not part of what it signs. */
function canonicalQuery(pairs: readonly (readonly [string, string])[], presigned: boolean): string {
  return pairs
    .filter(([name]) => !(presigned && name === "X-Amz-Signature"))
    .map(([name, value]) => [encode(name), encode(value)] as const)
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

/** A header's value; only the request's own headers (a signed name such as `constructor` or `__proto__` finds nothing). */
const header = (headers: SignedRequestHead["headers"], name: string): string | undefined => {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : typeof value === "string" ? value : undefined;
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

const formatAmzDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

const MAX_PRESIGN_EXPIRES_S = 604_800;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

interface Credential {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaderList: string;
  readonly signature: string;
  readonly amzDate: string;
  /** X-Amz-Expires of a presigned request, in seconds; undefined for the header form. */
  readonly expiresS: number | undefined;
}

/** The Authorization header's parts (header form). */
function fromAuthorizationHeader(authorization: string, headers: SignedRequestHead["headers"]): Credential {
  const match = AUTHORIZATION.exec(authorization.trim());
  if (!match) {
    throw incompleteSignatureException(
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters with algorithm AWS4-HMAC-SHA256. Authorization=${authorization.split(" ")[0]}`,
    );
  }
  const amzDate = header(headers, "x-amz-date");
  if (!amzDate)
    throw incompleteSignatureException(
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization.split(" ")[0]}`,
    );
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match as unknown as string[];
  return {
    accessKeyId: accessKeyId!,
    scopeDate: scopeDate!,
    region: region!,
    service: service!,
    signedHeaderList: signedHeaderList!,
    signature: signature!,
    amzDate,
    expiresS: undefined,
  };
}

/** The X-Amz-* query parameters' parts (presigned form). Wording as AWS's query-auth errors. */
function fromQuery(params: ReadonlyMap<string, string>): Credential {
  const required = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"];
  const missing = required.filter((name) => !params.get(name));
  if (missing.length > 0) {
    throw incompleteSignatureException(
      `${missing.map((name) => `AWS query-string parameters must include '${name}'. `).join("")}Re-examine the query-string parameters.`,
    );
  }
  const algorithm = params.get("X-Amz-Algorithm")!;
  if (algorithm !== "AWS4-HMAC-SHA256") throw incompleteSignatureException(`Unsupported AWS 'algorithm': '${algorithm}'.`);
  const credential = params.get("X-Amz-Credential")!;
  const parts = credential.split("/");
  if (parts.length !== 5 || parts.some((part) => part === "")) {
    throw incompleteSignatureException(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`);
  }
  if (parts[4] !== "aws4_request") throw invalidSignatureException(`Credential should be scoped with a valid terminator: 'aws4_request', not '${parts[4]}'.`);
  const signedHeaderList = params.get("X-Amz-SignedHeaders")!;
  const signature = params.get("X-Amz-Signature")!;
  if (!/^[a-z0-9;\-_.]+$/.test(signedHeaderList)) throw incompleteSignatureException("Re-examine the query-string parameters.");
  const expiresText = params.get("X-Amz-Expires");
  let expiresS: number | undefined;
  if (expiresText !== undefined) {
    expiresS = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : NaN;
    // S3's wording; the other services' presigned URLs obey the same one-week bound.
    if (!(expiresS >= 0 && expiresS <= MAX_PRESIGN_EXPIRES_S)) {
      throw incompleteSignatureException(
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
      );
    }
  }
  return {
    accessKeyId: parts[0]!,
    scopeDate: parts[1]!,
    region: parts[2]!,
    service: parts[3]!,
    signedHeaderList,
    signature,
    amzDate: params.get("X-Amz-Date")!,
    expiresS,
  };
}

/**
 * What AWS requires signed: the host always, and every `x-amz-*` header and `content-type` that
 * the request carries; and every header named as signed must be there.
 */
function checkSignedHeaders(headers: SignedRequestHead["headers"], signed: readonly string[]): void {
  if (!signed.includes("host")) throw invalidSignatureException("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  for (const name in headers) {
    if ((name === "content-type" || name.startsWith("x-amz-")) && !signed.includes(name)) {
      throw invalidSignatureException(`'${name === "content-type" ? "Content-Type" : name}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  for (const name of signed) {
    if (header(headers, name) === undefined)
      throw incompleteSignatureException(`'${name}' is named as a SignedHeader, but it does not exist in the HTTP request.`);
  }
}

function checkTime(credential: Credential, signedAtMs: number, now: number): void {
  if (signedAtMs > now + MAX_SKEW_MS) {
    throw invalidSignatureException(
      `Signature not yet current: ${credential.amzDate} is still later than ${formatAmzDate(now + MAX_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`,
    );
  }
  if (credential.expiresS === undefined) {
    if (signedAtMs < now - MAX_SKEW_MS) {
      throw invalidSignatureException(
        `Signature expired: ${credential.amzDate} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`,
      );
    }
    return;
  }
  // A presigned request is good from its date for X-Amz-Expires seconds. AWS's header-form wording,
  // with the presigned window in place of the 15 minutes (the query form's exact text unconfirmed).
  const windowMs = credential.expiresS * 1000;
  if (signedAtMs < now - windowMs) {
    throw invalidSignatureException(
      `Signature expired: ${credential.amzDate} is now earlier than ${formatAmzDate(now - windowMs)} (${formatAmzDate(now)} - ${credential.expiresS} sec.)`,
    );
  }
}

export async function verifySigV4(request: SignedRequestHead, expect: SigV4Expectations, readBody: BodyReader): Promise<VerifiedRequest> {
  const authorization = header(request.headers, "authorization");
  const queryIndex = request.url.indexOf("?");
  const path = queryIndex < 0 ? request.url : request.url.slice(0, queryIndex);
  const query = queryIndex < 0 ? "" : request.url.slice(queryIndex + 1);
  const pairs = query ? queryPairs(query) : [];
  const presigned = pairs.some(([name]) => name === "X-Amz-Algorithm");
  if (authorization && presigned) throw invalidSignatureException("Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  if (!authorization && !presigned) throw missingAuthenticationTokenException("Missing Authentication Token");
  const credential = authorization ? fromAuthorizationHeader(authorization, request.headers) : fromQuery(new Map(pairs));

  const signedAtMs = amzDateToMs(credential.amzDate);
  if (signedAtMs === undefined)
    throw incompleteSignatureException(`Date must be in ISO-8601 'basic format'. Got '${credential.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  checkTime(credential, signedAtMs, expect.now);
  const signedHeaders = credential.signedHeaderList.split(";");
  checkSignedHeaders(request.headers, signedHeaders);
  const { accessKeyId, scopeDate, region, service, signature } = credential;
  if (region !== expect.region) throw invalidSignatureException(`Credential should be scoped to a valid region. `);
  if (typeof expect.service === "string" ? service !== expect.service : !expect.service.has(service)) {
    const wanted = typeof expect.service === "string" ? expect.service : [...expect.service].join("' or '");
    throw invalidSignatureException(`Credential should be scoped to correct service: '${wanted}'. `);
  }
  if (scopeDate !== credential.amzDate.slice(0, 8))
    throw invalidSignatureException("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.");
  const secret = await expect.secretFor(accessKeyId);
  if (secret === undefined) throw unrecognizedClientException("The security token included in the request is invalid.");

  let canonicalHeaders = "";
  for (const name of signedHeaders) canonicalHeaders += `${name}:${canonicalValue(header(request.headers, name) ?? "")}\n`;
  const canonicalHead = `${request.method}\n${canonicalPath(path)}\n${canonicalQuery(pairs, presigned)}\n${canonicalHeaders}\n${credential.signedHeaderList}\n`;
  const verify = (payloadHash: string) => {
    const scope = `${scopeDate}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${credential.amzDate}\n${scope}\n${sha256Hex(canonicalHead + payloadHash)}`;
    const expected = createHmac("sha256", signingKey(secret, scopeDate, region, service))
      .update(stringToSign)
      .digest("hex");
    if (!equalHexInConstantTime(expected, signature)) {
      throw invalidSignatureException(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      );
    }
  };

  const sessionToken = presigned ? pairs.find(([name]) => name === "X-Amz-Security-Token")?.[1] : header(request.headers, "x-amz-security-token");
  const declared = header(request.headers, "x-amz-content-sha256");
  if (declared === undefined) {
    // The signature covers the body's hash: the body has to come first.
    const body = await readBody(false);
    verify(sha256Hex(body));
    return { accessKeyId, body, sessionToken };
  }
  if (declared !== UNSIGNED_PAYLOAD && !SHA256_HEX.test(declared)) {
    throw invalidSignatureException("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.");
  }
  // Declared (and, being x-amz-*, signed): the caller is proven before the body is read.
  verify(declared);
  const body = await readBody(true);
  if (declared !== UNSIGNED_PAYLOAD && sha256Hex(body) !== declared) {
    throw invalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return { accessKeyId, body, sessionToken };
}
