/**
 * The one RLS subscription of the buddy list (RFC 4662): SUBSCRIBE to the user's presence list
 * service `sip:<user>+presence@<domain>` with `Supported: eventlist`, NOTIFY bodies merged into
 * a ResourceListState; a version gap is answered with a fresh SUBSCRIBE (full state).
 */
import { EventSubscription, type ClientSubscriptionOptions, type EventSubscriptionState } from "./event-subscription";
import {
  applyRlsNotify,
  EMPTY_RESOURCE_LIST,
  markResourceListStale,
  resetResourceListVersion,
  type ResourceListState,
} from "./resource-list-state";
import type { ClientTimers } from "./timers";
import { realTimers } from "./timers";
import { CONTENT_TYPES } from "../presence/namespaces";

export const RLS_ACCEPT = [CONTENT_TYPES.multipartRelated, CONTENT_TYPES.rlmi, CONTENT_TYPES.pidf].join(", ");

/** `sip:alice@example.test` → `sip:alice+presence@example.test` (the Blink / python-sipsimple service URI). */
export function presenceListUri(aor: string, event = "presence"): string {
  const m = /^(sips?):([^@]+)@(.+)$/i.exec(aor.trim());
  if (!m) throw new TypeError(`not a SIP address of record: ${aor}`);
  return `${m[1]}:${m[2]}+${event}@${m[3]}`;
}

export interface ResourceListSubscriptionOptions extends ClientSubscriptionOptions {
  /** The list service URI. */
  uri: string;
  onChange: (state: ResourceListState) => void;
  /** Diagnostics: a version gap or an unreadable body forced a fresh subscription. */
  onResync?: (why: string) => void;
}

export class ResourceListSubscription {
  private readonly subscription: EventSubscription;
  private readonly timers: ClientTimers;
  private _state: ResourceListState = EMPTY_RESOURCE_LIST;

  constructor(private readonly options: ResourceListSubscriptionOptions) {
    this.timers = options.timers ?? realTimers;
    this.subscription = new EventSubscription({
      ua: options.ua,
      target: options.uri,
      event: "presence",
      accept: RLS_ACCEPT,
      expires: options.expires,
      // RFC 4662 §5.1: the subscriber announces that it understands list notifications
      extraHeaders: ["Supported: eventlist"],
      timers: options.timers,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      onNotify: ({ body, contentType }) => this.onNotify(contentType, body),
      onNewDialog: () => this.set(resetResourceListVersion(this._state)),
      onStateChange: (state, reason) => {
        if (state === "terminated" || state === "waiting-retry") this.set(markResourceListStale(this._state, this.timers.now()));
        options.onSubscriptionState?.(state, reason);
      },
    });
  }

  get state(): ResourceListState {
    return this._state;
  }

  get subscriptionState(): EventSubscriptionState {
    return this.subscription.state;
  }

  start(): void {
    this.subscription.start();
  }

  stop(): void {
    this.subscription.stop();
    this.set(markResourceListStale(this._state, this.timers.now()));
  }

  /** Connection lost: nothing here is live any more. */
  detach(): void {
    this.subscription.detach();
    this.set(markResourceListStale(this._state, this.timers.now()));
  }

  /** Fresh SUBSCRIBE for full state. */
  resync(why: string): void {
    this.options.onResync?.(why);
    this.subscription.restart();
  }

  private onNotify(contentType: string, body: string): void {
    const outcome = applyRlsNotify(this._state, contentType, body, this.timers.now());
    if (outcome.kind === "gap") {
      this.resync(`RLMI version gap: expected ${outcome.expected ?? "full state"}, got ${outcome.got}`);
      return;
    }
    if (outcome.kind === "applied") this.set(outcome.state);
  }

  private set(state: ResourceListState): void {
    if (state === this._state) return;
    this._state = state;
    this.options.onChange(state);
  }
}
