/** RFC 3261 §17 timer values (Table 4) and an injectable timer/clock so tests run on fake time. */

/** RTT estimate. */
export const T1 = 500;
/** Maximum retransmit interval for non-INVITE requests. */
export const T2 = 4000;
/** Maximum duration a message remains in the network. */
export const T4 = 5000;
/** Non-INVITE request retransmit: starts at T1, doubles up to T2 (§17.1.2.2). */
export const TIMER_E_INITIAL = T1;
/** Non-INVITE client transaction timeout: 64·T1 (§17.1.2.2). */
export const TIMER_F = 64 * T1;
/** Wait for response retransmits in the client: T4 on unreliable transports, 0 on reliable (§17.1.2.2). */
export const timerK = (reliable: boolean): number => (reliable ? 0 : T4);
/** Wait for request retransmits in the server: 64·T1 unreliable, 0 reliable (§17.2.2). */
export const timerJ = (reliable: boolean): number => (reliable ? 0 : 64 * T1);

export type TimerHandle = unknown;

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
}

export const realTimers: TimerApi = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};
