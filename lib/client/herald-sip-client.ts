/**
 * The browser's SIP SIMPLE client: one JsSIP user agent per tab that registers as one device
 * (`+sip.instance`), publishes the user's presence (RFC 3903), subscribes once to the RLS buddy
 * list (RFC 4662), to its own watcher info (RFC 3857) and to its own presence, and keeps a
 * PresenceStore the UI renders from.
 *
 * Connection loss: every live state is marked stale at once; JsSIP reconnects with exponential
 * backoff (capped by `reconnect.maxSeconds`); once the new connection is up the client
 * re-registers, re-publishes and re-subscribes together (none waits for another), and fresh full
 * state replaces the stale entries.
 */
import { UA, WebSocketInterface, type Socket } from "jssip";
import type { PresenceSummary } from "../presence";
import { withMd5Challenges } from "./digest-challenge-filter";
import { AutoAway, attachActivityListeners, type ActivityTarget } from "./auto-away";
import { tabInstanceId, type KeyValueStorage } from "./instance-id";
import { JsSipPublishTransport } from "./jssip-publish-transport";
import { JsSipMessageTransport } from "./jssip-message-transport";
import { InstantMessenger } from "./instant-messenger";
import { composeMyPidf, myStatusOf, type DeviceDescription, type MyPresence, type MyStatus } from "./my-presence";
import { PresenceStore } from "./presence-store";
import { Publisher, type PublishTransport } from "./publisher";
import { presenceListUri, ResourceListSubscription } from "./resource-list-subscription";
import { SelfPresenceSubscription } from "./self-presence-subscription";
import { realTimers, type ClientTimers, type TimerHandle } from "./timers";
import { WatcherInfoSubscription } from "./watcher-info-subscription";
import { xcapDiffSubscription } from "./xcap-diff-subscription";
import type { EventSubscription } from "./event-subscription";

/** Short-lived SIP credentials the portal issues for the logged-in user. */
export interface SipCredentials {
  /** WebSocket URL of the bridge, e.g. "wss://portal.example/sip". */
  wsUrl: string;
  /** "sip:alice@example.test" */
  aor: string;
  /** "<expiry>:alice" (autheph-style ephemeral user name). */
  authorizationUser: string;
  password: string;
  displayName?: string;
  realm?: string;
  /** The user's icon URL (pres-content), ideally hash-tagged. */
  iconUrl?: string;
  /** A device id to use instead of the tab's stored one. */
  instanceId?: string;
}

/** Expires of the tab's publication, seconds (see `publishExpires`). */
export const DEFAULT_PUBLISH_EXPIRES = 300;

export type ClientConnectionEvent = "connecting" | "connected" | "registered" | "reconnecting" | "failed" | "stopped";

export interface ClientEventMap {
  connecting: { attempt: number };
  connected: Record<string, never>;
  registered: Record<string, never>;
  reconnecting: { code?: number; reason?: string };
  failed: { status?: number; reason: string };
  stopped: Record<string, never>;
  /** The bridge ended this account's sessions (WS close SESSION_ENDED_CLOSE_CODE); the client stopped for good. `reason`: disabled, password-changed, deleted. */
  sessionEnded: { reason: string };
  /** Status/note taken over from another device of the same user. */
  adopted: { from: string; presence: MyPresence };
  /** Diagnostics: a subscription re-synchronized (version gap, bad body). */
  resync: { subscription: "rls" | "winfo"; why: string };
}

/**
 * WebSocket close code with which the bridge ends an account's connections (lib/bridge WsClose.SessionEnded):
 * the account was disabled, deleted or given a new password; reconnecting would be refused.
 */
export const SESSION_ENDED_CLOSE_CODE = 4001;

type Listener<T> = (payload: T) => void;

