/**
 * One browser WebSocket (RFC 7118) bound to its own connection (flow) to the SIP server: a TCP/TLS
 * socket, or an in-memory flow to the embedded server in this process (`SipTransport.openFlow`),
 * which behaves the same way and gets exactly the same bytes (with the bridge's parse of each,
 * so the server does not parse them again; whole messages back, so the bridge does not frame).
 *
 * Browser → upstream: each WS message is one SIP message. Requests must carry the session's
 * identity (From, and To for REGISTER/PUBLISH) or the bridge answers 403 itself; accepted
 * requests get the bridge's Via on top and their Contact rewritten to the upstream socket's
 * local address so the server routes in-dialog requests (NOTIFY) back over this very TCP
 * connection (RFC 5626 flow / RFC 5923 connection reuse). Everything else passes byte for byte.
 * The usual layout is edited on the bytes and parsed once (`forwardUsual`); anything else takes
 * the general path (full parse first).
 *
 * Upstream → browser: the byte stream is framed (not parsed) by lib/sip's `SipStreamFramer`, or
 * arrives as whole messages from the in-process server; requests pass byte for byte, responses
 * lose the bridge's top Via. Each SIP message is one WS message (text when it is valid UTF-8,
 * binary otherwise). RFC 5626 CRLF keep-alives are answered on both sides.
 */
import { isUtf8 } from "node:buffer";
import type { WebSocket } from "ws";
import {
  BRANCH_MAGIC_COOKIE,
  DEFAULT_MAX_HEADER_SIZE,
  MemoryFlowEnd,
  NameAddr,
  SipParseError,
  SipStreamFramer,
  SipRequest,
  SipUri,
  buildErrorResponse,
  createResponse,
  generateTag,
  normalizeAddress,
  parseFrame,
  parseMessage,
  serializeMessage,
  splitTopLevel,
  type SipByteStream,
  type SipLogger,
  type SipMessageAny,
} from "../sip";
import type { BridgeErrorKind, BridgeMetrics } from "./metrics";
import { editClientMessage, editLayout, isSessionAor, scanClientMessage, stripTopVia, type SessionIdentity } from "./rewrite";
import { TokenBucket } from "./token-bucket";
import { classifyUpstream, cutBytes, topViaBranch } from "./upstream-framer";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
const SIP_VERSION_SP = Buffer.from("SIP/2.0 ");
const VIA_COLON_SP = Buffer.from("Via: ");
/** WS close codes (RFC 6455 §7.4.1). */
export const WsClose = {
  Normal: 1000,
  GoingAway: 1001,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  TooBig: 1009,
  InternalError: 1011,
  /** Herald (RFC 6455 §7.4.2 private range): the account's sessions ended (disabled, password changed, deleted); the reason says which. */
  SessionEnded: 4001,
} as const;

/** Pause reading upstream while this much is queued towards the browser; resume below the low mark. */
const WS_HIGH_WATER = 1024 * 1024;
const WS_LOW_WATER = 256 * 1024;
/** Time a half-closed upstream socket gets to finish before it is destroyed. */
const UPSTREAM_CLOSE_GRACE_MS = 1000;

export interface ConnectionLimits {
  maxMessageBytes: number;
  maxUpstreamMessageBytes: number;
  maxMessagesPerSecond: number;
  messageBurst: number;
  idleTimeoutMs: number;
  upstreamKeepAliveMs: number;
}

export interface BridgedConnectionInit {
  id: string;
  ws: WebSocket;
  upstream: SipByteStream;
  transport: "TCP" | "TLS";
  identity: SessionIdentity;
  limits: ConnectionLimits;
  metrics: BridgeMetrics;
  log: SipLogger;
  onClose: (conn: BridgedConnection) => void;
}

