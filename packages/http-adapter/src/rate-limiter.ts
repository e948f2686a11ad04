/** A client's allowance: `perSecond` sustained, bursts of up to `burst`. */
export interface RateLimitOptions {
  perSecond: number;
  /** Default `perSecond`. */
  burst?: number;
  /**
   * Clients tracked at once. The least recently seen client is forgotten past it (it simply
   * starts again with a full bucket), so a flood of distinct clients cannot grow memory.
   * Default 10,000.
   */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets per client in one insertion-ordered Map: touching a client re-inserts it, so the
 * first key is always the least recently seen one and eviction is O(1).
 */
export class RateLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxClients: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    options: RateLimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(options.perSecond > 0)) throw new TypeError('rate limit: perSecond must be positive');
    this.rate = options.perSecond / 1000;
    this.burst = Math.max(1, options.burst ?? options.perSecond);
    this.maxClients = Math.max(1, options.maxClients ?? 10_000);
  }

  /** Takes one token: 0 when allowed, else the seconds until a token is available. */
  take(client: string): number {
    const now = this.now();
    const bucket = this.buckets.get(client);
    let tokens = this.burst;
    if (bucket) {
      tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.rate);
      this.buckets.delete(client);
    } else if (this.buckets.size >= this.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const allowed = tokens >= 1;
    this.buckets.set(client, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.rate / 1000));
  }

  get size(): number {
    return this.buckets.size;
  }
}