export interface HeraldSipClientOptions {
  credentials: SipCredentials;
  /** Make the JsSIP socket (default: JsSIP's WebSocketInterface on `credentials.wsUrl`, subprotocol "sip"). */
  socketFactory?: (credentials: SipCredentials) => Socket;
  /** Ask the portal for new credentials (before they expire, and when the server rejects them). */
  refreshCredentials?: () => Promise<SipCredentials>;
  /** Device id; default `credentials.instanceId`, else a per-tab id kept in sessionStorage. */
  instanceId?: string;
  storage?: KeyValueStorage | null;
  /** Default "Herald". */
  userAgent?: string;
  /** Device description published in device-info (e.g. browser and OS). */
  deviceDescription?: string;
  /**
   * Seconds (defaults: register 600, publish 300, subscribe 600). A tab publishes for 5 minutes
   * and refreshes: a tab that dies without un-publishing is not shown for longer than that even
   * where the server cannot see its flow fail (an upstream server without RFC 5626 flows).
   */
  registerExpires?: number;
  publishExpires?: number;
  subscribeExpires?: number;
  /** JsSIP connection recovery: first interval and cap, seconds (default 2 and 30). */
  reconnect?: { minSeconds?: number; maxSeconds?: number };
  /** Automatic away after `idleMinutes` (default 10) without activity; false to disable. */
  autoAway?: { idleMinutes?: number; enabled?: boolean } | false;
  /** What to publish first (default available, with `credentials.iconUrl`). */
  initialPresence?: MyPresence;
  /** Window for pagehide/pageshow and activity events; default `globalThis.window` when present, null for none. */
  window?: (ActivityTarget & { addEventListener(type: string, l: (e: { persisted?: boolean }) => void): void }) | null;
  timers?: ClientTimers;
  store?: PresenceStore;
  /** Subscriptions to open (all default true). */
  subscribe?: { resourceList?: boolean; watcherInfo?: boolean; self?: boolean; xcapDiff?: boolean };
  /** The XCAP documents the page was rendered from (document selector → ETag): xcap-diff's first full state reports only those that differ. */
  renderedDocuments?: Readonly<Record<string, string>>;
  /** Replace the PUBLISH transport (tests). Default: JsSIP's transaction layer. */
  publishTransport?: (ua: UA) => PublishTransport;
  /** Retry backoff for publication and subscriptions (ms; default 2000 up to 60000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** Expiry (epoch seconds) of an autheph-style user name "<expiry>:<user>", if it has one. */
export function credentialsExpiry(authorizationUser: string): number | undefined {
  const m = /^(\d{9,12}):/.exec(authorizationUser);
  return m ? Number(m[1]) : undefined;
}

export class HeraldSipClient {
  readonly store: PresenceStore;
  /** Instant messages (MESSAGE, RFC 3428) with this tab's UA. */
  readonly messenger: InstantMessenger;
  private readonly messageTransport = new JsSipMessageTransport();
  readonly aor: string;
  readonly instanceId: string;
  private credentials: SipCredentials;
  private readonly opts: HeraldSipClientOptions;
  private readonly timers: ClientTimers;
  private readonly device: DeviceDescription;
  private ua?: UA;
  private publisher?: Publisher;
  private rls?: ResourceListSubscription;
  private winfo?: WatcherInfoSubscription;
  private selfSub?: SelfPresenceSubscription;
  private xcapDiff?: EventSubscription;
  private readonly autoAway?: AutoAway;
  private me: MyPresence;
  /** The user's choice while auto-away is in effect. */
  private beforeIdle?: MyPresence;
  /** Epoch ms of the last status change made here or adopted (older foreign tuples are not adopted). */
  private lastChangeAt: number;
  private everOnline = false;
  private sessionStarted = false;
  private stopped = true;
  private pageShowAttached = false;
  private credentialTimer?: TimerHandle;
  private refreshingCredentials?: Promise<boolean>;
  private readonly listeners = new Map<keyof ClientEventMap, Set<Listener<never>>>();
  private readonly detachers: (() => void)[] = [];

