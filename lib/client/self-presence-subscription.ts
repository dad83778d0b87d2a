/**
 * Subscription to the user's own presence (RFC 3856 `presence` to the own AOR), so a status set in
 * another tab or device shows here: every NOTIFY is summarized (all devices' tuples).
 */
import { parsePidf, summarizePresence, type PresenceSummary } from "../presence";
import { EventSubscription, type ClientSubscriptionOptions } from "./event-subscription";
import { CONTENT_TYPES } from "../presence/namespaces";

export interface SelfPresenceSubscriptionOptions extends ClientSubscriptionOptions {
  aor: string;
  onChange: (summary: PresenceSummary | undefined) => void;
}

export class SelfPresenceSubscription {
  private readonly subscription: EventSubscription;
  private _summary?: PresenceSummary;

  constructor(private readonly options: SelfPresenceSubscriptionOptions) {
    this.subscription = new EventSubscription({
      ua: options.ua,
      target: options.aor,
      event: "presence",
      accept: CONTENT_TYPES.pidf,
      expires: options.expires,
      timers: options.timers,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      onNotify: ({ body, contentType }) => {
        if (!/^application\/pidf\+xml/i.test(contentType.trim())) return;
        this.set(summarizePresence(parsePidf(body)));
      },
      onStateChange: options.onSubscriptionState,
    });
  }

  get summary(): PresenceSummary | undefined {
    return this._summary;
  }

  start(): void {
    this.subscription.start();
  }

  stop(): void {
    this.subscription.stop();
    this.set(undefined);
  }

  detach(): void {
    this.subscription.detach();
    this.set(undefined);
  }

  private set(summary: PresenceSummary | undefined): void {
    this._summary = summary;
    this.options.onChange(summary);
  }
}