export class BridgedConnection {
  readonly id: string;
  readonly identity: SessionIdentity;
  private readonly ws: WebSocket;
  private readonly upstream: SipByteStream;
  /** The upstream when it is an in-process flow to the embedded server. */
  private readonly flow?: MemoryFlowEnd;
  private readonly transport: "TCP" | "TLS";
  private readonly limits: ConnectionLimits;
  private readonly metrics: BridgeMetrics;
  private readonly log: SipLogger;
  private readonly onClose: (conn: BridgedConnection) => void;
  private readonly bucket: TokenBucket;
  private readonly framer: SipStreamFramer;
  /** `host:port` of the upstream socket's local end: what the server sees as our source. */
  private readonly localHostPort: string;
  private readonly localHost: string;
  private readonly localPort: number;
  /** Branch prefix unique to this connection; responses whose top Via lacks it are not ours. */
  private readonly branchPrefix: string;
  /** `;branch=` and that prefix, as bytes. */
  private readonly branchParam: Buffer;
  /** Whole messages from an in-process server up to this size skip the framer (within both of its limits). */
  private readonly maxWholeBytes: number;
  private lastContact?: { value: string; rewritten: string | undefined };
  private excess = 0;
  private lastClientActivity = Date.now();
  private lastUpstreamWrite = Date.now();
  private upstreamPaused = false;
  private finished = false;
  private graceTimer?: NodeJS.Timeout;

  constructor(init: BridgedConnectionInit) {
    this.id = init.id;
    this.ws = init.ws;
    this.upstream = init.upstream;
    this.transport = init.transport;
    this.identity = init.identity;
    this.limits = init.limits;
    this.metrics = init.metrics;
    this.log = init.log;
    this.onClose = init.onClose;
    this.bucket = new TokenBucket(init.limits.maxMessagesPerSecond, init.limits.messageBurst);
    const addr = normalizeAddress(this.upstream.localAddress ?? "127.0.0.1");
    this.localHost = addr.includes(":") ? `[${addr}]` : addr;
    this.localPort = this.upstream.localPort ?? 0;
    this.localHostPort = `${this.localHost}:${this.localPort}`;
    this.branchPrefix = `${BRANCH_MAGIC_COOKIE}-hb${init.id}-`;
    this.branchParam = Buffer.from(`;branch=${this.branchPrefix}`);
    const maxHeaderBytes = Math.min(DEFAULT_MAX_HEADER_SIZE, init.limits.maxMessageBytes);
    this.maxWholeBytes = Math.min(maxHeaderBytes, init.limits.maxUpstreamMessageBytes);
    this.framer = new SipStreamFramer(maxHeaderBytes, init.limits.maxUpstreamMessageBytes, {
      message: (raw, headEnd) => this.guard("upstream message", () => this.onUpstreamMessage(raw, headEnd)),
      keepalive: (kind) => {
        this.metrics.keepAlives.fromUpstream++;
        if (kind === "ping") this.writeUpstream(CRLF); // RFC 5626 §4.4.1: answer CRLFCRLF with CRLF
      },
      framingError: (err) => {
        this.countError("upstreamFraming");
        this.log("warn", "upstream framing error, closing", { id: this.id, code: err.code });
        this.closeClient(WsClose.InternalError, "upstream framing error");
        this.upstream.destroy();
      },
    });

    this.ws.on("message", (data, isBinary) => this.guard("client message", () => this.onClientMessage(toBuffer(data), isBinary)));
    this.ws.on("pong", () => (this.lastClientActivity = Date.now()));
    this.ws.on("ping", () => (this.lastClientActivity = Date.now()));
    this.ws.on("error", (err: Error & { code?: string }) => {
      // ws closes the connection itself (1009 for maxPayload, 1002/1007 for protocol errors)
      this.countError(err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? "clientOversized" : "clientSocket");
      this.log("info", "websocket error", { id: this.id, code: err.code, error: err.message });
    });
    this.ws.on("close", (code) => {
      this.log("debug", "websocket closed", { id: this.id, code });
      this.endUpstream();
      this.finish();
    });

    this.upstream.on("data", (chunk: Buffer) => this.guard("upstream data", () => this.onUpstreamData(chunk)));
    const upstream: SipByteStream = this.upstream;
    this.flow = upstream instanceof MemoryFlowEnd ? upstream : undefined;
    if (this.flow) {
      // the embedded server hands over whole messages: no framing needed
      this.flow.on("message", (raw: Buffer) => this.guard("upstream message", () => this.onUpstreamWhole(raw)));
    }
    this.upstream.on("end", () => {
      this.framer.end();
      this.log("debug", "upstream ended", { id: this.id });
      this.closeClient(WsClose.GoingAway, "upstream closed");
    });
    this.upstream.on("error", (err) => {
      this.countError("upstreamSocket");
      this.log("info", "upstream socket error", { id: this.id, error: err.message });
      this.closeClient(WsClose.InternalError, "upstream error");
    });
    this.upstream.on("close", () => {
      this.closeClient(WsClose.GoingAway, "upstream closed");
      this.finish();
    });
    this.upstream.on("drain", () => this.ws.resume());
  }