  constructor(options: HeraldSipClientOptions) {
    this.opts = options;
    this.credentials = options.credentials;
    this.aor = options.credentials.aor;
    this.timers = options.timers ?? realTimers;
    this.instanceId = options.instanceId ?? options.credentials.instanceId ?? tabInstanceId(options.storage);
    this.device = { deviceId: this.instanceId, userAgent: options.userAgent ?? "Herald" };
    if (options.deviceDescription) this.device.description = options.deviceDescription;
    if (options.credentials.displayName) this.device.displayName = options.credentials.displayName;
    this.me = options.initialPresence ?? { status: "available", ...(options.credentials.iconUrl ? { iconUrl: options.credentials.iconUrl } : {}) };
    this.lastChangeAt = this.timers.now();
    this.store = options.store ?? new PresenceStore({ myPresence: this.me, aor: this.aor });
    this.store.setMyPresence(this.me);
    this.messenger = new InstantMessenger({ transport: this.messageTransport, timers: this.timers });
    const aa = options.autoAway;
    if (aa !== false && aa?.enabled !== false) {
      this.autoAway = new AutoAway({
        idleMs: (aa?.idleMinutes ?? 10) * 60_000,
        timers: this.timers,
        onIdle: () => this.enterAutoAway(),
        onActive: () => this.leaveAutoAway(),
      });
    }
  }

  // ---------------------------------------------------------------- events

  on<K extends keyof ClientEventMap>(type: K, listener: Listener<ClientEventMap[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  private emit<K extends keyof ClientEventMap>(type: K, payload: ClientEventMap[K]): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) (l as Listener<ClientEventMap[K]>)(payload);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Connect, register, publish and subscribe. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.store.setConnection("connecting");
    if (!this.ua) this.ua = this.createUa();
    this.ua.start();
    this.autoAway?.start();
    this.attachWindow();
    this.scheduleCredentialRefresh();
  }

  /**
   * Log out / close: remove the publication (Expires: 0), end the subscriptions, unregister and
   * disconnect. Resolves when the PUBLISH removal is answered (or failed).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.autoAway?.stop();
    for (const d of this.detachers.splice(0)) d();
    if (this.credentialTimer !== undefined) this.timers.clearTimeout(this.credentialTimer);
    const removal = this.publisher?.remove();
    this.rls?.stop();
    this.winfo?.stop();
    this.selfSub?.stop();
    this.xcapDiff?.stop();
    this.sessionStarted = false;
    await removal;
    this.publisher?.dispose();
    this.ua?.stop();
    this.store.markStale(this.timers.now());
    this.store.setConnection("offline");
    this.emit("stopped", {});
  }

  /** Tab is going away (pagehide): the removal PUBLISH goes out synchronously, best effort. */
  private pageHidden(): void {
    void this.stop();
  }

  // ---------------------------------------------------------------- presence API

  get presence(): MyPresence {
    return this.me;
  }

  /** Change what this tab publishes (merged with the current value) and publish it. */
  setPresence(patch: Partial<MyPresence>): Promise<void> {
    this.beforeIdle = undefined;
    const next: MyPresence = { ...this.me, ...patch };
    delete next.idle;
    delete next.lastInput;
    for (const k of Object.keys(next) as (keyof MyPresence)[]) if (next[k] === undefined || next[k] === "") delete next[k];
    this.lastChangeAt = this.timers.now();
    return this.apply(next);
  }

  setStatus(status: MyStatus): Promise<void> {
    return this.setPresence({ status });
  }

  /** Empty or undefined clears the note. */
  setNote(note: string | undefined): Promise<void> {
    return this.setPresence({ note: note ?? "" });
  }

  setActivities(activities: string[] | undefined): Promise<void> {
    return this.setPresence({ activities });
  }

  setHomepage(homepage: string | undefined): Promise<void> {
    return this.setPresence({ homepage: homepage ?? "" });
  }

  /** The published icon URL (hash-tagged with iconUrlWithHash); undefined removes it. */
  setIcon(iconUrl: string | undefined): Promise<void> {
    return this.setPresence({ iconUrl: iconUrl ?? "" });
  }

