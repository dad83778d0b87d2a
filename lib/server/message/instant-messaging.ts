/**
 * SIP MESSAGE (RFC 3428) for the embedded server: a method handler plugged into PresenceServer.
 *
 * A MESSAGE to a local user, in order:
 * 1. recipient: the Request-URI's AOR in a served domain, an active account (404 otherwise);
 * 2. sender: digest-authenticated as PUBLISH and SUBSCRIBE (407 challenge); From must be the
 *    authenticated identity (403), and so must a message/cpim From (RFC 3862 §4.1) — a page over
 *    the bridge cannot speak for somebody else inside the body either;
 * 3. size: body beyond `maxBodyBytes` → 413 (RFC 3428 §7);
 * 4. type: text/plain, message/cpim (wrapping text/plain, message/imdn+xml RFC 5438 or
 *    application/im-iscomposing+xml) and application/im-iscomposing+xml (RFC 3994); anything else
 *    415 with Accept (RFC 3428 §7, RFC 3261 §21.4.13); malformed CPIM / XML → 400;
 * 5. authorization by the recipient's im-rules (ImAuthorizer): blocked → 403, nothing stored —
 *    except a delivery notification (IMDN, RFC 5438) answering a message the recipient sent to
 *    the notifier (its message-id is in the history): the sender asked for it (§7);
 * 6. delivery to every registered device of the recipient in parallel, as a forking proxy (RFC
 *    3428 §7, RFC 3261 §16.7): 200 as soon as one answers 2xx; when every device answered a final
 *    error, the lowest such status; when there is no device, or a device could not be reached, the
 *    message is stored for the next registration and answered 202 Accepted (is-composing is never
 *    stored: 480). The offline queue holds at most `maxPendingPerUser` messages (480 beyond).
 * 7. history: text messages (text/plain, CPIM text/plain) are kept as the conversation of both
 *    parties for `historyRetentionMs`; pending ones are dropped after `pendingRetentionMs`.
 *    Delivered messages reach the history written behind, in batches every `historyFlushMs`
 *    (one database write for many messages: a write per message bounds the rate by the disk's
 *    syncs); a stored (202) message is written before it is answered.
 *
 * 8. negative delivery notifications: a stored message whose wait ends unread (retention) and
 *    that asked for `negative-delivery` (RFC 5438 §6.3) gets a `failed` delivery notification
 *    from the server in the recipient's name, sent to the sender as any MESSAGE is (stored while
 *    the sender is offline), so the sender's page shows it not delivered.
 * 9. copies: a text message accepted (200 or 202) also goes to the sender's other registered
 *    devices (not the connection it came over) as message/cpim whose CPIM From is the sender and
 *    To the recipient (RFC 3862 §4), so the sender's other tabs show it in that conversation; a
 *    copy is best effort: never stored, its answers ignored.
 *
 * Stored messages go out, oldest first, to the device whose REGISTER comes next, with their
 * original Date and From; one that fails stays queued (order is kept: the rest wait).
 */
import { CONTENT_TYPES, NS } from "../../presence/namespaces";
import { SipError, SipRequest, SipResponse, componentLogger, createRequest, createResponse, generateTag, parseUri, SipUri, type SipConnection, type SipLogger, type TimerApi, realTimers } from "../../sip";
import { randomBytes } from "node:crypto";
import { cpimAor, cpimContentType, cpimHeader, createCpim, imdnCpim, imdnRequestOf, ImPayloadError, parseCpim, parseCpimAddress, parseImdn, parseIsComposing, publishedSphere, serializeCpim } from "../../im";
import { parseMediaType, PresencePayloadError } from "../../presence";
import type { XcapChangeEvent, XcapStore } from "../../xcap/server";
import { aorOf, canonicalAor, splitAor } from "../aor";
import type { Outcome, PresenceServer } from "../presence-server";
import type { Binding } from "../registrar";
import { ImAuthorizer } from "./im-authorizer";
import type { MessageStore, NewMessage, StoredMessage } from "./message-store";

