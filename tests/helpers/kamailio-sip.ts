/**
 * A raw SIP user agent over one TCP connection for interop tests (Kamailio or Herald's server):
 * requests are written as text, everything received goes through lib/sip's stream parser.
 * Answers 401/407 once with digest credentials, answers every incoming NOTIFY/MESSAGE with 200 and
 * queues it for the test. Contact = the connection's own address, so the server sends in-dialog
 * requests back over the same connection (what Kamailio does for TCP clients).
 *
 * Bounded everywhere: every wait has a timeout, the stream parser has size limits.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { SipStreamParser, buildDigestAuthorization, type SipRequest, type SipResponse } from "../../lib/sip";

export interface SipTestUaOptions {
  host: string;
  port: number;
  /** the user's AOR user part and domain: From is `sip:<user>@<domain>` */
  user: string;
  domain: string;
  /** digest: a password or an HA1 (for the realm = domain); `authUser` defaults to `user` */
  password?: string;
  ha1?: string;
  /** digest user name, e.g. an ephemeral `<expiry>:<user>` */
  authUser?: string;
  /** largest message accepted (RLMI NOTIFYs of big lists); default 1 MiB */
  maxMessageSize?: number;
  /** default timeout of a transaction / wait; default 10 s */
  timeoutMs?: number;
}

export interface SendOptions {
  /** extra header lines, e.g. { Event: "presence", Expires: "600" } (values may be arrays) */
  headers?: Record<string, string | string[]>;
  body?: string;
  contentType?: string;
  /** dialog to send in: reuses Call-ID, tags and the next CSeq */
  dialog?: SipDialogState;
  /** To header URI; default the request URI */
  to?: string;
  /** do not answer a 401/407 (to see the challenge) */
  noAuth?: boolean;
  timeoutMs?: number;
}

export interface SipDialogState {
  callId: string;
  localTag: string;
  remoteTag?: string;
  localUri: string;
  remoteUri: string;
  /** Request-URI for in-dialog requests (the remote Contact) */
  remoteTarget: string;
  cseq: number;
}

export interface Transaction {
  /** every response received, provisional included (the challenge too) */
  responses: SipResponse[];
  final: SipResponse;
  /** the dialog (SUBSCRIBE): remote tag and target taken from the 2xx */
  dialog: SipDialogState;
}

interface Pending {
  branch: string;
  responses: SipResponse[];
  resolve: (r: SipResponse) => void;
  reject: (e: Error) => void;
}

const rand = (n = 8) => randomBytes(n).toString("hex");

export class SipTestUa {
  readonly options: SipTestUaOptions;
  readonly aor: string;
  private socket!: net.Socket;
  private parser: SipStreamParser;
  private pending = new Map<string, Pending>();
  /** requests received (NOTIFY, MESSAGE, ...), oldest first, until taken by waitForRequest */
  readonly received: SipRequest[] = [];
  /** every request ever received (never drained) */
  readonly allReceived: SipRequest[] = [];
  private waiters: Array<{ match: (r: SipRequest) => boolean; resolve: (r: SipRequest) => void }> = [];
  private closed = false;
  localPort = 0;

  private constructor(options: SipTestUaOptions) {
    this.options = options;
    this.aor = `sip:${options.user}@${options.domain}`;
    this.parser = new SipStreamParser({ maxMessageSize: options.maxMessageSize ?? 1024 * 1024 });
    this.parser.on("message", (msg) => this.onMessage(msg));
    this.parser.on("framingError", (err) => this.fail(err));
  }

