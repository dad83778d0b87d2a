/**
 * The RFC 6665 notifier: owns every subscription (SIP dialogs and internal ones), their state
 * machine (pending / active / terminated), expiry, and NOTIFY delivery. Event packages decide
 * authorization and bodies (event-package.ts).
 *
 * Delivery: NOTIFYs of one subscription are serialized (CSeq order = body order) and coalesced —
 * when several changes arrive while one NOTIFY is being composed, the next NOTIFY carries the
 * latest state once.
 *
 * Next hop of a NOTIFY — the subscriber's own flow or its Contact, never a connection that belongs
 * to someone else (connection ids are unique per transport run, so nothing restored names a
 * connection of this run):
 *  1. the subscription's connection (its last accepted SUBSCRIBE's, or the one we dialled), if open;
 *  2. with a route set, its first Route is the target; without, a binding of the SUBSCRIBER'S OWN
 *     AOR whose contact is the remote target and whose connection is open (RFC 5626/5923: clients
 *     behind NAT or the bridge) — never another user's binding;
 *  3. an open connection to the target's host:port, only one we dialled or one the subscriber
 *     authenticated on (an address claimed by anyone else is not reused);
 *  4. a new TCP/TLS connection to the target (after a restart); the unspecified address (a gone
 *     in-process flow) is never dialled.
 * When all of that fails the subscription ends without a final NOTIFY; the watcher finds out on
 * its next refresh (481) and subscribes again.
 */
import {
  Dialog,
  NameAddr,
  NonInviteClientState,
  internString,
  internStrings,
  SipUri,
  componentLogger,
  parseUri,
  type DialogState,
  type SipConnection,
  type SipLogger,
  type SipRequest,
  type SipResponse,
  type SipTransport,
  type StreamTransport,
  type TransactionLayer,
} from "../sip";
import type {
  EventPackage,
  InternalListener,
  InternalNotification,
  NotifyBody,
  PackageNotifier,
  SubscriptionStatus,
  SubscriptionView,
  TerminationReason,
} from "./event-package";
import { ExpiryWheel, type WheelItem } from "./expiry-wheel";
import type { Registrar } from "./registrar";
import type { WriteBehind } from "./state-store";
import type { TimerApi } from "../sip";

const EMPTY: readonly string[] = Object.freeze([]);
/** The chain of a subscription with no NOTIFY in flight (one shared promise, not one per subscription). */
const IDLE: Promise<void> = Promise.resolve();

export interface SubscriptionRecord {
  id: string;
  event: string;
  eventId?: string;
  resource: string;
  watcher: string;
  watcherDisplayName?: string;
  status: SubscriptionStatus;
  reason?: TerminationReason;
  /** What the package keeps of its slot (`EventPackage.saveSlot`); opaque here. */
  slot?: unknown;
  accept: readonly string[];
  supported: readonly string[];
  createdAt: number;
  expiresAt: number;
  version: number;
  dialog: DialogState;
  connectionId?: string;
}

export class Subscription implements SubscriptionView, WheelItem {
  id: string;
  event: string;
  eventId?: string;
  resource: string;
  watcher: string;
  watcherDisplayName?: string;
  status: SubscriptionStatus = "pending";
  reason?: TerminationReason;
  /** The package's own state (see `SubscriptionView.slot`). */
  slot: unknown = undefined;
  accept: readonly string[] = EMPTY;
  supported: readonly string[] = EMPTY;
  createdAt: number;
  expiresAt: number;
  version = 0;
  pkg: EventPackage;
  dialog?: Dialog;
  connectionId?: string;
  listener?: InternalListener;
  lastInternal?: InternalNotification;
  /** Fetch (Expires: 0, RFC 6665 §4.4.3): the final NOTIFY carries the state. */
  finalBody?: boolean;
  /** A NOTIFY is queued and not yet composed. */
  queued?: "full" | "partial";
  chain: Promise<void> = IDLE;
  /** The notifier's expiry wheel keeps its position here (`WheelItem`). */
  wheelBucket?: number;

  constructor(init: { id: string; event: string; resource: string; watcher: string; createdAt: number; expiresAt: number; pkg: EventPackage }) {
    // thousands of subscriptions share a few AORs and event names: keep one copy of each. The id
    // is owned already (Dialog.idString, a counter, or a parsed JSON row): not copied again
    this.id = init.id;
    this.event = internString(init.event);
    this.resource = internString(init.resource);
    this.watcher = internString(init.watcher);
    this.createdAt = init.createdAt;
    this.expiresAt = init.expiresAt;
    this.pkg = init.pkg;
  }

