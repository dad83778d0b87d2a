/** A fixed-window failure counter per key (login attempts per account and per client address). */
export class FailureLimiter {
  private readonly hits = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly options: { max: number; windowMs: number; now?: () => number; maxKeys?: number },
  ) {}

  private now() {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** True while the key has used up its failures for the current window. */
  blocked(key: string): boolean {
    const h = this.hits.get(key);
    if (!h) return false;
    if (h.resetAt <= this.now()) {
      this.hits.delete(key);
      return false;
    }
    return h.count >= this.options.max;
  }

  fail(key: string): void {
    const now = this.now();
    const h = this.hits.get(key);
    if (!h || h.resetAt <= now) {
      if (this.hits.size >= (this.options.maxKeys ?? 100_000)) this.prune();
      this.hits.set(key, { count: 1, resetAt: now + this.options.windowMs });
    } else {
      h.count++;
    }
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private prune() {
    const now = this.now();
    for (const [k, h] of this.hits) if (h.resetAt <= now) this.hits.delete(k);
    // still full: drop the oldest entries (Map keeps insertion order)
    const excess = this.hits.size - Math.floor((this.options.maxKeys ?? 100_000) * 0.9);
    if (excess > 0) for (const k of [...this.hits.keys()].slice(0, excess)) this.hits.delete(k);
  }
}