  /**
   * Called periodically by the bridge: WS pings, idle timeout, upstream keep-alives. Silence
   * counts from `stallEnd` when that is later (the bridge's event loop was stalled until then).
   */
  tick(now: number, stallEnd = 0): void {
    if (this.finished) return;
    const idle = this.limits.idleTimeoutMs;
    if (idle > 0) {
      const silent = now - Math.max(this.lastClientActivity, stallEnd);
      if (silent >= idle) {
        this.countError("idleTimeout");
        this.log("info", "idle timeout", { id: this.id });
        this.ws.terminate(); // a peer that does not answer pings will not answer a close either
        return;
      }
      if (silent >= idle / 3 && this.ws.readyState === this.ws.OPEN) this.ws.ping();
    }
    const ka = this.limits.upstreamKeepAliveMs;
    // RFC 5626 §4.4.1: the bridge is the client end of the TCP flow; keep it (and NATs, server idle timers) alive
    if (ka > 0 && now - this.lastUpstreamWrite >= ka) this.writeUpstream(CRLFCRLF);
  }

  /** Close both sides (bridge shutdown). */
  /** The local port of the upstream end: what the SIP server sees as this connection's source port. */
  get upstreamPort(): number {
    return this.localPort;
  }

  close(code: number = WsClose.GoingAway, reason = "bridge shutting down"): void {
    this.closeClient(code, reason);
    this.endUpstream();
  }

  /** Drop both sides now. */
  destroy(): void {
    this.ws.terminate();
    this.upstream.destroy();
  }

  // ---- browser → upstream -------------------------------------------------------------------

  private onClientMessage(buf: Buffer, isBinary: boolean): void {
    this.lastClientActivity = Date.now();
    if (isKeepAlive(buf)) {
      this.metrics.keepAlives.fromClient++;
      if (!this.bucket.take()) return this.overLimit(undefined);
      // RFC 5626 §4.4.1 over WS: answer the ping, and keep the upstream flow alive too
      if (buf.length >= 4) {
        this.sendToClient(CRLF);
        this.writeUpstream(CRLFCRLF);
      }
      return;
    }
    this.metrics.messages.fromClient++;
    const allowed = this.bucket.take();
    if (allowed && this.forwardUsual(buf)) {
      this.excess = 0;
      return;
    }
    // the general path: unusual layouts, malformed or refused messages, and the rate limit's answers
    let msg: SipMessageAny;
    try {
      msg = parseMessage(buf);
      if (msg instanceof SipRequest) void msg.contact; // parse Contact now: a bad one is a 400, not a crash later
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return this.malformed(buf, e, isBinary);
    }
    if (!allowed) return this.overLimit(msg);
    this.excess = 0;
    if (msg instanceof SipRequest) this.forwardRequest(msg, buf);
    else this.forwardResponse(msg, buf);
  }

