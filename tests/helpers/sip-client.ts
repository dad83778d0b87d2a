/**
 * A small raw SIP user agent for integration tests and benchmarks: one TCP or TLS connection,
 * lib/sip framing and messages, automatic digest answers (401/407), and a NOTIFY collector that
 * answers 200 (or what `notifyResponse` says). Every wait is bounded.
 */
import net from "node:net";
import tls from "node:tls";
import {
  Dialog,
  SipRequest,
  SipResponse,
  SipStreamParser,
  buildDigestAuthorization,
  createRequest,
  createResponse,
  generateCallId,
  generateTag,
  serializeMessage,
  type SipByteStream,
  type SipMessageAny,
} from "@/lib/sip";

export interface SipTestClientOptions {
  host: string;
  port: number;
  tls?: boolean;
  /** Local address to connect from over TCP (e.g. 127.0.0.2: another client address on loopback). */
  localAddress?: string;
  /** user@domain identity, e.g. alice@example.test */
  user: string;
  domain: string;
  /** Digest user name (default `user`) — `<expiry>:<user>` for ephemeral credentials. */
  authUser?: string;
  password?: string;
  /** Status code to answer NOTIFYs with (default 200). */
  notifyResponse?: number;
  /** Status code to answer MESSAGEs with (default 200; 0 = leave them unanswered). */
  messageResponse?: number;
  /** Default wait (ms). */
  timeoutMs?: number;
  /** Keep every received request in `received` (default true; benchmarks turn it off). */
  keepReceived?: boolean;
  /** Called for every received request (after the automatic answer). */
  onRequest?: (r: SipRequest) => void;
  /** Reuse the last challenge (nc incremented) instead of waiting to be challenged (benchmarks). */
  preemptiveAuth?: boolean;
  /** Speak over this (open) stream instead of a TCP connection to host:port: an in-process flow (`transport.openFlow()`), a WebSocket adapter. */
  stream?: () => SipByteStream;
}

export interface ClientSubscription {
  dialog: Dialog;
  request: SipRequest;
  response: SipResponse;
  event: string;
}

export class SipTestClient {
  readonly o: SipTestClientOptions;
  socket!: net.Socket;
  /** Every request received (NOTIFYs), in order. */
  readonly received: SipRequest[] = [];
  /** Responses without a pending request. */
  readonly stray: SipResponse[] = [];
  closed = false;
  private readonly parser = new SipStreamParser();
  private readonly pending = new Map<string, (r: SipResponse) => void>();
  private cseq = 1;
  private nc = 1;
  private waiters: Array<() => void> = [];
  readonly callId = generateCallId("test");
  readonly fromTag = generateTag();
  notifyResponse: number;
  messageResponse: number;

  constructor(options: SipTestClientOptions) {
    this.o = options;
    this.notifyResponse = options.notifyResponse ?? 200;
    this.messageResponse = options.messageResponse ?? 200;
  }

  static async connect(options: SipTestClientOptions): Promise<SipTestClient> {
    const c = new SipTestClient(options);
    await c.open();
    return c;
  }

