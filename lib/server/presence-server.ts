/**
 * Herald's embedded SIP SIMPLE server: registrar (RFC 3261 §10), presence agent (RFC 3856,
 * RFC 3903, RFC 6665), pres-rules authorization (RFC 5025 + OMA), watcher info (RFC 3857/3858),
 * persistence with write-behind, and hooks for the RLS (RFC 4662).
 *
 * Authentication (RFC 3261 §22): REGISTER is challenged with 401 (registrar, UAS); out-of-dialog
 * PUBLISH and SUBSCRIBE with 407, as Kamailio does (so a client that works against Kamailio works
 * here). Credentials are the account's HA1 (MD5 or SHA-256) or autheph short-lived credentials
 * (`<expiry>:<user>`, HMAC-SHA1 with the shared secret). The authenticated identity must be the
 * From AOR (PUBLISH and SUBSCRIBE; for PUBLISH also the Request-URI) or the To AOR (REGISTER): 403
 * otherwise.
 *
 * Who is on the other end of a connection: an authenticated request makes its AOR an owner of the
 * connection it came over (`SipConnection.addOwner`; a bridge flow is opened with its session's
 * user as owner), and only then is the `;alias` it offers honoured (RFC 5923 §9). A dialog belongs
 * to its watcher: an in-dialog SUBSCRIBE is accepted without a challenge only on the dialog's own
 * connection or one its watcher owns; from anywhere else it is challenged like an out-of-dialog
 * request, and an identity other than the watcher's gets 403.
 */
import { createHmac, randomBytes } from "node:crypto";
import {
  Dialog,
  DigestAuthenticator,
  MemoryFlowEnd,
  NonInviteServerState,
  type NonInviteServerTransaction,
  SipError,
  SipParseError,
  SipRequest,
  SipResponse,
  serializeMessage,
  testedPassword,
  type SipMessage,
  SipTransport,
  TransactionLayer,
  componentLogger,
  createResponse,
  dialogIdToString,
  ephemeralHa1,
  generateTag,
  parseEphemeralUsername,
  realTimers,
  type DigestAlgorithm,
  type ListenAddresses,
  type SipConnection,
  type SipLogger,
  type TimerApi,
} from "../sip";
import { PresencePayloadError } from "../presence";
import type { XcapChangeEvent, XcapStore } from "../xcap/server";
import type { AuthLimiter } from "../accounts/auth-limiter";
import type { AccountDirectory, ServedDomain } from "./account-directory";
import { aorOf, canonicalAor, splitAor } from "./aor";
import type { EventPackage, InternalListener, InternalNotification, InternalSubscription, SubscribeRequestContext } from "./event-package";
import { Notifier, Subscription, type SubscriptionRecord } from "./notifier";
import { PresenceAuthorizer } from "./presence-authorizer";
import { PresencePackage, permissionsKey, type PublishLimits } from "./presence-package";
import { Registrar } from "./registrar";
import { MemoryPresenceStateStore, WriteBehind, type PresenceStateStore } from "./state-store";
import { WatcherInfoPackage } from "./winfo-package";
import { CONTENT_TYPES } from "../presence/namespaces";

const ALLOW = "REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, OPTIONS";

