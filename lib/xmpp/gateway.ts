/**
 * The SIP–XMPP presence gateway: an XEP-0114 component of an XMPP server (Prosody, ejabberd) for
 * Herald's domain, and a client of Herald's presence server — not a special case inside it.
 *
 * - SIP → XMPP: SUBSCRIBEs to addresses in the XMPP domains reach `XmppContactPackage` through a
 *   subscribe route (as RLS service URIs reach the RLS): virtual subscriptions, see
 *   contact-package.ts.
 * - XMPP → SIP: a `subscribe` or `probe` from an XMPP user to a Herald user becomes a SIP
 *   SUBSCRIBE from the user's bare JID as a `sip:` URI (`sip:bob@xmpp.example`), sent over the
 *   gateway's own in-process flow to the server (`SipTransport.openFlow`). The flow vouches for
 *   identities in the XMPP domains (`asserts`): the XMPP server authenticated them, so the
 *   server's pres-rules, watcher info and the buddy list's requests treat them like any watcher.
 *   NOTIFYs come back in the dialog: `pending` → nothing yet (the request waits on the buddy
 *   list), `active` → `subscribed` once, then the Herald user's presence as stanzas from the bare
 *   JID — unless the Herald user's rules resolve to polite-block for the watcher (the buddy list's
 *   Block): then, as for `terminated;reason=rejected` (a `block` rule) or `noresource`, the answer
 *   is `unsubscribed` and the SIP subscription ends; any other end → subscribe again.
 *   `unsubscribe` from the XMPP user ends the SIP subscription (Expires: 0). Refreshes at 80 % of
 *   the granted Expires. One XMPP user holds at most `maxSubscriptionsPerUser` SIP subscriptions
 *   through the gateway; a request beyond it is answered with a `policy-violation` presence error
 *   (RFC 6120 §8.3.3.12) and creates nothing.
 * - A Herald user removing an XMPP contact from their buddy list (a resource-lists write that no
 *   longer names it) sends `unsubscribe` for the contacts the gateway subscribed them to since it
 *   started.
 * - Restarts: the server persists the gateway's SIP dialogs like any other; on start the gateway
 *   recovers them over its new flow with an in-dialog re-SUBSCRIBE (481 → a new SUBSCRIBE), and
 *   restored SIP→XMPP subscriptions rejoin their virtual subscriptions. When the XMPP connection
 *   comes back (the link reconnects with back-off), every virtual subscription asks again
 *   (`subscribe`, or `probe` when subscribed) and every approved XMPP watcher gets the current
 *   presence.
 */
import { CONTENT_TYPES } from "../presence/namespaces";
import {
  Dialog,
  SipRequest,
  SipResponse,
  TransactionLayer,
  createRequest,
  createResponse,
  generateCallId,
  generateTag,
  parseMessage,
  realTimers,
  serializeMessage,
  type MemoryFlowEnd,
  type SipLogger,
  type SipMessageAny,
  type TimerApi,
  componentLogger,
} from "../sip";
import { canonicalAor, splitAor } from "../server/aor";
import type { XcapChangeEvent, XcapStore } from "../xcap/server";
import type { PresenceServer } from "../server/presence-server";
import { XmppContactPackage } from "./contact-package";
import { bareJid, parseJid } from "./jid";
import { presenceOfPidf, presenceStanzaOf, type XmppPresenceView } from "./presence-mapping";
import { writePresence, type PresenceStanza } from "./presence-stanza";

/** The XMPP side as the gateway sees it (lib/xmpp/component-link.ts over @xmpp/component; tests may fake it). */
export interface XmppLink {
  readonly online: boolean;
  /** Send one stanza; dropped while offline (the gateway re-sends its state on `online`). */
  send(stanza: string): void;
  on(event: "online", listener: () => void): unknown;
  on(event: "presence", listener: (p: PresenceStanza) => void): unknown;
}