  get internal(): boolean {
    return this.listener !== undefined;
  }

  toRecord(): SubscriptionRecord {
    return {
      id: this.id,
      event: this.event,
      eventId: this.eventId,
      resource: this.resource,
      watcher: this.watcher,
      watcherDisplayName: this.watcherDisplayName,
      status: this.status,
      reason: this.reason,
      slot: this.pkg.saveSlot?.(this),
      accept: this.accept,
      supported: this.supported,
      createdAt: this.createdAt,
      expiresAt: this.expiresAt,
      version: this.version,
      dialog: (this.dialog as Dialog).toJSON(),
      connectionId: this.connectionId,
    };
  }
}

export interface NotifierOptions {
  transport: SipTransport;
  transactions: TransactionLayer;
  registrar: Registrar;
  now: () => number;
  timers: TimerApi;
  persist?: WriteBehind;
  logger?: SipLogger;
  /** Host to put in our Contact (default: the local address of the connection used). */
  advertisedHost?: string;
  /** Our Contact port per transport (default: the listening ports). */
  contactPort: (t: StreamTransport) => number | undefined;
  userAgent?: string;
  /** Writes a NOTIFY on a connection (default `conn.send`); the server batches it with the 200 it follows. */
  send?: (conn: SipConnection, request: SipRequest) => void;
}

export class Notifier implements PackageNotifier {
  private readonly subs = new Map<string, Subscription>();
  private readonly byResource = new Map<string, Set<Subscription>>();
  private readonly wheel: ExpiryWheel<Subscription>;
  private readonly o: NotifierOptions;
  private readonly log: SipLogger;
  private internalSeq = 0;
  /** NOTIFYs sent / failed (bench and tests). */
  readonly stats = { sent: 0, failed: 0, internal: 0 };

  constructor(options: NotifierOptions) {
    this.o = options;
    this.log = componentLogger("presence:notifier", options.logger);
    this.wheel = new ExpiryWheel(options.timers, options.now, (s) => this.expire(s));
  }

  get size(): number {
    return this.subs.size;
  }

  get(id: string): Subscription | undefined {
    return this.subs.get(id);
  }

  all(): IterableIterator<Subscription> {
    return this.subs.values();
  }

  /** Live subscriptions to a resource for an event package. */
  subscriptionsOf(event: string, resource: string): Subscription[] {
    return [...(this.byResource.get(`${event}\u0000${resource}`) ?? [])];
  }

  hasSubscribers(event: string, resource: string): boolean {
    return (this.byResource.get(`${event}\u0000${resource}`)?.size ?? 0) > 0;
  }

  nextInternalId(): string {
    return `internal-${++this.internalSeq}`;
  }

  /** Register a new subscription (after the package authorized it). */
  add(sub: Subscription): void {
    this.subs.set(sub.id, sub);
    const k = `${sub.event}\u0000${sub.resource}`;
    let s = this.byResource.get(k);
    if (!s) this.byResource.set(k, (s = new Set()));
    s.add(sub);
    if (Number.isFinite(sub.expiresAt)) this.wheel.set(sub, sub.expiresAt);
    this.persist(sub);
  }

  /** New expiry (refresh). */
  refresh(sub: Subscription, expiresAt: number): void {
    sub.expiresAt = expiresAt;
    this.wheel.set(sub, expiresAt);
    this.persist(sub);
  }

  /** The subscription behind a package's view (undefined once it is forgotten). */
  private own(view: SubscriptionView): Subscription | undefined {
    return view instanceof Subscription ? view : this.subs.get(view.id);
  }

  /** The package replaced the slot: persist the subscription. */
  slotChanged(view: SubscriptionView): void {
    const sub = this.own(view);
    if (sub && this.subs.has(sub.id)) this.persist(sub);
  }

  /** Change status (RFC 6665 §4.2.2 state machine), tell the package, NOTIFY. */
  setStatus(view: SubscriptionView, status: SubscriptionStatus, reason?: TerminationReason): void {
    const sub = this.own(view);
    if (!sub) return;
    const previous = sub.status;
    if (previous === status && (status !== "terminated" || sub.listener)) return;
    if (status === "terminated" && sub.listener && reason === "rejected") {
      // internal (RLS back-end) subscriptions stay registered while blocked, so that a later
      // rules change re-evaluates them like any watcher; the listener sees `terminated;rejected`
      sub.status = status;
      sub.reason = reason;
      if (previous !== status) this.safe(() => sub.pkg.statusChanged?.(sub, previous, reason));
      this.notify(sub, "full");
      return;
    }
    sub.status = status;
    sub.reason = reason;
    if (previous !== status) this.safe(() => sub.pkg.statusChanged?.(sub, previous, reason));
    if (status === "terminated") this.terminate(sub, reason, true);
    else {
      this.persist(sub);
      this.notify(sub, "full");
    }
  }

