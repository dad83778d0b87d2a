/**
 * Expiry scheduling for many items with one timer: items are bucketed by `resolutionMs` and the
 * single timer always targets the earliest bucket. Keeps per-subscription memory small (no timer
 * object per subscription) — 10,000 held subscriptions cost one timer.
 */
import type { TimerApi } from "../sip";

export class ExpiryWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly where = new Map<T, number>();
  private timer: unknown;
  private timerAt = Infinity;

  constructor(
    private readonly timers: TimerApi,
    private readonly now: () => number,
    private readonly onExpire: (item: T) => void,
    private readonly resolutionMs = 250,
  ) {}

  /** (Re)schedule `item` to expire at wall-clock `at` (ms). */
  set(item: T, at: number): void {
    this.delete(item);
    const bucket = Math.ceil(at / this.resolutionMs) * this.resolutionMs;
    let s = this.buckets.get(bucket);
    if (!s) this.buckets.set(bucket, (s = new Set()));
    s.add(item);
    this.where.set(item, bucket);
    if (bucket < this.timerAt) this.arm(bucket);
  }

  delete(item: T): void {
    const b = this.where.get(item);
    if (b === undefined) return;
    this.where.delete(item);
    const s = this.buckets.get(b);
    s?.delete(item);
    if (s && s.size === 0) this.buckets.delete(b);
  }

  get size(): number {
    return this.where.size;
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.buckets.clear();
    this.where.clear();
  }

  private arm(at: number): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => this.fire(), Math.max(0, at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    const due: T[] = [];
    for (const [b, s] of this.buckets) {
      if (b <= now) {
        for (const item of s) {
          due.push(item);
          this.where.delete(item);
        }
        this.buckets.delete(b);
      }
    }
    let next = Infinity;
    for (const b of this.buckets.keys()) if (b < next) next = b;
    if (next !== Infinity) this.arm(next);
    for (const item of due) this.onExpire(item);
  }
}
