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
 *
 * The user's own state wins (lib/presence/presence-composition.ts `userStateOf`): while it is
 * Invisible, every watcher but the user gets the composition of an offline user (no publication,
 * no registration: offline status and permanent note), the user's own devices the full one.
 *
 * Publications bound to a flow (RFC 5626 §4.2: an in-process bridge flow, or a TCP connection
 * that carries a reg-id registration of the presentity): when the flow fails the publication
 * ends after `flowGraceMs` unless the flow is recovered first — the same `+sip.instance`
 * registers again over a new flow, or the publication is refreshed or modified with its ETag.
 * A registration of the same `+sip.instance` over another flow while the old one is still open
 * replaces the old flow: its publications end at once. After a restart every flow is gone, so
 * restored flow-bound publications get the same grace.
 */
import {
  applyTransformations,
  composePresence,
  userStateOf,
  neutralPresence,
  parsePidf,
  PresencePayloadError,
  type Permissions,
  type PresenceDocument,
} from "../presence";
import { SipError, componentLogger, createResponse, randomToken, type SipLogger, type SipRequest, type SipResponse, type TimerApi } from "../sip";
import type { EventPackage, NotifyBody, PackageNotifier, SubscribeRequestContext, SubscriptionDecision, SubscriptionStatus, SubscriptionView, TerminationReason } from "./event-package";
import { ExpiryWheel } from "./expiry-wheel";
import { permissionsKey, type PresenceAuthorizer } from "./presence-authorizer";
import type { Binding, Registrar } from "./registrar";
import type { StateRow, WriteBehind } from "./state-store";
import type { WatcherInfoPackage } from "./winfo-package";
import { CONTENT_TYPES } from "../presence/namespaces";

interface PublicationEntry {
  etag: string;
  presentity: string;
  xml: string;
  document: PresenceDocument;
  publishedAt: number;
  expiresAt: number;
  /** Connection the publication was made or last refreshed over. */
  connectionId?: string;
  /** Ends with its flow (see the file comment). */
  flowBound?: boolean;
  /** `+sip.instance` of the device (normalized), once its registration on the flow is known. */
  instance?: string;
  /** The flow failed: the publication ends at this time unless the flow is recovered. */
  graceUntil?: number;
  /** The expiry wheel's position (`WheelItem`); not persisted. */
  wheelBucket?: number;
}

/** Where a PUBLISH came from (the server fills it in). */
export interface PublicationOrigin {
  connectionId: string;
  /** An in-process flow (the WebSocket bridge in front of the embedded server). */
  inProcessFlow?: boolean;
}

/**
 * A presence subscription's slot: the watcher's permissions and their body-cache key, computed
 * once per decision (watchers with equal keys share one serialized body).
 */
export interface PresenceSlot {
  permissions: Permissions;
  key: string;
}

/** One slot per permission set: the authorizer shares equal Permissions objects, so do their watchers. */
const slots = new WeakMap<Permissions, PresenceSlot>();

export function presenceSlot(permissions: Permissions): PresenceSlot {
  let slot = slots.get(permissions);
  if (!slot) slots.set(permissions, (slot = { permissions, key: permissionsKey(permissions) }));
  return slot;
}

function slotOf(sub: SubscriptionView): PresenceSlot | undefined {
  return sub.slot as PresenceSlot | undefined;
}

interface ComposedView {
  xml: string;
  document: PresenceDocument;
  bodies: Map<string, NotifyBody>;
}

interface ComposedState extends ComposedView {
  version: number;
  /** The user is Invisible: what every other watcher gets (an offline user's composition). */
  offline?: ComposedView;
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
  /** What the last round of change NOTIFYs carried (the composed views' XML). */
  notified?: string;
  /** Re-evaluations of the rules started: only the newest one applies its decisions. */
  reevaluations: number;
}

export interface PresencePackageOptions {
  authorizer: PresenceAuthorizer;
  registrar: Registrar;
  notifier: PackageNotifier;
  winfo: WatcherInfoPackage;
  now: () => number;
  timers: TimerApi;
  persist?: WriteBehind;
  logger?: SipLogger;
  /** Minimum interval between NOTIFY rounds for one presentity (ms). Default 1000; 0 disables. */
  notifyIntervalMs?: number;
  publish?: PublishLimits;
  subscribe?: { defaultExpires?: number; minExpires?: number; maxExpires?: number };
  /** How long a flow-bound publication outlives its failed flow (ms). Default 30 000. */
  flowGraceMs?: number;
}

