/**
 * Automatic away: after `idleMs` without activity the helper reports idle once, and reports
 * active again at the next activity. Pure logic over an injectable clock; activity sources
 * (DOM events) are wired with `attachActivityListeners`.
 */
import { realTimers, type ClientTimers, type TimerHandle } from "./timers";

export const DEFAULT_IDLE_MINUTES = 10;

export interface AutoAwayOptions {
  /** Default 10 minutes. */
  idleMs?: number;
  timers?: ClientTimers;
  onIdle: () => void;
  onActive: () => void;
}

export class AutoAway {
  private idleMs: number;
  private readonly timers: ClientTimers;
  private readonly opts: AutoAwayOptions;
  private lastActivity = 0;
  private timer?: TimerHandle;
  private running = false;
  private _idle = false;

  constructor(options: AutoAwayOptions) {
    this.opts = options;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MINUTES * 60_000;
    this.timers = options.timers ?? realTimers;
  }

  get idle(): boolean {
    return this._idle;
  }

  /** When activity was last reported (the timers' clock, ms). */
  get lastActivityAt(): number {
    return this.lastActivity;
  }

  get enabled(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastActivity = this.timers.now();
    this.arm(this.idleMs);
  }

  /** Stop watching; if idle was reported, report active (the user switched auto-away off). */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this._idle) {
      this._idle = false;
      this.opts.onActive();
    }
  }

  setIdleMs(ms: number): void {
    this.idleMs = Math.max(1000, ms);
    if (this.running && !this._idle) this.arm(Math.max(0, this.lastActivity + this.idleMs - this.timers.now()));
  }

  /** The user did something (cheap: no timer churn on every mouse move). */
  activity(): void {
    this.lastActivity = this.timers.now();
    if (!this.running) return;
    if (this._idle) {
      this._idle = false;
      this.opts.onActive();
      this.arm(this.idleMs);
    }
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.check(), ms);
  }

  private check(): void {
    this.timer = undefined;
    if (!this.running || this._idle) return;
    const quiet = this.timers.now() - this.lastActivity;
    if (quiet >= this.idleMs) {
      this._idle = true;
      this.opts.onIdle();
    } else {
      this.arm(this.idleMs - quiet);
    }
  }
}

export interface ActivityTarget {
  addEventListener(type: string, listener: () => void, options?: { passive?: boolean; capture?: boolean }): void;
  removeEventListener(type: string, listener: () => void, options?: { capture?: boolean }): void;
}

export const ACTIVITY_EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "focus"] as const;

/** Feed DOM activity into the helper; returns the detach function. */
export function attachActivityListeners(target: ActivityTarget, autoAway: AutoAway, events: readonly string[] = ACTIVITY_EVENTS): () => void {
  const listener = () => autoAway.activity();
  for (const e of events) target.addEventListener(e, listener, { passive: true, capture: true });
  return () => {
    for (const e of events) target.removeEventListener(e, listener, { capture: true });
  };
}