export interface XmppGatewayOptions {
  server: PresenceServer;
  link: XmppLink;
  /** The component's domain: a SIP domain Herald serves (`alice@example.test` on both sides). */
  componentDomain: string;
  /** XMPP domains reachable through the component (`sip:bob@xmpp.example`). */
  xmppDomains: readonly string[];
  /** The buddy lists (resource-lists) and their changes: a removed XMPP contact is unsubscribed. */
  xcap?: { store: XcapStore; subscribe?: (listener: (e: XcapChangeEvent) => void) => () => void };
  /** Expires of the gateway's SIP subscriptions for XMPP watchers, s. Default 3600. */
  subscribeExpires?: number;
  /** Delay before subscribing again after a failure, ms. Default 5000. */
  retryMs?: number;
  /** SIP subscriptions one XMPP user (bare JID) may hold through the gateway. Default 1000. */
  maxSubscriptionsPerUser?: number;
  timers?: TimerApi;
  logger?: SipLogger;
  now?: () => number;
}

/** An XMPP user watching a Herald user, as a SIP dialog over the gateway's flow. */
interface WatcherDialog {
  key: string;
  /** XMPP watcher's bare JID and `sip:` URI. */
  jid: string;
  watcher: string;
  /** Herald user's AOR and bare JID. */
  resource: string;
  resourceJid: string;
  callId: string;
  localTag: string;
  dialog?: Dialog;
  status: "subscribing" | "pending" | "active";
  /** `subscribed` was sent to the XMPP watcher. */
  approved: boolean;
  view?: XmppPresenceView;
  /** The last presence stanza sent (a NOTIFY that changes nothing the XMPP side sees sends nothing). */
  sent?: string;
  timer?: unknown;
  closed: boolean;
  /** NOTIFYs of the dialog handled one after the other (an active one waits for the rules check). */
  queue?: Promise<void>;
}

const ACCEPT: Array<[string, string]> = [["Accept", CONTENT_TYPES.pidf]];
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_USER = 1000;
/** `uri` of every `<entry>` of a resource-lists document (RFC 4826 §3.3; any prefix, either quote). */
const ENTRY_URI = /<(?:[\w.-]+:)?entry\b[^>]*?\suri\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

export class XmppGateway {
  readonly contacts: XmppContactPackage;
  /** Stanzas sent to the XMPP server for NOTIFYs (benchmark). */
  translatedToXmpp = 0;
  private readonly o: XmppGatewayOptions;
  private readonly log: SipLogger;
  private readonly timers: TimerApi;
  private readonly domains: ReadonlySet<string>;
  private readonly watchers = new Map<string, WatcherDialog>();
  /** By `callId\0localTag`. */
  private readonly byCall = new Map<string, WatcherDialog>();
  /** Open watcher dialogs per XMPP user (bare JID). */
  private readonly perUser = new Map<string, number>();
  private readonly tx: TransactionLayer;
  private flow?: MemoryFlowEnd;
  private stopped = false;
  private unsubscribeXcap?: () => void;

  constructor(options: XmppGatewayOptions) {
    this.o = options;
    this.timers = options.timers ?? realTimers;
    this.log = componentLogger("xmpp:gateway", options.logger);
    this.domains = new Set(options.xmppDomains.map((d) => d.toLowerCase()));
    this.tx = new TransactionLayer({ timers: this.timers, logger: options.logger });
    this.contacts = new XmppContactPackage({
      componentDomain: options.componentDomain.toLowerCase(),
      notifier: () => options.server.notifier,
      send: (s) => this.sendStanza(s),
      now: options.now,
    });
    // before server.start(): restored subscriptions find their package through the route
    options.server.addSubscribeRoute((ctx) => (ctx.event === "presence" && this.isXmppAddress(ctx.resource) ? this.contacts : undefined));
  }

  /** `sip:user@<an XMPP domain>`. */
  isXmppAddress(aor: string): boolean {
    const { user, domain } = splitAor(aor);
    return user !== "" && this.domains.has(domain.toLowerCase());
  }

