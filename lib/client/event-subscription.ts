/**
 * One RFC 6665 subscription kept alive on top of JsSIP's Subscriber: JsSIP sends SUBSCRIBE,
 * refreshes it within the dialog and answers NOTIFYs; this class adds what a presence client
 * needs around it — a fresh subscription on demand (a version gap asks for full state), and
 * resubscription with backoff when the subscription ends (RFC 6665 §4.1.3 reasons).
 */
import type { UA } from "jssip";
import type { Subscriber } from "jssip/lib/Subscriber";
import { backoffDelay, realTimers, type ClientTimers, type TimerHandle } from "./timers";

export type EventSubscriptionState = "idle" | "subscribing" | "pending" | "active" | "waiting-retry" | "terminated";

export interface NotifyInfo {
  body: string;
  contentType: string;
  /** Subscription-State: terminated */
  final: boolean;
}

export interface EventSubscriptionOptions {
  ua: UA;
  target: string;
  /** Event header value, e.g. "presence" or "presence.winfo". */
  event: string;
  accept: string;
  /** Requested Expires (default 600). */
  expires?: number;
  extraHeaders?: string[];
  timers?: ClientTimers;
  /** First delay before resubscribing after a failure (default 2000 ms), doubled up to `retryMaxMs` (default 60000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  onNotify: (notify: NotifyInfo) => void;
  /** A new SUBSCRIBE dialog is starting: the next NOTIFY carries full state and a new version sequence. */
  onNewDialog?: () => void;
  onStateChange?: (state: EventSubscriptionState, reason?: string) => void;
}

/** What the client's subscriptions (RLS, winfo, own presence) take from HeraldSipClient alike. */
export interface ClientSubscriptionOptions {
  ua: UA;
  /** Requested Expires (default 600). */
  expires?: number;
  timers?: ClientTimers;
  retryBaseMs?: number;
  retryMaxMs?: number;
  onSubscriptionState?: (state: EventSubscriptionState, reason?: string) => void;
}

/**
 * JsSIP 3.13 serializes an event template package wrongly: its grammar action joins the parsed
 * `event-type` parts without flattening them, so "presence.winfo" goes out as
 * "Event: presence.,winfo" (a server answers 489 Bad Event). JsSIP compares incoming NOTIFYs with
 * the same mangled value, so only the outgoing header needs repair: rewrite it in the Subscriber's
 * header list, used for the initial SUBSCRIBE, refreshes and the un-SUBSCRIBE.
 */
function repairEventHeader(sub: Subscriber, event: string): void {
  const internals = sub as unknown as { _headers?: unknown };
  if (!Array.isArray(internals._headers)) return;
  internals._headers = (internals._headers as string[]).map((h) => (/^\s*event\s*:/i.test(h) ? `Event: ${event}` : h));
}

/** RFC 6665 §4.1.3: reasons after which a subscriber should not try again on its own. */
const NO_RETRY_REASONS = new Set(["rejected", "noresource", "invariant"]);

export class EventSubscription {
  private readonly opts: EventSubscriptionOptions;
  private readonly timers: ClientTimers;
  private current?: Subscriber;
  private retryTimer?: TimerHandle;
  private attempt = 0;
  private stopped = true;
  private _state: EventSubscriptionState = "idle";
  private _reason?: string;

  constructor(options: EventSubscriptionOptions) {
    this.opts = options;
    this.timers = options.timers ?? realTimers;
  }

  get state(): EventSubscriptionState {
    return this._state;
  }

  get reason(): string | undefined {
    return this._reason;
  }

  get target(): string {
    return this.opts.target;
  }

  /** Subscribe (no-op when already running). */
  start(): void {
    if (!this.stopped && this.current) return;
    this.stopped = false;
    this.attempt = 0;
    this.subscribeNow();
  }

  /** End the current dialog (un-SUBSCRIBE) and subscribe afresh: the new dialog's first NOTIFY is full state. */
  restart(): void {
    this.stopped = false;
    this.drop(true);
    this.subscribeNow();
  }

  /** Un-SUBSCRIBE and stay stopped. */
  stop(): void {
    this.stopped = true;
    this.clearRetry();
    this.drop(true);
    this.setState("idle");
  }

  /**
   * The connection is gone: forget the dialog without relying on the network (JsSIP fails the
   * un-SUBSCRIBE locally and clears its refresh timer). start() subscribes again.
   */
  detach(): void {
    this.stopped = true;
    this.clearRetry();
    this.drop(true);
    this.setState("idle");
  }

  private drop(unsubscribe: boolean): void {
    const old = this.current;
    this.current = undefined;
    if (!old) return;
    if (unsubscribe) {
      try {
        old.terminate();
      } catch {
        // InvalidStateError: the SUBSCRIBE was never sent — nothing to end
      }
    }
  }

  private subscribeNow(): void {
    this.clearRetry();
    const { ua, target, event, accept } = this.opts;
    const sub = ua.subscribe(target, event, accept, {
      expires: this.opts.expires ?? 600,
      extraHeaders: this.opts.extraHeaders ?? [],
    });
    repairEventHeader(sub, event);
    this.current = sub;
    sub.on("pending", () => {
      if (this.current !== sub) return;
      this.attempt = 0;
      this.setState("pending");
    });
    sub.on("active", () => {
      if (this.current !== sub) return;
      this.attempt = 0;
      this.setState("active");
    });
    sub.on("notify", (isFinal, request, body, contentType) => {
      if (this.current !== sub || body === undefined) return;
      void request;
      try {
        this.opts.onNotify({ body, contentType: contentType ?? "", final: isFinal });
      } catch (err) {
        // a body we cannot read: ask for full state again rather than show a half-applied list
        this.setState(this._state, `bad NOTIFY body: ${(err as Error).message}`);
        this.scheduleRetry(undefined);
      }
    });
    sub.on("terminated", (code, reason, retryAfter) => {
      if (this.current !== sub) return;
      this.current = undefined;
      if (this.stopped) return;
      this._reason = reason ?? `code ${code}`;
      if (reason && NO_RETRY_REASONS.has(reason)) {
        this.setState("terminated", reason);
        return;
      }
      // deactivated / timeout: resubscribe at once (RFC 6665 §4.1.3); probation / giveup: after retry-after
      if ((reason === "deactivated" || reason === "timeout") && this.attempt === 0) {
        this.attempt++;
        this.subscribeNow();
        return;
      }
      this.scheduleRetry(retryAfter);
    });
    this.opts.onNewDialog?.();
    this.setState("subscribing");
    sub.subscribe();
  }

  private scheduleRetry(retryAfterSeconds: number | undefined): void {
    this.drop(true);
    this.clearRetry();
    const delay =
      retryAfterSeconds !== undefined && retryAfterSeconds > 0
        ? retryAfterSeconds * 1000
        : backoffDelay(this.attempt, this.opts.retryBaseMs ?? 2000, this.opts.retryMaxMs ?? 60_000, this.opts.random);
    this.attempt++;
    this.setState("waiting-retry", this._reason);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.subscribeNow();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private setState(state: EventSubscriptionState, reason?: string): void {
    this._state = state;
    if (reason !== undefined) this._reason = reason;
    this.opts.onStateChange?.(state, reason);
  }
}
