import type { TimerApi } from "../../../lib/sip/timers";

/** Deterministic fake clock implementing lib/sip's TimerApi. */
export class FakeTimers implements TimerApi {
  private t = 0;
  private seq = 0;
  private queue: Array<{ at: number; seq: number; fn: () => void; id: number }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.queue.push({ at: this.t + ms, seq: id, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.queue = this.queue.filter((e) => e.id !== h);
  }
  get pending(): number {
    return this.queue.length;
  }
  /** Advance time, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
