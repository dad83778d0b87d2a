/**
 * Herald's embedded SIP SIMPLE server: the composition root. It builds the parts and wires them —
 * see docs/architecture.md for the picture:
 *
 * - transport and transactions (lib/sip) → `SipDispatcher` (dispatcher.ts: transactions, response
 *   batching, error mapping) → one handler per method (handlers/: REGISTER, PUBLISH, SUBSCRIBE,
 *   NOTIFY, OPTIONS);
 * - `SipAuthenticator` (authenticator.ts): served domains, digest, short-lived credentials, the
 *   limiter of password guesses, connection trust;
 * - the RFC 6665 `Notifier` (notifier.ts) owns subscriptions, dialogs and NOTIFY delivery; event
 *   packages (event-package.ts) decide policy and bodies and own per-subscription state — built
 *   in: presence (RFC 3856/3903, pres-rules RFC 5025) and watcher info (RFC 3857/3858); more come
 *   with `addPackage` (xcap-diff) or `addSubscribeRoute` (the RLS);
 * - persistence with write-behind (state-store.ts), restored on start (restore.ts).
 *
 * Who is on the other end of a connection: an authenticated request makes its AOR an owner of the
 * connection it came over (`SipConnection.addOwner`; a bridge flow is opened with its session's
 * user as owner), and only then is the `;alias` it offers honoured (RFC 5923 §9).
 */
import {
  SipError,
  SipResponse,
  SipTransport,
  type SipConnection,
  type SipRequest,
  TransactionLayer,
  IN_PROCESS_FLOW_HOST,
  realTimers,
  type DigestAlgorithm,
  type ListenAddresses,
  type SipLogger,
  componentLogger,
  type TimerApi,
} from "../sip";
import type { XcapChangeEvent, XcapStore } from "../xcap/server";
import type { AuthLimiter } from "../accounts/auth-limiter";
import type { AccountDirectory } from "./account-directory";
import { aorOf, splitAor } from "./aor";
import { SipAuthenticator, type Identity } from "./authenticator";
import { SipDispatcher, type MethodHandler } from "./dispatcher";
import type { EventPackage, InternalListener, InternalSubscription } from "./event-package";
import { notifyHandler, type NotifyHandler } from "./handlers/notify";
import { optionsHandler } from "./handlers/options";
import { publishHandler } from "./handlers/publish";
import { registerHandler } from "./handlers/register";
import { SubscribeHandler } from "./handlers/subscribe";
import { Notifier, type Subscription } from "./notifier";
import { PackageRegistry, type SubscribeRoute } from "./package-registry";
import { PresenceAuthorizer } from "./presence-authorizer";
import { PresencePackage, type PublishLimits } from "./presence-package";
import { CONTENT_TYPES } from "../presence/namespaces";
import { Registrar, type Binding } from "./registrar";
import { announceRestored, restoreState } from "./restore";
import { MemoryPresenceStateStore, WriteBehind, type PresenceStateStore } from "./state-store";
import { WatcherInfoPackage } from "./winfo-package";

export type { SubscribeRoute } from "./package-registry";
export type { NotifyHandler } from "./handlers/notify";
export type { MethodHandler, Outcome } from "./dispatcher";
export type { Identity } from "./authenticator";

