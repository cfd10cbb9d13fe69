// Per-client request limits, as token buckets (a bucket holds up to `burst` tokens, refills at
// `ratePerSecond`, and a request that finds it empty is refused).
//
//   - per remote address, failed authentications: what an attacker holding nothing can spend. An
//     address whose bucket is empty is refused before any work (no signature, no store read).
//     Only failures take tokens, so a busy legitimate client is never slowed by its own successes.
//   - per access key, authenticated requests (off unless configured): a runaway script holding a
//     key. Charged only after the signature checks, so no one can spend another key's tokens by
//     naming it.
//
// Refusals are AWS's ThrottlingException "Rate exceeded" on the JSON protocols, which the SDKs and
// the CLI retry with backoff; the registry answers 429 TOOMANYREQUESTS (distribution spec).
export interface ThrottleLimits {
  /** Authenticated requests per second per access key; 0 turns the key limit off. */
  readonly perKeyRatePerSecond: number;
  readonly perKeyBurst: number;
  /** Failed authentications per second per remote address; 0 turns the address limit off. */
  readonly authFailuresPerAddressPerSecond: number;
  readonly authFailuresPerAddressBurst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Past this many tracked clients, buckets that have refilled completely are forgotten. */
const PRUNE_ABOVE = 10_000;

class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  private refilled(key: string): Bucket | undefined {
    const bucket = this.buckets.get(key);
    if (!bucket) return undefined;
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = now;
    return bucket;
  }

  /** Whether a request would find a token, without taking it. */
  has(key: string): boolean {
    const bucket = this.refilled(key);
    return !bucket || bucket.tokens >= 1;
  }

  /** Takes a token; false when there was none. */
  take(key: string): boolean {
    let bucket = this.refilled(key);
    if (!bucket) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune();
      bucket = { tokens: this.burst, at: this.now() };
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private prune(): void {
    for (const key of [...this.buckets.keys()]) {
      const bucket = this.refilled(key)!;
      if (bucket.tokens >= this.burst) this.buckets.delete(key);
    }
  }
}

export class RequestThrottle {
  private readonly failures: TokenBuckets | undefined;
  private readonly keys: TokenBuckets | undefined;

  constructor(limits: ThrottleLimits, now: () => number = () => performance.now()) {
    this.failures =
      limits.authFailuresPerAddressPerSecond > 0
        ? new TokenBuckets(limits.authFailuresPerAddressPerSecond, limits.authFailuresPerAddressBurst, now)
        : undefined;
    this.keys = limits.perKeyRatePerSecond > 0 ? new TokenBuckets(limits.perKeyRatePerSecond, limits.perKeyBurst, now) : undefined;
  }

  /** Whether an address may try at all (it has not spent its failed-authentication allowance). */
  addressMayTry(address: string): boolean {
    return this.failures?.has(address) ?? true;
  }

  /** An authentication from this address failed. */
  chargeFailure(address: string): void {
    this.failures?.take(address);
  }

  /** An authenticated request of this key; false when the key is over its rate. */
  admitKey(accessKeyId: string): boolean {
    return this.keys?.take(accessKeyId) ?? true;
  }
}