  /**
   * The usual browser message (see `scanClientMessage`): its layout is read without parsing, the
   * Via and Contact edits are made on the bytes, and the result is parsed once, as the server
   * would parse it, to check it and the identity. An in-process server takes that parse with the
   * bytes (`MemoryFlowEnd.writeMessage`) instead of parsing them again. False, with nothing sent,
   * when anything is not as usual: malformed, refused, odd layout — the general path answers.
   */
  private forwardUsual(raw: Buffer): boolean {
    const layout = scanClientMessage(raw);
    if (!layout) return false;
    let contact: string | undefined;
    try {
      contact = layout.contact && this.rewriteContactValue(layout.contact.value);
    } catch (e) {
      if (e instanceof SipParseError) return false;
      throw e;
    }
    const via = layout.isRequest ? this.viaFor(layout.branch) : undefined;
    const out = via === undefined && contact === undefined ? raw : editLayout(raw, layout, via, contact);
    let msg: SipMessageAny;
    try {
      msg = parseFrame(out, layout.headEnd + out.length - raw.length);
    } catch (e) {
      if (e instanceof SipParseError) return false;
      throw e;
    }
    if (msg.contentLength !== msg.body.length) return false;
    if (msg instanceof SipRequest && this.checkIdentity(msg)) return false;
    this.writeUpstream(out, msg);
    this.metrics.messages.toUpstream++;
    return true;
  }

  private forwardRequest(req: SipRequest, raw: Buffer): void {
    const denied = this.checkIdentity(req);
    if (denied) {
      this.countError("clientForbidden");
      this.log("info", "request refused: identity is not the session's", { id: this.id, method: req.method, header: denied, aor: this.identity.aor });
      // RFC 3261 §17.2.3/§8.2.6: an ACK is never answered
      if (req.method !== "ACK") this.answer(createResponse(req, 403, { reason: `Forbidden (${denied} is not ${this.identity.aor})`, toTag: generateTag() }));
      return;
    }
    this.writeUpstream(editClientMessage(raw, req, { via: this.viaFor(req.topVia?.branch), contacts: this.rewriteContacts(req) }));
    this.metrics.messages.toUpstream++;
  }

  private forwardResponse(res: SipMessageAny, raw: Buffer): void {
    let contacts: NameAddr[] | undefined;
    try {
      contacts = this.rewriteContacts(res);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return this.malformed(raw, e, false);
    }
    const out = contacts === undefined && isExactFrame(raw, res) ? raw : editClientMessage(raw, res, { contacts });
    this.writeUpstream(out);
    this.metrics.messages.toUpstream++;
  }

  /** The bridge's Via: a branch deterministic per browser branch so CANCEL/ACK for non-2xx match their request (RFC 3261 §16.11 spirit). */
  private viaFor(browserBranch: string | undefined): string {
    return `SIP/2.0/${this.transport} ${this.localHostPort};branch=${this.branchPrefix}${browserBranch ?? generateTag()};rport;alias`;
  }

  /** Which identity header is wrong, or undefined when the request may pass. */
  private checkIdentity(req: SipRequest): string | undefined {
    if (!isSessionAor(req.from.uri, this.identity)) return "From";
    // REGISTER binds the To AOR (RFC 3261 §10.2); PUBLISH publishes the To presentity (RFC 3903 §4)
    if ((req.method === "REGISTER" || req.method === "PUBLISH") && !isSessionAor(req.to.uri, this.identity)) return "To";
    return undefined;
  }

  /**
   * Contact URIs pointing at the browser (host `*.invalid`, transport=ws) cannot be reached by
   * the server; make them point at our upstream socket (RFC 7118 §5, RFC 5626 §5): same user
   * part and parameters, host:port = local end of the upstream connection, transport=tcp|tls.
   * `undefined` when the message has no Contact to rewrite.
   */
  private rewriteContacts(msg: SipMessageAny): NameAddr[] | undefined {
    const contacts = msg.contact;
    if (contacts.length === 0 || contacts.includes("*")) return undefined;
    return (contacts as NameAddr[]).map((c) => this.pointAtUpstream(c.clone()));
  }

  /**
   * `rewriteContacts` for a Contact header value of the usual layout. Throws `SipParseError`. A
   * tab sends the same Contact on every request: the last rewrite is reused.
   */
  private rewriteContactValue(value: string): string | undefined {
    if (value === this.lastContact?.value) return this.lastContact.rewritten;
    const values = splitTopLevel(value, ",");
    const rewritten = values.some((v) => v.trim() === "*") ? undefined : values.map((v) => this.pointAtUpstream(NameAddr.parse(v)).toString()).join(", ");
    this.lastContact = { value, rewritten };
    return rewritten;
  }