  /** After `server.start()`: open the flow, recover restored dialogs, follow the XMPP link. */
  start(): void {
    this.openFlow();
    const server = this.o.server;
    for (const sub of [...server.notifier.all()]) {
      if (sub.pkg === this.contacts) this.contacts.adopt(sub);
      else if (sub.event === "presence" && !sub.internal && sub.dialog && sub.status !== "terminated" && this.isXmppAddress(sub.watcher)) this.recover(sub.watcher, sub.resource, sub.dialog, sub.status);
    }
    this.unsubscribeXcap = this.o.xcap?.subscribe?.((e) => {
      if (e.auid === "resource-lists" && e.user) void this.onListChange(e.user, e.document).catch((err: unknown) => this.log("error", "reading a buddy list failed", { user: e.user, error: String(err) }));
    });
    this.o.link.on("presence", (p) => this.onStanza(p));
    this.o.link.on("online", () => this.onOnline());
    if (this.o.link.online) this.onOnline();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribeXcap?.();
    for (const d of this.watchers.values()) if (d.timer !== undefined) this.timers.clearTimeout(d.timer);
    this.tx.dispose();
    this.flow?.destroy();
  }

  /** Open XMPP → SIP subscriptions (tests, benchmark). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  private openFlow(): void {
    // the XMPP server authenticated its users: the flow vouches for identities in its domains only
    const flow = this.o.server.transport.openFlow({ clientAddress: "127.0.0.1", asserts: (aor) => this.isXmppAddress(aor) });
    this.flow = flow;
    flow.on("message", (raw, msg) => this.onSip(msg ?? raw));
    flow.on("data", (chunk) => this.onSip(chunk));
    flow.on("close", () => {
      if (this.flow === flow) this.flow = undefined;
    });
  }

  private sendStanza(s: string): void {
    if (this.o.link.online) this.o.link.send(s);
  }

  private onOnline(): void {
    this.log("info", "connected to the XMPP server");
    this.contacts.resendAll();
    for (const d of this.watchers.values()) {
      if (d.status !== "active") continue;
      this.sendStanza(writePresence({ from: d.resourceJid, to: d.jid, type: "subscribed", statuses: [] }));
      d.approved = true;
      this.sendView(d, true);
    }
  }

  /** `user` wrote their resource-lists: unsubscribe the XMPP contacts it no longer names. */
  private async onListChange(user: string, document: string): Promise<void> {
    const watcher = canonicalAor(user);
    const known = this.contacts.known.get(watcher);
    if (!known?.size || !this.o.xcap) return;
    const doc = await this.o.xcap.store.get({ auid: "resource-lists", scope: "users", xui: user, docPath: document });
    const listed = new Set<string>();
    for (const m of (doc?.content ?? "").matchAll(ENTRY_URI)) listed.add(canonicalAor(m[1] ?? m[2]));
    for (const contact of [...known]) if (!listed.has(contact)) this.contacts.unsubscribe(watcher, contact);
  }

  // ---- XMPP stanzas ------------------------------------------------------------------------------

  private onStanza(p: PresenceStanza): void {
    const from = parseJid(p.from);
    const to = parseJid(p.to);
    if (!from || !to || from.local === undefined || to.local === undefined) return;
    if (to.domain !== this.o.componentDomain.toLowerCase()) return;
    // only the configured XMPP domains are identities the gateway vouches for
    if (!this.domains.has(from.domain)) {
      this.log("debug", "presence from a domain not in XMPP_DOMAINS ignored", { from: p.from });
      return;
    }
    const fromBare = bareJid(from);
    const toBare = bareJid(to);
    switch (p.type) {
      case "subscribe":
      case "probe":
        this.onWatch(fromBare, toBare, p.type);
        return;
      case "unsubscribe":
        this.onUnwatch(fromBare, toBare);
        return;
      case "error":
        this.log("debug", "presence error", { from: p.from, to: p.to });
        return;
      default:
        this.contacts.onContactPresence(p, fromBare, from.resource, toBare);
    }
  }

