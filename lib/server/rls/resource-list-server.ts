/**
 * The Resource List Server (RFC 4662) of the embedded presence server: an event package for
 * `presence` subscriptions whose Request-URI is a service URI of some user's rls-services
 * document (RFC 4826), plugged in with `PresenceServer.addSubscribeRoute`.
 *
 * - Accepted only with `Supported: eventlist` (otherwise 421 + `Require: eventlist`, RFC 4662
 *   §4.1) and only from the document's owner (403 otherwise: the back-end state is what the
 *   owner may see). 200 and every NOTIFY carry `Require: eventlist` (§4.5; Kamailio does too).
 * - One back-end subscription per resource, made as the list owner (back-end.ts): internal for
 *   local presentities, a SIP SUBSCRIBE for other domains (remote-subscriber.ts).
 * - NOTIFY bodies: multipart/related with the RLMI root and one application/pidf+xml part per
 *   active instance (§5); pending and terminated instances have no part. Full state first, on
 *   refresh and after a removal from the list; partial state (only changed resources) otherwise.
 *   RLMI `version` counts the subscription's NOTIFYs with a body, starting at 0 (§5.2).
 * - Batching (§4.8 rate of notifications): back-end changes within `batchWindowMs` (default 200)
 *   leave as one partial NOTIFY; the window starts at the first change, so no change waits longer.
 * - List edits: an XCAP change of the owner's resource-lists or rls-services re-resolves the
 *   owner's running lists; back ends are added and released and a NOTIFY follows (within the
 *   batch window), without a new SUBSCRIBE.
 * - Department lists (`departments`): an operator's services, subscribed by any user of the
 *   list's domain (403 for others); the back ends are the subscriber's own, so each member's
 *   pres-rules apply to that subscriber. A member change re-resolves running subscriptions as a
 *   list edit does.
 * - Admission control: at most `maxConcurrentBuilds` list builds (resolving a list and
 *   subscribing its back ends until they are ready) run at once; the others wait their turn in
 *   arrival order. The SUBSCRIBE is answered without waiting for its turn (its first NOTIFY
 *   waits); a reconnect storm (every page of a restarted server subscribing at once) otherwise
 *   builds every list at the same time, each holding parsed documents and its members' rules.
 * - Restart: list subscriptions are persisted by the Notifier like any other; `start()` (after
 *   the server's) re-creates their back ends and sends each list a full-state NOTIFY — except a
 *   list whose watcher was behind an in-process flow (a bridged page): that flow died with the
 *   process and is never dialled, so the list ends at once, without back ends built only to be
 *   released at its first NOTIFY; the page subscribes again over its new flow.
 */
import { createHash } from "node:crypto";
import { composeRlsNotifyBody, type RlmiInstance, type RlmiResource } from "../../presence";
import { IN_PROCESS_FLOW_HOST, SipError, SipUri, componentLogger, parseUri, realTimers, type SipLogger, type TimerApi } from "../../sip";
import type { XcapChangeEvent, XcapStore } from "../../xcap/server";
import { canonicalAor, splitAor } from "../aor";
import { accountOwningUri } from "../account-directory";
import type { EventPackage, NotifyBody, SubscribeRequestContext, SubscriptionDecision, SubscriptionView, TerminationReason } from "../event-package";
import type { PresenceServer } from "../presence-server";
import type { Subscription } from "../notifier";
import { BackEndPool, type BackEndHandle } from "./back-end";
import { ConcurrencyLimit } from "../concurrency-limit";
import { RemoteSubscriber, type RemoteSubscriberOptions } from "./remote-subscriber";
import { ServiceResolver, type ListResource } from "./service-resolver";
import { AUID, CONTENT_TYPES } from "../../presence/namespaces";

export const EVENTLIST = "eventlist";
/** List builds running at once by default (ResourceListServerOptions.maxConcurrentBuilds). */
export const DEFAULT_MAX_CONCURRENT_BUILDS = 16;
export const RLS_ACCEPT_TYPES = [CONTENT_TYPES.multipartRelated, CONTENT_TYPES.rlmi, CONTENT_TYPES.pidf] as const;

/**
 * Department lists (an operator's RLS services, such as `sip:engineering@example.test`): any user
 * of the list's domain may subscribe, and the back ends are that user's own subscriptions, so each
 * member's pres-rules decide what the subscriber sees.
 */