  private pointAtUpstream(c: NameAddr): NameAddr {
    if (!(c.uri instanceof SipUri)) return c;
    const uri = c.uri;
    uri.host = this.localHost;
    uri.port = this.localPort;
    uri.params.set("transport", this.transport === "TLS" ? "tls" : "tcp");
    return c;
  }

  private malformed(raw: Buffer, err: SipParseError, isBinary: boolean): void {
    this.countError("clientMalformed");
    this.log("info", "malformed SIP from browser", { id: this.id, code: err.code, reason: err.reason, binary: isBinary });
    const response = buildErrorResponse(raw, err);
    if (response) this.answer(response);
    else this.closeClient(WsClose.InvalidPayload, "malformed SIP message");
  }

  private overLimit(msg: SipMessageAny | undefined): void {
    this.countError("clientRateLimited");
    if (++this.excess > this.limits.messageBurst) {
      this.log("info", "message rate exceeded persistently, closing", { id: this.id });
      this.closeClient(WsClose.PolicyViolation, "message rate exceeded");
      this.endUpstream();
      return;
    }
    // RFC 3261 §21.5.4: 503 with Retry-After; responses and keep-alives over the limit are dropped
    if (msg instanceof SipRequest && msg.method !== "ACK") {
      this.answer(createResponse(msg, 503, { reason: "Message Rate Exceeded", toTag: generateTag(), headers: [["Retry-After", "1"]] }));
    }
  }

  private answer(res: SipMessageAny): void {
    this.metrics.messages.answeredByBridge++;
    this.sendToClient(serializeMessage(res));
  }

  // ---- upstream → browser -------------------------------------------------------------------

  /**
   * Server messages are framed, not parsed (they pass byte for byte): requests go as they are,
   * responses must carry the bridge's branch in their top Via, which is cut out of the bytes.
   */
  private onUpstreamMessage(raw: Buffer, headEnd: number): void {
    this.metrics.messages.fromUpstream++;
    const m = classifyUpstream(raw, headEnd);
    if (m.kind === "malformed") {
      this.countError("upstreamMalformed");
      this.log("warn", "malformed message from upstream dropped", { id: this.id, reason: m.reason });
      return;
    }
    if (m.kind === "request") {
      // NOTIFY, MESSAGE, OPTIONS... byte for byte. JsSIP accepts our rewritten Request-URI:
      // it only compares the user part, which the Contact rewrite keeps (UA.receiveRequest).
      this.sendToClient(raw);
    } else {
      const via = m.via;
      if (!via || !topViaBranch(via.value)?.startsWith(this.branchPrefix)) {
        this.countError("upstreamMisrouted");
        this.log("warn", "response without the bridge's Via dropped", { id: this.id, status: m.status });
        return;
      }
      // one Via value on the line (the usual case): drop the line; several: rewrite it
      this.sendToClient(via.value.includes(",") ? stripTopVia(raw) : cutBytes(raw, via.start, via.end));
    }
    this.metrics.messages.toClient++;
  }

  /**
   * Bytes from upstream. The in-process server writes each keep-alive whole, so there a lone CRLF
   * is its pong (RFC 5626 §4.4.1) — not held by the framer until the next pong arrives and, with
   * it, reads as a CRLFCRLF ping that the bridge would answer with a stray CRLF. Over TCP the
   * framer decides (chunks there are not writes).
   */
  private onUpstreamData(chunk: Buffer): void {
    if (this.flow && this.framer.buffered === 0 && chunk.length === 2 && chunk[0] === 13 && chunk[1] === 10) {
      this.metrics.keepAlives.fromUpstream++;
      return;
    }
    this.framer.push(chunk);
  }