export interface PresenceServerListen {
  host?: string;
  /** TCP port (0 = any free port). Omit (undefined) to not listen on TCP. */
  tcpPort?: number;
  /** TLS port, used when `cert` and `key` are given. */
  tlsPort?: number;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface LiveSubscription {
  id: string;
  event: string;
  watcher: string;
  resource: string;
  state: string;
  expiresAt: number;
}

/** One account's live state (PresenceServer.liveState). Times in ms since the epoch. */
export interface LiveAccountState {
  registrations: Array<{ contact: string; instanceId?: string; transport: string; source: string; expiresAt: number; inProcessFlow: boolean }>;
  publications: Array<{ etag: string; instance?: string; publishedAt: number; expiresAt: number; pidf: string; inProcessFlow: boolean }>;
  subscriptionsHeld: LiveSubscription[];
  subscriptionsReceived: LiveSubscription[];
}

export interface PresenceServerOptions {
  listen: PresenceServerListen;
  /** Domains, realms and credentials. */
  accounts: AccountDirectory;
  /** Shared secret of the autheph short-lived credentials; omit to accept only account passwords. */
  ephemeralSecret?: string;
  /** Short-lived credentials issued before the account's last revocation (see SipAuthenticatorOptions.ephemeralRevoked). */
  ephemeralRevoked?: (address: string, expires: number) => boolean;
  /** Sessions of an account ended at or after a time (see SipAuthenticatorOptions.revokedSince). */
  revokedSince?: (address: string, since: number) => boolean;
  /** XCAP documents (pres-rules, resource-lists, pidf-manipulation) and their change events. */
  xcap: { store: XcapStore; subscribe?: (listener: (e: XcapChangeEvent) => void) => () => void };
  /** Persistence (default: in memory, i.e. none across restarts). */
  state?: PresenceStateStore;
  /** Write-behind delay (ms). Default 200. */
  persistDelayMs?: number;
  /** Wall clock (ms since the epoch). Default Date.now. */
  now?: () => number;
  /** Timers for expiry and transactions. Default real timers. */
  timers?: TimerApi;
  logger?: SipLogger;
  /** Minimum interval between NOTIFY rounds per presentity (RFC 3856 §6.10), ms. Default 1000; 0 disables. */
  notifyIntervalMs?: number;
  registrar?: { defaultExpires?: number; minExpires?: number; maxExpires?: number; maxBindings?: number };
  /**
   * How long a flow-bound publication or restored reg-id registration outlives its failed flow
   * (RFC 5626), ms. Default 30 000 (SIP_FLOW_GRACE_SECONDS).
   */
  flowGraceMs?: number;
  /** PUBLISH expiry bounds and `maxPerPresentity` (default 20 live publications per presentity). */
  publish?: PublishLimits;
  subscribe?: { defaultExpires?: number; minExpires?: number; maxExpires?: number };
  winfo?: { waitingRetentionMs?: number };
  /** Host written in our Contact headers (default: the local address of each connection). */
  advertisedHost?: string;
  /** Outbound TLS (NOTIFYs to `transport=tls` contacts after a restart). */
  tlsClient?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /**
   * Digest algorithms offered, one challenge each in this order. Default ["MD5"], as Kamailio and
   * OpenSIPS: RFC 8760 would put SHA-256 first, but JsSIP, SIPp and many phones answer the first
   * challenge and know only MD5, and some (Debian's baresip) fail outright on a second challenge
   * they do not know; set ["SHA-256", "MD5"] (or ["SHA-256"]) where every client supports SHA-256.
   */
  digestAlgorithms?: DigestAlgorithm[];
  /** Status used to challenge PUBLISH/SUBSCRIBE: 407 (default, like Kamailio) or 401. */
  challengeStatus?: 401 | 407;
  /** How long the domain list is cached (ms). Default 5000. */
  domainsCacheMs?: number;
  userAgent?: string;
  /** Maximum SIP message size (default 64 KiB). */
  maxMessageSize?: number;
  /**
   * The process's limiter of password guesses (shared with portal login and XCAP). Requests whose
   * credentials it refuses are answered 503 with Retry-After (RFC 3261 §21.5.4) without being
   * checked; only credentials that fail the check count. Default: no limit.
   */
  authLimiter?: AuthLimiter;
  /** Inbound TCP/TLS connections per source address (default 100; 0 = no limit). In-process bridge flows are not counted. */
  maxConnectionsPerAddress?: number;
  /** Bytes a peer may leave unread before its connection is destroyed (default 4 MiB; 0 = no limit). */
  maxSendBacklogBytes?: number;
  /** Header timeout (ms): an unfinished message older than this closes its connection. Default 30,000. */
  headerTimeoutMs?: number;
}

export class PresenceServer {
  readonly transport: SipTransport;
  readonly transactions: TransactionLayer;
  readonly registrar: Registrar;
  readonly notifier: Notifier;
  readonly presence: PresencePackage;
  readonly winfo: WatcherInfoPackage;
  readonly authorizer: PresenceAuthorizer;
  private readonly o: PresenceServerOptions;
  private readonly log: SipLogger;
  private readonly now: () => number;
  private readonly timers: TimerApi;
  private readonly persist: WriteBehind;
  private readonly state: PresenceStateStore;
  private readonly auth: SipAuthenticator;
  private readonly packages = new PackageRegistry();
  private readonly notifyHandlers: NotifyHandler[] = [];
  private readonly bindingListeners: Array<(b: Binding) => void> = [];
  private readonly subscriptions: SubscribeHandler;
  private readonly dispatcher: SipDispatcher;
  private unsubscribeXcap?: () => void;
  private addresses: ListenAddresses = {};
  private started = false;

