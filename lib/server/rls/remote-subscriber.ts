/**
 * Back-end subscriptions to presentities in other domains: the RLS acts as a subscriber
 * (SER's presence B2BUA role) and sends a real SUBSCRIBE over TCP or TLS, as the list's owner,
 * to the resource's domain; the NOTIFYs that come back are folded into the list.
 *
 * Kept deliberately simple: the next hop is `outbound(domain)` (default: the domain itself on
 * 5060/TCP — no DNS SRV/NAPTR), a 401/407 is answered once when `credentials` has something for
 * the owner, refreshes run at 80 % of the granted Expires, and a terminated or failed back end is
 * retried after `retryMs`.
 *
 * A back-end dialog belongs to the peer we dialled: its NOTIFYs are accepted on the connection we
 * opened, or on a connection from that peer's address (a notifier may connect to our Contact on its
 * own, RFC 6665 §4.1.2.4); from any other connection, Call-ID and tags alone prove nothing: 403.
 */
import {
  Dialog,
  SipError,
  SipRequest,
  SipResponse,
  buildDigestAuthorization,
  createRequest,
  componentLogger,
  createResponse,
  generateCallId,
  generateTag,
  realTimers,
  type SipConnection,
  type SipLogger,
  type StreamTransport,
  type TimerApi,
} from "../../sip";
import type { PresenceServer } from "../presence-server";
import { failureReason, type BackEndState } from "./back-end";

export interface RemoteHop {
  host: string;
  port: number;
  transport: StreamTransport;
}

export interface RemoteSubscriberOptions {
  /** Next hop for a domain (default: `{ host: domain, port: 5060, transport: "TCP" }`). */
  outbound?: (domain: string) => RemoteHop | undefined;
  /** Digest credentials to answer the other domain's challenge with, per list owner. */
  credentials?: (owner: string, domain: string) => { username: string; password?: string; ha1?: string } | undefined;
  /** Requested Expires of back-end SUBSCRIBEs (s). Default 3600. */
  expires?: number;
  /** Retry delay after a failure or a terminated back end (ms). Default 30 000. */
  retryMs?: number;
  timers?: TimerApi;
  logger?: SipLogger;
}

interface RemoteDialog {
  key: string;
  owner: string;
  resource: string;
  callId: string;
  localTag: string;
  dialog?: Dialog;
  connectionId?: string;
  /** Address of the peer we dialled (the remote domain's notifier). */
  peerAddress?: string;
  listener: (s: BackEndState) => void;
  refreshTimer?: unknown;
  retryTimer?: unknown;
  closed: boolean;
}

export class RemoteSubscriber {
  private readonly server: PresenceServer;
  private readonly o: RemoteSubscriberOptions;
  private readonly log: SipLogger;
  private readonly timers: TimerApi;
  /** By `callId\0localTag`. */
  private readonly dialogs = new Map<string, RemoteDialog>();

  constructor(server: PresenceServer, options: RemoteSubscriberOptions = {}) {
    this.server = server;
    this.o = options;
    this.timers = options.timers ?? realTimers;
    this.log = componentLogger("presence:rls-b2bua", options.logger);
    server.addNotifyHandler((request, conn) => this.onNotify(request, conn));
  }

  get size(): number {
    return this.dialogs.size;
  }

  /** Start a back-end subscription; the listener sees every state change. */
  subscribe(owner: string, resource: string, listener: (s: BackEndState) => void): { close(): void } {
    const callId = generateCallId("rls");
    const d: RemoteDialog = { key: `${callId}\u0000`, owner, resource, callId, localTag: generateTag(), listener, closed: false };
    d.key = `${callId}\u0000${d.localTag}`;
    this.dialogs.set(d.key, d);
    void this.initial(d);
    return { close: () => this.close(d) };
  }

  private hop(resource: string): RemoteHop | undefined {
    const domain = resource.replace(/^sips?:/i, "").split("@").pop() ?? "";
    return this.o.outbound ? this.o.outbound(domain) : { host: domain, port: 5060, transport: "TCP" };
  }

  private async initial(d: RemoteDialog): Promise<void> {
    const hop = this.hop(d.resource);
    if (!hop) {
      d.listener({ status: "terminated", reason: "noresource" });
      return;
    }
    try {
      const conn = await this.server.transport.connect(hop.host, hop.port, hop.transport);
      if (d.closed) return;
      d.connectionId = conn.id;
      d.peerAddress = conn.remoteAddress;
      let cseq = 1;
      const make = () =>
        createRequest({
          method: "SUBSCRIBE",
          uri: d.resource,
          from: `<${d.owner}>;tag=${d.localTag}`,
          to: `<${d.resource}>`,
          callId: d.callId,
          cseq: cseq++,
          via: { transport: conn.transport, host: conn.localAddress, port: conn.localPort },
          contact: this.server.notifier.contactFor(conn),
          headers: [
            ["Event", "presence"],
            ["Expires", String(this.o.expires ?? 3600)],
            ["Accept", "application/pidf+xml"],
          ],
        });
      let req = make();
      let res = await this.send(req, conn);
      if ((res.status === 401 || res.status === 407) && !d.closed) {
        const domain = d.resource.split("@").pop() ?? "";
        const cred = this.o.credentials?.(d.owner, domain);
        const challenge = res.getHeaders(res.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate").find((c) => /algorithm=MD5/i.test(c) || !/algorithm=/i.test(c)) ?? res.getHeader(res.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate");
        if (cred && challenge) {
          req = make();
          req.setHeader(res.status === 401 ? "Authorization" : "Proxy-Authorization", buildDigestAuthorization({ challenge, method: "SUBSCRIBE", uri: req.uri.toString(), ...cred }));
          res = await this.send(req, conn);
        }
      }
      if (d.closed) return;
      if (res.status >= 300) throw new SipError(res.status, res.reason);
      d.dialog ??= Dialog.createUac(req, res);
      this.scheduleRefresh(d, res.expires ?? this.o.expires ?? 3600);
    } catch (e) {
      this.log("info", "back-end SUBSCRIBE failed", { resource: d.resource, error: e instanceof Error ? e.message : String(e) });
      d.listener({ status: "terminated", reason: failureReason(e) });
      this.retry(d);
    }
  }