  private onWatch(jid: string, resourceJid: string, type: "subscribe" | "probe"): void {
    const key = `${jid}\u0000${resourceJid}`;
    const d = this.watchers.get(key);
    if (!d) {
      const max = this.o.maxSubscriptionsPerUser ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_USER;
      if ((this.perUser.get(jid) ?? 0) >= max) {
        this.log("info", "XMPP user at the gateway's subscription limit, request refused", { jid, resource: resourceJid, max });
        this.sendStanza(writePresence({ from: resourceJid, to: jid, type: "error", statuses: [], error: { type: "wait", condition: "policy-violation", text: `Too many subscriptions through the gateway (at most ${max} per user)` } }));
        return;
      }
      const nd: WatcherDialog = { key, jid, watcher: `sip:${jid}`, resource: `sip:${resourceJid}`, resourceJid, callId: generateCallId("xmpp"), localTag: generateTag(), status: "subscribing", approved: false, closed: false };
      this.track(nd);
      this.subscribe(nd);
      return;
    }
    if (d.status !== "active") return; // pending on the Herald user's decision: the request stands
    // a duplicate subscribe, or a probe: answer with what holds now (idempotent for the XMPP side)
    if (type === "subscribe") this.sendStanza(writePresence({ from: d.resourceJid, to: d.jid, type: "subscribed", statuses: [] }));
    this.sendView(d, true);
  }

  private onUnwatch(jid: string, resourceJid: string): void {
    const d = this.watchers.get(`${jid}\u0000${resourceJid}`);
    if (!d) return;
    this.forget(d);
    if (d.dialog) void this.request(d, 0).catch(() => undefined); // RFC 6665 §4.1.2.3 unsubscribe
  }

  private track(d: WatcherDialog): void {
    this.watchers.set(d.key, d);
    this.perUser.set(d.jid, (this.perUser.get(d.jid) ?? 0) + 1);
  }

  private forget(d: WatcherDialog): void {
    d.closed = true;
    if (d.timer !== undefined) this.timers.clearTimeout(d.timer);
    d.timer = undefined;
    if (this.watchers.get(d.key) === d) {
      this.watchers.delete(d.key);
      const n = (this.perUser.get(d.jid) ?? 1) - 1;
      if (n > 0) this.perUser.set(d.jid, n);
      else this.perUser.delete(d.jid);
    }
    this.byCall.delete(`${d.callId}\u0000${d.localTag}`);
  }

  private sendView(d: WatcherDialog, force = false): void {
    if (!d.view) return;
    const s = writePresence(presenceStanzaOf(d.view, d.resourceJid, d.jid));
    if (!force && s === d.sent) return;
    d.sent = s;
    this.translatedToXmpp++;
    this.sendStanza(s);
  }

  // ---- SIP over the gateway's flow -----------------------------------------------------------------

  /** Continue a dialog the server restored (this process's predecessor made it). */
  private recover(watcher: string, resource: string, server: Dialog, status: "pending" | "active"): void {
    const s = server.toJSON();
    const jid = watcher.replace(/^sip:/, "");
    const resourceJid = resource.replace(/^sip:/, "");
    const key = `${jid}\u0000${resourceJid}`;
    if (this.watchers.has(key)) return;
    const dialog = Dialog.fromJSON({ callId: s.callId, localTag: s.remoteTag, remoteTag: s.localTag, localUri: s.remoteUri, remoteUri: s.localUri, localCSeq: s.remoteCSeq ?? 1, remoteCSeq: s.localCSeq, routeSet: [], remoteTarget: resource, secure: false });
    const d: WatcherDialog = { key, jid, watcher, resource, resourceJid, callId: s.callId, localTag: s.remoteTag, dialog, status, approved: status === "active", closed: false };
    this.track(d);
    this.byCall.set(`${d.callId}\u0000${d.localTag}`, d);
    this.subscribe(d);
  }