  constructor(options: PresenceServerOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    this.log = componentLogger("presence:server", options.logger);
    this.state = options.state ?? new MemoryPresenceStateStore();
    this.persist = new WriteBehind({ store: this.state, delayMs: options.persistDelayMs, logger: options.logger });
    const l = options.listen;
    this.transport = new SipTransport({
      tcp: l.tcpPort !== undefined ? { host: l.host, port: l.tcpPort } : undefined,
      tls: l.cert && l.key ? { host: l.host, port: l.tlsPort ?? 5061, cert: l.cert, key: l.key } : undefined,
      tlsClient: options.tlsClient,
      maxMessageSize: options.maxMessageSize,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      maxSendBacklogBytes: options.maxSendBacklogBytes,
      headerTimeoutMs: options.headerTimeoutMs,
      timers: this.timers,
      logger: options.logger,
    });
    this.transactions = new TransactionLayer({ timers: this.timers, logger: options.logger });
    this.auth = new SipAuthenticator({
      accounts: options.accounts,
      transport: this.transport,
      ephemeralSecret: options.ephemeralSecret,
      ephemeralRevoked: options.ephemeralRevoked,
      revokedSince: options.revokedSince,
      digestAlgorithms: options.digestAlgorithms,
      challengeStatus: options.challengeStatus,
      domainsCacheMs: options.domainsCacheMs,
      authLimiter: options.authLimiter,
      now: this.now,
      logger: options.logger,
    });
    this.authorizer = new PresenceAuthorizer({ store: options.xcap.store, logger: options.logger });
    this.registrar = new Registrar({
      ...options.registrar,
      flowGraceMs: options.flowGraceMs,
      now: this.now,
      timers: this.timers,
      persist: this.persist,
      onChange: (aor) => this.presence.changed(aor),
      onBinding: (b) => {
        this.presence.bindingRegistered(b);
        for (const l of this.bindingListeners) l(b);
      },
    });
    this.notifier = new Notifier({
      transport: this.transport,
      transactions: this.transactions,
      registrar: this.registrar,
      now: this.now,
      timers: this.timers,
      persist: this.persist,
      logger: options.logger,
      advertisedHost: options.advertisedHost,
      contactPort: (t) => (t === "TLS" ? this.addresses.tls?.port : this.addresses.tcp?.port),
      userAgent: options.userAgent ?? "Herald",
      send: (conn, request) => this.dispatcher.write(conn, request),
    });
    this.winfo = new WatcherInfoPackage({ notifier: this.notifier, now: this.now, persist: this.persist, logger: options.logger, ...options.winfo, ...options.subscribe });
    this.presence = new PresencePackage({
      authorizer: this.authorizer,
      registrar: this.registrar,
      notifier: this.notifier,
      winfo: this.winfo,
      now: this.now,
      timers: this.timers,
      persist: this.persist,
      logger: options.logger,
      notifyIntervalMs: options.notifyIntervalMs,
      flowGraceMs: options.flowGraceMs,
      publish: options.publish,
      subscribe: options.subscribe,
    });
    this.packages.add(this.presence);
    this.packages.add(this.winfo);
    this.subscriptions = new SubscribeHandler({ auth: this.auth, packages: this.packages, notifier: this.notifier, now: this.now, log: this.log });
    const handlers = new Map<string, MethodHandler>([
      ["REGISTER", registerHandler({ auth: this.auth, registrar: this.registrar, transport: this.transport })],
      ["SUBSCRIBE", this.subscriptions.handle],
      ["NOTIFY", notifyHandler(this.notifyHandlers)],
      ["PUBLISH", publishHandler({ auth: this.auth, accounts: options.accounts, publisher: this.presence })],
      ["OPTIONS", optionsHandler({ allow: () => this.dispatcher.allow, allowEvents: () => this.packages.allowEvents(), accept: CONTENT_TYPES.pidf })],
    ]);
    this.dispatcher = new SipDispatcher({ transactions: this.transactions, handlers, logger: options.logger });
  }