export const DEFAULT_FLOW_GRACE_MS = 30_000;

export interface PublishLimits {
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
  /**
   * Live publications one presentity may hold (RFC 3903 §6 leaves the bound to the ESC). A new
   * PUBLISH beyond it is refused with 403; refreshing, modifying and removing existing ones
   * always work. Default 20.
   */
  maxPerPresentity?: number;
}

export class PresencePackage implements EventPackage {
  readonly name = "presence";
  readonly acceptTypes = [CONTENT_TYPES.pidf] as const;
  readonly localResource = true;
  readonly stateKinds = ["publication"] as const;
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly publishLimits: Required<PublishLimits>;
  private readonly o: PresencePackageOptions;
  private readonly log: SipLogger;
  private readonly presentities = new Map<string, PresentityState>();
  private readonly byEtag = new Map<string, PublicationEntry>();
  private readonly wheel: ExpiryWheel<PublicationEntry>;
  private readonly interval: number;
  private readonly flowGraceMs: number;
  /** Compositions done (bench/tests: one per change, not per watcher). */
  compositions = 0;

  constructor(options: PresencePackageOptions) {
    this.o = options;
    this.log = componentLogger("presence:agent", options.logger);
    this.defaultExpires = options.subscribe?.defaultExpires ?? 3600;
    this.minExpires = options.subscribe?.minExpires ?? 60;
    this.maxExpires = options.subscribe?.maxExpires ?? 3600;
    this.publishLimits = { defaultExpires: 3600, minExpires: 60, maxExpires: 7200, maxPerPresentity: 20, ...options.publish };
    this.interval = options.notifyIntervalMs ?? 1000;
    this.flowGraceMs = options.flowGraceMs ?? DEFAULT_FLOW_GRACE_MS;
    this.wheel = new ExpiryWheel(options.timers, options.now, (p) => this.expirePublication(p));
  }

  // ---- PUBLISH (RFC 3903 §6) -----------------------------------------------------------------