export interface PresenceServerListen {
  host?: string;
  /** TCP port (0 = any free port). Omit (undefined) to not listen on TCP. */
  tcpPort?: number;
  /** TLS port, used when `cert` and `key` are given. */
  tlsPort?: number;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface PresenceServerOptions {
  listen: PresenceServerListen;
  /** Domains, realms and credentials. */
  accounts: AccountDirectory;
  /** Shared secret of the autheph short-lived credentials; omit to accept only account passwords. */
  ephemeralSecret?: string;
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
  /** Header timeout (ms): an unfinished message older than this closes its connection. Default 30,000. */
  headerTimeoutMs?: number;
}

/**
 * Where a SUBSCRIBE goes when it is not for a local presentity (RLS service URIs, ...). May be
 * asynchronous (the RLS looks service URIs up in the XCAP store). `request` is absent for
 * internal subscriptions and for persisted subscriptions being restored.
 */
export type SubscribeRoute = (ctx: { event: string; resource: string; supported: readonly string[]; request?: SipRequest }) => EventPackage | undefined | Promise<EventPackage | undefined>;

/**
 * Handles a NOTIFY the server receives (dialogs the server created as a subscriber, e.g. RLS
 * back-end subscriptions to other domains). Returns the response, or undefined when the NOTIFY
 * is not for it (the next handler is asked; with none left the answer is 481).
 */
export type NotifyHandler = (request: SipRequest, conn: SipConnection) => SipResponse | undefined | Promise<SipResponse | undefined>;

interface Identity {
  aor: string;
  user: string;
  domain: string;
}

/** A request's response, and what to do once it is sent (a rejection of what `after` returns is logged). */
type Outcome = { response: SipResponse; after?: () => void | Promise<unknown> };

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
  private readonly nonceSecret: Buffer;
  /** In every nonce: a nonce of an earlier run (nonce-counts lost) is answered stale=true. */
  private readonly nonceEpoch = randomBytes(4);
  private readonly routes: SubscribeRoute[] = [];
  private readonly notifyHandlers: NotifyHandler[] = [];
  private readonly packages = new Map<string, EventPackage>();
  private readonly authenticators = new Map<string, DigestAuthenticator>();
  private domains?: { at: number; list: Promise<ServedDomain[]>; ready?: ServedDomain[] };
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
    // nonces stay authentic across a restart when derived from the configured secret; the per-run
    // epoch makes an earlier run's nonce stale (its nonce-counts are gone: replays)
    this.nonceSecret = options.ephemeralSecret ? createHmac("sha256", options.ephemeralSecret).update("herald-sip-nonce").digest() : randomBytes(32);
    const l = options.listen;
    this.transport = new SipTransport({
      tcp: l.tcpPort !== undefined ? { host: l.host, port: l.tcpPort } : undefined,
      tls: l.cert && l.key ? { host: l.host, port: l.tlsPort ?? 5061, cert: l.cert, key: l.key } : undefined,
      tlsClient: options.tlsClient,
      maxMessageSize: options.maxMessageSize,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      headerTimeoutMs: options.headerTimeoutMs,
      timers: this.timers,
      logger: options.logger,
    });
    this.transactions = new TransactionLayer({ timers: this.timers, logger: options.logger });
    this.authorizer = new PresenceAuthorizer({ store: options.xcap.store, logger: options.logger });
    this.registrar = new Registrar({
      ...options.registrar,
      flowGraceMs: options.flowGraceMs,
      now: this.now,
      timers: this.timers,
      persist: this.persist,
      onChange: (aor) => this.presence.changed(aor),
      onBinding: (b) => this.presence.bindingRegistered(b),
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
      send: (conn, request) => this.write(conn, request),
    });
    this.winfo = new WatcherInfoPackage({ now: this.now, persist: this.persist, logger: options.logger, ...options.winfo, ...options.subscribe });
    this.winfo.notifier = this.notifier;
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
    this.packages.set(this.presence.name, this.presence);
    this.packages.set(this.winfo.name, this.winfo);
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
   * Route SUBSCRIBEs for other resources (RLS service URIs) to a plugged-in package. Routes are
   * consulted before the built-in packages, also when persisted subscriptions are restored — add
   * them before `start()`.
   */
  addSubscribeRoute(route: SubscribeRoute): void {
    this.routes.push(route);
  }

  /** Receive NOTIFYs for dialogs the server subscribed itself (see `NotifyHandler`). */
  addNotifyHandler(handler: NotifyHandler): void {
    this.notifyHandlers.push(handler);
  }

  /** True when `domain` is one of the served domains (RLS: local presentity or another domain). */
  async servesDomain(domain: string): Promise<boolean> {
    return (await this.domain(domain)) !== undefined;
  }

  /** Restore persisted state, subscribe to XCAP changes, listen. */
  async start(): Promise<ListenAddresses> {
    if (this.started) return this.listening;
    this.started = true;
    await this.restore();
    this.unsubscribeXcap = this.o.xcap.subscribe?.((e) => this.onXcapChange(e));
    this.transport.on("message", ({ message, connection }) => {
      if (message instanceof SipResponse) this.transactions.receiveResponse(message);
      else this.onRequest(message, connection);
    });
    this.transport.on("connectionClosed", (conn) => {
      this.registrar.flowFailed(conn.id);
      this.presence.flowFailed(conn.id);
    });
    this.addresses = await this.transport.listen();
    this.log("info", "listening", { tcp: this.addresses.tcp?.port, tls: this.addresses.tls?.port });
    // rules may have changed while we were down: re-evaluate restored watchers (NOTIFY only on change)
    const restored = new Set<string>();
    for (const sub of this.notifier.all()) if (sub.pkg === this.presence) restored.add(sub.resource);
    for (const p of restored) void this.presence.reevaluate(p).catch((e) => this.log("error", "re-evaluation after restore failed", { presentity: p, error: String(e) }));
    return this.listening;
  }