  static async connect(options: SipTestUaOptions): Promise<SipTestUa> {
    const ua = new SipTestUa(options);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: options.host, port: options.port });
      ua.socket = s;
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`SIP connect to ${options.host}:${options.port} timed out`));
      }, options.timeoutMs ?? 10_000);
      s.once("connect", () => {
        clearTimeout(t);
        ua.localPort = s.localPort!;
        resolve();
      });
      s.once("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    ua.socket.on("data", (d) => ua.parser.push(d));
    ua.socket.on("error", (e) => ua.fail(e));
    ua.socket.on("close", () => ua.fail(new Error("connection closed")));
    return ua;
  }

  get contact(): string {
    return `<sip:${this.options.user}@127.0.0.1:${this.localPort};transport=tcp>`;
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private onMessage(msg: SipRequest | SipResponse): void {
    if (!msg.isRequest) {
      const branch = msg.topVia?.branch ?? "";
      const p = this.pending.get(branch);
      if (!p) return;
      p.responses.push(msg);
      if (msg.status >= 200) {
        this.pending.delete(branch);
        p.resolve(msg);
      }
      return;
    }
    // answer requests the server sends us (NOTIFY of our subscriptions, MESSAGE)
    if (msg.method !== "ACK") this.reply(msg, 200, "OK");
    this.allReceived.push(msg);
    const i = this.waiters.findIndex((w) => w.match(msg));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(msg);
    } else this.received.push(msg);
  }

  /** Answer an incoming request. */
  reply(req: SipRequest, status: number, reason: string, extra: string[] = []): void {
    const lines = [`SIP/2.0 ${status} ${reason}`];
    for (const v of req.getHeaders("Via")) lines.push(`Via: ${v}`);
    lines.push(`From: ${req.getHeader("From")}`);
    const to = req.getHeader("To")!;
    lines.push(`To: ${/;\s*tag=/i.test(to) ? to : `${to};tag=${rand(4)}`}`);
    lines.push(`Call-ID: ${req.callId}`, `CSeq: ${req.getHeader("CSeq")}`, ...extra, "Content-Length: 0", "", "");
    this.write(lines.join("\r\n"));
  }

  private write(text: string): void {
    if (this.closed) throw new Error("SIP connection is closed");
    this.socket.write(text);
  }

  /** Wait for a received request matching `match` (already queued or arriving within the timeout). */
  waitForRequest(match: (r: SipRequest) => boolean, timeoutMs = this.options.timeoutMs ?? 10_000, what = "a SIP request"): Promise<SipRequest> {
    const i = this.received.findIndex(match);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (r: SipRequest) => {
          clearTimeout(t);
          resolve(r);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Wait for the next NOTIFY in a dialog (by Call-ID), optionally matching a predicate. */
  waitForNotify(dialog: { callId: string }, match: (r: SipRequest) => boolean = () => true, timeoutMs?: number): Promise<SipRequest> {
    return this.waitForRequest((r) => r.method === "NOTIFY" && r.callId === dialog.callId && match(r), timeoutMs, `NOTIFY in ${dialog.callId}`);
  }

  /** Send a request; answers one 401/407 with credentials unless noAuth. */
  async send(method: string, uri: string, opts: SendOptions = {}): Promise<Transaction> {
    const d: SipDialogState = opts.dialog ?? {
      callId: `${rand(8)}@127.0.0.1`,
      localTag: rand(4),
      localUri: this.aor,
      remoteUri: opts.to ?? uri,
      remoteTarget: uri,
      cseq: 0,
    };
    const responses: SipResponse[] = [];
    let authHeader: string | undefined;
    for (let round = 0; round < 2; round++) {
      d.cseq += 1;
      const branch = `z9hG4bK${rand(8)}`;
      const target = opts.dialog ? d.remoteTarget : uri;
      const lines = [
        `${method} ${target} SIP/2.0`,
        `Via: SIP/2.0/TCP 127.0.0.1:${this.localPort};branch=${branch};rport`,
        "Max-Forwards: 70",
        `From: <${d.localUri}>;tag=${d.localTag}`,
        `To: <${d.remoteUri}>${d.remoteTag ? `;tag=${d.remoteTag}` : ""}`,
        `Call-ID: ${d.callId}`,
        `CSeq: ${d.cseq} ${method}`,
        `Contact: ${this.contact}`,
        "User-Agent: herald-interop-test",
      ];
      for (const [k, v] of Object.entries(opts.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
      if (authHeader) lines.push(authHeader);
      const body = opts.body ?? "";
      if (body) lines.push(`Content-Type: ${opts.contentType ?? "application/pidf+xml"}`);
      lines.push(`Content-Length: ${Buffer.byteLength(body)}`, "", body);
      const final = await this.transact(branch, lines.join("\r\n"), responses, opts.timeoutMs);
      if ((final.status === 401 || final.status === 407) && !opts.noAuth && round === 0) {
        const hname = final.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
        const challenge = final.getHeader(hname);
        if (!challenge) return this.done(responses, final, d);
        const value = buildDigestAuthorization({
          challenge,
          method,
          uri: target,
          username: this.options.authUser ?? this.options.user,
          ha1: this.options.ha1,
          password: this.options.password,
        });
        authHeader = `${final.status === 401 ? "Authorization" : "Proxy-Authorization"}: ${value}`;
        continue;
      }
      return this.done(responses, final, d);
    }
    throw new Error("unreachable");
  }

  private done(responses: SipResponse[], final: SipResponse, d: SipDialogState): Transaction {
    if (final.status >= 200 && final.status < 300) {
      if (!d.remoteTag && final.to.tag) d.remoteTag = final.to.tag;
      const c = final.getHeader("Contact");
      const m = c ? /<([^>]+)>/.exec(c) : null;
      if (m) d.remoteTarget = m[1]!;
    }
    return { responses, final, dialog: d };
  }

  private transact(branch: string, text: string, responses: SipResponse[], timeoutMs = this.options.timeoutMs ?? 10_000): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(branch);
        reject(new Error(`no final response within ${timeoutMs} ms to:\n${text.split("\r\n")[0]}`));
      }, timeoutMs);
      this.pending.set(branch, {
        branch,
        responses,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.write(text);
    });
  }

  /** REGISTER the connection's address for `expires` seconds. */
  register(expires = 600, extra: Record<string, string> = {}): Promise<Transaction> {
    return this.send("REGISTER", `sip:${this.options.domain}`, { to: this.aor, headers: { Expires: String(expires), ...extra } });
  }

  /** PUBLISH a PIDF (initial when no etag, else modify / refresh with SIP-If-Match). */
  publish(pidf: string | null, opts: { etag?: string; expires?: number; event?: string } = {}): Promise<Transaction> {
    const headers: Record<string, string> = { Event: opts.event ?? "presence", Expires: String(opts.expires ?? 600) };
    if (opts.etag) headers["SIP-If-Match"] = opts.etag;
    return this.send("PUBLISH", this.aor, { headers, body: pidf ?? undefined, contentType: "application/pidf+xml" });
  }

  /** SUBSCRIBE (initial); `eventlist` adds Supported: eventlist and the RLS Accept list. */
  subscribe(uri: string, opts: { event?: string; expires?: number; eventlist?: boolean; headers?: Record<string, string> } = {}): Promise<Transaction> {
    const headers: Record<string, string> = { Event: opts.event ?? "presence", Expires: String(opts.expires ?? 600) };
    if (opts.eventlist) {
      headers["Supported"] = "eventlist";
      headers["Accept"] = "multipart/related, application/rlmi+xml, application/pidf+xml";
    } else if ((opts.event ?? "presence") === "presence") headers["Accept"] = "application/pidf+xml";
    return this.send("SUBSCRIBE", uri, { headers: { ...headers, ...opts.headers } });
  }

  /** Refresh or (expires 0) end a subscription in its dialog. */
  resubscribe(dialog: SipDialogState, opts: { event?: string; expires?: number; eventlist?: boolean } = {}): Promise<Transaction> {
    const headers: Record<string, string> = { Event: opts.event ?? "presence", Expires: String(opts.expires ?? 600) };
    if (opts.eventlist) {
      headers["Supported"] = "eventlist";
      headers["Accept"] = "multipart/related, application/rlmi+xml, application/pidf+xml";
    }
    return this.send("SUBSCRIBE", dialog.remoteTarget, { dialog, headers });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error("closed"));
    this.pending.clear();
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

/** A minimal PIDF for `entity` (basic open/closed, a note) as clients publish it. */
export function simplePidf(entity: string, basic: "open" | "closed", note?: string, tupleId = `t${rand(3)}`): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">\n` +
    `  <tuple id="${tupleId}">\n    <status><basic>${basic}</basic></status>\n` +
    (note ? `    <note>${note}</note>\n` : "") +
    `  </tuple>\n</presence>\n`
  );
}
