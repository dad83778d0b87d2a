/**
 * The owner's watcher-info subscription (RFC 3857 `presence.winfo` to the own AOR,
 * `application/watcherinfo+xml`): pending watchers drive "New contact requests", active ones
 * "who can see me". A version gap is answered with a fresh SUBSCRIBE.
 */
import { EventSubscription, type ClientSubscriptionOptions } from "./event-subscription";
import { applyWatcherInfoNotify, EMPTY_WATCHER_LIST, type WatcherListState } from "./watcher-list-state";
import { CONTENT_TYPES } from "../presence/namespaces";

export interface WatcherInfoSubscriptionOptions extends ClientSubscriptionOptions {
  /** The user's own AOR. */
  aor: string;
  onChange: (state: WatcherListState) => void;
  onResync?: (why: string) => void;
}

export class WatcherInfoSubscription {
  private readonly subscription: EventSubscription;
  private _state: WatcherListState = EMPTY_WATCHER_LIST;

  constructor(private readonly options: WatcherInfoSubscriptionOptions) {
    this.subscription = new EventSubscription({
      ua: options.ua,
      target: options.aor,
      event: "presence.winfo",
      accept: CONTENT_TYPES.watcherinfo,
      expires: options.expires,
      timers: options.timers,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      onNotify: ({ body }) => this.onNotify(body),
      // a new dialog restarts the version sequence (RFC 3858 §4.2); keep the list until full state replaces it
      onNewDialog: () => this.set({ watchers: this._state.watchers }),
      onStateChange: options.onSubscriptionState,
    });
  }

  get state(): WatcherListState {
    return this._state;
  }

  start(): void {
    this.subscription.start();
  }

  stop(): void {
    this.subscription.stop();
  }

  detach(): void {
    this.subscription.detach();
  }

  resync(why: string): void {
    this.options.onResync?.(why);
    this.subscription.restart();
  }

  private onNotify(body: string): void {
    const outcome = applyWatcherInfoNotify(this._state, body);
    if (outcome.kind === "gap") {
      this.resync(`watcherinfo version gap: expected ${outcome.expected ?? "full state"}, got ${outcome.got}`);
      return;
    }
    if (outcome.kind === "applied") this.set(outcome.state);
  }

  private set(state: WatcherListState): void {
    this._state = state;
    this.options.onChange(state);
  }
}
