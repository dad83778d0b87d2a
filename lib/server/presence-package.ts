/**
 * The `presence` event package (RFC 3856) with its PUBLISH side (RFC 3903): publications,
 * composition, authorization by pres-rules, per-permission body cache and the per-presentity
 * notification rate limit (RFC 3856 §6.10).
 *
 * Composition rule (documented in lib/presence/presence-composition.ts): live publications merged
 * by (kind, id), most recent wins; a registration-derived tuple for each binding no publication
 * describes (registered → open; the last binding gone → the tuple disappears, and with no tuple
 * left a single closed tuple is shown); the pidf-manipulation document's notes always, its
 * tuples/persons (offline status) only when no device publishes.
 *
 * Authorization (RFC 5025 §3.2.1 sub-handling): allow → active with the transformed document;
 * polite-block → active with a neutral closed document and no later NOTIFYs (the document never
 * changes); confirm (and no rules document) → pending, NOTIFY without body; block → 403 to an
 * initial SUBSCRIBE (RFC 5025 §3.2.1 "reject"), `terminated;reason=rejected` for an existing
 * subscription whose rules change.
 *
 * Bodies: one composition per presentity change; one serialized body per distinct permission
 * set, shared by every watcher with those permissions (and by RLS back-end subscriptions).
 */
import {
  applyTransformations,
  composePresence,
  neutralPresence,
  parsePidf,
  PresencePayloadError,
  type Permissions,
  type PresenceDocument,
} from "../presence";
import { SipError, createResponse, randomToken, type SipLogger, type SipRequest, type SipResponse, type TimerApi } from "../sip";
import type { EventPackage, NotifyBody, SubscribeRequestContext, SubscriptionDecision, SubscriptionStatus, SubscriptionView, TerminationReason } from "./event-package";
import { SipErrorWithHeaders } from "./errors";
import { ExpiryWheel } from "./expiry-wheel";
import type { Notifier, Subscription } from "./notifier";
import { permissionsKey, type PresenceAuthorizer } from "./presence-authorizer";
import type { Registrar } from "./registrar";
import type { StateRow, WriteBehind } from "./state-store";
import type { WatcherInfoPackage } from "./winfo-package";

export const PIDF_TYPE = "application/pidf+xml";

interface PublicationEntry {
  etag: string;
  presentity: string;
  xml: string;
  document: PresenceDocument;
  publishedAt: number;
  expiresAt: number;
}

interface ComposedState {
  version: number;
  xml: string;
  document: PresenceDocument;
  bodies: Map<string, NotifyBody>;
}

interface PresentityState {
  version: number;
  publications: Map<string, PublicationEntry>;
  composed?: Promise<ComposedState>;
  /** `composed` once it has settled (synchronous reads of the cached composition). */
  ready?: ComposedState;
  lastNotifyAt: number;
  timer?: unknown;
  neutral?: NotifyBody;
}

export interface PresencePackageOptions {
  authorizer: PresenceAuthorizer;
  registrar: Registrar;
  notifier: Notifier;
  winfo: WatcherInfoPackage;
  now: () => number;
  timers: TimerApi;
  persist?: WriteBehind;
  logger?: SipLogger;
  /** Minimum interval between NOTIFY rounds for one presentity (ms). Default 1000; 0 disables. */
  notifyIntervalMs?: number;
  publish?: { defaultExpires?: number; minExpires?: number; maxExpires?: number };
  subscribe?: { defaultExpires?: number; minExpires?: number; maxExpires?: number };
}

export { permissionsKey } from "./presence-authorizer";

export class PresencePackage implements EventPackage {
  readonly name = "presence";
  readonly acceptTypes = [PIDF_TYPE] as const;
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly publishLimits: { defaultExpires: number; minExpires: number; maxExpires: number };
  private readonly o: PresencePackageOptions;
  private readonly log: SipLogger;
  private readonly presentities = new Map<string, PresentityState>();
  private readonly byEtag = new Map<string, PublicationEntry>();
  private readonly wheel: ExpiryWheel<PublicationEntry>;
  private readonly interval: number;
  /** Compositions done (bench/tests: one per change, not per watcher). */
  compositions = 0;

  constructor(options: PresencePackageOptions) {
    this.o = options;
    const log = options.logger;
    this.log = log ? (level, msg, meta) => log(level, `presence:agent ${msg}`, meta) : () => {};
    this.defaultExpires = options.subscribe?.defaultExpires ?? 3600;
    this.minExpires = options.subscribe?.minExpires ?? 60;
    this.maxExpires = options.subscribe?.maxExpires ?? 3600;
    this.publishLimits = { defaultExpires: 3600, minExpires: 60, maxExpires: 7200, ...options.publish };
    this.interval = options.notifyIntervalMs ?? 1000;
    this.wheel = new ExpiryWheel(options.timers, options.now, (p) => this.expirePublication(p));
  }

