/**
 * At most `max` events per key in any `windowMs`: a sliding log of each key's recent event times,
 * bounded (`maxKeys`; beyond, the key idle longest is dropped). In process memory: a restart
 * forgets it, which only ever allows more. Framework-free.
 */
export interface RateWindowOptions {
  max: number;
  windowMs: number;
  /** Most keys tracked. Default 100,000. */
  maxKeys?: number;
  /** ms clock (tests). Default Date.now. */
  now?: () => number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateWindow {
  private readonly times = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly o: RateWindowOptions) {
    this.now = o.now ?? Date.now;
    this.maxKeys = o.maxKeys ?? 100_000;
  }

  /** Count one event for `key` when it is within the limit; otherwise count nothing and say when. */
  take(key: string): RateDecision {
    const now = this.now();
    const recent = (this.times.get(key) ?? []).filter((t) => t > now - this.o.windowMs);
    this.times.delete(key); // re-inserted last: Map order is then least recently used first
    if (recent.length >= this.o.max) {
      this.times.set(key, recent);
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((recent[0] + this.o.windowMs - now) / 1000)) };
    }
    recent.push(now);
    this.times.set(key, recent);
    if (this.times.size > this.maxKeys) this.times.delete(this.times.keys().next().value!);
    return { allowed: true };
  }
}