  get aor(): string {
    return `sip:${this.o.user}@${this.o.domain}`;
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /** Port of the client's own listener (see `listen()`), when it has one. */
  listenPort?: number;
  private listener?: net.Server;
  private readonly accepted = new Set<net.Socket>();

  get contact(): string {
    if (this.listenPort !== undefined) return `<sip:${this.o.user}@127.0.0.1:${this.listenPort};transport=tcp>`;
    // over an in-process flow, the flow's own (synthetic) address, as the bridge's Contact rewrite does
    const host = this.o.stream ? this.socket.localAddress : "127.0.0.1";
    return `<sip:${this.o.user}@${host}:${this.localPort};transport=${this.o.tls ? "tls" : "tcp"}>`;
  }

  /**
   * Listen for inbound TCP connections (a server that lost our connection, e.g. after a restart,
   * connects to the Contact). From then on the Contact advertises this port.
   */
  listen(): Promise<number> {
    return new Promise((resolve) => {
      const srv = net.createServer((sock) => {
        this.accepted.add(sock);
        const parser = new SipStreamParser();
        parser.on("message", (m) => {
          if (m instanceof SipRequest) {
            this.received.push(m);
            if (m.method === "NOTIFY" || m.method === "OPTIONS") sock.write(serializeMessage(createResponse(m, m.method === "NOTIFY" ? this.notifyResponse : 200)));
            this.wake();
          }
        });
        sock.on("data", (d) => parser.push(d));
        sock.on("error", () => {});
        sock.on("close", () => this.accepted.delete(sock));
      });
      srv.listen(0, "127.0.0.1", () => {
        this.listener = srv;
        this.listenPort = (srv.address() as net.AddressInfo).port;
        resolve(this.listenPort);
      });
    });
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const flow = this.o.stream?.();
      const s = flow
        ? (flow as unknown as net.Socket)
        : this.o.tls
        ? tls.connect({ host: this.o.host, port: this.o.port, rejectUnauthorized: false }, () => resolve())
        : net.connect({ host: this.o.host, port: this.o.port, localAddress: this.o.localAddress }, () => resolve());
      s.once("error", reject);
      s.on("error", () => {});
      s.on("data", (d) => this.parser.push(d));
      s.on("close", () => {
        this.closed = true;
        this.wake();
      });
      this.socket = s;
      this.parser.on("message", (m) => this.onMessage(m));
      if (flow) resolve();
    });
  }

  private onMessage(m: SipMessageAny): void {
    if (m instanceof SipResponse) {
      if (m.status < 200) return;
      const key = `${m.topVia?.branch}|${m.cseq.method}`;
      const cb = this.pending.get(key);
      if (cb) {
        this.pending.delete(key);
        cb(m);
      } else this.stray.push(m);
    } else {
      if (this.o.keepReceived !== false) this.received.push(m);
      if (m.method === "NOTIFY" || m.method === "OPTIONS") {
        this.send(createResponse(m, m.method === "NOTIFY" ? this.notifyResponse : 200));
      } else if (m.method === "MESSAGE" && this.messageResponse !== 0) {
        this.send(createResponse(m, this.messageResponse, { toTag: generateTag() }));
      }
      this.o.onRequest?.(m);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(m: SipMessageAny | Buffer | string): void {
    this.socket.write(typeof m === "string" || Buffer.isBuffer(m) ? m : serializeMessage(m));
  }

  /** Send a request and wait for its final response. */
  sendRequest(req: SipRequest, timeoutMs = this.o.timeoutMs ?? 5000): Promise<SipResponse> {
    const key = `${req.topVia?.branch}|${req.cseq.method}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`no response to ${req.method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.send(req);
    });
  }

  /** Build an out-of-dialog request from this client. */
  build(method: string, uri: string, opts: { headers?: Array<[string, string]>; body?: string; contentType?: string; to?: string; callId?: string; fromTag?: string; contact?: boolean } = {}): SipRequest {
    return createRequest({
      method,
      uri,
      from: `<${this.aor}>;tag=${opts.fromTag ?? generateTag()}`,
      to: opts.to ?? `<${uri}>`,
      callId: opts.callId ?? generateCallId("test"),
      cseq: this.cseq++,
      via: { transport: this.o.tls ? "TLS" : "TCP", host: "127.0.0.1", port: this.localPort },
      contact: opts.contact === false ? undefined : this.contact,
      headers: opts.headers,
      body: opts.body,
      contentType: opts.contentType,
    });
  }

  /** Send; on 401/407 answer the challenge once with the client's credentials. */
  private lastChallenge = new Map<string, { status: number; challenge: string }>();

  private authorize(req: SipRequest, status: number, challenge: string): void {
    req.setHeader(status === 401 ? "Authorization" : "Proxy-Authorization", buildDigestAuthorization({
      challenge,
      method: req.method,
      uri: req.uri.toString(),
      username: this.o.authUser ?? this.o.user,
      password: this.o.password,
      nc: this.nc++,
    }));
  }

  async requestWithAuth(make: (cseqBump: number) => SipRequest): Promise<SipResponse> {
    const first = make(0);
    const cached = this.o.preemptiveAuth ? this.lastChallenge.get(first.method === "REGISTER" ? "REGISTER" : "other") : undefined;
    if (cached) this.authorize(first, cached.status, cached.challenge);
    const r = await this.sendRequest(first);
    if ((r.status !== 401 && r.status !== 407) || this.o.password === undefined) return r;
    const challenges = r.getHeaders(r.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate");
    const challenge = challenges.find((c) => /algorithm=MD5/i.test(c)) ?? challenges[0];
    this.nc = 1;
    this.lastChallenge.set(first.method === "REGISTER" ? "REGISTER" : "other", { status: r.status, challenge });
    const second = make(1);
    this.authorize(second, r.status, challenge);
    return this.sendRequest(second);
  }

  async register(expires = 3600, extra: Array<[string, string]> = [], contact?: string): Promise<SipResponse> {
    const callId = this.callId;
    return this.requestWithAuth(() => {
      const req = this.build("REGISTER", `sip:${this.o.domain}`, { to: `<${this.aor}>`, callId, fromTag: this.fromTag, headers: [["Expires", String(expires)], ...extra] });
      if (contact) req.setHeader("Contact", contact);
      return req;
    });
  }

  async publish(body: string | undefined, opts: { etag?: string; expires?: number; contentType?: string; event?: string } = {}): Promise<SipResponse> {
    return this.requestWithAuth(() => {
      const headers: Array<[string, string]> = [["Event", opts.event ?? "presence"], ["Expires", String(opts.expires ?? 3600)]];
      if (opts.etag) headers.push(["SIP-If-Match", opts.etag]);
      return this.build("PUBLISH", this.aor, { headers, body, contentType: body === undefined ? undefined : opts.contentType ?? "application/pidf+xml", contact: false });
    });
  }

  /** MESSAGE (RFC 3428) to `uri`, answering a challenge. */
  async message(uri: string, body: string, opts: { contentType?: string; headers?: Array<[string, string]> } = {}): Promise<SipResponse> {
    return this.requestWithAuth(() => this.build("MESSAGE", uri, { body, contentType: opts.contentType ?? "text/plain", headers: opts.headers, contact: false }));
  }

  /** MESSAGEs received, in order. */
  messages(): SipRequest[] {
    return this.received.filter((r) => r.method === "MESSAGE");
  }

  /** Out-of-dialog SUBSCRIBE; on 2xx returns the dialog (UAC side). */
  async subscribe(uri: string, opts: { event?: string; expires?: number; headers?: Array<[string, string]> } = {}): Promise<{ response: SipResponse; sub?: ClientSubscription }> {
    const event = opts.event ?? "presence";
    const callId = generateCallId("test");
    const fromTag = generateTag();
    let req!: SipRequest;
    const response = await this.requestWithAuth(() => {
      req = this.build("SUBSCRIBE", uri, { callId, fromTag, headers: [["Event", event], ["Expires", String(opts.expires ?? 600)], ...(opts.headers ?? [])] });
      return req;
    });
    if (response.status >= 300) return { response };
    return { response, sub: { dialog: Dialog.createUac(req, response), request: req, response, event } };
  }

  /**
   * In-dialog SUBSCRIBE (refresh, or unsubscribe with expires 0) over this client's connection; a
   * 401/407 (the dialog's owner must prove who it is from a new connection) is answered once.
   */
  async resubscribe(sub: ClientSubscription, expires: number): Promise<SipResponse> {
    return this.requestWithAuth(() =>
      sub.dialog.createRequest("SUBSCRIBE", {
        via: { transport: this.o.tls ? "TLS" : "TCP", host: "127.0.0.1", port: this.localPort },
        contact: this.contact,
        headers: [["Event", sub.event], ["Expires", String(expires)]],
      }),
    );
  }

  /** NOTIFYs received in a dialog (by Call-ID). */
  notifies(sub?: ClientSubscription): SipRequest[] {
    return this.received.filter((r) => r.method === "NOTIFY" && (!sub || r.callId === sub.dialog.id.callId));
  }

  /** Wait until `pred` holds for some received NOTIFY (index ≥ `from`); returns it. */
  async waitForNotify(pred: (n: SipRequest) => boolean, opts: { sub?: ClientSubscription; from?: number; timeoutMs?: number } = {}): Promise<SipRequest> {
    const deadline = Date.now() + (opts.timeoutMs ?? this.o.timeoutMs ?? 5000);
    for (;;) {
      const list = this.notifies(opts.sub).slice(opts.from ?? 0);
      const hit = list.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0 || (this.closed && this.listenPort === undefined)) {
        throw new Error(`no matching NOTIFY within the time limit; got ${list.length}: ${list.map((n) => n.getHeader("Subscription-State")).join(" | ")}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Wait for any raw response among the strays, e.g. to a malformed message. */
  async waitForStray(pred: (r: SipResponse) => boolean, timeoutMs = 5000): Promise<SipResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.stray.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error("no matching response");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): Promise<void> {
    for (const s of this.accepted) s.destroy();
    this.listener?.close();
    return new Promise((r) => {
      if (this.closed) return r();
      this.socket.once("close", () => r());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 500).unref();
    });
  }
}

export function pidf(entity: string, basic: "open" | "closed", note?: string, tupleId = "t1"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}"><tuple id="${tupleId}"><status><basic>${basic}</basic></status>${note ? `<note>${note}</note>` : ""}</tuple></presence>`;
}
