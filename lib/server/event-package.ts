/**
 * Event packages behind one interface (RFC 6665 §7): the notifier (`Notifier`) owns subscription
 * state, dialogs and NOTIFY delivery; a package decides who may subscribe, what a NOTIFY carries
 * and what it keeps per subscription. That per-subscription state lives in the subscription's
 * `slot`, which only the package reads or writes: the dispatcher, the notifier and persistence
 * carry it without knowing what it is (persisted through `saveSlot` / `restoreSlot`).
 *
 * The presence package (RFC 3856) and watcher info (RFC 3857) are built in; other packages are
 * added with `PresenceServer.addPackage` (xcap-diff, RFC 5875) or, for resources of their own,
 * `PresenceServer.addSubscribeRoute` (the RLS, RFC 4662, for its service URIs). See
 * docs/architecture.md.
 */
import type { WatcherIdentity } from "../presence";
import type { SipRequest } from "../sip";
import type { StateRow } from "./state-store";

/** Subscription-State reasons (RFC 6665 §8.2.3 / RFC 3857 event values). */
export type TerminationReason = "deactivated" | "probation" | "rejected" | "timeout" | "giveup" | "noresource" | "invariant";

export type SubscriptionStatus = "pending" | "active" | "terminated";

/** A package's decision about one subscriber (initial SUBSCRIBE, refresh, or re-evaluation). */
export interface SubscriptionDecision {
  status: SubscriptionStatus;
  /** For `terminated`. */
  reason?: TerminationReason;
  /** The package's own state for this subscription, stored in its `slot` (presence: the watcher's permissions). */
  slot?: unknown;
  /**
   * Initial SUBSCRIBE only: answer with this final status instead of creating a subscription
   * (presence answers 403 to a blocked watcher, RFC 5025 §3.2.1).
   */
  rejectWith?: { status: number; reason?: string };
}

export interface NotifyBody {
  contentType: string;
  /** Serialized once and shared by every watcher with the same permissions. */
  body: Buffer;
  /** Parsed form when the package has one (internal subscribers get it without reparsing). */
  document?: unknown;
}

/** What a package sees of a subscription. */
export interface SubscriptionView {
  readonly id: string;
  readonly event: string;
  /** The resource (presentity AOR, or RLS service URI). */
  readonly resource: string;
  /** Watcher identity (AOR of the authenticated subscriber). */
  readonly watcher: string;
  readonly watcherDisplayName?: string;
  readonly status: SubscriptionStatus;
  /**
   * The package's own per-subscription state: set from the decision that created the
   * subscription, then read and replaced only by the package (call `PackageNotifier.slotChanged`
   * after replacing a slot that persists).
   */
  slot: unknown;
  /** Accept header values of the SUBSCRIBE (empty = package default). */
  readonly accept: readonly string[];
  /** Supported option tags of the SUBSCRIBE (e.g. `eventlist`). */
  readonly supported: readonly string[];
  /** True for subscriptions created through `subscribeInternal` (RLS back ends). */
  readonly internal: boolean;
  /** Seconds since creation / until expiry (watcher info). */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** NOTIFY counter for the package's own versioning (winfo, RLMI). Incremented by the notifier per NOTIFY with a body. */
  readonly version: number;
}

export interface SubscribeRequestContext {
  event: string;
  resource: string;
  watcher: WatcherIdentity & { uri: string };
  /** Null for internal subscriptions. */
  supported: readonly string[];
  accept: readonly string[];
  /** True for a refresh of an existing subscription. */
  refresh: boolean;
  /** The SUBSCRIBE itself (absent for internal and restored subscriptions): a package may read its body. */
  request?: SipRequest;
}

/**
 * What a package may do to subscriptions (the notifier implements it). Packages get it through
 * their constructor; they never see the notifier's internals.
 */
export interface PackageNotifier {
  /** Live subscriptions of `event` to `resource`. */
  subscriptionsOf(event: string, resource: string): SubscriptionView[];
  /** Whether `resource` has any live subscription of `event` (without listing them). */
  hasSubscribers(event: string, resource: string): boolean;
  /** Every live subscription (restore hooks filter their own). */
  all(): IterableIterator<SubscriptionView>;
  /** Queue a NOTIFY (coalesced per subscription). */
  notify(sub: SubscriptionView, state: "full" | "partial"): Promise<void>;
  /** Queue a NOTIFY to every live subscription of `event` to `resource` that `filter` keeps. */
  notifyResource(event: string, resource: string, state?: "full" | "partial", filter?: (s: SubscriptionView) => boolean): void;
  /** Move a subscription to another state (RFC 6665 §4.2.2), with the NOTIFY that goes with it. */
  setStatus(sub: SubscriptionView, status: SubscriptionStatus, reason?: TerminationReason): void;
  /** End a subscription, with a final NOTIFY unless `sendFinal` is false. */
  terminate(sub: SubscriptionView, reason: TerminationReason | undefined, sendFinal: boolean): void;
  /** The package replaced the slot of `sub`: persist it (no NOTIFY). */
  slotChanged(sub: SubscriptionView): void;
}