const ACCEPT = [CONTENT_TYPES.text, CONTENT_TYPES.cpim, CONTENT_TYPES.isComposing].join(", ");
const CPIM_INNER = new Set<string>([CONTENT_TYPES.text, CONTENT_TYPES.imdn, CONTENT_TYPES.isComposing]);
const DAY = 86_400_000;

export interface InstantMessagingOptions {
  server: PresenceServer;
  store: MessageStore;
  xcap: { store: XcapStore; subscribe?: (listener: (e: XcapChangeEvent) => void) => () => void };
  /** Largest body accepted (bytes). Default 16,384 (IM_MAX_MESSAGE_BYTES). */
  maxBodyBytes?: number;
  /** Offline queue per recipient. Default 100 (IM_OFFLINE_MAX_PER_USER). */
  maxPendingPerUser?: number;
  /** Undelivered messages are dropped after this (ms). Default 7 days (IM_OFFLINE_RETENTION_DAYS). */
  pendingRetentionMs?: number;
  /** History is kept this long (ms); 0 keeps none. Default 30 days (IM_HISTORY_RETENTION_DAYS). */
  historyRetentionMs?: number;
  /** How long a device has to answer before it counts as unreachable (ms). Default 8,000 (IM_DELIVERY_TIMEOUT_SECONDS). */
  deliveryTimeoutMs?: number;
  /** Recipients whose im-rules stay cached (least recently used go first). Default 10,000 (IM_RULES_CACHE_ENTRIES). */
  rulesCacheEntries?: number;
  /** Delay of the batched history write (ms). Default 200. */
  historyFlushMs?: number;
  /** Interval of the retention sweep (ms). Default 1 hour. */
  pruneIntervalMs?: number;
  now?: () => number;
  timers?: TimerApi;
  logger?: SipLogger;
}

type Kind = "text" | "notice" | "composing";
type DeviceResult = { response: SipResponse } | { unreachable: string };