  /**
   * End a subscription: final NOTIFY (terminated;reason=…) unless `sendFinal` is false (the
   * watcher is unreachable), then forget it.
   */
  terminate(view: SubscriptionView, reason: TerminationReason | undefined, sendFinal: boolean): void {
    const sub = this.own(view);
    if (!sub || !this.subs.has(sub.id)) return;
    const previous = sub.status;
    sub.status = "terminated";
    sub.reason = reason;
    if (previous !== "terminated") this.safe(() => sub.pkg.statusChanged?.(sub, previous, reason));
    this.subs.delete(sub.id);
    this.byResource.get(`${sub.event}\u0000${sub.resource}`)?.delete(sub);
    if (this.byResource.get(`${sub.event}\u0000${sub.resource}`)?.size === 0) this.byResource.delete(`${sub.event}\u0000${sub.resource}`);
    this.wheel.delete(sub);
    this.o.persist?.remove("subscription", sub.id);
    this.safe(() => sub.pkg.subscriptionEnded?.(sub, reason));
    if (sendFinal) this.notify(sub, "full", true);
  }

  /** Queue a NOTIFY (coalesced per subscription). */
  notify(view: SubscriptionView, state: "full" | "partial", final = false): Promise<void> {
    const sub = this.own(view);
    if (!sub) return IDLE;
    if (sub.queued && !final) {
      if (state === "full") sub.queued = "full";
      return sub.chain;
    }
    sub.queued = state;
    const run = async () => {
      const kind = sub.queued ?? state;
      sub.queued = undefined;
      if (!final && !this.subs.has(sub.id)) return; // terminated meanwhile: the final NOTIFY went out
      try {
        await this.deliver(sub, kind);
      } catch (e) {
        this.deliveryFailed(sub, e);
      }
    };
    return this.chain(sub, sub.chain.then(run, run));
  }

  /**
   * The initial NOTIFY of a new SIP subscription (RFC 6665 §4.2.1.2), sent before this returns
   * when nothing is in flight, the body is at hand (`composeBodyNow`) and the SUBSCRIBE's
   * connection is open — so it can leave in the same write as the 200. Otherwise as `notify`.
   */
  notifyNow(sub: Subscription): Promise<void> {
    const pkg = sub.pkg;
    if (sub.chain !== IDLE || sub.queued || !sub.dialog || sub.listener || !pkg.composeBodyNow || !this.subs.has(sub.id)) return this.notify(sub, "full");
    const conn = sub.connectionId ? this.o.transport.getConnection(sub.connectionId) : undefined;
    if (!conn) return this.notify(sub, "full");
    let body: NotifyBody | undefined;
    if (this.wantsBody(sub)) {
      const now = pkg.composeBodyNow(sub, "full");
      if (now === null) return this.notify(sub, "full");
      body = now;
    }
    if (body) sub.version++;
    let sent: Promise<void>;
    try {
      sent = this.transmit(sub, conn, body);
    } catch (e) {
      this.deliveryFailed(sub, e);
      return IDLE;
    }
    return this.chain(sub, sent.catch((e: unknown) => this.deliveryFailed(sub, e)));
  }

  /** `chain` becomes the subscription's NOTIFY chain; back to the shared idle promise once it is done and nothing else was queued. */
  private chain(sub: Subscription, chain: Promise<void>): Promise<void> {
    sub.chain = chain;
    void chain.then(() => {
      if (sub.chain === chain) sub.chain = IDLE;
    });
    return chain;
  }

  private deliveryFailed(sub: Subscription, e: unknown): void {
    this.log("error", "NOTIFY failed", { id: sub.id, error: e instanceof Error ? e.message : String(e) });
  }

  /** Notify every subscription to a resource (presence: the presentity changed). */
  notifyResource(event: string, resource: string, state: "full" | "partial" = "full", filter?: (s: SubscriptionView) => boolean): void {
    for (const s of this.byResource.get(`${event}\u0000${resource}`) ?? []) {
      if (s.status === "terminated") continue;
      if (filter && !filter(s)) continue;
      void this.notify(s, state);
    }
  }