  /** The display name published with this tab's presence (CIPID `display-name`); empty removes it. */
  setDisplayName(name: string): Promise<void> {
    if (name) this.device.displayName = name;
    else delete this.device.displayName;
    return this.apply(this.me);
  }

  /** Configure automatic away (minutes; 0/false disables). */
  setAutoAway(idleMinutes: number | false): void {
    if (!this.autoAway) return;
    if (idleMinutes === false || idleMinutes <= 0) this.autoAway.stop();
    else {
      this.autoAway.setIdleMs(idleMinutes * 60_000);
      if (!this.stopped) this.autoAway.start();
    }
  }

  /** Report user activity (the client also listens to DOM events on `window`). */
  reportActivity(): void {
    this.autoAway?.activity();
  }

  /** Fresh SUBSCRIBEs for full state (e.g. after the contact list changed in XCAP and the UI wants to be sure). */
  resync(): void {
    this.rls?.resync("requested");
    this.winfo?.resync("requested");
  }

  /** New credentials from the portal (the old ones expire). Takes effect for the next authentication. */
  updateCredentials(credentials: SipCredentials): void {
    this.credentials = { ...credentials, aor: this.aor };
    if (this.ua) {
      this.ua.set("authorization_user", credentials.authorizationUser);
      this.ua.set("password", credentials.password);
      if (credentials.realm) this.ua.set("realm", credentials.realm);
    }
    this.scheduleCredentialRefresh();
  }

  // ---------------------------------------------------------------- internals

  private apply(next: MyPresence): Promise<void> {
    this.me = next;
    this.store.setMyPresence(next);
    if (!this.publisher || !this.sessionStarted) return Promise.resolve();
    return this.publisher.publish(this.composeBody());
  }

  private composeBody(): string {
    return composeMyPidf(this.aor, this.me, this.device, new Date(this.timers.now()));
  }

  private enterAutoAway(): void {
    if (this.me.status !== "available") return; // only an available user becomes "away" by idleness
    this.beforeIdle = this.me;
    const lastInput = new Date(this.autoAway?.lastActivityAt ?? this.timers.now()).toISOString();
    void this.apply({ ...this.me, status: "away", idle: true, lastInput });
  }

  private leaveAutoAway(): void {
    const back = this.beforeIdle;
    this.beforeIdle = undefined;
    if (back && this.me.idle) void this.apply(back);
  }