export interface DepartmentListSource {
  /** The list at a canonical `sip:user@domain`, or undefined. */
  get(uri: string): Promise<{ domain: string; members: ListResource[] } | undefined>;
  /** Told of every list changed or deleted (its canonical URI); returns an unsubscribe function. */
  subscribe?(listener: (uri: string) => void): () => void;
}

export interface ResourceListServerOptions {
  server: PresenceServer;
  /** Department lists served beside users' rls-services (none by default). */
  departments?: DepartmentListSource;
  /** Where rls-services and resource-lists documents live (the server's XCAP store). */
  store: XcapStore;
  /** XCAP change events (list edits). */
  subscribe?: (listener: (e: XcapChangeEvent) => void) => () => void;
  /** Batch window for partial NOTIFYs (ms). Default 200; 0 sends on the next tick. */
  batchWindowMs?: number;
  /** List builds running at once (see the file comment); the others queue. Default 16. */
  maxConcurrentBuilds?: number;
  /** Longest wait for back ends before the first full-state NOTIFY (ms). Default 2000. */
  readyTimeoutMs?: number;
  /** Back ends in other domains; `false` disables them (such resources show terminated). */
  remote?: RemoteSubscriberOptions | false;
  /** Expires limits of list subscriptions (s). Defaults 3600 / 60 / 3600. */
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
  timers?: TimerApi;
  logger?: SipLogger;
}

/** A running list subscription: its resolved resources, back ends and pending changes. */
export class ResourceListSubscription {
  entries: ListResource[] = [];
  readonly handles = new Map<string, BackEndHandle>();
  /** Resources changed since the last NOTIFY. */
  readonly changed = new Set<string>();
  /** The next NOTIFY must carry full state (a resource was removed, or after a restore). */
  fullPending = false;
  timer?: unknown;
  ready: Promise<void>;
  closed = false;
  private loading = true;
  private reloads: Promise<void> = Promise.resolve();

  constructor(
    readonly rls: ResourceListServer,
    readonly sub: SubscriptionView,
    readonly owner: string,
  ) {
    this.ready = this.reload();
  }

  /** Re-resolve the list and adjust the back ends (serialized). */
  reload(): Promise<void> {
    const run = () => this.rls.builds.run(() => this.load()).catch((e) => this.rls.logError("list resolution failed", this.sub, e));
    this.reloads = this.reloads.then(run, run);
    return this.reloads;
  }

  private async load(): Promise<void> {
    if (this.closed) return;
    const service = await this.rls.resourcesFor(this.sub.resource, this.owner);
    if (this.closed) return;
    if (!service) {
      // RFC 6665 §4.2.2: the service is gone — end the list subscription
      this.rls.terminate(this.sub, "noresource");
      return;
    }
    const before = new Map(this.entries.map((e) => [e.uri, e]));
    const added: BackEndHandle[] = [];
    for (const r of service.resources) {
      if (!this.handles.has(r.uri)) {
        const h = this.rls.pool.acquire(this.owner, r.uri, (uri) => this.backEndChanged(uri));
        this.handles.set(r.uri, h);
        added.push(h);
        if (!this.loading) this.changed.add(r.uri);
      } else if (!this.loading && before.get(r.uri)?.name !== r.name) this.changed.add(r.uri);
    }
    const keep = new Set(service.resources.map((r) => r.uri));
    for (const [uri, h] of this.handles) {
      if (keep.has(uri)) continue;
      h.release();
      this.handles.delete(uri);
      this.changed.delete(uri);
      if (!this.loading) this.fullPending = true; // a removal is only unambiguous in full state
    }
    this.entries = service.resources;
    await this.rls.waitReady(added.map((h) => h.ready));
    if (this.loading) {
      this.loading = false;
      this.changed.clear();
    } else if (this.changed.size > 0 || this.fullPending) this.schedule();
  }

  private backEndChanged(uri: string): void {
    if (this.loading || this.closed || !this.handles.has(uri)) return;
    this.changed.add(uri);
    this.schedule();
  }