  /** Active subscriptions, and fetches ending (RFC 6665 §4.4.3), carry the state. */
  private wantsBody(sub: Subscription): boolean {
    return sub.status === "active" || (sub.status === "terminated" && sub.finalBody === true);
  }

  private async deliver(sub: Subscription, kind: "full" | "partial"): Promise<void> {
    let body: NotifyBody | undefined;
    if (this.wantsBody(sub)) body = await sub.pkg.composeBody(sub, kind);
    if (body) sub.version++;
    if (sub.listener) {
      const n: InternalNotification = { status: sub.status, reason: sub.reason, body, fullState: kind === "full" };
      sub.lastInternal = n;
      this.stats.internal++;
      this.safe(() => sub.listener?.(n));
      return;
    }
    if (!sub.dialog) return;
    let conn: SipConnection;
    try {
      conn = await this.connectionFor(sub);
    } catch (e) {
      this.stats.failed++;
      this.log("info", "watcher unreachable, ending subscription", { id: sub.id, error: e instanceof Error ? e.message : String(e) });
      this.terminate(sub, "timeout", false);
      return;
    }
    await this.transmit(sub, conn, body);
  }

  /** Build the NOTIFY, start its client transaction; resolves once it is answered or failed. */
  private transmit(sub: Subscription, conn: SipConnection, body: NotifyBody | undefined): Promise<void> {
    const dialog = sub.dialog as Dialog;
    const now = this.o.now();
    const remaining = Math.max(0, Math.round((sub.expiresAt - now) / 1000));
    const state =
      sub.status === "terminated"
        ? `terminated${sub.reason ? `;reason=${sub.reason}` : ""}`
        : `${sub.status};expires=${remaining}`;
    const headers: Array<[string, string]> = [
      ["Event", sub.eventId ? `${sub.event};id=${sub.eventId}` : sub.event],
      ["Subscription-State", state],
    ];
    if (this.o.userAgent) headers.push(["User-Agent", this.o.userAgent]);
    const extra = sub.pkg.extraHeaders?.(sub);
    if (extra) headers.push(...extra);
    const req = dialog.createRequest("NOTIFY", {
      via: { transport: conn.transport, host: conn.localAddress, port: conn.localPort },
      contact: this.contactFor(conn),
      headers,
      body: body?.body,
      contentType: body?.contentType,
    });
    if (sub.status !== "terminated") this.persist(sub); // CSeq and version moved
    this.stats.sent++;
    const write = this.o.send;
    const tx = this.o.transactions.sendRequest(req, { send: write ? (r) => write(conn, r) : (r) => conn.send(r), reliable: true });
    return new Promise<void>((resolve) => {
      tx.on("response", (res: SipResponse) => {
        if (res.status < 200) return;
        resolve();
        if (res.status >= 300 && this.subs.has(sub.id)) {
          // RFC 6665 §4.2.2: a failed NOTIFY (481 in particular) removes the subscription
          this.stats.failed++;
          this.log("info", "NOTIFY rejected, ending subscription", { id: sub.id, status: res.status });
          this.terminate(sub, res.status === 481 ? "noresource" : "timeout", false);
        }
      });
      const fail = (what: string) => () => {
        resolve();
        this.stats.failed++;
        if (this.subs.has(sub.id)) {
          this.log("info", `NOTIFY ${what}, ending subscription`, { id: sub.id });
          this.terminate(sub, "timeout", false);
        }
      };
      tx.on("timeout", fail("timed out"));
      tx.on("transportError", fail("transport error"));
      // the write failed inside sendRequest (closed connection): the event went out before we listened
      if (tx.state === NonInviteClientState.Terminated) fail("transport error")();
    });
  }