  private via(): { transport: string; host: string; port: number } {
    return { transport: "TCP", host: this.flow?.localAddress ?? "0.0.0.0", port: this.flow?.localPort ?? 0 };
  }

  private contact(): string {
    const v = this.via();
    return `<sip:xmpp-gateway@${v.host}:${v.port};transport=tcp>`;
  }

  /** SUBSCRIBE (initial, or in the dialog when there is one) and schedule the refresh. */
  private subscribe(d: WatcherDialog): void {
    if (this.stopped || d.closed) return;
    this.byCall.set(`${d.callId}\u0000${d.localTag}`, d);
    const expires = this.o.subscribeExpires ?? 3600;
    this.request(d, expires).then(
      (res) => {
        if (d.closed) return;
        if (res.status === 481 && d.dialog) {
          // the server no longer knows the dialog (ended while we were away): start a new one
          this.renew(d);
          return;
        }
        if (res.status === 403 || res.status === 404 || res.status === 603 || res.status === 604) {
          this.refuse(d);
          return;
        }
        if (res.status >= 300) throw new Error(`${res.status} ${res.reason}`);
        this.schedule(d, Math.max(1000, (res.expires ?? expires) * 800), () => this.subscribe(d));
      },
      (e: unknown) => {
        this.log("info", "SUBSCRIBE for an XMPP watcher failed, retrying", { watcher: d.watcher, resource: d.resource, error: e instanceof Error ? e.message : String(e) });
        this.schedule(d, this.o.retryMs ?? 5000, () => this.renew(d));
      },
    );
  }

  private schedule(d: WatcherDialog, ms: number, fn: () => void): void {
    if (d.timer !== undefined) this.timers.clearTimeout(d.timer);
    d.timer = this.timers.setTimeout(() => {
      d.timer = undefined;
      fn();
    }, ms);
  }

  /** A new dialog for the same watcher and resource. */
  private renew(d: WatcherDialog): void {
    if (d.closed) return;
    this.byCall.delete(`${d.callId}\u0000${d.localTag}`);
    d.dialog = undefined;
    d.callId = generateCallId("xmpp");
    d.localTag = generateTag();
    this.subscribe(d);
  }

  /**
   * Block (or polite-block), or no such user: the XMPP watcher's subscription is refused (RFC 6121
   * §3.2). `endSip`: the SIP subscription is still active (polite-block) and ends now.
   */
  private refuse(d: WatcherDialog, endSip = false): void {
    this.forget(d);
    if (endSip && d.dialog) void this.request(d, 0).catch(() => undefined);
    this.sendStanza(writePresence({ from: d.resourceJid, to: d.jid, type: "unsubscribed", statuses: [] }));
  }

  private request(d: WatcherDialog, expires: number): Promise<SipResponse> {
    const flow = this.flow;
    if (!flow) return Promise.reject(new Error("no flow to the presence server"));
    const headers: Array<[string, string]> = [["Event", "presence"], ["Expires", String(expires)], ...ACCEPT];
    const req = d.dialog
      ? d.dialog.createRequest("SUBSCRIBE", { via: this.via(), contact: this.contact(), headers })
      : createRequest({ method: "SUBSCRIBE", uri: d.resource, from: `<${d.watcher}>;tag=${d.localTag}`, to: `<${d.resource}>`, callId: d.callId, cseq: 1, via: this.via(), contact: this.contact(), headers });
    return new Promise((resolve, reject) => {
      const t = this.tx.sendRequest(req, { send: (m) => flow.writeMessage(serializeMessage(m)), reliable: true });
      t.on("response", (r: SipResponse) => {
        if (r.status < 200) return;
        if (r.status < 300 && !d.dialog && expires > 0) d.dialog = Dialog.createUac(req, r);
        resolve(r);
      });
      t.on("timeout", () => reject(new Error("timeout")));
      t.on("transportError", () => reject(new Error("transport error")));
    });
  }