  private createUa(): UA {
    const c = this.credentials;
    const socket = withMd5Challenges(this.opts.socketFactory ? this.opts.socketFactory(c) : new WebSocketInterface(c.wsUrl));
    const ua = new UA({
      sockets: [socket],
      uri: c.aor,
      authorization_user: c.authorizationUser,
      password: c.password,
      ...(c.realm ? { realm: c.realm } : {}),
      ...(c.displayName ? { display_name: c.displayName } : {}),
      instance_id: this.instanceId,
      register: true,
      register_expires: this.opts.registerExpires ?? 600,
      user_agent: this.opts.userAgent ?? "Herald",
      connection_recovery_min_interval: this.opts.reconnect?.minSeconds ?? 2,
      connection_recovery_max_interval: this.opts.reconnect?.maxSeconds ?? 30,
    });
    this.messageTransport.attach(ua);
    const publishTransport = this.opts.publishTransport ? this.opts.publishTransport(ua) : new JsSipPublishTransport(ua);
    const retry = { timers: this.timers, retryBaseMs: this.opts.retryBaseMs, retryMaxMs: this.opts.retryMaxMs };
    this.publisher = new Publisher({
      transport: publishTransport,
      target: c.aor,
      expires: this.opts.publishExpires ?? DEFAULT_PUBLISH_EXPIRES,
      ...retry,
      onChange: (p) => this.store.setPublication(p),
    });
    const want = this.opts.subscribe ?? {};
    const expires = this.opts.subscribeExpires ?? 600;
    if (want.resourceList !== false) {
      this.rls = new ResourceListSubscription({
        ua,
        uri: presenceListUri(c.aor),
        expires,
        ...retry,
        onChange: (s) => this.store.setResourceList(s),
        onResync: (why) => this.emit("resync", { subscription: "rls", why }),
      });
    }
    if (want.watcherInfo !== false) {
      this.winfo = new WatcherInfoSubscription({
        ua,
        aor: c.aor,
        expires,
        ...retry,
        onChange: (s) => this.store.setWatcherList(s),
        onResync: (why) => this.emit("resync", { subscription: "winfo", why }),
      });
    }
    if (want.self !== false) {
      this.selfSub = new SelfPresenceSubscription({ ua, aor: c.aor, expires, ...retry, onChange: (s) => this.onSelfPresence(s) });
    }
    if (want.xcapDiff !== false) {
      // the page follows changes of the user's documents made elsewhere (RFC 5875)
      this.xcapDiff = xcapDiffSubscription({ ua, aor: c.aor, expires, ...retry, rendered: this.opts.renderedDocuments, onChange: (auids, initial) => this.store.documentsChanged(auids, initial) });
    }

    ua.on("connecting", (e) => {
      if (this.stopped) return;
      this.emit("connecting", { attempt: e.attempts });
    });
    ua.on("connected", () => {
      if (this.stopped) return;
      this.emit("connected", {});
      // PUBLISH and SUBSCRIBE need no registration (RFC 3903, RFC 6665: NOTIFYs follow the
      // subscription's own dialog over this connection), so they go out with the REGISTER rather
      // than one round trip after it: their digest challenges are answered in parallel.
      if (!this.sessionStarted) this.startSession();
    });
    ua.on("disconnected", (e) => {
      if (this.stopped) return;
      if (e.code === SESSION_ENDED_CLOSE_CODE) return this.sessionEnded(e.reason || "ended");
      this.connectionLost(e.code, e.reason);
    });
    ua.on("registered", () => {
      if (this.stopped) return;
      this.store.setRegistered(true);
      this.everOnline = true;
      this.store.setConnection("online");
      this.emit("registered", {});
      if (!this.sessionStarted) this.startSession();
    });
    ua.on("registrationFailed", (e) => {
      if (this.stopped) return;
      void this.registrationFailed(e.response?.status_code, e.cause ?? "registration failed");
    });
    ua.on("registrationExpiring", () => {
      void this.beforeReRegister();
    });
    return ua;
  }

  /** Connected (again): publish and subscribe afresh; "online" follows with the registration. */
  private startSession(): void {
    this.sessionStarted = true;
    // first time: initial PUBLISH; after a reconnect: modify with the held ETag (412 → initial)
    if (this.publisher) void this.publisher.publish(this.composeBody());
    this.rls?.start();
    this.winfo?.start();
    this.selfSub?.start();
    this.xcapDiff?.start();
  }

  /** The account's sessions ended: no reconnect (it would be refused), tell the page why. */
  private sessionEnded(reason: string): void {
    this.emit("sessionEnded", { reason });
    void this.stop(); // marks the client stopped at once: the UA's own 'disconnected' below is ignored
    this.ua?.stop(); // inside JsSIP's disconnect handling, before it schedules a reconnect
  }

  private connectionLost(code?: number, reason?: string): void {
    const wasLive = this.sessionStarted || this.everOnline;
    this.sessionStarted = false;
    this.rls?.detach();
    this.winfo?.detach();
    this.selfSub?.detach();
    this.xcapDiff?.detach();
    this.store.markStale(this.timers.now());
    this.store.setConnection(wasLive ? "reconnecting" : "connecting");
    this.emit("reconnecting", { ...(code !== undefined ? { code } : {}), ...(reason ? { reason } : {}) });
  }