  // ---- PUBLISH (RFC 3903 §6) -----------------------------------------------------------------

  /** Handle an authorized PUBLISH for `presentity`. Throws SipError for failures. */
  publish(request: SipRequest, presentity: string): SipResponse {
    const now = this.o.now();
    const limits = this.publishLimits;
    const ifMatch = request.getHeader("SIP-If-Match")?.trim();
    let expires = request.expires ?? limits.defaultExpires;
    if (expires > 0 && expires < limits.minExpires) {
      throw new SipErrorWithHeaders(423, "Interval Too Brief", [["Min-Expires", String(limits.minExpires)]]); // RFC 3903 §6 step 5
    }
    expires = Math.min(expires, limits.maxExpires);
    const hasBody = request.body.length > 0;
    let document: PresenceDocument | undefined;
    if (hasBody) {
      const ct = request.contentType?.value;
      if (ct !== PIDF_TYPE) {
        throw new SipErrorWithHeaders(415, "Unsupported Media Type", [["Accept", PIDF_TYPE]]); // §6 step 3
      }
      try {
        document = parsePidf(request.body);
      } catch (e) {
        if (e instanceof PresencePayloadError) throw new SipError(400, `Bad PIDF: ${e.message}`.slice(0, 120));
        throw e;
      }
    }
    let entry: PublicationEntry | undefined;
    if (ifMatch !== undefined) {
      entry = this.byEtag.get(ifMatch);
      if (!entry || entry.presentity !== presentity || entry.expiresAt <= now) throw new SipError(412, "Conditional Request Failed"); // §6 step 4
    } else if (!hasBody) {
      throw new SipError(400, "Initial PUBLISH without body"); // §6 step 4
    }
    if (entry && expires === 0) {
      // removal (§6 step 6)
      this.removePublication(entry);
      this.changed(presentity);
      const res = createResponse(request, 200);
      res.addHeader("SIP-ETag", entry.etag);
      res.addHeader("Expires", "0");
      return res;
    }
    if (!entry && expires === 0) {
      // initial PUBLISH with Expires 0: nothing to keep
      const res = createResponse(request, 200);
      res.addHeader("SIP-ETag", newEtag());
      res.addHeader("Expires", "0");
      return res;
    }
    const etag = newEtag();
    const next: PublicationEntry = {
      etag,
      presentity,
      xml: document ? request.bodyText : (entry as PublicationEntry).xml,
      document: document ?? (entry as PublicationEntry).document,
      publishedAt: document ? now : (entry as PublicationEntry).publishedAt,
      expiresAt: now + expires * 1000,
    };
    if (entry) this.removePublication(entry);
    this.addPublication(next);
    // a refresh (no body) does not change the state: no NOTIFY (RFC 3903 §4.3)
    if (document) this.changed(presentity);
    const res = createResponse(request, 200);
    res.addHeader("SIP-ETag", etag); // §6 step 7: a new entity-tag for every successful PUBLISH
    res.addHeader("Expires", String(expires));
    return res;
  }

  /** Live publications of a presentity (tests/diagnostics). */
  publicationsOf(presentity: string): PublicationEntry[] {
    return [...(this.presentities.get(presentity)?.publications.values() ?? [])];
  }

  /** Remove every publication of `presentity` (the account ended); watchers are notified. */
  removePublications(presentity: string): void {
    const list = this.publicationsOf(presentity);
    for (const p of list) this.removePublication(p);
    if (list.length > 0) this.changed(presentity);
  }

  get publicationCount(): number {
    return this.byEtag.size;
  }

  private addPublication(p: PublicationEntry): void {
    const st = this.state(p.presentity);
    st.publications.set(p.etag, p);
    this.byEtag.set(p.etag, p);
    this.wheel.set(p, p.expiresAt);
    this.o.persist?.mark("publication", p.etag, () =>
      this.byEtag.get(p.etag) === p ? { data: JSON.stringify({ etag: p.etag, presentity: p.presentity, xml: p.xml, publishedAt: p.publishedAt, expiresAt: p.expiresAt }), expiresAt: p.expiresAt } : null,
    );
  }

  private removePublication(p: PublicationEntry): void {
    this.presentities.get(p.presentity)?.publications.delete(p.etag);
    if (this.byEtag.get(p.etag) === p) this.byEtag.delete(p.etag);
    this.wheel.delete(p);
    this.o.persist?.remove("publication", p.etag);
  }