export class InstantMessaging {
  readonly authorizer: ImAuthorizer;
  private readonly o: Required<Pick<InstantMessagingOptions, "maxBodyBytes" | "maxPendingPerUser" | "pendingRetentionMs" | "historyRetentionMs" | "deliveryTimeoutMs" | "pruneIntervalMs" | "historyFlushMs">> & InstantMessagingOptions;
  private readonly log: SipLogger;
  private readonly now: () => number;
  private readonly timers: TimerApi;
  /** Per-recipient chain: queue bound checks and offline flushes run one at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * Pending messages per recipient once counted: this server is the queue's only writer, so the
   * count follows its own adds and deliveries (changed under the recipient's lock) and a database
   * count per stored message is saved. Forgotten when it reaches 0 and by every retention sweep.
   */
  private readonly pendingCounts = new Map<string, number>();
  private unsubscribe?: () => void;
  private pruneTimer?: unknown;
  private history: NewMessage[] = [];
  private historyTimer?: unknown;
  private historyWrite: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: InstantMessagingOptions) {
    this.o = { maxBodyBytes: 16_384, maxPendingPerUser: 100, pendingRetentionMs: 7 * DAY, historyRetentionMs: 30 * DAY, deliveryTimeoutMs: 8000, pruneIntervalMs: 3_600_000, historyFlushMs: 200, ...options };
    this.log = componentLogger("im:message", options.logger);
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    this.authorizer = new ImAuthorizer({
      store: options.xcap.store,
      logger: options.logger,
      servesDomain: (d) => options.server.servesDomain(d),
      sphereOf: async (aor) => publishedSphere((await options.server.presence.composed(aor)).document),
      maxEntries: options.rulesCacheEntries,
    });
    options.server.addMethodHandler("MESSAGE", (request, conn) => this.onMessage(request, conn));
    options.server.addBindingListener((b) => this.bindingRegistered(b));
  }

  /** Follow XCAP changes and start the retention sweep (before or after the server starts). */
  start(): void {
    this.unsubscribe = this.o.xcap.subscribe?.((e) => this.authorizer.invalidate(e));
    const sweep = () => {
      if (this.stopped) return;
      void this.prune().catch((e) => this.log("error", "retention sweep failed", { error: String(e) }));
      this.pruneTimer = this.timers.setTimeout(sweep, this.o.pruneIntervalMs);
    };
    sweep();
  }

  /** Stop the sweep and write what history is still pending. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.pruneTimer !== undefined) this.timers.clearTimeout(this.pruneTimer as never);
    await this.flushHistory();
  }

  private queueHistory(m: NewMessage): void {
    this.history.push(m);
    if (this.historyTimer === undefined) this.historyTimer = this.timers.setTimeout(() => void this.flushHistory(), this.o.historyFlushMs);
  }

  /** Write the queued history rows (one write); a failure is logged and those rows are lost. */
  flushHistory(): Promise<void> {
    if (this.historyTimer !== undefined) this.timers.clearTimeout(this.historyTimer as never);
    this.historyTimer = undefined;
    const rows = this.history;
    this.history = [];
    if (rows.length === 0) return this.historyWrite;
    this.historyWrite = this.historyWrite.then(() => this.o.store.addMany(rows)).catch((e) => this.log("error", "history write failed", { rows: rows.length, error: String(e) }));
    return this.historyWrite;
  }

  /** Apply the retention periods now (after telling the senders of expiring messages who asked, module comment 8). */
  async prune(): Promise<number> {
    const now = this.now();
    const pendingBefore = now - this.o.pendingRetentionMs;
    const expiring = await this.o.store.expiringPending(pendingBefore, 1000);
    this.pendingCounts.clear();
    const n = await this.o.store.prune({ historyBefore: now - this.o.historyRetentionMs, pendingBefore });
    this.pendingCounts.clear(); // a count read while the sweep ran may be stale
    for (const m of expiring) await this.notifyUndelivered(m).catch((e) => this.log("warn", "negative delivery notification failed", { id: m.id, error: String(e) }));
    return n;
  }

  /** A `failed` delivery notification (RFC 5438 §7.2.1) about `m`, when its sender asked for negative ones. */
  private async notifyUndelivered(m: StoredMessage): Promise<void> {
    if (parseMediaType(m.contentType).mime !== CONTENT_TYPES.cpim) return;
    const cpim = parseCpim(m.body);
    const request = imdnRequestOf(cpim);
    if (!request?.dispositions.includes("negative-delivery")) return;
    const notice = serializeCpim(
      imdnCpim({
        from: m.recipient,
        to: m.sender,
        notificationId: randomBytes(16).toString("hex"),
        notification: { messageId: request.messageId, dateTime: cpimHeader(cpim, "DateTime") ?? new Date(m.date).toISOString(), recipientUri: m.recipient, kind: "delivery", status: "failed" },
      }),
    );
    const row = { sender: m.recipient, recipient: m.sender, contentType: CONTENT_TYPES.cpim, body: notice, date: this.now(), pending: true, history: false };
    const bindings = this.o.server.registrar.bindingsOf(m.sender);
    const results = bindings.length === 0 ? [] : await this.fork(bindings, this.originated(row));
    if (results.some((r) => "response" in r && r.response.status < 300)) return;
    if (!(await this.enqueue(m.sender, row))) this.log("info", "negative delivery notification dropped: queue full", { aor: m.sender });
  }

  // ---- MESSAGE ---------------------------------------------------------------------------------

  private async onMessage(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    const server = this.o.server;
    const recipient = aorOf(request.uri);
    if (!recipient) throw new SipError(404, "Not Found");
    const { user, domain } = splitAor(recipient);
    if (!(await server.servesDomain(domain))) throw new SipError(404, "Domain not served here");
    const id = await server.authenticateFrom(request, conn);
    if (id instanceof SipResponse) return { response: id };
    if ((await server.accounts.accountStatus(user, domain)) !== "active") throw new SipError(404, "Not Found");
    if (request.body.length > this.o.maxBodyBytes) throw new SipError(413, "Message Too Large"); // RFC 3428 §7
    const { kind, contentType, messageId, refersTo } = this.classify(request, id.aor);
    const decision = await this.authorizer.authorize(recipient, { uri: id.aor, authenticated: true });
    if (decision.imHandling !== "allow" && !(refersTo !== undefined && (await this.answers(id.aor, recipient, refersTo)))) throw new SipError(403, "Forbidden"); // nothing stored
    const date = this.dateOf(request);
    const body = request.body.toString("utf8");
    const message = { sender: id.aor, recipient, contentType, body, date, history: kind === "text" && this.o.historyRetentionMs > 0, messageId };
    const copy = () => (kind === "text" && id.aor !== recipient ? this.copyToOwnDevices(conn, message) : undefined);

    const bindings = server.registrar.bindingsOf(recipient);
    const results = bindings.length === 0 ? [] : await this.fork(bindings, (b, c) => this.forwardRequest(request, b, c, date));
    const ok = results.find((r) => "response" in r && r.response.status < 300);
    if (ok) {
      return {
        response: createResponse(request, 200, { toTag: generateTag() }),
        after: () => {
          if (message.history) this.queueHistory({ ...message, pending: false });
          copy();
        },
      };
    }
    const finals = results.flatMap((r) => ("response" in r ? [r.response.status] : []));
    if (results.length > 0 && finals.length === results.length) {
      const status = Math.min(...finals);
      return { response: createResponse(request, status === 401 || status === 407 ? 480 : status, { toTag: generateTag() }) }; // RFC 3261 §16.7: best response; a device's challenge is not ours to pass on
    }
    if (kind === "composing") throw new SipError(480, "Temporarily Unavailable"); // a typing notice is not worth keeping
    if (!(await this.enqueue(recipient, { ...message, pending: true }))) throw new SipError(480, "Offline Storage Full");
    return { response: createResponse(request, 202, { toTag: generateTag() }), after: copy }; // RFC 3428 §7: accepted, not yet delivered
  }

  /** Did `originalSender` send `recipient` the message `messageId` (so an IMDN about it may go back)? */
  private async answers(notifier: string, originalSender: string, messageId: string): Promise<boolean> {
    await this.flushHistory(); // a message delivered a moment ago is still in the batch
    return this.o.store.hasMessage({ sender: originalSender, recipient: notifier, messageId });
  }

  /** The sender's other devices get the message as CPIM From sender, To recipient (module comment, 9). */
  private copyToOwnDevices(conn: SipConnection, m: { sender: string; recipient: string; contentType: string; body: string; date: number; messageId?: string }): void {
    const others = this.o.server.registrar.bindingsOf(m.sender).filter((b) => b.connectionId !== conn.id);
    if (others.length === 0) return;
    const cpim =
      parseMediaType(m.contentType).mime === CONTENT_TYPES.cpim
        ? m.body
        : serializeCpim(
            createCpim({
              from: { uri: m.sender },
              to: { uri: m.recipient },
              dateTime: new Date(m.date),
              extraHeaders: m.messageId ? [{ name: "NS", value: `imdn <${NS.imdnHeaders}>` }, { name: "imdn.Message-ID", value: m.messageId }] : [],
              contentType: m.contentType,
              body: m.body,
            }),
          );
    void this.fork(others, this.originated({ sender: m.sender, recipient: m.sender, date: m.date, body: cpim, contentType: CONTENT_TYPES.cpim }));
  }

  /** What a MESSAGE carries, after the checks of steps 4 (type) and 2 (CPIM From). */
  private classify(request: SipRequest, sender: string): { kind: Kind; contentType: string; messageId?: string; refersTo?: string } {
    const raw = request.getHeader("Content-Type") ?? "";
    let mime: string;
    try {
      mime = parseMediaType(raw).mime;
    } catch {
      throw new SipError(415, "Unsupported Media Type", { headers: [["Accept", ACCEPT]] });
    }
    const body = request.body.toString("utf8");
    try {
      if (mime === CONTENT_TYPES.text) return { kind: "text", contentType: raw, messageId: request.callId };
      if (mime === CONTENT_TYPES.isComposing) {
        parseIsComposing(body);
        return { kind: "composing", contentType: raw };
      }
      if (mime === CONTENT_TYPES.cpim) {
        const cpim = parseCpim(body);
        const from = parseCpimAddress(cpimHeader(cpim, "From") ?? "");
        if (!from) throw new ImPayloadError("malformed-cpim", "CPIM From is missing or malformed");
        if (cpimAor(from.uri) !== canonicalAor(sender)) throw new SipError(403, "CPIM From is not the authenticated identity");
        const inner = cpimContentType(cpim);
        if (!CPIM_INNER.has(inner)) throw new SipError(415, "Unsupported Media Type", { headers: [["Accept", ACCEPT]] });
        const messageId = cpimHeader(cpim, "Message-ID", NS.imdnHeaders);
        if (inner === CONTENT_TYPES.isComposing) {
          parseIsComposing(cpim.body);
          return { kind: "composing", contentType: raw };
        }
        if (inner === CONTENT_TYPES.imdn) {
          const notice = parseImdn(cpim.body);
          return { kind: "notice", contentType: raw, messageId, refersTo: notice.messageId };
        }
        return { kind: "text", contentType: raw, messageId: messageId ?? request.callId };
      }
    } catch (e) {
      if (e instanceof ImPayloadError || e instanceof PresencePayloadError) {
        if (e.status === 415) throw new SipError(415, "Unsupported Media Type", { headers: [["Accept", ACCEPT]] });
        throw new SipError(e.status, e.message);
      }
      throw e;
    }
    throw new SipError(415, "Unsupported Media Type", { headers: [["Accept", ACCEPT]] });
  }

  private dateOf(request: SipRequest): number {
    const d = request.getHeader("Date");
    const t = d === undefined ? NaN : Date.parse(d);
    return Number.isFinite(t) ? t : this.now();
  }

  // ---- delivery --------------------------------------------------------------------------------

  /** The MESSAGE a device gets: the sender's From (tag included), the recipient AOR as To, the Date. */
  private forwardRequest(request: SipRequest, b: Binding, conn: SipConnection, date: number): SipRequest {
    return createRequest({
      method: "MESSAGE",
      uri: b.contact,
      from: request.from,
      to: request.to,
      callId: request.callId,
      cseq: request.cseq.seq,
      via: { transport: conn.transport, host: conn.localAddress, port: conn.localPort },
      headers: [["Date", new Date(date).toUTCString()]],
      body: request.body,
      contentType: request.getHeader("Content-Type"),
    });
  }

  /** A MESSAGE the server sends itself (a stored one, a copy, a notification) to each device it forks to. */
  private originated(m: { sender: string; recipient: string; date: number; body: string; contentType: string }): (b: Binding, conn: SipConnection) => SipRequest {
    return (b, conn) =>
      createRequest({
        method: "MESSAGE",
        uri: b.contact,
        from: `<${m.sender}>`,
        to: `<${m.recipient}>`,
        via: { transport: conn.transport, host: conn.localAddress, port: conn.localPort },
        headers: [["Date", new Date(m.date).toUTCString()]], // RFC 3428 §7: a stored message keeps its original Date
        body: m.body,
        contentType: m.contentType,
      });
  }

  /** Add to `recipient`'s offline queue under its lock; false when the queue is full. */
  private enqueue(recipient: string, row: NewMessage): Promise<boolean> {
    return this.serialized(recipient, async () => {
      const pending = this.pendingCounts.get(recipient) ?? (await this.o.store.countPending(recipient));
      if (pending >= this.o.maxPendingPerUser) return false;
      await this.o.store.add(row);
      this.pendingCounts.set(recipient, pending + 1);
      return true;
    });
  }

  private fork(bindings: Binding[], make: (b: Binding, conn: SipConnection) => SipRequest): Promise<DeviceResult[]> {
    return new Promise((resolve) => {
      const results: DeviceResult[] = [];
      let done = false;
      const finish = (r: DeviceResult) => {
        results.push(r);
        if (done) return;
        if (("response" in r && r.response.status < 300) || results.length === bindings.length) {
          done = true;
          resolve(results);
        }
      };
      for (const b of bindings) void this.send(b, make).then(finish);
    });
  }

  /** Send to one device; resolves with its final response, or why it could not be reached. */
  private async send(b: Binding, make: (b: Binding, conn: SipConnection) => SipRequest): Promise<DeviceResult> {
    let conn: SipConnection;
    try {
      conn = await this.connectionFor(b);
    } catch (e) {
      return { unreachable: e instanceof Error ? e.message : String(e) };
    }
    const server = this.o.server;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (r: DeviceResult) => {
        if (settled) return;
        settled = true;
        this.timers.clearTimeout(timer as never);
        resolve(r);
      };
      const timer = this.timers.setTimeout(() => settle({ unreachable: "timeout" }), this.o.deliveryTimeoutMs);
      try {
        const tx = server.transactions.sendRequest(make(b, conn), { send: (r) => conn.send(r), reliable: true });
        tx.on("response", (r: SipResponse) => {
          if (r.status >= 200) settle({ response: r });
        });
        tx.on("timeout", () => settle({ unreachable: "timeout" }));
        tx.on("transportError", () => settle({ unreachable: "transport error" }));
      } catch (e) {
        settle({ unreachable: e instanceof Error ? e.message : String(e) });
      }
    });
  }

  /** The binding's own connection (bridge flow, TCP/TLS it registered over), else its Contact. */
  private async connectionFor(b: Binding): Promise<SipConnection> {
    const t = this.o.server.transport;
    const own = b.connectionId ? t.getConnection(b.connectionId) : undefined;
    if (own) return own;
    const uri = parseUri(b.contact);
    if (!(uri instanceof SipUri)) throw new Error(`cannot reach ${b.contact}`);
    const tls = uri.scheme === "sips" || uri.transport === "tls";
    if (uri.transport !== undefined && uri.transport !== "tcp" && uri.transport !== "tls") throw new Error(`unsupported transport ${uri.transport}`);
    const host = uri.host.replace(/^\[|\]$/g, "");
    const port = uri.port ?? (tls ? 5061 : 5060);
    // an address anyone may claim: reuse only what we dialled or what the recipient owns
    const reuse = (c: SipConnection) => c.direction === "outbound" || c.isOwnedBy(b.aor);
    return t.findConnection(host, port, tls ? "TLS" : undefined, reuse) ?? (await t.connect(host, port, tls ? "TLS" : "TCP", reuse));
  }

  // ---- offline delivery --------------------------------------------------------------------------

  private bindingRegistered(b: Binding): void {
    // after the 200 to the REGISTER has gone out
    this.timers.setTimeout(() => {
      void this.serialized(b.aor, () => this.flush(b)).catch((e) => this.log("error", "offline delivery failed", { aor: b.aor, error: String(e) }));
    }, 0);
  }

  private async flush(b: Binding): Promise<void> {
    for (;;) {
      const batch = await this.o.store.pendingFor(b.aor, 20);
      if (batch.length === 0) {
        this.pendingCounts.delete(b.aor);
        return;
      }
      for (const m of batch) {
        const r = await this.send(b, this.originated(m));
        if (!("response" in r) || r.response.status >= 300) {
          this.log("info", "stored message not accepted, kept", { aor: b.aor, id: m.id, outcome: "response" in r ? r.response.status : r.unreachable });
          return; // order is kept: the rest waits for the next registration
        }
        await this.o.store.delivered(m.id);
        const left = this.pendingCounts.get(b.aor);
        if (left !== undefined) this.pendingCounts.set(b.aor, Math.max(0, left - 1));
      }
    }
  }

  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }
}