  /** Handle an authorized PUBLISH for `presentity`. Throws SipError for failures. */
  publish(request: SipRequest, presentity: string, origin?: PublicationOrigin): SipResponse {
    const now = this.o.now();
    const limits = this.publishLimits;
    const ifMatch = request.getHeader("SIP-If-Match")?.trim();
    let expires = request.expires ?? limits.defaultExpires;
    if (expires > 0 && expires < limits.minExpires) {
      throw new SipError(423, "Interval Too Brief", { headers: [["Min-Expires", String(limits.minExpires)]] }); // RFC 3903 §6 step 5
    }
    expires = Math.min(expires, limits.maxExpires);
    const hasBody = request.body.length > 0;
    let document: PresenceDocument | undefined;
    if (hasBody) {
      const ct = request.contentType?.value;
      if (ct !== CONTENT_TYPES.pidf) {
        throw new SipError(415, "Unsupported Media Type", { headers: [["Accept", CONTENT_TYPES.pidf]] }); // §6 step 3
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
    if (!entry && this.livePublications(presentity, now) >= limits.maxPerPresentity) {
      throw new SipError(403, `Too many publications for this presentity (at most ${limits.maxPerPresentity})`);
    }
    const etag = newEtag();
    const next: PublicationEntry = {
      etag,
      presentity,
      xml: document ? request.bodyText : (entry as PublicationEntry).xml,
      document: document ?? (entry as PublicationEntry).document,
      publishedAt: document ? now : (entry as PublicationEntry).publishedAt,
      expiresAt: now + expires * 1000,
      ...this.flowOf(presentity, origin, entry),
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

  /** Publications of `presentity` not yet expired (one not yet swept by the wheel does not count). */
  private livePublications(presentity: string, now: number): number {
    const pubs = this.presentities.get(presentity)?.publications;
    if (!pubs) return 0;
    if (pubs.size < this.publishLimits.maxPerPresentity) return pubs.size;
    let live = 0;
    for (const p of pubs.values()) if (p.expiresAt > now) live++;
    return live;
  }

  /** Remove every publication of `presentity` (the account ended); watchers are notified. */
  removePublications(presentity: string): void {
    const list = this.publicationsOf(presentity);
    for (const p of list) this.removePublication(p);
    if (list.length > 0) this.changed(presentity);
  }

  /**
   * Remove one publication of `presentity` (the operator cleared it); watchers are notified. Its
   * publisher's next refresh or modify gets 412 and publishes anew (RFC 3903 §6). False when
   * there is no such publication.
   */
  clearPublication(presentity: string, etag: string): boolean {
    const p = this.byEtag.get(etag);
    if (!p || p.presentity !== presentity) return false;
    this.removePublication(p);
    this.changed(presentity);
    return true;
  }

  get publicationCount(): number {
    return this.byEtag.size;
  }

  /**
   * The flow a publication is bound to: the connection of its PUBLISH (a refresh or modify over
   * another connection recovers it there), bound when that is the bridge's in-process flow or
   * carries a reg-id registration of the presentity (RFC 5626 §4.2).
   */
  private flowOf(presentity: string, origin: PublicationOrigin | undefined, previous: PublicationEntry | undefined): Pick<PublicationEntry, "connectionId" | "flowBound" | "instance"> {
    if (!origin) return { connectionId: previous?.connectionId, flowBound: previous?.flowBound, instance: previous?.instance };
    const binding = this.o.registrar.bindingsOf(presentity).find((b) => b.connectionId === origin.connectionId && (b.regId !== undefined || origin.inProcessFlow));
    const flowBound = origin.inProcessFlow === true || binding !== undefined || previous?.flowBound === true;
    const instance = binding?.instanceId ? normalizeInstance(binding.instanceId) : previous?.instance;
    return { connectionId: origin.connectionId, ...(flowBound ? { flowBound } : {}), ...(instance ? { instance } : {}) };
  }

  private deadline(p: PublicationEntry): number {
    return p.graceUntil === undefined ? p.expiresAt : Math.min(p.expiresAt, p.graceUntil);
  }

  private addPublication(p: PublicationEntry): void {
    const st = this.state(p.presentity);
    st.publications.set(p.etag, p);
    this.byEtag.set(p.etag, p);
    this.wheel.set(p, this.deadline(p));
    this.persistPublication(p);
  }

  private persistPublication(p: PublicationEntry): void {
    this.o.persist?.mark("publication", p.etag, () => {
      if (this.byEtag.get(p.etag) !== p) return null;
      const { document: _document, wheelBucket: _wheelBucket, ...row } = p;
      return { data: JSON.stringify(row), expiresAt: p.expiresAt };
    });
  }

  /** The connection `connectionId` closed: its flow-bound publications end after the grace. */
  flowFailed(connectionId: string): void {
    const until = this.o.now() + this.flowGraceMs;
    for (const p of this.byEtag.values()) {
      if (p.connectionId !== connectionId || !p.flowBound || p.graceUntil !== undefined) continue;
      p.graceUntil = until;
      this.wheel.set(p, this.deadline(p));
      this.persistPublication(p);
      this.log("debug", "flow failed, publication in grace", { presentity: p.presentity, etag: p.etag });
    }
  }

  /**
   * A binding was registered (or refreshed). Publications made over its connection learn their
   * device's instance and, with a reg-id, become flow-bound; publications of the same
   * `+sip.instance` elsewhere are recovered onto this flow (their flow had failed) or replaced
   * (their flow is still open: the device now uses this one).
   */
  bindingRegistered(b: Binding): void {
    const st = this.presentities.get(b.aor);
    if (!st || st.publications.size === 0) return;
    const instance = b.instanceId ? normalizeInstance(b.instanceId) : undefined;
    const replaced: PublicationEntry[] = [];
    for (const p of st.publications.values()) {
      if (p.connectionId === b.connectionId) {
        const bound = p.flowBound || b.regId !== undefined;
        if ((instance && p.instance !== instance) || bound !== Boolean(p.flowBound)) {
          if (instance) p.instance = instance;
          if (bound) p.flowBound = true;
          this.persistPublication(p);
        }
      } else if (instance && p.instance === instance) {
        if (p.graceUntil !== undefined) {
          p.connectionId = b.connectionId;
          p.graceUntil = undefined;
          this.wheel.set(p, this.deadline(p));
          this.persistPublication(p);
        } else replaced.push(p);
      }
    }
    for (const p of replaced) {
      this.log("debug", "publication replaced by a new flow of its instance", { presentity: p.presentity, etag: p.etag });
      this.removePublication(p);
    }
    if (replaced.length) this.changed(b.aor);
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

  restoreState(kind: string, rows: StateRow[]): void {
    if (kind === "publication") this.restorePublications(rows);
  }

  private restorePublications(rows: StateRow[]): void {
    const now = this.o.now();
    for (const r of rows) {
      try {
        const d = JSON.parse(r.data) as Omit<PublicationEntry, "document">;
        if (d.expiresAt <= now || (d.graceUntil !== undefined && d.graceUntil <= now)) {
          this.o.persist?.remove("publication", r.key);
          continue;
        }
        const p: PublicationEntry = { ...d, document: parsePidf(d.xml), wheelBucket: undefined };
        // every flow died with the process (and a new connection may reuse a dead one's id):
        // flow-bound publications wait for their device to come back over a new flow
        delete p.connectionId;
        if (p.flowBound) p.graceUntil = Math.min(p.graceUntil ?? Infinity, now + this.flowGraceMs);
        const st = this.state(p.presentity);
        st.publications.set(p.etag, p);
        this.byEtag.set(p.etag, p);
        this.wheel.set(p, this.deadline(p));
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

  /**
   * One round of NOTIFYs for a change, once its composition is known: none when a newer change
   * came meanwhile (its own round carries the newer state), none when watchers would get what the
   * last round gave them (a change that changes nothing they see: no redundant NOTIFY).
   */
  private notifyWatchers(presentity: string): void {
    const st = this.state(presentity);
    if (!this.o.notifier.hasSubscribers(this.name, presentity)) {
      // nobody to tell: no composition now (the first SUBSCRIBE or reader composes), and the next
      // round compares with nothing (a new watcher's first NOTIFY carried a later state)
      st.notified = undefined;
      return;
    }
    const version = st.version;
    // polite-blocked watchers only ever see the same neutral document: nothing to send
    const send = () => this.o.notifier.notifyResource(this.name, presentity, "full", (s) => slotOf(s)?.permissions.subHandling !== "polite-block");
    this.composedState(presentity).then(
      (c) => {
        if (st.version !== version) return;
        const seen = c.offline ? `${c.xml}\u0000${c.offline.xml}` : c.xml;
        if (seen === st.notified) return;
        st.notified = seen;
        send();
      },
      (e: unknown) => {
        this.log("error", "composition failed", { presentity, error: String(e) });
        send(); // each NOTIFY composes again (and reports its own failure)
      },
    );
  }

  private state(presentity: string): PresentityState {
    let st = this.presentities.get(presentity);
    if (!st) this.presentities.set(presentity, (st = { version: 0, publications: new Map(), lastNotifyAt: -Infinity, reevaluations: 0 }));
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
      const now = this.o.now();
      const publications = [...st.publications.values()];
      const c = composePresence(presentity, publications, { now, registrations: this.o.registrar.registrationTuplesOf(presentity), manipulation });
      const composed: ComposedState = { version, xml: c.xml, document: c.document, bodies: new Map<string, NotifyBody>() };
      if (userStateOf(publications, now)?.invisible) {
        // Invisible: exactly what watchers see of an offline user
        const off = composePresence(presentity, [], { now, manipulation });
        composed.offline = { xml: off.xml, document: off.document, bodies: new Map<string, NotifyBody>() };
      }
      return composed;
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
    const slot = slotOf(sub);
    if (!slot) return undefined;
    const st = this.state(sub.resource);
    if (slot.permissions.subHandling === "polite-block") return this.neutralBody(st, sub.resource);
    // never a state older than one already composed: a change while composing → its composition
    let c = await this.composedState(sub.resource);
    for (let i = 0; i < 8 && c.version !== st.version; i++) c = await this.composedState(sub.resource);
    return this.bodyFor(c, sub, slot);
  }

  /** `composeBody` from the cached composition; null when it must be (re)composed first. */
  composeBodyNow(sub: SubscriptionView): NotifyBody | undefined | null {
    const slot = slotOf(sub);
    if (!slot) return undefined;
    const st = this.state(sub.resource);
    if (slot.permissions.subHandling === "polite-block") return this.neutralBody(st, sub.resource);
    return st.ready ? this.bodyFor(st.ready, sub, slot) : null;
  }

  private neutralBody(st: PresentityState, presentity: string): NotifyBody {
    st.neutral ??= bodyOf(neutralPresence(presentity).xml);
    return st.neutral;
  }

  private bodyFor(state: ComposedState, sub: SubscriptionView, slot: PresenceSlot): NotifyBody {
    // the user's own devices follow every publication, Invisible included
    const c: ComposedView = state.offline && sub.watcher !== sub.resource ? state.offline : state;
    const key = slot.key;
    let body = c.bodies.get(key);
    if (!body) {
      body = key === "full" ? { ...bodyOf(c.xml), document: c.document } : bodyOf(applyTransformations(c.document, slot.permissions).xml);
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
    // every rules change starts one: decisions read while a newer one runs may predate the newer
    // documents (reads complete out of order on a pooled database) and are dropped, not applied
    const st = this.state(presentity);
    const run = ++st.reevaluations;
    for (const sub of notifier.subscriptionsOf(this.name, presentity)) {
      let d: SubscriptionDecision;
      try {
        d = await this.authorize({ event: this.name, resource: presentity, watcher: { uri: sub.watcher, authenticated: true }, supported: sub.supported, accept: sub.accept, refresh: true });
      } catch (e) {
        this.log("error", "re-evaluation failed", { presentity, watcher: sub.watcher, error: String(e) });
        continue;
      }
      if (run !== st.reevaluations) return;
      this.apply(sub, d);
    }
    if (run !== st.reevaluations) return;
    await this.o.winfo.reevaluateWaiting(presentity, (watcher) =>
      this.o.authorizer.authorize(presentity, { uri: watcher, authenticated: true }).then((p) => p.subHandling),
    );
  }

  /** Apply a decision to an existing subscription. */
  apply(sub: SubscriptionView, d: SubscriptionDecision): void {
    const notifier = this.o.notifier;
    if (d.status === "terminated") {
      notifier.setStatus(sub, "terminated", d.reason);
      return;
    }
    const next = d.slot as PresenceSlot | undefined;
    const permsChanged = next?.key !== slotOf(sub)?.key;
    sub.slot = next;
    if (sub.status !== d.status) notifier.setStatus(sub, d.status);
    else if (permsChanged && sub.status === "active") {
      notifier.slotChanged(sub); // persist new permissions
      void notifier.notify(sub, "full");
    }
  }

  /** A refresh re-reads the rules (RFC 5025 decisions may have changed since). */
  async refreshed(sub: SubscriptionView): Promise<boolean> {
    const d = await this.authorize({ event: sub.event, resource: sub.resource, watcher: { uri: sub.watcher, authenticated: true }, supported: sub.supported, accept: sub.accept, refresh: true });
    const before = sub.status;
    this.apply(sub, d);
    return sub.status !== before || sub.status === "terminated"; // apply sent the NOTIFY
  }

  /** The permissions persist; their key is derived again. */
  saveSlot(sub: SubscriptionView): unknown {
    return slotOf(sub)?.permissions;
  }

  restoreSlot(data: unknown): PresenceSlot {
    const p = data as Permissions;
    if (typeof p !== "object" || p === null || typeof p.subHandling !== "string") throw new Error("no permissions");
    return presenceSlot(this.o.authorizer.share(p)); // one object per distinct permission set, as live decisions
  }

  /** Rules may have changed while the server was down: re-evaluate restored watchers (a NOTIFY only on change). */
  restored(subs: SubscriptionView[]): void {
    for (const p of new Set(subs.map((s) => s.resource))) {
      void this.reevaluate(p).catch((e) => this.log("error", "re-evaluation after restore failed", { presentity: p, error: String(e) }));
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
        ? { status: "terminated", reason: "rejected", slot: presenceSlot(permissions) }
        : { status: "terminated", reason: "rejected", slot: presenceSlot(permissions), rejectWith: { status: 403, reason: "Forbidden" } };
    case "confirm":
      return { status: "pending", slot: presenceSlot(permissions) };
    default:
      return { status: "active", slot: presenceSlot(permissions) };
  }
}

function bodyOf(xml: string): NotifyBody {
  return { contentType: CONTENT_TYPES.pidf, body: Buffer.from(xml, "utf8") };
}

function newEtag(): string {
  return randomToken(9, "base64url");
}

/** `+sip.instance` without `<>`, `urn:uuid:` and case (as composition compares device ids). */
function normalizeInstance(v: string): string {
  return v.replace(/^"|"$/g, "").replace(/^<|>$/g, "").replace(/^urn:uuid:/i, "").toLowerCase();
}
