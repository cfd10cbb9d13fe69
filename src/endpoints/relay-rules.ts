// What the API relay at 169.254.170.2 passes on, and how (pure): which requests go to the control
// plane, which headers travel, and the limits. api-relay.ts does the I/O.
//
// A request is relayed only when it is a SigV4-signed AWS API request (an `AWS4-HMAC-SHA256`
// Authorization header, or a presigned query naming that algorithm): the relay then gives a task
// nothing it could not do with valid credentials from anywhere, since the server still verifies the
// signature and checks the policy of every call. Refused:
//   /_berth/…  the agent protocol and the server's own routes: a task is never an agent (refused
//              signed or not).
//   /v2/…      when signed: the registry (its auth is Basic/Bearer, not SigV4, so nothing a task could
//              legitimately send there would be relayed anyway; refusing it says so plainly).
//   a target that is not a path (absolute-form `http://host/…`, `*`): the relay is not a proxy.
// The paths are checked after percent-decoding and with runs of slashes folded, so `/%5Fberth/`
// or `//_berth/` cannot slip past a check the server's router would then read differently.

export interface RelayLimits {
  /** The gateway's default body limit: a bigger body would be refused there anyway. */
  readonly maxBodyBytes: number;
  /** Relayed requests in flight, per task and on the whole agent. */
  readonly perTask: number;
  readonly total: number;
  /** From the request's arrival to the end of the control plane's answer. */
  readonly timeoutMs: number;
  /**
   * Failed authentications (401/403 answers) a task may cause, and the agent in all, as token
   * buckets. Every relayed call reaches the server from this host's address, which the server
   * throttles after too many failures (100/s, burst 1,000 by default): one task signing garbage
   * must not spend that budget and lock the host's agent and other tasks out.
   */
  readonly failuresPerTaskPerSecond: number;
  readonly failuresPerTaskBurst: number;
  readonly failuresPerSecond: number;
  readonly failuresBurst: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = Object.freeze({
  maxBodyBytes: 2 * 1024 * 1024,
  perTask: 8,
  total: 64,
  timeoutMs: 60_000,
  failuresPerTaskPerSecond: 10,
  failuresPerTaskBurst: 100,
  failuresPerSecond: 40,
  failuresBurst: 400,
});

export type RelayVerdict = "relay" | "refuse" | "local";

const RELAYED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE"]);
const SIGV4 = "AWS4-HMAC-SHA256";

/** The path as the server's router could read it: decoded, slashes folded, lower case; undefined when it cannot be decoded. */
function normalPath(url: string): string | undefined {
  const raw = url.split("?")[0]!;
  try {
    return decodeURIComponent(raw)
      .replace(/\/{2,}/g, "/")
      .toLowerCase();
  } catch {
    return undefined;
  }
}

function presigned(url: string): boolean {
  const query = url.indexOf("?");
  if (query < 0) return false;
  return new URLSearchParams(url.slice(query + 1)).get("X-Amz-Algorithm") === SIGV4;
}

/**
 * Whether a request the metadata endpoint does not answer itself (its own paths are parsed first)
 * is relayed, refused outright, or answered locally as before (404/405).
 */
export function relayVerdict(method: string | undefined, url: string | undefined, authorization: string | string[] | undefined): RelayVerdict {
  if (!url || !url.startsWith("/")) return "refuse";
  const path = normalPath(url);
  if (path === undefined || path === "/_berth" || path.startsWith("/_berth/")) return "refuse";
  const signed = (typeof authorization === "string" && authorization.startsWith(`${SIGV4} `)) || presigned(url);
  // Unsigned: the endpoint's own answers (404, 405), as before the relay existed.
  if (!signed) return "local";
  if (path === "/v2" || path.startsWith("/v2/")) return "refuse";
  return RELAYED_METHODS.has(method ?? "") ? "relay" : "refuse";
}

/**
 * Hop-by-hop headers (RFC 9110 7.6.1) are the relay's own business on each side and never
 * travel; neither does Content-Length (the relay sends the body it read with its own) nor Expect
 * (the relay has already read the body). Host always travels as sent: SigV4 signs it.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const NOT_FORWARDED = new Set([...HOP_BY_HOP, "content-length", "expect"]);

/** The headers a Connection header names (they are hop-by-hop too). */
function namedByConnection(raw: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "connection") continue;
    for (const token of raw[i + 1]!.split(",")) named.add(token.trim().toLowerCase());
  }
  return named;
}

function filtered(raw: readonly string[], drop: ReadonlySet<string>, keep?: string): string[] {
  const named = namedByConnection(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name !== keep && (drop.has(name) || named.has(name))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** The request's headers as sent (rawHeaders form: names as the client wrote them, repeats kept), less hop-by-hop ones. */
export function requestHeadersToForward(raw: readonly string[], bodyBytes: number): string[] {
  return [...filtered(raw, NOT_FORWARDED, "host"), "Content-Length", String(bodyBytes)];
}

/** The answer's headers for the task, less hop-by-hop ones (Content-Length stays: the body passes unchanged). */
export function responseHeadersToReturn(raw: readonly string[]): string[] {
  return filtered(raw, HOP_BY_HOP);
}

/**
 * A token bucket per key, and one for all, counting failed authentications. A request takes a
 * token from both when it is admitted (`reserve`) and gives it back only once its answer proved not
 * to be such a failure (`refund`). So requests in flight count as failures until they are not, and
 * one the task abandons, or whose answer never comes, stays counted: the server has checked its
 * signature (and charged this host's address for it) whatever the task does next. Without that, a
 * task holding many requests in flight, or hanging up before the answers, got far more failures
 * through than the budget allows, enough to have the server throttle the host's address (and with
 * it the agent's own calls).
 */
export class FailureBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limits: Pick<RelayLimits, "failuresPerTaskPerSecond" | "failuresPerTaskBurst" | "failuresPerSecond" | "failuresBurst">,
    private readonly now: () => number,
  ) {}

  private level(key: string, rate: number, burst: number): { tokens: number; at: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    return bucket;
  }

  private store(key: string, bucket: { tokens: number; at: number }, burst: number): void {
    // A full bucket is the default: forgetting it costs nothing, so the map holds only recent users.
    if (bucket.tokens >= burst) this.buckets.delete(key);
    else this.buckets.set(key, bucket);
  }

  private both(key: string): [string, { tokens: number; at: number }, number][] {
    const { failuresPerTaskPerSecond, failuresPerTaskBurst, failuresPerSecond, failuresBurst } = this.limits;
    return [
      [`task\0${key}`, this.level(`task\0${key}`, failuresPerTaskPerSecond, failuresPerTaskBurst), failuresPerTaskBurst],
      ["all", this.level("all", failuresPerSecond, failuresBurst), failuresBurst],
    ];
  }

  /** Takes a token for one request of `key` from its bucket and the agent's; false (nothing taken) when either is empty. */
  reserve(key: string): boolean {
    const buckets = this.both(key);
    const admitted = buckets.every(([, bucket]) => bucket.tokens >= 1);
    for (const [name, bucket, burst] of buckets) {
      if (admitted) bucket.tokens -= 1;
      this.store(name, bucket, burst);
    }
    return admitted;
  }

  /** Gives back a reserved token: the request's answer was not a failed authentication. */
  refund(key: string): void {
    for (const [name, bucket, burst] of this.both(key)) {
      bucket.tokens = Math.min(burst, bucket.tokens + 1);
      this.store(name, bucket, burst);
    }
  }
}