  /**
   * A whole message from the in-process server, as it serialized it: a request passes; a
   * response's top Via is its first header line (createResponse copies the Vias first), cut
   * when it carries our branch. Anything else, and anything larger than the framer's header
   * limit (an RLS full state), goes through the framer like bytes from a socket.
   */
  private onUpstreamWhole(raw: Buffer): void {
    if (this.framer.buffered === 0 && raw.length <= this.maxWholeBytes && raw[0] !== 13) {
      if (raw.compare(SIP_VERSION_SP, 0, SIP_VERSION_SP.length, 0, SIP_VERSION_SP.length) !== 0) {
        this.metrics.messages.fromUpstream++;
        this.sendToClient(raw);
        this.metrics.messages.toClient++;
        return;
      }
      const start = raw.indexOf(CRLF) + 2;
      const end = raw.indexOf(CRLF, start);
      const branch = raw.indexOf(this.branchParam, start);
      const comma = raw.indexOf(44 /* , */, start);
      if (raw.compare(VIA_COLON_SP, 0, VIA_COLON_SP.length, start, start + VIA_COLON_SP.length) === 0 && branch > start && branch < end && (comma < 0 || comma > end)) {
        this.metrics.messages.fromUpstream++;
        this.sendToClient(cutBytes(raw, start, end + 2));
        this.metrics.messages.toClient++;
        return;
      }
    }
    this.framer.push(raw);
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private sendToClient(data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // RFC 7118 §5: text frames must be UTF-8; anything else goes as a binary frame
    this.ws.send(data, { binary: !isUtf8(data) }, this.onClientWritten);
    if (!this.upstreamPaused && this.ws.bufferedAmount > WS_HIGH_WATER) {
      // backpressure: stop reading upstream until the browser has taken most of the queue
      this.upstreamPaused = true;
      this.upstream.pause();
    }
  }

  private readonly onClientWritten = (): void => {
    if (this.upstreamPaused && this.ws.bufferedAmount < WS_LOW_WATER) {
      this.upstreamPaused = false;
      this.upstream.resume();
    }
  };

  /** `msg`: the parse of `data` (`parseFrame`), passed along to an in-process server. */
  private writeUpstream(data: Buffer, msg?: SipMessageAny): void {
    if (this.upstream.destroyed || this.upstream.writableEnded) return;
    this.lastUpstreamWrite = Date.now();
    const ok = msg && this.flow ? this.flow.writeMessage(data, msg) : this.upstream.write(data);
    if (!ok) this.ws.pause(); // resumed on 'drain'
  }

  private closeClient(code: number, reason: string): void {
    const s = this.ws.readyState;
    if (s === this.ws.OPEN || s === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  private endUpstream(): void {
    if (this.upstream.destroyed) return;
    if (!this.upstream.writableEnded) this.upstream.end();
    if (this.graceTimer) return;
    const upstream = this.upstream;
    // not a closure over this connection: a closed one is not kept alive for the grace period
    const timer = setTimeout(() => upstream.destroy(), UPSTREAM_CLOSE_GRACE_MS);
    timer.unref();
    this.graceTimer = timer;
    upstream.once("close", () => clearTimeout(timer));
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onClose(this);
  }

  private countError(kind: BridgeErrorKind): void {
    this.metrics.errors[kind]++;
  }

  /** Nothing a peer sends may throw out of a socket callback (CONVENTIONS: log and close). */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log("error", `unexpected error handling ${what}, closing`, { id: this.id, error: e instanceof Error ? e.stack : String(e) });
      this.closeClient(WsClose.InternalError, "internal error");
      this.upstream.destroy();
    }
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A frame of nothing but CRLFs: RFC 5626 keep-alive ping (CRLFCRLF) or pong (CRLF). */
function isKeepAlive(buf: Buffer): boolean {
  if (buf.length === 0 || buf.length % 2 !== 0 || buf.length > 8) return false;
  for (let i = 0; i < buf.length; i += 2) if (buf[i] !== 13 || buf[i + 1] !== 10) return false;
  return true;
}

/** The raw bytes are exactly one stream-framed message (declared Content-Length, no leading CRLF, no trailing bytes). */
function isExactFrame(raw: Buffer, msg: SipMessageAny): boolean {
  const cl = msg.contentLength;
  if (cl === undefined || raw[0] === 13) return false;
  return raw.indexOf(CRLFCRLF) + 4 + cl === raw.length;
}