  /** Bound addresses (after start). */
  get listening(): ListenAddresses {
    return { ...this.addresses };
  }

  /** The domains and accounts served (the RLS keeps accounts' URIs out of its service URIs). */
  get accounts(): AccountDirectory {
    return this.o.accounts;
  }

  /**
   * Serve another event package for its Event token (xcap-diff, ...). Its persisted subscriptions
   * and rows are restored on start — add it before `start()`. It gets the notifier
   * (`PackageNotifier`) and the write-behind queue through its own constructor.
   */
  addPackage(pkg: EventPackage): void {
    this.packages.add(pkg);
  }

  /** The write-behind queue, for packages that persist rows of their own (`EventPackage.stateKinds`). */
  get persistence(): WriteBehind {
    return this.persist;
  }

  /**
   * Route SUBSCRIBEs for other resources (RLS service URIs) to a plugged-in package. Routes are
   * consulted before the registered packages, also when persisted subscriptions are restored —
   * add them before `start()`.
   */
  addSubscribeRoute(route: SubscribeRoute): void {
    this.packages.addRoute(route);
  }

  /** True when a subscribe route takes `event` SUBSCRIBEs to `resource` (the XMPP gateway's domains): the RLS subscribes such back ends internally. */
  routesResource(resource: string, event = "presence"): Promise<boolean> {
    return this.packages.isRouted(resource, event);
  }

  /** Receive NOTIFYs for dialogs the server subscribed itself (see `NotifyHandler`). */
  addNotifyHandler(handler: NotifyHandler): void {
    this.notifyHandlers.push(handler);
  }

  /** Handle requests of `method` (upper case) with a plugged-in module (MESSAGE); it joins Allow. */
  addMethodHandler(method: string, handler: MethodHandler): void {
    this.dispatcher.addHandler(method, handler);
  }

  /** Told of every binding a REGISTER adds or refreshes (called before the 200 is sent). */
  addBindingListener(listener: (b: Binding) => void): void {
    this.bindingListeners.push(listener);
  }

  /**
   * Authenticate a request's From identity as PUBLISH and SUBSCRIBE are (407 or 401 challenge,
   * shared limiter; 403 when the credentials are another identity's). On success the identity
   * owns the connection. Returns the identity, or the challenge to answer with.
   */
  async authenticateFrom(request: SipRequest, conn: SipConnection): Promise<Identity | SipResponse> {
    const from = aorOf(request.from.uri);
    if (!from) throw new SipError(403, "From must be a SIP AOR");
    const id = await this.auth.authenticate(request, splitAor(from).domain, this.o.challengeStatus !== 401, conn);
    if (id instanceof SipResponse) return id;
    if (id.aor !== from) throw new SipError(403, "Identity does not match From");
    this.auth.trustConnection(conn, request, id.aor);
    return id;
  }

  /** True when `domain` is one of the served domains (RLS: local presentity or another domain). */
  async servesDomain(domain: string): Promise<boolean> {
    return (await this.auth.domain(domain)) !== undefined;
  }