  /** Batch (RFC 4662 §4.8): the first change opens the window, its end sends one NOTIFY. */
  schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = this.rls.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.closed || (this.changed.size === 0 && !this.fullPending)) return;
      void this.rls.server.notifier.notify(this.sub, this.fullPending ? "full" : "partial");
    }, this.rls.batchWindowMs);
  }

  /** The NOTIFY body; takes the pending changes. */
  compose(kind: "full" | "partial"): NotifyBody {
    const full = kind === "full" || this.fullPending;
    const changed = full ? undefined : new Set(this.changed);
    this.changed.clear();
    this.fullPending = false;
    const version = this.sub.version;
    const listUri = this.sub.resource;
    const domain = listUri.split("@").pop() || "herald.invalid";
    const resources: RlmiResource[] = [];
    const parts: Array<{ contentId: string; contentType: string; body: Uint8Array }> = [];
    for (const e of this.entries) {
      if (changed && !changed.has(e.uri)) continue;
      const h = this.handles.get(e.uri);
      if (!h) continue;
      const s = h.state;
      const id = instanceId(this.sub.id, e.uri);
      const instance: RlmiInstance = { id, state: s.status };
      if (s.status === "active" && s.body) {
        instance.cid = `${id}.${version}@${domain}`;
        parts.push({ contentId: instance.cid, contentType: s.body.contentType, body: s.body.body });
      } else if (s.status === "terminated" && s.reason) instance.reason = s.reason;
      resources.push({ uri: e.uri, names: e.name ? [{ text: e.name }] : [], instances: [instance] });
    }
    const composed = composeRlsNotifyBody({ uri: listUri, version, fullState: full, names: [], resources }, parts, {
      rootContentId: `${instanceId(this.sub.id, listUri)}.${version}@${domain}`,
    });
    this.rls.stats.notifies++;
    if (full) this.rls.stats.full++;
    return { contentType: composed.contentType, body: Buffer.from(composed.body.buffer, composed.body.byteOffset, composed.body.byteLength) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.rls.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const h of this.handles.values()) h.release();
    this.handles.clear();
  }
}

/**
 * A restored subscription whose NOTIFYs could only go to an in-process flow of the previous
 * process: its remote target is on the flows' unspecified address (the bridge points a page's
 * Contact at its flow) and no route set leads elsewhere.
 */
function overDeadFlow(s: Subscription): boolean {
  const d = s.dialog;
  if (!d || d.routeSet.length > 0) return false;
  try {
    const uri = parseUri(d.remoteTarget);
    return uri instanceof SipUri && uri.host === IN_PROCESS_FLOW_HOST;
  } catch {
    return false;
  }
}

/** Stable instance id per (list subscription, resource) — the same across a restart. */
function instanceId(subId: string, uri: string): string {
  return createHash("sha1").update(subId).update("\u0000").update(uri).digest("base64url").slice(0, 10);
}

export class ResourceListServer implements EventPackage {
  readonly name = "presence";
  readonly acceptTypes = RLS_ACCEPT_TYPES;
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly server: PresenceServer;
  readonly resolver: ServiceResolver;
  readonly pool: BackEndPool;
  readonly remote?: RemoteSubscriber;
  readonly timers: TimerApi;
  readonly batchWindowMs: number;
  /** Admission of list builds (`maxConcurrentBuilds`). */
  readonly builds: ConcurrencyLimit;
  /** NOTIFY bodies composed (bench/tests). */
  readonly stats = { notifies: 0, full: 0 };
  private readonly lists = new Map<string, ResourceListSubscription>();
  private readonly owners = new Map<string, Promise<string | undefined>>();
  private readonly o: ResourceListServerOptions;
  private readonly log: SipLogger;
  private unsubscribeXcap?: () => void;
  private unsubscribeDepartments?: () => void;
  private stopped = false;

  constructor(options: ResourceListServerOptions) {
    this.o = options;
    this.server = options.server;
    this.timers = options.timers ?? realTimers;
    this.batchWindowMs = options.batchWindowMs ?? 200;
    this.builds = new ConcurrencyLimit(options.maxConcurrentBuilds ?? DEFAULT_MAX_CONCURRENT_BUILDS);
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 3600;
    this.log = componentLogger("presence:rls", options.logger);
    this.resolver = new ServiceResolver({ store: options.store, accounts: options.server.accounts, logger: options.logger });
    if (options.remote !== false) this.remote = new RemoteSubscriber(options.server, { timers: options.timers, logger: options.logger, ...(options.remote ?? {}) });
    this.pool = new BackEndPool({ server: options.server, remote: this.remote, logger: options.logger });
    options.server.addSubscribeRoute((ctx) => {
      // SIP SUBSCRIBEs (any: a list URI without eventlist must get 421) and restored list subscriptions
      if (ctx.event !== this.name || (!ctx.request && !ctx.supported.includes(EVENTLIST))) return undefined;
      return this.ownerOf(ctx.resource).then(async (owner) => (owner || (await this.departmentList(ctx.resource)) ? this : undefined));
    });
    this.unsubscribeXcap = options.subscribe?.((e) => this.onXcapChange(e));
    this.unsubscribeDepartments = options.departments?.subscribe?.((uri) => this.onDepartmentListChange(uri));
  }

