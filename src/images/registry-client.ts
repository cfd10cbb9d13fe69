// A client for the OCI distribution API (v2): anonymous, basic auth, and the bearer-token
// challenge Docker Hub, ECR and GHCR use (a 401 with `WWW-Authenticate: Bearer realm=…,service=…,
// scope=…`, answered by fetching a token from the realm, with basic credentials when we have
// some). Tokens are cached per scope until they expire. Uses Node's fetch (undici).
import { get as httpGet } from "node:http";
import type { IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { registryEndpointHost, registryUsesPlainHttp } from "./image-reference.js";
import type { RegistryTrust } from "./registry-trust.js";
import { dispatcherFor } from "./registry-trust.js";
import { publicOnlyLookup, redirectProblem } from "./redirect-policy.js";
import { Agent } from "undici";
import type { Dispatcher } from "undici";

/** Docker's and containerd's limit. */
const MAX_REDIRECTS = 10;
/** An error body is read only this far (only its error codes are used): a registry cannot make us buffer gigabytes. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

let publicOnly: Dispatcher | undefined;
/** fetch's connections to hosts other than the registry's: their DNS answers must all be public. */
function publicDispatcher(): Dispatcher {
  publicOnly ??= new Agent({ connect: { lookup: publicOnlyLookup } });
  return publicOnly;
}

/** The first MAX_ERROR_BODY_BYTES of a response body, the rest discarded. */
async function boundedText(body: AsyncIterable<Uint8Array | string> | Response): Promise<string> {
  const stream: AsyncIterable<Uint8Array | string> | null = body instanceof Response ? (body.body as AsyncIterable<Uint8Array> | null) : body;
  if (!stream) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
    chunks.push(bytes.subarray(0, Math.max(0, MAX_ERROR_BODY_BYTES - size)));
    size += bytes.length;
    if (size >= MAX_ERROR_BODY_BYTES) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Challenge {
  readonly scheme: string;
  readonly params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | undefined {
  const match = /^(\w+)\s*(.*)$/.exec(header.trim());
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const param of match[2]!.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[param[1]!.toLowerCase()] = param[2] ?? param[3] ?? "";
  return { scheme: match[1]!.toLowerCase(), params };
}

const basicHeader = (credentials: RegistryCredentials) => `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;

export class RegistryClient {
  private readonly base: string;
  private authorization: string | undefined;
  private tokenExpiresAt = 0;

  constructor(
    readonly registry: string,
    private readonly options: { insecureRegistries: readonly string[]; credentials?: RegistryCredentials; scope: string; trust?: RegistryTrust },
  ) {
    // A registry with a trust (the Berth server's own) is HTTPS even on loopback.
    const scheme = !options.trust && registryUsesPlainHttp(registry, options.insecureRegistries) ? "http" : "https";
    this.base = `${scheme}://${registryEndpointHost(registry)}`;
  }

  /** A request to /v2/…; authenticates on the first 401 and replays once. */
  async request(path: string, init: RequestInit & { headers?: Record<string, string> } = {}, allowedStatus: readonly number[] = []): Promise<Response> {
    const url = path.startsWith("http") ? path : `${this.base}${path}`;
    const registryHost = new URL(this.base).hostname;
    // Redirects by hand, each checked against redirect-policy.ts before it is followed; another
    // host is reached through a dispatcher whose DNS lookup refuses non-public addresses.
    const send = async () => {
      let target = new URL(url);
      for (let redirects = 0; ; redirects += 1) {
        const own = target.hostname === registryHost;
        // The registry's token goes to its own origin only (not another port of its host).
        const sameOrigin = target.origin === new URL(this.base).origin;
        const headers = {
          ...(init.headers ?? {}),
          ...(sameOrigin && this.authorization && Date.now() < this.tokenExpiresAt ? { authorization: this.authorization } : {}),
        };
        const response = await fetch(target, { ...init, headers, redirect: "manual", ...(own ? this.tlsInit() : { dispatcher: publicDispatcher() as never }) });
        const location = response.headers.get("location");
        if (response.status < 300 || response.status >= 400 || response.status === 304 || !location) return response;
        await response.body?.cancel();
        if (redirects >= MAX_REDIRECTS) throw new RegistryError(`failed to do request: ${init.method ?? "GET"} ${url}: too many redirects`);
        target = new URL(location, target);
        const problem = redirectProblem(target, registryHost);
        if (problem) throw new RegistryError(problem);
      }
    };
    let response: Response;
    try {
      response = await send();
      if (response.status === 401 && init.body === undefined) {
        await response.body?.cancel();
        await this.authenticate(response.headers.get("www-authenticate") ?? "");
        response = await send();
      }
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError(
        `failed to do request: ${init.method ?? "GET"} ${url}: ${cause?.code ?? ""} ${cause?.message ?? (error as Error).message}`.replace(/\s+/g, " ").trim(),
      );
    }
    if (!response.ok && !allowedStatus.includes(response.status)) {
      const text = await boundedText(response).catch(() => "");
      throw new RegistryError(describeFailure(response.status, text), response.status);
    }
    return response;
  }

  /**
   * A blob as a Node stream, over node:http/https rather than fetch: converting fetch's web
   * stream costs more per byte than the unpack it feeds (a 50 MiB layer measured here: ~2× the
   * time end to end). Same rules as request(): authenticate on a 401, follow redirects (blob
   * stores often answer with one), and never send the registry's Authorization to another origin.
   */
  async download(path: string): Promise<IncomingMessage> {
    const origin = new URL(this.base).origin;
    let url = new URL(`${this.base}${path}`);
    const registryHost = url.hostname;
    let authenticated = false;
    for (let redirects = 0; redirects <= MAX_REDIRECTS;) {
      const headers: Record<string, string> =
        url.origin === origin && this.authorization && Date.now() < this.tokenExpiresAt ? { authorization: this.authorization } : {};
      // Another host than the registry's: only public addresses (checked in the connection's own
      // lookup), and the registry's CA does not apply there.
      const own = url.hostname === registryHost;
      const connect = own ? (this.options.trust?.ca ? { ca: this.options.trust.ca } : {}) : { lookup: publicOnlyLookup };
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const request =
          url.protocol === "https:"
            ? httpsGet(url, { headers, ...connect }, resolve)
            : httpGet(url, { headers, ...(own ? {} : { lookup: publicOnlyLookup }) }, resolve);
        request.once("error", (error: NodeJS.ErrnoException) =>
          reject(new RegistryError(`failed to do request: GET ${url.href}: ${error.code ?? ""} ${error.message}`.replace(/\s+/g, " ").trim())),
        );
      });
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        url = new URL(response.headers.location, url);
        const problem = redirectProblem(url, registryHost);
        if (problem) throw new RegistryError(problem);
        redirects += 1;
        continue;
      }
      if (status === 401 && !authenticated && url.origin === origin) {
        response.resume();
        await this.authenticate(String(response.headers["www-authenticate"] ?? ""));
        authenticated = true;
        continue;
      }
      if (status < 200 || status >= 300) {
        const text = await boundedText(response);
        throw new RegistryError(describeFailure(status, text), status);
      }
      return response;
    }
    throw new RegistryError(`failed to do request: GET ${path}: too many redirects`);
  }

  /** fetch options verifying against this registry's CA, when it has one (never verification off). */
  private tlsInit(): { dispatcher?: never } {
    return this.options.trust?.ca ? { dispatcher: dispatcherFor(this.options.trust.ca) as never } : {};
  }

  /** Sets the Authorization for later requests from a 401 challenge. */
  async authenticate(header: string): Promise<void> {
    const challenge = parseChallenge(header);
    const credentials = this.options.credentials;
    if (challenge?.scheme === "basic") {
      if (!credentials) throw new RegistryError("unauthorized: authentication required", 401);
      this.authorization = basicHeader(credentials);
      this.tokenExpiresAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (challenge?.scheme !== "bearer" || !challenge.params.realm)
      throw new RegistryError("unauthorized: the registry asked for an unsupported authentication scheme", 401);
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
    realm.searchParams.set("scope", challenge.params.scope ?? this.options.scope);
    // The realm is the registry's word too: the same rule as a redirect (its own host, or HTTPS to
    // public addresses), and the token server's own redirects are not followed.
    const registryHost = new URL(this.base).hostname;
    const problem = redirectProblem(realm, registryHost);
    if (problem) throw new RegistryError(`token realm ${problem.replace(/^redirect to /, "")}`);
    const own = realm.hostname === registryHost;
    const response = await fetch(realm, {
      headers: credentials ? { authorization: basicHeader(credentials) } : {},
      redirect: "manual",
      ...(own ? this.tlsInit() : { dispatcher: publicDispatcher() as never }),
    }).catch((error: Error & { cause?: Error }) => {
      throw new RegistryError(`failed to fetch an authorization token from ${realm.origin}: ${error.cause?.message ?? error.message}`);
    });
    if (!response.ok) throw new RegistryError(`unauthorized: the token server answered ${response.status}`, 401);
    // Read bounded (a token is a few KiB), and never quoted back: the answer is the token server's.
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(await boundedText(response)) as typeof body;
    } catch {
      throw new RegistryError("unauthorized: the token server's answer is not JSON", 401);
    }
    const token = body?.token ?? body?.access_token;
    if (typeof token !== "string" || token === "" || /[^\x21-\x7e]/.test(token)) throw new RegistryError("unauthorized: the token server gave no token", 401);
    this.authorization = `Bearer ${token}`;
    // 60 s is the spec's default lifetime; renew a little early.
    this.tokenExpiresAt =
      Date.now() + Math.max((typeof body.expires_in === "number" && Number.isFinite(body.expires_in) ? body.expires_in : 60) - 10, 5) * 1000;
  }
}