  private async registrationFailed(status: number | undefined, cause: string): Promise<void> {
    if (cause === "Connection Error" || cause === "Request Timeout") return; // the transport recovery handles it
    const authProblem = status === 401 || status === 403 || status === 407;
    if (authProblem && this.opts.refreshCredentials && (await this.renewCredentials())) {
      this.ua?.register();
      return;
    }
    this.store.setConnection("offline", `${status ?? ""} ${cause}`.trim());
    this.emit("failed", { ...(status !== undefined ? { status } : {}), reason: cause });
  }

  private async beforeReRegister(): Promise<void> {
    const expiry = credentialsExpiry(this.credentials.authorizationUser);
    if (expiry !== undefined && expiry * 1000 - this.timers.now() < 120_000) await this.renewCredentials();
    if (!this.stopped) this.ua?.register();
  }

  private renewCredentials(): Promise<boolean> {
    const fetcher = this.opts.refreshCredentials;
    if (!fetcher) return Promise.resolve(false);
    this.refreshingCredentials ??= fetcher()
      .then((c) => {
        this.updateCredentials(c);
        return true;
      })
      .catch(() => false)
      .finally(() => {
        this.refreshingCredentials = undefined;
      });
    return this.refreshingCredentials;
  }

  private scheduleCredentialRefresh(): void {
    if (this.credentialTimer !== undefined) this.timers.clearTimeout(this.credentialTimer);
    this.credentialTimer = undefined;
    const expiry = credentialsExpiry(this.credentials.authorizationUser);
    if (!this.opts.refreshCredentials || expiry === undefined || this.stopped) return;
    const inMs = Math.max(5_000, expiry * 1000 - this.timers.now() - 120_000);
    this.credentialTimer = this.timers.setTimeout(() => void this.renewCredentials(), inMs);
  }

  /**
   * The composed own presence changed. When another device of this user published a newer,
   * deliberate status (not auto-away idleness) that differs from ours, take it over, so a
   * status set in one tab shows in every tab.
   */
  private onSelfPresence(summary: PresenceSummary | undefined): void {
    this.store.setSelf(summary);
    if (!summary) return;
    let newest: { at: number; status: MyStatus; note?: string; from: string } | undefined;
    for (const d of summary.devices) {
      if (!d.deviceId || d.deviceId === this.instanceId || d.idle || !d.extendedStatus) continue;
      const at = d.timestamp ? Date.parse(d.timestamp) : NaN;
      const status = myStatusOf(d.extendedStatus);
      if (!Number.isFinite(at) || at <= this.lastChangeAt || !status) continue;
      if (!newest || at > newest.at) newest = { at, status, from: d.deviceId, ...(d.notes[0] ? { note: d.notes[0].text } : {}) };
    }
    if (!newest) return;
    this.lastChangeAt = newest.at;
    // the person's activities `until` is the newest publication's: a timed status clears in every tab
    const until = newest.status !== "invisible" ? summary.until : undefined;
    if (newest.status === this.me.status && (newest.note ?? "") === (this.me.note ?? "") && (until ?? "") === (this.me.until ?? "")) return;
    const adopted: MyPresence = { ...this.me, status: newest.status };
    if (newest.note) adopted.note = newest.note;
    else delete adopted.note;
    if (until) adopted.until = until;
    else delete adopted.until;
    delete adopted.idle;
    this.beforeIdle = undefined;
    void this.apply(adopted);
    this.emit("adopted", { from: newest.from, presence: adopted });
  }

  private attachWindow(): void {
    const win = this.opts.window === undefined ? (globalThis as { window?: HeraldSipClientOptions["window"] }).window : this.opts.window;
    if (!win) return;
    const onHide = () => this.pageHidden();
    win.addEventListener("pagehide", onHide);
    this.detachers.push(() => win.removeEventListener("pagehide", onHide));
    if (this.pageShowAttached) return;
    this.pageShowAttached = true;
    // back from the back/forward cache: the page lives again
    const onShow = (e: { persisted?: boolean }) => {
      if (e.persisted && this.stopped) this.start();
    };
    win.addEventListener("pageshow", onShow);
    if (this.autoAway) this.detachers.push(attachActivityListeners(win, this.autoAway));
  }
}