export interface EventPackage {
  /** Event header token, e.g. `presence`. */
  readonly name: string;
  /**
   * The resource must be a local presentity of a served domain — an active account or a virtual
   * presentity (404 otherwise, RFC 6665 §4.2.1.1
   * leaves the code to the package): presence, watcher info, xcap-diff. Checked by the
   * dispatcher before `authorize`, for SIP and internal subscriptions alike.
   */
  readonly localResource?: boolean;
  /** Body types it can produce, preferred first (406 when the Accept header allows none). */
  readonly acceptTypes: readonly string[];
  /** Expires when the SUBSCRIBE has none (RFC 6665 §4.1.2.1). */
  readonly defaultExpires: number;
  /** Shorter non-zero requests get 423 with Min-Expires. */
  readonly minExpires: number;
  /** Longer requests are shortened to this. */
  readonly maxExpires: number;
  /** Decide the subscription state for a subscriber. May throw `SipError` (403, 404, 489...). */
  authorize(ctx: SubscribeRequestContext): Promise<SubscriptionDecision>;
  /**
   * Body of the next NOTIFY for an active subscription (`full` on the initial NOTIFY and after a
   * refresh, `partial` for later changes when the package has partial state, RFC 3857/4662).
   * Undefined means no body (e.g. pending).
   */
  composeBody(sub: SubscriptionView, state: "full" | "partial"): Promise<NotifyBody | undefined>;
  /**
   * The same body when it is at hand without waiting (cached), else null: lets the notifier send
   * the initial NOTIFY in the same turn as the 200 to the SUBSCRIBE. Optional.
   */
  composeBodyNow?(sub: SubscriptionView, state: "full" | "partial"): NotifyBody | undefined | null;
  /**
   * Load what a subscription with this context will need (documents, decisions, composed state)
   * into the package's caches, without subscribing or deciding anything visible. Optional.
   */
  warm?(ctx: SubscribeRequestContext): Promise<void>;
  /**
   * A refresh of `sub` was accepted (SIP or internal): re-decide what the package must (presence
   * re-reads the rules). Returns true when it already queued the NOTIFY the refresh needs (a
   * status change); otherwise the caller sends a full-state NOTIFY (RFC 6665 §4.2.1.2). Optional.
   */
  refreshed?(sub: SubscriptionView, request?: SipRequest): Promise<boolean>;
  /**
   * What of a subscription's slot survives a restart (JSON-safe; undefined persists nothing) and
   * how to rebuild the slot from it. Without `restoreSlot` a restored subscription's slot is
   * undefined.
   */
  saveSlot?(sub: SubscriptionView): unknown;
  restoreSlot?(data: unknown, sub: SubscriptionView): unknown;
  /** Kinds of persisted rows the package keeps itself (presence: `publication`, winfo: `watcher`). */
  readonly stateKinds?: readonly string[];
  /** Rebuild the package's own rows of `kind` (on start, before subscriptions are restored). */
  restoreState?(kind: string, rows: StateRow[]): void;
  /** Persisted subscriptions of this package came back (after the server listens; may be none). */
  restored?(subs: SubscriptionView[]): void;
  /** The server stops: clear timers and listeners. */
  dispose?(): void;
  /** Called when a subscription starts (after the initial NOTIFY was queued) and when it ends. */
  subscriptionStarted?(sub: SubscriptionView): void;
  subscriptionEnded?(sub: SubscriptionView, reason: TerminationReason | undefined): void;
  /** An initial SUBSCRIBE was refused by `rejectWith` (watcher info records the attempt). */
  subscriptionRejected?(ctx: SubscribeRequestContext, info: { id: string; displayName?: string }): void;
  /** Called when a subscription's status changed (pending → active, ...), for watcher info. */
  statusChanged?(sub: SubscriptionView, previous: SubscriptionStatus, reason?: TerminationReason): void;
  /**
   * Extra headers for the 200 to an initial SUBSCRIBE and for every NOTIFY of a subscription
   * (the RLS adds `Require: eventlist`, RFC 4662 §4.5).
   */
  extraHeaders?(sub: SubscriptionView): Array<[string, string]>;
}

/** Update delivered to an internal subscriber (`PresenceServer.subscribeInternal`). */
export interface InternalNotification {
  status: SubscriptionStatus;
  reason?: TerminationReason;
  /** Present for active subscriptions (the same bytes a SIP watcher with these permissions gets). */
  body?: NotifyBody;
  /** True for the first notification and after a refresh. */
  fullState: boolean;
}

export type InternalListener = (n: InternalNotification) => void;

export interface InternalSubscription {
  readonly id: string;
  /** The latest notification (status, body). */
  readonly current: InternalNotification;
  /** Re-authorize and redeliver full state (RLS refresh). */
  refresh(): Promise<InternalNotification>;
  /** End it (RLS list subscription ended or resource removed from the list). */
  close(): void;
}