  /** Number of running list subscriptions. */
  get size(): number {
    return this.lists.size;
  }

  list(subId: string): ResourceListSubscription | undefined {
    return this.lists.get(subId);
  }

  /**
   * Attach restored list subscriptions (call after `server.start()`): back ends, then full state.
   * Those of bridged pages end at once (see the file comment).
   */
  async start(): Promise<void> {
    const restored = [...this.server.notifier.all()].filter((s) => s.pkg === this && s.status === "active" && !this.lists.has(s.id));
    const overDeadFlows = restored.filter(overDeadFlow);
    // the watcher cannot be reached: ended without a final NOTIFY, which could not be delivered
    for (const s of overDeadFlows) this.server.notifier.terminate(s, "timeout", false);
    if (overDeadFlows.length) this.log("info", "restored list subscriptions of closed in-process flows ended", { count: overDeadFlows.length });
    await Promise.all(
      restored.filter((s) => s.status === "active").map(async (s) => {
        const ls = this.attach(s);
        if (!ls) return;
        await ls.ready;
        void this.server.notifier.notify(s, "full");
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribeXcap?.();
    this.unsubscribeXcap = undefined;
    this.unsubscribeDepartments?.();
    this.unsubscribeDepartments = undefined;
    for (const ls of this.lists.values()) ls.close();
    this.lists.clear();
    this.remote?.closeAll();
  }

  /**
   * The owner of a service URI. Which document claims a URI is cached (until the next
   * rls-services change); whether the URI is an account's is asked every time, so a SUBSCRIBE to
   * an account's AOR reaches the presence package even if an older document claims it.
   */
  private async ownerOf(serviceUri: string): Promise<string | undefined> {
    let p = this.owners.get(serviceUri);
    if (!p) {
      if (this.owners.size > 10_000) this.owners.clear();
      p = this.resolver.documentOwnerOf(serviceUri).then((o) => (o ? canonicalAor(o.owner) : undefined));
      this.owners.set(serviceUri, p);
      p.catch(() => this.owners.delete(serviceUri));
    }
    const owner = await p;
    return owner && !(await this.resolver.ownedByAccount(serviceUri, owner)) ? owner : undefined;
  }

  // ---- EventPackage ---------------------------------------------------------------------------

  async authorize(ctx: SubscribeRequestContext): Promise<SubscriptionDecision> {
    // RFC 4662 §4.1: a list subscription needs the subscriber's eventlist support
    if (!ctx.supported.includes(EVENTLIST)) throw new SipError(421, "Extension Required", { headers: [["Require", EVENTLIST]] });
    const owner = await this.ownerOf(ctx.resource);
    if (!owner) {
      const department = await this.departmentList(ctx.resource);
      if (!department) throw new SipError(404, "Not Found");
      if (splitAor(canonicalAor(ctx.watcher.uri)).domain !== department.domain) throw new SipError(403, "Only users of the list's domain may subscribe");
      return { status: "active" };
    }
    if (canonicalAor(ctx.watcher.uri) !== owner) throw new SipError(403, "Only the list's owner may subscribe");
    const service = await this.resolver.resolve(ctx.resource);
    if (!service) throw new SipError(404, "Not Found");
    if (service.packages.length > 0 && !service.packages.includes(ctx.event)) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", service.packages.join(", ")]] });
    return { status: "active" };
  }

  subscriptionStarted(sub: SubscriptionView): void {
    this.attach(sub);
  }

  subscriptionEnded(sub: SubscriptionView): void {
    const ls = this.lists.get(sub.id);
    if (!ls) return;
    this.lists.delete(sub.id);
    ls.close();
  }

  async composeBody(sub: SubscriptionView, state: "full" | "partial"): Promise<NotifyBody | undefined> {
    const ls = this.lists.get(sub.id) ?? this.attach(sub);
    if (!ls) return undefined;
    await ls.ready;
    if (ls.closed) return undefined;
    return ls.compose(state);
  }

  extraHeaders(): Array<[string, string]> {
    return [["Require", EVENTLIST]];
  }

  // ---- internals -------------------------------------------------------------------------------

  /**
   * The department list at `uri` — unless the URI is an account's or derived from one (an account
   * created later with the list's address takes SUBSCRIBEs to it, as for users' service URIs).
   */
  private async departmentList(uri: string): Promise<{ domain: string; members: ListResource[] } | undefined> {
    if (!this.o.departments) return undefined;
    const aor = canonicalAor(uri);
    if (await accountOwningUri(this.server.accounts, aor)) return undefined;
    return this.o.departments.get(aor);
  }

  /**
   * What `watcher`'s list subscription to `uri` watches: the watcher's own rls-services service,
   * or a department list of the watcher's domain. Undefined when it no longer may (gone, or not
   * the watcher's).
   */
  async resourcesFor(uri: string, watcher: string): Promise<{ resources: ListResource[] } | undefined> {
    const service = await this.resolver.resolve(uri);
    if (service) return canonicalAor(service.owner) === watcher ? service : undefined;
    const department = await this.departmentList(uri);
    return department && splitAor(watcher).domain === department.domain ? { resources: department.members } : undefined;
  }

  /** A department list changed: its running subscriptions resolve it again (members added, released). */
  private onDepartmentListChange(uri: string): void {
    // list addresses are stored lower-case; a subscriber may have written another case
    const aor = canonicalAor(uri).toLowerCase();
    for (const ls of this.lists.values()) if (canonicalAor(ls.sub.resource).toLowerCase() === aor) void ls.reload();
  }

  private attach(sub: SubscriptionView): ResourceListSubscription | undefined {
    const existing = this.lists.get(sub.id);
    if (existing) return existing;
    if (sub.status === "terminated" || this.stopped) return undefined;
    const ls = new ResourceListSubscription(this, sub, canonicalAor(sub.watcher));
    this.lists.set(sub.id, ls);
    return ls;
  }

  /** Wait for back ends, bounded by `readyTimeoutMs`. */
  async waitReady(ready: Array<Promise<void>>): Promise<void> {
    if (ready.length === 0) return;
    let t: unknown;
    await Promise.race([
      Promise.all(ready),
      new Promise<void>((r) => (t = this.timers.setTimeout(r, this.o.readyTimeoutMs ?? 2000))),
    ]);
    this.timers.clearTimeout(t);
  }

  terminate(sub: SubscriptionView, reason: TerminationReason): void {
    this.server.notifier.terminate(sub, reason, true);
  }

  /**
   * Warm the caches `owner`'s presence list will need — the list itself, each local contact's
   * rules decision for the owner and composed state — without subscribing to anything. Herald
   * calls it when the owner signs in to the portal, so the page's list SUBSCRIBE, half a second
   * later, finds them loaded (on a cold server the first list NOTIFY of 200 contacts took some
   * 300 ms more). Never throws.
   */
  async warmList(owner: string): Promise<void> {
    try {
      const aor = canonicalAor(owner);
      const { user, domain } = splitAor(aor);
      if (!user || !domain) return;
      await this.builds.run(async () => {
        const service = await this.resolver.resolve(`sip:${user}+presence@${domain}`);
        if (!service || canonicalAor(service.owner) !== aor) return;
        await Promise.all(service.resources.map((r) => this.pool.warm(aor, r.uri)));
      });
    } catch (e) {
      this.log("warn", "warming a list failed", { owner, error: e instanceof Error ? e.message : String(e) });
    }
  }

  logError(msg: string, sub: SubscriptionView, e: unknown): void {
    this.log("error", msg, { id: sub.id, list: sub.resource, error: e instanceof Error ? e.message : String(e) });
  }

  /** List edits (resource-lists / rls-services of a list owner) and service URI changes. */
  onXcapChange(e: XcapChangeEvent): void {
    if (!e.user) return;
    if (e.auid === AUID.rlsServices) this.owners.clear();
    if (e.auid !== AUID.rlsServices && e.auid !== AUID.resourceLists) return;
    const user = canonicalAor(e.user);
    for (const ls of this.lists.values()) if (ls.owner === user) void ls.reload();
  }
}