/**
 * The distribution spec's error codes ("Error Codes"), each with a fixed text. A failure is
 * described by its status and these codes only: the registry's own messages are never passed on,
 * since they end up in a task's stoppedReason, which other principals can read.
 */
const ERROR_CODES: Readonly<Record<string, string>> = {
  BLOB_UNKNOWN: "blob unknown to registry",
  BLOB_UPLOAD_INVALID: "blob upload invalid",
  BLOB_UPLOAD_UNKNOWN: "blob upload unknown to registry",
  DIGEST_INVALID: "provided digest did not match uploaded content",
  MANIFEST_BLOB_UNKNOWN: "manifest references a manifest or blob unknown to registry",
  MANIFEST_INVALID: "manifest invalid",
  MANIFEST_UNKNOWN: "manifest unknown",
  NAME_INVALID: "invalid repository name",
  NAME_UNKNOWN: "repository name not known to registry",
  SIZE_INVALID: "provided length did not match content length",
  UNAUTHORIZED: "authentication required",
  DENIED: "requested access to the resource is denied",
  UNSUPPORTED: "the operation is unsupported",
  TOOMANYREQUESTS: "too many requests",
};

function describeFailure(status: number, body: string): string {
  let codes: string[] = [];
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown }[] };
    codes = [
      ...new Set(
        (Array.isArray(parsed.errors) ? parsed.errors : [])
          .map((error) => (typeof error?.code === "string" ? error.code : ""))
          .filter((code) => Object.hasOwn(ERROR_CODES, code)),
      ),
    ];
  } catch {
    // Not the spec's JSON: the status alone describes it.
  }
  const detail = codes.map((code) => `${code}: ${ERROR_CODES[code]}`).join("; ");
  if (status === 401) return `unauthorized: ${detail || "authentication required"}`;
  if (status === 403) return `denied: ${detail || "access denied"}`;
  if (status === 404) return `not found${detail ? `: ${detail}` : ""}`;
  return `unexpected status ${status}${detail ? `: ${detail}` : ""}`;
}