  private send(req: SipRequest, conn: SipConnection): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const tx = this.server.transactions.sendRequest(req, { send: (r) => conn.send(r), reliable: true });
      tx.on("response", (r: SipResponse) => {
        if (r.status >= 200) resolve(r);
      });
      tx.on("timeout", () => reject(new Error("timeout")));
      tx.on("transportError", () => reject(new Error("transport error")));
    });
  }

  private inDialog(d: RemoteDialog, expires: number): Promise<SipResponse> | undefined {
    const conn = d.connectionId ? this.server.transport.getConnection(d.connectionId) : undefined;
    if (!d.dialog || !conn) return undefined;
    const req = d.dialog.createRequest("SUBSCRIBE", {
      via: { transport: conn.transport, host: conn.localAddress, port: conn.localPort },
      contact: this.server.notifier.contactFor(conn),
      headers: [
        ["Event", "presence"],
        ["Expires", String(expires)],
        ["Accept", "application/pidf+xml"],
      ],
    });
    return this.send(req, conn);
  }

  private scheduleRefresh(d: RemoteDialog, seconds: number): void {
    if (d.refreshTimer !== undefined) this.timers.clearTimeout(d.refreshTimer);
    d.refreshTimer = this.timers.setTimeout(() => {
      d.refreshTimer = undefined;
      const p = this.inDialog(d, this.o.expires ?? 3600);
      if (!p) return this.restart(d);
      p.then(
        (r) => (r.status < 300 ? this.scheduleRefresh(d, r.expires ?? this.o.expires ?? 3600) : this.restart(d)),
        () => this.restart(d),
      );
    }, Math.max(1000, seconds * 800));
  }

  private restart(d: RemoteDialog): void {
    if (d.closed) return;
    this.dialogs.delete(d.key);
    d.dialog = undefined;
    d.callId = generateCallId("rls");
    d.localTag = generateTag();
    d.key = `${d.callId}\u0000${d.localTag}`;
    this.dialogs.set(d.key, d);
    void this.initial(d);
  }

  private retry(d: RemoteDialog): void {
    if (d.closed || d.retryTimer !== undefined) return;
    d.retryTimer = this.timers.setTimeout(() => {
      d.retryTimer = undefined;
      this.restart(d);
    }, this.o.retryMs ?? 30_000);
  }

  private onNotify(request: SipRequest, conn: SipConnection): SipResponse | undefined {
    const toTag = request.to.tag;
    if (toTag === undefined) return undefined;
    const d = this.dialogs.get(`${request.callId}\u0000${toTag}`);
    if (!d) return undefined;
    if (d.closed) return createResponse(request, 481);
    if (conn.id !== d.connectionId && (conn.inProcess || conn.remoteAddress !== d.peerAddress)) {
      this.log("info", "NOTIFY for a back-end dialog from another peer refused", { resource: d.resource, from: conn.remoteAddress });
      return createResponse(request, 403, { reason: "Not the dialog's peer" });
    }
    // RFC 6665 §4.1.2.4: a NOTIFY may arrive before the 2xx and creates the dialog
    if (!d.dialog) {
      const sub = createRequest({ method: "SUBSCRIBE", uri: d.resource, from: `<${d.owner}>;tag=${d.localTag}`, to: `<${d.resource}>`, callId: d.callId, cseq: 1, via: { transport: conn.transport, host: conn.localAddress, port: conn.localPort } });
      d.dialog = Dialog.createUac(sub, request);
    }
    d.dialog.receiveRequest(request);
    d.connectionId = conn.id;
    const st = request.subscriptionState;
    const state = (st?.value ?? "active").toLowerCase();
    const ct = request.contentType?.value;
    if (state === "terminated") {
      const reason = st?.param("reason") ?? undefined;
      d.listener({ status: "terminated", reason: reason === "rejected" ? "rejected" : reason ?? "deactivated" });
      this.dialogs.delete(d.key);
      d.dialog = undefined;
      if (d.refreshTimer !== undefined) this.timers.clearTimeout(d.refreshTimer);
      d.refreshTimer = undefined;
      if (reason !== "rejected" && reason !== "noresource" && reason !== "invariant") this.retry(d);
    } else if (state === "pending") {
      d.listener({ status: "pending" });
    } else if (request.body.length > 0 && ct) {
      d.listener({ status: "active", body: { contentType: ct, body: Buffer.from(request.body) } });
    } else {
      d.listener({ status: "active" });
    }
    return createResponse(request, 200);
  }

  private close(d: RemoteDialog): void {
    if (d.closed) return;
    d.closed = true;
    if (d.refreshTimer !== undefined) this.timers.clearTimeout(d.refreshTimer);
    if (d.retryTimer !== undefined) this.timers.clearTimeout(d.retryTimer);
    // RFC 6665 §4.1.2.3: unsubscribe with Expires 0; the final NOTIFY is answered 481 later
    this.inDialog(d, 0)?.catch(() => undefined);
    this.dialogs.delete(d.key);
  }

  /** Unsubscribe every back end (shutdown). */
  closeAll(): void {
    for (const d of [...this.dialogs.values()]) this.close(d);
  }
}