  /** Next hop for a subscription's NOTIFY (see the module comment). */
  private async connectionFor(sub: Subscription): Promise<SipConnection> {
    const t = this.o.transport;
    if (sub.connectionId) {
      const c = t.getConnection(sub.connectionId);
      if (c) return c;
    }
    const dialog = sub.dialog as Dialog;
    const routes = dialog.routeSet;
    let target: string = dialog.remoteTarget;
    if (routes.length > 0) {
      try {
        target = NameAddr.parse(routes[0]).uri.toString();
      } catch {
        // fall back to the remote target
      }
    } else {
      const b = this.o.registrar.findByContact(sub.watcher, target);
      const c = b?.connectionId ? t.getConnection(b.connectionId) : undefined;
      if (c) {
        sub.connectionId = c.id;
        return c;
      }
    }
    const uri = parseUri(target);
    if (!(uri instanceof SipUri)) throw new Error(`cannot reach ${target}`);
    const tls = uri.scheme === "sips" || uri.transport === "tls";
    if (uri.transport !== undefined && uri.transport !== "tcp" && uri.transport !== "tls") throw new Error(`unsupported transport ${uri.transport}`);
    const host = uri.host.replace(/^\[|\]$/g, "");
    const port = uri.port ?? (tls ? 5061 : 5060);
    // an address anyone may claim: reuse only what we dialled or what the subscriber owns
    const reuse = (c: SipConnection) => c.direction === "outbound" || c.isOwnedBy(sub.watcher);
    const existing = t.findConnection(host, port, tls ? "TLS" : undefined, reuse);
    const c = existing ?? (await t.connect(host, port, tls ? "TLS" : "TCP", reuse));
    sub.connectionId = c.id;
    return c;
  }

  contactFor(conn: SipConnection): string {
    const host = this.o.advertisedHost ?? conn.localAddress;
    const port = this.o.contactPort(conn.transport) ?? conn.localPort;
    const h = host.includes(":") ? `[${host}]` : host;
    return `<sip:${h}:${port};transport=${conn.transport.toLowerCase()}>`;
  }

  private expire(sub: Subscription): void {
    if (!this.subs.has(sub.id)) return;
    if (sub.expiresAt > this.o.now() + 50) {
      this.wheel.set(sub, sub.expiresAt);
      return;
    }
    // RFC 6665 §4.2.2: expired subscriptions end with a final NOTIFY, reason=timeout
    this.terminate(sub, "timeout", true);
  }

  private persist(sub: Subscription): void {
    if (sub.listener || !this.o.persist) return;
    this.o.persist.mark("subscription", sub.id, () => (this.subs.has(sub.id) ? { data: JSON.stringify(sub.toRecord()), expiresAt: sub.expiresAt } : null));
  }

  /**
   * Rebuild persisted subscriptions from their parsed records. `resolve` finds the package of
   * each (undefined drops it); expired and terminated ones are dropped. The package rebuilds its
   * slot from what it saved (`restoreSlot`).
   */
  restore(records: Array<{ key: string; record: SubscriptionRecord }>, resolve: (r: SubscriptionRecord) => EventPackage | undefined): Subscription[] {
    const now = this.o.now();
    const out: Subscription[] = [];
    for (const { key, record: r } of records) {
      const pkg = resolve(r);
      if (r.expiresAt <= now || !pkg || r.status === "terminated") {
        this.o.persist?.remove("subscription", key);
        continue;
      }
      const dialog = Dialog.fromJSON(r.dialog);
      // the map key and the dialog share one id string
      const sub = new Subscription({ id: dialog.idString === r.id ? dialog.idString : r.id, event: r.event, resource: r.resource, watcher: r.watcher, createdAt: r.createdAt, expiresAt: r.expiresAt, pkg });
      sub.eventId = r.eventId;
      if (r.watcherDisplayName !== undefined) sub.watcherDisplayName = internString(r.watcherDisplayName);
      sub.status = r.status;
      sub.reason = r.reason;
      sub.accept = internStrings(r.accept);
      sub.supported = internStrings(r.supported);
      sub.version = r.version;
      sub.dialog = dialog;
      sub.connectionId = undefined; // connections do not survive a restart
      // rows written before packages owned their slot kept presence's permissions under this name
      const saved = r.slot ?? (r as { permissions?: unknown }).permissions;
      try {
        sub.slot = saved === undefined || !pkg.restoreSlot ? undefined : pkg.restoreSlot(saved, sub);
      } catch (e) {
        this.log("warn", "dropping a subscription whose package state could not be restored", { id: r.id, error: e instanceof Error ? e.message : String(e) });
        this.o.persist?.remove("subscription", key);
        continue;
      }
      this.subs.set(sub.id, sub);
      const k = `${sub.event}\u0000${sub.resource}`;
      let s = this.byResource.get(k);
      if (!s) this.byResource.set(k, (s = new Set()));
      s.add(sub);
      this.wheel.set(sub, sub.expiresAt);
      out.push(sub);
    }
    return out;
  }

  /** Wait for every queued NOTIFY (tests, shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.subs.values()].map((s) => s.chain));
  }

  dispose(): void {
    this.wheel.dispose();
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log("error", "event package hook threw", { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