  private expirePublication(p: PublicationEntry): void {
    if (this.byEtag.get(p.etag) !== p) return;
    this.log("debug", "publication expired", { presentity: p.presentity, etag: p.etag });
    this.removePublication(p);
    this.changed(p.presentity);
  }

  restorePublications(rows: StateRow[]): void {
    const now = this.o.now();
    for (const r of rows) {
      try {
        const d = JSON.parse(r.data) as Omit<PublicationEntry, "document">;
        if (d.expiresAt <= now) {
          this.o.persist?.remove("publication", r.key);
          continue;
        }
        const p: PublicationEntry = { ...d, document: parsePidf(d.xml) };
        const st = this.state(p.presentity);
        st.publications.set(p.etag, p);
        this.byEtag.set(p.etag, p);
        this.wheel.set(p, p.expiresAt);
      } catch (e) {
        this.log("warn", "dropping unreadable persisted publication", { key: r.key, error: String(e) });
        this.o.persist?.remove("publication", r.key);
      }
    }
  }

  // ---- state changes and the rate limit (RFC 3856 §6.10) --------------------------------------

  /**
   * The presentity's state changed (publication, registration, pidf-manipulation): recompose
   * once and notify every watcher — at most once per `notifyIntervalMs`; changes inside the
   * window are coalesced into one trailing NOTIFY carrying the final state.
   */
  changed(presentity: string): void {
    const st = this.state(presentity);
    st.version++;
    st.composed = undefined;
    st.ready = undefined;
    if (st.timer !== undefined) return; // trailing round already scheduled: it will carry this state
    const now = this.o.now();
    const wait = st.lastNotifyAt + this.interval - now;
    if (this.interval <= 0 || wait <= 0) {
      st.lastNotifyAt = now;
      this.notifyWatchers(presentity);
    } else {
      st.timer = this.o.timers.setTimeout(() => {
        st.timer = undefined;
        st.lastNotifyAt = this.o.now();
        this.notifyWatchers(presentity);
      }, wait);
    }
  }

  private notifyWatchers(presentity: string): void {
    // polite-blocked watchers only ever see the same neutral document: nothing to send
    this.o.notifier.notifyResource(this.name, presentity, "full", (s) => s.permissions?.subHandling !== "polite-block");
  }

  private state(presentity: string): PresentityState {
    let st = this.presentities.get(presentity);
    if (!st) this.presentities.set(presentity, (st = { version: 0, publications: new Map(), lastNotifyAt: -Infinity }));
    return st;
  }

  /** The composed (untransformed) document of a presentity. */
  async composed(presentity: string): Promise<{ xml: string; document: PresenceDocument }> {
    return this.composedState(presentity);
  }

  private composedState(presentity: string): Promise<ComposedState> {
    const st = this.state(presentity);
    if (st.composed) return st.composed;
    const version = st.version;
    const p = (async () => {
      const manipulation = await this.o.authorizer.pidfManipulation(presentity);
      this.compositions++;
      const c = composePresence(presentity, [...st.publications.values()], {
        now: this.o.now(),
        registrations: this.o.registrar.registrationTuplesOf(presentity),
        manipulation,
      });
      return { version, xml: c.xml, document: c.document, bodies: new Map<string, NotifyBody>() };
    })();
    st.composed = p;
    p.then(
      (c) => {
        if (st.composed === p) st.ready = c;
      },
      () => {
        if (st.composed === p) st.composed = undefined;
      },
    );
    return p;
  }

  // ---- EventPackage ---------------------------------------------------------------------------

  async authorize(ctx: SubscribeRequestContext): Promise<SubscriptionDecision> {
    // shared Permissions objects (see PresenceAuthorizer.share)
    return decisionFor(await this.o.authorizer.authorize(ctx.resource, ctx.watcher), ctx.refresh);
  }

  /** The rules decision for this watcher and the presentity's composition, into their caches. */
  async warm(ctx: SubscribeRequestContext): Promise<void> {
    await Promise.all([this.authorize(ctx), this.composedState(ctx.resource)]);
  }

  /** Body for one watcher: cached per permission set and composition. */
  async composeBody(sub: SubscriptionView): Promise<NotifyBody | undefined> {
    const p = sub.permissions;
    if (!p) return undefined;
    const st = this.state(sub.resource);
    if (p.subHandling === "polite-block") return this.neutralBody(st, sub.resource);
    return this.bodyFor(await this.composedState(sub.resource), sub, p);
  }

  /** `composeBody` from the cached composition; null when it must be (re)composed first. */
  composeBodyNow(sub: SubscriptionView): NotifyBody | undefined | null {
    const p = sub.permissions;
    if (!p) return undefined;
    const st = this.state(sub.resource);
    if (p.subHandling === "polite-block") return this.neutralBody(st, sub.resource);
    return st.ready ? this.bodyFor(st.ready, sub, p) : null;
  }