  private onSip(data: SipMessageAny | Buffer): void {
    let msg: SipMessageAny;
    try {
      msg = Buffer.isBuffer(data) ? parseMessage(data) : data;
    } catch (e) {
      this.log("warn", "unparseable message from the presence server", { error: String(e) });
      return;
    }
    if (msg instanceof SipResponse) {
      this.tx.receiveResponse(msg);
      return;
    }
    const req = msg as SipRequest;
    const flow = this.flow;
    if (!flow) return;
    const answer = (status: number): void => void flow.writeMessage(serializeMessage(createResponse(req, status)));
    if (req.method !== "NOTIFY") return answer(405);
    const toTag = req.to.tag;
    const d = toTag === undefined ? undefined : this.byCall.get(`${req.callId}\u0000${toTag}`);
    if (!d || d.closed) return answer(481);
    answer(200);
    // RFC 6665 §4.1.2.4: a NOTIFY may arrive before the 2xx and creates the dialog
    if (!d.dialog) {
      const sub = createRequest({ method: "SUBSCRIBE", uri: d.resource, from: `<${d.watcher}>;tag=${d.localTag}`, to: `<${d.resource}>`, callId: d.callId, cseq: 1, via: this.via() });
      d.dialog = Dialog.createUac(sub, req);
    }
    d.dialog.receiveRequest(req);
    const handled = (d.queue ?? Promise.resolve()).then(() => this.onNotify(d, req));
    d.queue = handled.catch((e: unknown) => this.log("error", "handling a NOTIFY for an XMPP watcher failed", { watcher: d.watcher, resource: d.resource, error: String(e) }));
  }

  /** The Herald user's rules for the watcher let it see them (not block, not polite-block: RFC 5025 §3.2.1). */
  private async mayWatch(d: WatcherDialog): Promise<boolean> {
    const p = await this.o.server.authorizer.authorize(d.resource, { uri: d.watcher, authenticated: true });
    return p.subHandling !== "block" && p.subHandling !== "polite-block";
  }

  private async onNotify(d: WatcherDialog, req: SipRequest): Promise<void> {
    if (d.closed) return;
    const st = req.subscriptionState;
    const state = (st?.value ?? "active").toLowerCase();
    if (state === "terminated") {
      const reason = st?.param("reason") ?? undefined;
      if (reason === "rejected" || reason === "noresource") {
        this.refuse(d);
        return;
      }
      // deactivated, timeout, probation, giveup: RFC 6665 §4.1.3 — subscribe again
      this.byCall.delete(`${d.callId}\u0000${d.localTag}`);
      d.dialog = undefined;
      d.status = "subscribing";
      const wait = reason === "probation" || reason === "giveup" ? Number(st?.param("retry-after") ?? 0) * 1000 || (this.o.retryMs ?? 5000) : 0;
      this.schedule(d, wait, () => this.renew(d));
      return;
    }
    if (state === "pending") {
      d.status = "pending";
      return;
    }
    // polite-block makes the SIP subscription active with a neutral offline document; an XMPP
    // contact has a plain answer for it: `unsubscribed`
    if (!(await this.mayWatch(d))) {
      if (!d.closed) this.refuse(d, true);
      return;
    }
    if (d.closed) return;
    d.status = "active";
    if (!d.approved) {
      d.approved = true;
      this.sendStanza(writePresence({ from: d.resourceJid, to: d.jid, type: "subscribed", statuses: [] }));
    }
    if (req.body.length > 0) {
      try {
        d.view = presenceOfPidf(req.body);
      } catch (e) {
        this.log("warn", "unreadable PIDF in a NOTIFY", { resource: d.resource, error: String(e) });
        return;
      }
      this.sendView(d);
    }
  }
}
