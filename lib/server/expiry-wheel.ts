/**
 * Expiry scheduling for many items with one timer: items are bucketed by `resolutionMs` and the
 * single timer always targets the earliest bucket. Keeps per-subscription memory small — no timer
 * object per subscription (10,000 held subscriptions cost one timer), and no map from item to
 * bucket: each item carries its own bucket number (`wheelBucket`, a small integer counted from the
 * wheel's creation, so it costs one field and no boxed number).
 */
import type { TimerApi } from "../sip";

/** What the wheel keeps on an item it schedules (an item belongs to at most one wheel). */
export interface WheelItem {
  /** The item's bucket while it is scheduled; only the wheel reads or writes it. */
  wheelBucket?: number;
}

export class ExpiryWheel<T extends WheelItem> {
  private readonly buckets = new Map<number, Set<T>>();
  /** Bucket numbers count `resolutionMs` steps from here (small integers). */
  private readonly origin: number;
  private count = 0;
  private timer: unknown;
  private timerAt = Infinity;

  constructor(
    private readonly timers: TimerApi,
    private readonly now: () => number,
    private readonly onExpire: (item: T) => void,
    private readonly resolutionMs = 250,
  ) {
    this.origin = now();
  }

  /** (Re)schedule `item` to expire at wall-clock `at` (ms); at the latest bucket end, never before `at`. */
  set(item: T, at: number): void {
    this.delete(item);
    const bucket = Math.ceil((at - this.origin) / this.resolutionMs);
    let s = this.buckets.get(bucket);
    if (!s) this.buckets.set(bucket, (s = new Set()));
    s.add(item);
    item.wheelBucket = bucket;
    this.count++;
    const due = this.timeOf(bucket);
    if (due < this.timerAt) this.arm(due);
  }

  delete(item: T): void {
    const b = item.wheelBucket;
    if (b === undefined) return;
    item.wheelBucket = undefined;
    const s = this.buckets.get(b);
    if (s?.delete(item)) this.count--;
    if (s && s.size === 0) this.buckets.delete(b);
  }

  get size(): number {
    return this.count;
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const s of this.buckets.values()) for (const item of s) item.wheelBucket = undefined;
    this.buckets.clear();
    this.count = 0;
  }

  private timeOf(bucket: number): number {
    return this.origin + bucket * this.resolutionMs;
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
    let next = Infinity;
    for (const [b, s] of this.buckets) {
      const at = this.timeOf(b);
      if (at <= now) {
        for (const item of s) {
          due.push(item);
          item.wheelBucket = undefined;
        }
        this.count -= s.size;
        this.buckets.delete(b);
      } else if (at < next) next = at;
    }
    if (next !== Infinity) this.arm(next);
    for (const item of due) this.onExpire(item);
  }
}