  /** Restore persisted state, subscribe to XCAP changes, listen. */
  async start(): Promise<ListenAddresses> {
    if (this.started) return this.listening;
    this.started = true;
    const restored = await restoreState({ state: this.state, persist: this.persist, registrar: this.registrar, packages: this.packages, notifier: this.notifier, log: this.log });
    this.unsubscribeXcap = this.o.xcap.subscribe?.((e) => this.onXcapChange(e));
    this.transport.on("message", ({ message, connection }) => {
      if (message instanceof SipResponse) this.transactions.receiveResponse(message);
      else this.dispatcher.onRequest(message, connection);
    });
    this.transport.on("connectionClosed", (conn) => {
      this.registrar.flowFailed(conn.id);
      this.presence.flowFailed(conn.id);
    });
    this.addresses = await this.transport.listen();
    this.log("info", "listening", { tcp: this.addresses.tcp?.port, tls: this.addresses.tls?.port });
    announceRestored(this.packages, restored);
    return this.listening;
  }

  /** Stop listening, flush persisted state. Subscriptions stay in the store for the next start. */
  async stop(): Promise<void> {
    this.unsubscribeXcap?.();
    await Promise.race([this.notifier.drain(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.transport.close();
    this.transactions.dispose();
    this.registrar.dispose();
    for (const pkg of this.packages.all()) pkg.dispose?.();
    this.notifier.dispose();
    await this.persist.stop();
    await this.state.close?.();
  }

  /**
   * The account `aor` (`sip:user@domain`) lost its sessions (disabled, deleted, password changed):
   * its registrations and publications go (its watchers see it offline) and the subscriptions it
   * holds end with a final NOTIFY, reason "rejected" (RFC 6665 §4.2.2: do not retry); for a
   * deleted account its watchers' subscriptions end with "noresource". Its next request is
   * authenticated again, and refused. A deleted virtual presentity is dropped the same way.
   */
  dropAccount(aor: string, options: { deleted?: boolean } = {}): void {
    this.registrar.removeAll(aor);
    this.presence.removePublications(aor);
    for (const sub of [...this.notifier.all()]) {
      if (sub.internal) continue; // back ends of the RLS end with the list subscription that owns them
      if (sub.watcher === aor) this.notifier.terminate(sub, "rejected", true);
      else if (options.deleted && sub.resource === aor) this.notifier.terminate(sub, "noresource", true);
    }
  }

  /**
   * Counts for /metrics and the console's charts: contact bindings, AORs with one (users online),
   * live publications, SIP subscriptions by event package and state (the RLS's internal back ends
   * are not counted), NOTIFYs sent and failed.
   */
  metrics(): { registrations: number; usersOnline: number; publications: number; subscriptions: Array<{ event: string; state: string; count: number }>; notifies: { sent: number; failed: number } } {
    const byKey = new Map<string, { event: string; state: string; count: number }>();
    for (const sub of this.notifier.all()) {
      if (sub.internal) continue;
      const k = `${sub.event}\u0000${sub.status}`;
      const e = byKey.get(k) ?? { event: sub.event, state: sub.status, count: 0 };
      e.count++;
      byKey.set(k, e);
    }
    return {
      registrations: this.registrar.size,
      usersOnline: this.registrar.aorCount,
      publications: this.presence.publicationCount,
      subscriptions: [...byKey.values()],
      notifies: { sent: this.notifier.stats.sent, failed: this.notifier.stats.failed },
    };
  }

  /**
   * What the server holds for one account now (the operator console's live view): its contact
   * bindings, its live publications (with the PIDF each carries), the SIP subscriptions it holds
   * as watcher and those it receives as presentity (internal RLS back ends are left out).
   * `inProcessFlow`: made over the WebSocket bridge's in-process flow rather than plain SIP.
   */
  liveState(aor: string): LiveAccountState {
    const flow = (connectionId?: string) => (connectionId ? this.transport.getConnection(connectionId)?.inProcess === true : false);
    const sub = (s: Subscription): LiveSubscription => ({ id: s.id, event: s.event, watcher: s.watcher, resource: s.resource, state: s.status, expiresAt: s.expiresAt });
    const held: LiveSubscription[] = [];
    const received: LiveSubscription[] = [];
    for (const s of this.notifier.all()) {
      if (s.internal) continue;
      if (s.watcher === aor) held.push(sub(s));
      else if (s.resource === aor) received.push(sub(s));
    }
    return {
      registrations: this.registrar.bindingsOf(aor).map((b) => ({ contact: b.contact, instanceId: b.instanceId, transport: b.transport, source: `${b.sourceHost}:${b.sourcePort}`, expiresAt: b.expiresAt, inProcessFlow: flow(b.connectionId) || b.sourceHost === IN_PROCESS_FLOW_HOST })),
      publications: this.presence.publicationsOf(aor).map((p) => ({ etag: p.etag, instance: p.instance, publishedAt: p.publishedAt, expiresAt: p.expiresAt, pidf: p.xml, inProcessFlow: flow(p.connectionId) })),
      subscriptionsHeld: held,
      subscriptionsReceived: received,
    };
  }

  // ---- operator actions (the console's live view) ---------------------------------------------

  /**
   * End one of `aor`'s registrations: its bindings of `contact` go now (watchers see the device
   * gone). A plain SIP device registers again at its next refresh. Returns what was removed; for a
   * binding over an in-process flow (a web page through the bridge) its `flowPort` is the port the
   * bridge's end of that flow has, so the caller can close that page's connection.
   */
  endRegistration(aor: string, contact: string): Array<{ contact: string; flowPort?: number }> {
    return this.registrar.removeContact(aor, contact).map((b) => {
      const conn = b.connectionId ? this.transport.getConnection(b.connectionId) : undefined;
      return conn?.inProcess ? { contact: b.contact, flowPort: conn.remotePort } : { contact: b.contact };
    });
  }

  /**
   * End one subscription `aor` holds or receives, by its id (`liveState`): the watcher gets a final
   * NOTIFY `terminated;reason=rejected` (RFC 6665 §4.2.2: not to be retried at once). False when
   * there is no such subscription of `aor`.
   */
  terminateSubscription(aor: string, id: string): boolean {
    const sub = this.notifier.get(id);
    if (!sub || sub.internal || sub.status === "terminated" || (sub.watcher !== aor && sub.resource !== aor)) return false;
    this.notifier.terminate(sub, "rejected", true);
    return true;
  }

  /** Remove one of `aor`'s publications by its ETag; watchers get the state without it. False when there is none. */
  clearPublication(aor: string, etag: string): boolean {
    return this.presence.clearPublication(aor, etag);
  }

  /** Write pending state now (tests). */
  flush(): Promise<void> {
    return this.persist.flush();
  }

  /** Warm the caches an internal subscription of `watcherAor` to `resource` will use (`EventPackage.warm`). */
  warmInternal(watcherAor: string, resource: string, event = "presence"): Promise<void> {
    return this.subscriptions.warmInternal(watcherAor, resource, event);
  }

  /**
   * Subscribe `watcherAor` to `resource` without SIP, through exactly the authorization path of a
   * SUBSCRIBE (rules, transformations, watcher info). The listener gets every notification a SIP
   * watcher would (same body bytes); while blocked the subscription stays registered with
   * status terminated/rejected so that a rules change can activate it. Not persisted: the owner
   * (RLS) re-creates its back ends on start.
   */
  subscribeInternal(watcherAor: string, resource: string, listener: InternalListener, options: { event?: string } = {}): Promise<InternalSubscription> {
    return this.subscriptions.subscribeInternal(watcherAor, resource, listener, options.event ?? "presence");
  }

  /** React to an XCAP write (pres-rules, resource-lists, pidf-manipulation). */
  onXcapChange(e: XcapChangeEvent): void {
    const todo = this.authorizer.invalidate(e);
    for (const p of todo.rules) {
      void this.presence.reevaluate(p).catch((err) => this.log("error", "re-evaluation failed", { presentity: p, error: String(err) }));
    }
    for (const p of todo.manipulation) this.presence.changed(p);
  }
}