  private neutralBody(st: PresentityState, presentity: string): NotifyBody {
    st.neutral ??= bodyOf(neutralPresence(presentity).xml);
    return st.neutral;
  }

  private bodyFor(c: ComposedState, sub: SubscriptionView, p: Permissions): NotifyBody {
    const key = (sub as Subscription).permKey ?? permissionsKey(p);
    let body = c.bodies.get(key);
    if (!body) {
      body = key === "full" ? { ...bodyOf(c.xml), document: c.document } : bodyOf(applyTransformations(c.document, p).xml);
      c.bodies.set(key, body);
    }
    return body;
  }

  subscriptionStarted(sub: SubscriptionView): void {
    this.o.winfo.watcherChanged(sub.resource, sub, sub.status === "active" ? "active" : sub.status === "pending" ? "pending" : "terminated", "subscribe");
  }

  subscriptionRejected(ctx: SubscribeRequestContext, info: { id: string; displayName?: string }): void {
    const now = this.o.now();
    this.o.winfo.watcherChanged(ctx.resource, { id: info.id, watcher: ctx.watcher.uri, watcherDisplayName: info.displayName, createdAt: now, expiresAt: now }, "terminated", "rejected");
  }

  statusChanged(sub: SubscriptionView, previous: SubscriptionStatus, reason?: TerminationReason): void {
    if (previous === "pending" && sub.status === "active") this.o.winfo.watcherChanged(sub.resource, sub, "active", "approved");
    else if (sub.status === "terminated") {
      // RFC 3857 §3.2: a pending subscription that times out leaves the watcher waiting
      const waiting = previous === "pending" && (reason === "timeout" || reason === undefined);
      this.o.winfo.watcherChanged(sub.resource, sub, waiting ? "waiting" : "terminated", reason === undefined ? "timeout" : reason === "invariant" ? "deactivated" : reason);
    } else this.o.winfo.watcherChanged(sub.resource, sub, sub.status, sub.status === "pending" ? "subscribe" : "approved");
  }

  /**
   * The presentity's rules changed: re-evaluate every watcher now (RFC 5025 does not make them
   * wait for a refresh) — pending → active with a full NOTIFY, active → terminated, new
   * transformations → a NOTIFY with the new view. Waiting watchers the new rules decide are dropped.
   */
  async reevaluate(presentity: string): Promise<void> {
    const notifier = this.o.notifier;
    for (const sub of notifier.subscriptionsOf(this.name, presentity)) {
      let d: SubscriptionDecision;
      try {
        d = await this.authorize({ event: this.name, resource: presentity, watcher: { uri: sub.watcher, authenticated: true }, supported: sub.supported, accept: sub.accept, refresh: true });
      } catch (e) {
        this.log("error", "re-evaluation failed", { presentity, watcher: sub.watcher, error: String(e) });
        continue;
      }
      this.apply(sub, d);
    }
    await this.o.winfo.reevaluateWaiting(presentity, (watcher) =>
      this.o.authorizer.authorize(presentity, { uri: watcher, authenticated: true }).then((p) => p.subHandling),
    );
  }

  /** Apply a decision to an existing subscription. */
  apply(sub: Subscription, d: SubscriptionDecision): void {
    const notifier = this.o.notifier;
    if (d.status === "terminated") {
      notifier.setStatus(sub, "terminated", d.reason);
      return;
    }
    const key = permissionsKey(d.permissions);
    const permsChanged = key !== sub.permKey;
    sub.permissions = d.permissions;
    sub.permKey = key;
    if (sub.status !== d.status) notifier.setStatus(sub, d.status);
    else if (permsChanged && sub.status === "active") {
      notifier.refresh(sub, sub.expiresAt); // persist new permissions
      void notifier.notify(sub, "full");
    }
  }

  dispose(): void {
    this.wheel.dispose();
    for (const st of this.presentities.values()) if (st.timer !== undefined) this.o.timers.clearTimeout(st.timer);
  }
}

export function decisionFor(permissions: Permissions, refresh: boolean): SubscriptionDecision {
  switch (permissions.subHandling) {
    case "block":
      return refresh
        ? { status: "terminated", reason: "rejected", permissions }
        : { status: "terminated", reason: "rejected", permissions, rejectWith: { status: 403, reason: "Forbidden" } };
    case "confirm":
      return { status: "pending", permissions };
    default:
      return { status: "active", permissions };
  }
}

function bodyOf(xml: string): NotifyBody {
  return { contentType: PIDF_TYPE, body: Buffer.from(xml, "utf8") };
}

function newEtag(): string {
  return randomToken(9, "base64url");
}
