/** Injectable clock and timers, so state machines run on fake time in tests. */
export type TimerHandle = unknown;

export interface ClientTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const realTimers: ClientTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Exponential backoff: base · 2^attempt, capped, with up to 20 % jitter below the value. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.max(baseMs, Math.round(exp * (1 - 0.2 * random())));
}