  /** Stop listening, flush persisted state. Subscriptions stay in the store for the next start. */
  async stop(): Promise<void> {
    this.unsubscribeXcap?.();
    await Promise.race([this.notifier.drain(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.transport.close();
    this.transactions.dispose();
    this.registrar.dispose();
    this.presence.dispose();
    this.notifier.dispose();
    await this.persist.stop();
  }

  /**
   * The account `aor` (`sip:user@domain`) lost its sessions (disabled, deleted, password changed):
   * its registrations and publications go (its watchers see it offline) and the subscriptions it
   * holds end with a final NOTIFY, reason "rejected" (RFC 6665 §4.2.2: do not retry); for a
   * deleted account its watchers' subscriptions end with "noresource". Its next request is
   * authenticated again, and refused.
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

  /** Write pending state now (tests). */
  flush(): Promise<void> {
    return this.persist.flush();
  }

  // ---- internal subscriptions (RLS back ends) --------------------------------------------------

  /**
   * Subscribe `watcherAor` to `resource` without SIP, through exactly the authorization path of a
   * SUBSCRIBE (rules, transformations, watcher info). The listener gets every notification a SIP
   * watcher would (same body bytes); while blocked the subscription stays registered with
   * status terminated/rejected so that a rules change can activate it. Not persisted: the owner
   * (RLS) re-creates its back ends on start.
   */
  /** Warm the caches an internal subscription of `watcherAor` to `resource` will use (`EventPackage.warm`). */
  async warmInternal(watcherAor: string, resource: string, event = "presence"): Promise<void> {
    const { pkg, ctx } = await this.internalContext(watcherAor, resource, event);
    await pkg.warm?.(ctx);
  }

  private async internalContext(watcherAor: string, resource: string, event = "presence"): Promise<{ pkg: EventPackage; ctx: SubscribeRequestContext }> {
    const watcher = canonicalAor(watcherAor);
    const target = canonicalAor(resource);
    const pkg = await this.packageFor(event, target, []);
    if (!pkg) throw new SipError(489, "Bad Event");
    return { pkg, ctx: { event, resource: target, watcher: { uri: watcher, authenticated: true }, supported: [], accept: [], refresh: false } };
  }

  async subscribeInternal(watcherAor: string, resource: string, listener: InternalListener, options: { event?: string } = {}): Promise<InternalSubscription> {
    const { pkg, ctx } = await this.internalContext(watcherAor, resource, options.event);
    if (pkg === this.presence) {
      // as for a SIP SUBSCRIBE: a local presentity that is no account does not exist (404), it is not "pending"
      const { user, domain } = splitAor(ctx.resource);
      if ((await this.o.accounts.accountStatus(user, domain)) !== "active") throw new SipError(404, "Not Found");
    }
    const decision = await pkg.authorize(ctx);
    const now = this.now();
    const sub = new Subscription({ id: this.notifier.nextInternalId(), event: ctx.event, resource: ctx.resource, watcher: ctx.watcher.uri as string, createdAt: now, expiresAt: Infinity, pkg });
    sub.listener = listener;
    sub.status = decision.status;
    sub.reason = decision.reason;
    sub.permissions = decision.permissions;
    sub.permKey = permissionsKey(decision.permissions);
    this.notifier.add(sub);
    pkg.subscriptionStarted?.(sub);
    await this.notifier.notify(sub, "full");
    const notifier = this.notifier;
    return {
      id: sub.id,
      get current(): InternalNotification {
        return sub.lastInternal ?? { status: sub.status, reason: sub.reason, fullState: true };
      },
      refresh: async () => {
        const d = await pkg.authorize({ ...ctx, refresh: true });
        if (pkg === this.presence) this.presence.apply(sub, d);
        await notifier.notify(sub, "full");
        return sub.lastInternal as InternalNotification;
      },
      close: () => notifier.terminate(sub, "timeout", false),
    };
  }

  // ---- request dispatch ------------------------------------------------------------------------

  /**
   * While a request's outcome is being sent, messages for its connection are collected here and
   * written together (the 200 to a SUBSCRIBE and its first NOTIFY: one write, one segment).
   */
  private batch?: { conn: SipConnection; parts: Buffer[] };

  private write(conn: SipConnection, message: SipMessage): void {
    const b = this.batch;
    if (b === undefined || b.conn !== conn) return conn.send(message);
    // a closed connection fails now, as an unbatched send would (transport error for the transaction)
    if (conn.closed) throw new Error(`connection ${conn.id} is closed`);
    b.parts.push(serializeMessage(message));
  }

  private flushBatch(): void {
    const b = this.batch;
    this.batch = undefined;
    if (!b || b.parts.length === 0) return;
    try {
      b.conn.sendAll(b.parts);
    } catch (e) {
      this.log("debug", "could not send", { error: String(e) });
    }
  }

  /**
   * Every request gets a final response, and nothing that goes wrong while handling one can end
   * the process: a failure anywhere on its way (dispatch, building the response, sending it, the
   * post-response action) is logged and, while the request is still unanswered, answered 500.
   */
  private onRequest(request: SipRequest, conn: SipConnection): void {
    const send = (r: SipResponse) => this.write(conn, r);
    let disposition: ReturnType<TransactionLayer["receiveRequest"]>;
    try {
      disposition = this.transactions.receiveRequest(request, { send, reliable: true });
    } catch (e) {
      this.log("error", "request failed", { method: request.method, error: errorText(e) });
      this.trySend(conn, () => createResponse(request, 500, { toTag: request.to.tag === undefined ? generateTag() : undefined }));
      return;
    }
    if (disposition.kind === "retransmission") return;
    if (disposition.kind === "stateless") {
      if (request.method === "ACK") return;
      this.trySend(conn, () => createResponse(request, request.method === "CANCEL" ? 481 : 405, { toTag: generateTag(), headers: [["Allow", ALLOW]] }));
      return;
    }
    const tx = disposition.transaction;
    this.dispatch(request, conn)
      .then((outcome) => this.complete(tx, request, conn, outcome))
      .catch((e: unknown) => {
        // dispatch answers its own errors: this is a failure building that answer or sending it
        this.log("error", "request failed", { method: request.method, error: errorText(e) });
        this.respondFinal(tx, request, conn, () => createResponse(request, 500, { toTag: request.to.tag === undefined ? generateTag() : undefined }));
      });
  }

  /** Send the outcome's response (batched with what its `after` sends), then run `after`. */
  private complete(tx: NonInviteServerTransaction, request: SipRequest, conn: SipConnection, outcome: Outcome): void {
    this.batch = { conn, parts: [] };
    try {
      try {
        tx.respond(outcome.response);
      } catch (e) {
        this.log("debug", "could not send response", { error: errorText(e) });
        return;
      }
      const p = outcome.after?.();
      if (p) p.catch((e: unknown) => this.log("error", "post-response action failed", { method: request.method, error: errorText(e) }));
    } catch (e) {
      this.log("error", "post-response action failed", { method: request.method, error: errorText(e) });
    } finally {
      this.flushBatch();
    }
  }

  /** A final response built by `make`, unless the transaction was answered already; if even that fails, the connection is closed. */
  private respondFinal(tx: NonInviteServerTransaction, request: SipRequest, conn: SipConnection, make: () => SipResponse): void {
    if (tx.state === NonInviteServerState.Completed || tx.state === NonInviteServerState.Terminated) return;
    try {
      tx.respond(make());
    } catch (e) {
      this.log("error", "could not answer a request, closing its connection", { method: request.method, id: conn.id, error: errorText(e) });
      conn.close();
    }
  }

  private async dispatch(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    try {
      request.validate();
      switch (request.method) {
        case "REGISTER":
          return await this.onRegister(request, conn);
        case "PUBLISH":
          return await this.onPublish(request, conn);
        case "SUBSCRIBE":
          // RFC 3261 §8.1.1.3: the From tag is mandatory; a dialog cannot be made without it (§12.1.1)
          if (request.from.tag === undefined) throw new SipError(400, "Missing From tag");
          return await this.onSubscribe(request, conn);
        case "OPTIONS":
          return { response: createResponse(request, 200, { toTag: generateTag(), headers: [["Allow", ALLOW], ["Allow-Events", this.allowEvents()], ["Accept", CONTENT_TYPES.pidf]] }) };
        case "NOTIFY":
          return await this.onNotify(request, conn);
        default:
          return { response: createResponse(request, 405, { toTag: generateTag(), headers: [["Allow", ALLOW]] }) };
      }
    } catch (e) {
      return { response: this.errorResponse(request, e) };
    }
  }

  /** The response for a failed request. Reason phrases may hold anything: `SipResponse` makes them wire-safe. */
  private errorResponse(request: SipRequest, e: unknown): SipResponse {
    const toTag = request.to.tag === undefined ? generateTag() : undefined;
    if (e instanceof SipError) return createResponse(request, e.status, { reason: e.reason, toTag, headers: [...e.headers] });
    if (e instanceof SipParseError) return createResponse(request, e.status, { reason: e.reason, toTag });
    if (e instanceof PresencePayloadError) return createResponse(request, e.status, { reason: e.message, toTag });
    this.log("error", "request failed", { method: request.method, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    return createResponse(request, 500, { toTag });
  }

  private trySend(conn: SipConnection, make: () => SipResponse): void {
    try {
      conn.send(make());
    } catch (e) {
      this.log("debug", "could not send", { error: String(e) });
    }
  }

  private allowEvents(): string {
    return [...this.packages.keys()].join(", ");
  }

  // ---- authentication --------------------------------------------------------------------------

  private servedDomains(): Promise<ServedDomain[]> {
    const now = Date.now();
    if (!this.domains || now - this.domains.at > (this.o.domainsCacheMs ?? 5000)) {
      const list = this.o.accounts.listDomains();
      const entry: { at: number; list: Promise<ServedDomain[]>; ready?: ServedDomain[] } = { at: now, list };
      this.domains = entry;
      list.then(
        (l) => (entry.ready = l),
        () => {
          if (this.domains === entry) this.domains = undefined;
        },
      );
    }
    return this.domains.list;
  }

  /** The served domain `name`: synchronously while the cached list is fresh (no promise per request). */
  private domain(name: string): ServedDomain | undefined | Promise<ServedDomain | undefined> {
    const n = name.toLowerCase();
    const c = this.domains;
    if (c?.ready && Date.now() - c.at <= (this.o.domainsCacheMs ?? 5000)) return c.ready.find((d) => d.name === n);
    return this.servedDomains().then((l) => l.find((d) => d.name === n));
  }

  private authenticator(d: ServedDomain): DigestAuthenticator {
    let a = this.authenticators.get(d.name);
    if (!a) {
      a = new DigestAuthenticator({
        realm: d.realm,
        secret: this.nonceSecret,
        credentialsLookup: (username, _realm, algorithm) => this.lookupHa1(d, username, algorithm),
        algorithms: this.o.digestAlgorithms ?? ["MD5"],
        clock: this.now,
        epoch: this.nonceEpoch,
        logger: this.o.logger,
      });
      this.authenticators.set(d.name, a);
    }
    return a;
  }

  private lookupHa1(d: ServedDomain, username: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const eph = parseEphemeralUsername(username);
    if (eph) {
      if (!this.o.ephemeralSecret) return Promise.resolve(undefined);
      return Promise.resolve(ephemeralHa1({ secret: this.o.ephemeralSecret, username, realm: d.realm, algorithm, now: this.now() }));
    }
    const { user, domain } = userAndDomain(username, d.name);
    if (domain !== d.name) return Promise.resolve(undefined);
    return this.o.accounts.lookupHa1(user, domain, algorithm);
  }

  /**
   * Digest-authenticate `request` for an identity in `domainName` (401 for REGISTER, 407 else).
   * Returns the identity, or a challenge/403 response.
   */
  private async authenticate(request: SipRequest, domainName: string, proxy: boolean, conn: SipConnection): Promise<Identity | SipResponse> {
    const d = await this.domain(domainName);
    if (!d) throw new SipError(403, "Domain not served here");
    const auth = this.authenticator(d);
    const v = await this.verifyLimited(auth, d, request, proxy, conn);
    if (!v.ok) {
      const ch = auth.challenge({ proxy, stale: v.stale });
      const res = createResponse(request, ch.status, { toTag: request.to.tag === undefined ? generateTag() : undefined });
      for (const value of ch.values) res.addHeader(ch.header, value);
      return res;
    }
    const eph = parseEphemeralUsername(v.username);
    const { user, domain } = userAndDomain(eph ? eph.user : v.username, d.name);
    if (domain !== d.name) throw new SipError(403, "Identity not in this domain");
    if ((await this.o.accounts.accountStatus(user, domain)) !== "active") throw new SipError(403, "Account disabled or unknown");
    return { aor: `sip:${user}@${domain}`, user, domain };
  }

  /**
   * Verify the credentials, counted by the auth limiter before the check (keyed by the claimed
   * account and the client address); the challenge round without credentials is not counted.
   * 503 + Retry-After when refused: a temporary condition the client retries after (403 would tell
   * a phone to give up; SIP's 429 means something else, RFC 3892). RFC 3263 clients may try another
   * server of the domain first.
   */
  private async verifyLimited(auth: DigestAuthenticator, d: ServedDomain, request: SipRequest, proxy: boolean, conn: SipConnection) {
    const limiter = this.o.authLimiter;
    const creds = limiter ? auth.credentialsIn(request, { proxy }) : undefined;
    if (!limiter || typeof creds !== "object" || !creds.params.username) return auth.verifyRequest(request, { proxy });
    const eph = parseEphemeralUsername(creds.params.username);
    const { user, domain } = userAndDomain(eph ? eph.user : creds.params.username, d.name);
    // a bridge flow's client is the browser behind it (its `clientAddress`), not the flow's peer
    const address = conn.clientAddress;
    const attempt = limiter.attempt({ account: `${user}@${domain}`, address });
    if (!attempt.allowed) {
      throw new SipError(503, "Too Many Failed Authentication Attempts", { headers: [["Retry-After", String(attempt.retryAfterSeconds)]] });
    }
    try {
      const v = await auth.verifyRequest(request, { proxy, credentials: creds });
      if (v.ok) attempt.succeeded();
      else if (testedPassword(v, this.now())) attempt.failed();
      return v;
    } finally {
      attempt.released(); // no-op once settled
    }
  }

  /**
   * `aor` authenticated on `conn` (and is the identity the request claims): it owns the
   * connection, and the `;alias` the request offers is honoured (RFC 5923 §9).
   */
  private trustConnection(conn: SipConnection, request: SipRequest, aor: string): void {
    conn.addOwner(aor);
    const alias = this.transport.offeredAlias(request, conn);
    if (alias) this.transport.addAlias(conn, alias.host, alias.port);
  }

  // ---- REGISTER --------------------------------------------------------------------------------

  private async onRegister(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    const aor = aorOf(request.to.uri);
    if (!aor) throw new SipError(404, "Not Found");
    const { domain } = splitAor(aor);
    if (!(await this.domain(domain))) throw new SipError(404, "Domain not served here");
    const id = await this.authenticate(request, domain, false, conn);
    if (id instanceof SipResponse) return { response: id };
    if (id.aor !== aor) throw new SipError(403, "Identity does not match To"); // §10.3 step 3
    this.trustConnection(conn, request, id.aor);
    try {
      const response = this.registrar.register(request, aor, conn);
      for (const c of request.contact) {
        if (c === "*") continue;
        const u = c.uri as { host?: string; port?: number };
        if (u.host && u.port) this.transport.addAlias(conn, u.host.replace(/^\[|\]$/g, ""), u.port); // RFC 5923-style reuse
      }
      return { response };
    } catch (e) {
      if (e instanceof SipError && e.status === 423) throw new SipError(423, e.reason, { headers: [["Min-Expires", String(this.registrar.minExpires)]] });
      throw e;
    }
  }

  // ---- PUBLISH ---------------------------------------------------------------------------------

  private async onPublish(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    const presentity = aorOf(request.uri) ?? aorOf(request.to.uri);
    if (!presentity) throw new SipError(404, "Not Found");
    const { user, domain } = splitAor(presentity);
    if (!(await this.domain(domain))) throw new SipError(404, "Domain not served here");
    const ev = request.event?.value;
    if (ev !== "presence") throw new SipError(489, "Bad Event", { headers: [["Allow-Events", "presence"]] }); // RFC 3903 §6 step 2
    const id = await this.authenticate(request, splitAor(aorOf(request.from.uri) ?? presentity).domain, this.o.challengeStatus !== 401, conn);
    if (id instanceof SipResponse) return { response: id };
    if (id.aor !== aorOf(request.from.uri) || id.aor !== presentity) throw new SipError(403, "Only the presentity may publish");
    this.trustConnection(conn, request, id.aor);
    if ((await this.o.accounts.accountStatus(user, domain)) !== "active") throw new SipError(404, "Not Found");
    return { response: this.presence.publish(request, presentity, { connectionId: conn.id, inProcessFlow: conn.stream instanceof MemoryFlowEnd }) };
  }

  // ---- SUBSCRIBE -------------------------------------------------------------------------------

  private async packageFor(event: string, resource: string, supported: readonly string[], request?: SipRequest): Promise<EventPackage | undefined> {
    for (const r of this.routes) {
      const p = await r({ event, resource, supported, request });
      if (p) return p;
    }
    return this.packages.get(event);
  }

  private async onNotify(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    for (const h of this.notifyHandlers) {
      const response = await h(request, conn);
      if (response) return { response };
    }
    return { response: createResponse(request, 481, { toTag: request.to.tag === undefined ? generateTag() : undefined }) };
  }

  private async onSubscribe(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    const ev = request.event;
    if (!ev) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", this.allowEvents()]] });
    if (request.to.tag !== undefined) return this.onResubscribe(request, conn);
    const resourceAor = aorOf(request.uri);
    const resource = resourceAor ?? canonicalAor(request.uri.toString());
    const pkg = this.routes.length === 0 ? this.packages.get(ev.value) : await this.packageFor(ev.value, resource, request.supported, request);
    if (!pkg) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", this.allowEvents()]] }); // RFC 6665 §4.2.1.1
    const watcherAor = aorOf(request.from.uri);
    if (!watcherAor) throw new SipError(403, "Watcher must be a SIP AOR");
    const id = await this.authenticate(request, splitAor(watcherAor).domain, this.o.challengeStatus !== 401, conn);
    if (id instanceof SipResponse) return { response: id };
    if (id.aor !== watcherAor) throw new SipError(403, "Identity does not match From");
    this.trustConnection(conn, request, id.aor);
    if (pkg === this.presence || pkg === this.winfo) {
      if (!resourceAor) throw new SipError(404, "Not Found");
      const { user, domain } = splitAor(resourceAor);
      if (!(await this.domain(domain)) || (await this.o.accounts.accountStatus(user, domain)) !== "active") throw new SipError(404, "Not Found");
    }
    const accept = request.accept;
    if (accept.length > 0 && !pkg.acceptTypes.some((t) => accept.includes(t) || accept.includes("*/*") || accept.includes(t.split("/")[0] + "/*"))) {
      throw new SipError(406, "Not Acceptable", { headers: [["Accept", pkg.acceptTypes.join(", ")]] });
    }
    const expires = this.negotiateExpires(request, pkg);
    if (request.contact.length === 0 || request.contact[0] === "*") throw new SipError(400, "Missing Contact");
    const ctx: SubscribeRequestContext = { event: ev.value, resource, watcher: { uri: watcherAor, authenticated: true }, supported: request.supported, accept, refresh: false };
    const decision = await pkg.authorize(ctx);
    if (decision.rejectWith) {
      pkg.subscriptionRejected?.(ctx, { id: request.callId, displayName: request.from.displayName });
      throw new SipError(decision.rejectWith.status, decision.rejectWith.reason ?? "Forbidden");
    }
    const localTag = generateTag();
    const dialog = Dialog.createUas(request, localTag);
    const now = this.now();
    const sub = new Subscription({ id: dialog.idString, event: ev.value, resource, watcher: watcherAor, createdAt: now, expiresAt: now + expires * 1000, pkg });
    sub.dialog = dialog;
    sub.eventId = ev.param("id");
    sub.watcherDisplayName = request.from.displayName;
    sub.status = decision.status;
    sub.reason = decision.reason;
    sub.permissions = decision.permissions;
    sub.permKey = permissionsKey(decision.permissions);
    if (accept.length) sub.accept = accept;
    if (request.supported.length) sub.supported = request.supported;
    sub.connectionId = conn.id;
    const response = createResponse(request, 200, { toTag: localTag, headers: [["Expires", String(expires)], ["Contact", this.notifier.contactFor(conn)], ...(pkg.extraHeaders?.(sub) ?? [])] });
    return {
      response,
      after: () => {
        this.notifier.add(sub);
        pkg.subscriptionStarted?.(sub);
        if (decision.status === "terminated") {
          this.notifier.terminate(sub, decision.reason, true);
        } else if (expires === 0) {
          // RFC 6665 §4.4.3 fetch: one NOTIFY with the state, subscription terminated
          sub.finalBody = sub.status === "active";
          this.notifier.terminate(sub, "timeout", true);
        } else {
          void this.notifier.notifyNow(sub); // RFC 6665 §4.2.1.2: immediate NOTIFY
        }
      },
    };
  }

  private negotiateExpires(request: SipRequest, pkg: EventPackage): number {
    const asked = request.expires ?? pkg.defaultExpires;
    if (asked > 0 && asked < pkg.minExpires) throw new SipError(423, "Interval Too Brief", { headers: [["Min-Expires", String(pkg.minExpires)]] }); // RFC 6665 §4.2.1.1
    return Math.min(asked, pkg.maxExpires);
  }

  private async onResubscribe(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    const fromTag = request.from.tag;
    const toTag = request.to.tag;
    if (fromTag === undefined || toTag === undefined) throw new SipError(481, "Subscription does not exist");
    const sub = this.notifier.get(dialogIdToString({ callId: request.callId, localTag: toTag, remoteTag: fromTag }));
    if (!sub || !sub.dialog || sub.status === "terminated") throw new SipError(481, "Subscription does not exist");
    if (request.event?.value !== sub.event) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", sub.event]] });
    if (sub.connectionId !== conn.id && !conn.isOwnedBy(sub.watcher)) {
      // the dialog belongs to its watcher: from another connection, prove to be the watcher first
      const id = await this.authenticate(request, splitAor(sub.watcher).domain, this.o.challengeStatus !== 401, conn);
      if (id instanceof SipResponse) return { response: id };
      if (id.aor !== sub.watcher) throw new SipError(403, "Not the subscriber of this dialog");
      this.trustConnection(conn, request, id.aor);
    }
    if (!sub.dialog.receiveRequest(request)) throw new SipError(500, "CSeq out of order"); // RFC 3261 §12.2.2
    const expires = this.negotiateExpires(request, sub.pkg);
    sub.connectionId = conn.id;
    const response = createResponse(request, 200, { headers: [["Expires", String(expires)], ["Contact", this.notifier.contactFor(conn)], ...(sub.pkg.extraHeaders?.(sub) ?? [])] });
    if (expires === 0) {
      // RFC 6665 §4.2.1.4: unsubscribe → final NOTIFY
      return { response, after: () => this.notifier.terminate(sub, "timeout", true) };
    }
    this.notifier.refresh(sub, this.now() + expires * 1000);
    return {
      response,
      after: () => {
        void (async () => {
          if (sub.pkg === this.presence) {
            try {
              const d = await this.presence.authorize({ event: sub.event, resource: sub.resource, watcher: { uri: sub.watcher, authenticated: true }, supported: sub.supported, accept: sub.accept, refresh: true });
              const before = sub.status;
              this.presence.apply(sub, d);
              if (sub.status !== before || sub.status === "terminated") return; // apply sent the NOTIFY
            } catch (e) {
              this.log("error", "re-authorization on refresh failed", { error: String(e) });
            }
          }
          // RFC 6665 §4.2.1.2: a refresh gets a NOTIFY with the full state
          void this.notifier.notify(sub, "full");
        })();
      },
    };
  }

  // ---- XCAP changes and restore ------------------------------------------------------------------

  /** React to an XCAP write (pres-rules, resource-lists, pidf-manipulation). */
  onXcapChange(e: XcapChangeEvent): void {
    const todo = this.authorizer.invalidate(e);
    for (const p of todo.rules) {
      void this.presence.reevaluate(p).catch((err) => this.log("error", "re-evaluation failed", { presentity: p, error: String(err) }));
    }
    for (const p of todo.manipulation) this.presence.changed(p);
  }

  private async restore(): Promise<void> {
    const [regs, pubs, subs, watchers] = await Promise.all([
      this.state.load("registration"),
      this.state.load("publication"),
      this.state.load("subscription"),
      this.state.load("watcher"),
    ]);
    this.registrar.restore(regs);
    this.presence.restorePublications(pubs);
    this.winfo.restore(watchers);
    // packages are resolved first (routes may be asynchronous), then the notifier rebuilds
    const pkgs = new Map<string, EventPackage | undefined>();
    for (const row of subs) {
      try {
        const r = JSON.parse(row.data) as SubscriptionRecord;
        pkgs.set(r.id, await this.packageFor(r.event, r.resource, r.supported ?? []));
      } catch (e) {
        this.log("warn", "no package for a persisted subscription", { key: row.key, error: e instanceof Error ? e.message : String(e) });
      }
    }
    const restored = this.notifier.restore(subs, (r: SubscriptionRecord) => pkgs.get(r.id));
    for (const s of restored) s.permKey = permissionsKey(s.permissions);
    if (regs.length + pubs.length + subs.length > 0) {
      this.log("info", "restored state", { registrations: regs.length, publications: pubs.length, subscriptions: restored.length, watchers: watchers.length });
    }
  }
}

function userAndDomain(username: string, defaultDomain: string): { user: string; domain: string } {
  const at = username.lastIndexOf("@");
  if (at < 0) return { user: username, domain: defaultDomain };
  return { user: username.slice(0, at), domain: username.slice(at + 1).toLowerCase() };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.stack ?? e.message : String(e);
}
