/**
 * Admission control: at most `max` tasks run at once; the others wait in arrival order (FIFO).
 * Bounds what bursts of work (a reconnect storm's list builds) hold in memory at one time.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Most tasks running at once so far (tests). */
  peakRunning = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`concurrency limit must be at least 1, not ${max}`);
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Run `task` once a slot is free; the slot is given back when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    this.peakRunning = Math.max(this.peakRunning, this.running);
    try {
      return await task();
    } finally {
      // the slot passes straight to the next in line (running stays the same)
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
