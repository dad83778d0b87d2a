/**
 * A scripted SIP presence peer on a real TCP socket, for driving JsSIP/HeraldSipClient in Node:
 * digest (autheph) on REGISTER/PUBLISH/SUBSCRIBE, RFC 3903 ETags, SUBSCRIBE dialogs with NOTIFYs
 * the test composes. It records every request so tests assert on what the client sent.
 */
import net from "node:net";
import {
  createRequest,
  createResponse,
  DigestAuthenticator,
  ephemeralCredentialsLookup,
  generateTag,
  NameAddr,
  serializeMessage,
  SipStreamParser,
  type SipMessageAny,
  type SipRequest,
} from "@/lib/sip";

export interface ServerSubscription {
  conn: net.Socket;
  event: string;
  target: string;
  callId: string;
  /** Our tag (To of the SUBSCRIBE answer). */
  localTag: string;
  /** The SUBSCRIBE's From (with the client's tag). */
  remote: string;
  contactUri: string;
  cseq: number;
  expires: number;
  terminated: boolean;
}

export interface Publication {
  etag: string;
  body: string;
  expires: number;
}

export class ScriptedPresenceServer {
  readonly requests: SipRequest[] = [];
  readonly subscriptions: ServerSubscription[] = [];
  readonly publications = new Map<string, Publication>();
  readonly connections = new Set<net.Socket>();
  /** Answer for a new subscription: NOTIFY body to send right after the 200, or undefined for none. */
  initialNotify: (sub: ServerSubscription, req: SipRequest) => { contentType: string; body: string } | undefined = () => undefined;
  /** Hook to answer a PUBLISH differently (e.g. 412/423); return a status or undefined for default. */
  publishHook: (req: SipRequest) => { status: number; headers?: [string, string][] } | undefined = () => undefined;
  /** While set, authenticated REGISTERs are answered only once it resolves (other requests go on). */
  registerGate: Promise<void> | undefined;
  private readonly server = net.createServer((c) => this.accept(c));
  private readonly auth: DigestAuthenticator;
  private etagSeq = 0;
  port = 0;

  constructor(secret: string, readonly realm = "example.test") {
    this.auth = new DigestAuthenticator({
      realm,
      secret: "nonce-secret-nonce-secret-nonce-secret",
      credentialsLookup: ephemeralCredentialsLookup({ secret }),
      algorithms: ["MD5"], // JsSIP only does MD5
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Kill every connection abruptly (the bridge or server went away). */
  dropConnections(): void {
    for (const c of this.connections) c.destroy();
    for (const s of this.subscriptions) s.terminated = true;
  }

  requestsOf(method: string): SipRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** Requests that passed authentication (carry credentials). */
  authorized(method: string): SipRequest[] {
    return this.requestsOf(method).filter((r) => r.hasHeader("Authorization"));
  }

  liveSubscriptions(event: string, targetPrefix?: string): ServerSubscription[] {
    return this.subscriptions.filter((s) => !s.terminated && s.event === event && (!targetPrefix || s.target.startsWith(targetPrefix)));
  }

  notify(sub: ServerSubscription, body: { contentType: string; body: string } | undefined, state = `active;expires=${sub.expires}`): void {
    const req = createRequest({
      method: "NOTIFY",
      uri: sub.contactUri,
      from: `<${sub.target}>;tag=${sub.localTag}`,
      to: sub.remote,
      callId: sub.callId,
      cseq: ++sub.cseq,
      via: { transport: "TCP", host: "127.0.0.1", port: this.port },
      contact: `<sip:127.0.0.1:${this.port};transport=tcp>`,
      headers: [
        ["Event", sub.event],
        ["Subscription-State", state],
      ],
      ...(body ? { body: body.body, contentType: body.contentType } : {}),
    });
    if (state.startsWith("terminated")) sub.terminated = true;
    sub.conn.write(serializeMessage(req));
  }

  private accept(conn: net.Socket): void {
    this.connections.add(conn);
    const parser = new SipStreamParser({ maxMessageSize: 1024 * 1024 });
    let chain = Promise.resolve();
    parser.on("message", (msg) => {
      chain = chain.then(() => this.handle(conn, msg)).catch(() => {
        conn.destroy();
      });
    });
    parser.on("framingError", () => conn.destroy());
    conn.on("data", (d) => parser.push(d));
    conn.on("error", () => {});
    conn.on("close", () => this.connections.delete(conn));
  }

  private send(conn: net.Socket, req: SipRequest, status: number, opts: Parameters<typeof createResponse>[2] = {}): void {
    if (!conn.destroyed) conn.write(serializeMessage(createResponse(req, status, opts)));
  }

  private async handle(conn: net.Socket, msg: SipMessageAny): Promise<void> {
    if (!msg.isRequest) return; // responses to our NOTIFYs
    const req = msg as SipRequest;
    this.requests.push(req);
    if (req.method === "ACK") return;
    if (["REGISTER", "PUBLISH", "SUBSCRIBE"].includes(req.method)) {
      const v = await this.auth.verifyRequest(req);
      if (!v.ok) {
        const ch = this.auth.challenge({ stale: v.stale });
        this.send(conn, req, ch.status, { headers: ch.values.map((x) => [ch.header, x] as [string, string]) });
        return;
      }
    }
    switch (req.method) {
      case "REGISTER": {
        const contact = req.getHeader("Contact") ?? "";
        const expires = req.expires ?? 600;
        const answer = () => this.send(conn, req, 200, { toTag: generateTag(), headers: [["Contact", `${contact.replace(/;expires=\d+/, "")};expires=${expires}`]] });
        if (this.registerGate) void this.registerGate.then(answer);
        else answer();
        return;
      }
      case "PUBLISH":
        return this.handlePublish(conn, req);
      case "SUBSCRIBE":
        return this.handleSubscribe(conn, req);
      default:
        this.send(conn, req, 405);
    }
  }

  private handlePublish(conn: net.Socket, req: SipRequest): void {
    const hooked = this.publishHook(req);
    if (hooked) {
      this.send(conn, req, hooked.status, { headers: hooked.headers ?? [] });
      return;
    }
    const ifMatch = req.getHeader("SIP-If-Match");
    const expires = req.expires ?? 3600;
    let pub: Publication | undefined;
    if (ifMatch) {
      pub = this.publications.get(ifMatch);
      if (!pub) {
        this.send(conn, req, 412);
        return;
      }
      this.publications.delete(ifMatch);
    } else if (req.body.length === 0) {
      this.send(conn, req, 400);
      return;
    }
    if (expires === 0) {
      this.send(conn, req, 200, { headers: [["Expires", "0"]] });
      return;
    }
    const etag = `srv-etag-${++this.etagSeq}`;
    const body = req.body.length ? req.bodyText : (pub?.body ?? "");
    this.publications.set(etag, { etag, body, expires });
    this.send(conn, req, 200, { headers: [["SIP-ETag", etag], ["Expires", String(expires)]] });
  }

  private handleSubscribe(conn: net.Socket, req: SipRequest): void {
    const event = req.event?.value ?? "";
    const toTag = req.to.tag;
    if (toTag) {
      // refresh or un-SUBSCRIBE within a dialog
      const sub = this.subscriptions.find((s) => s.callId === req.callId && s.localTag === toTag && !s.terminated);
      if (!sub) {
        this.send(conn, req, 481);
        return;
      }
      const expires = req.expires ?? 600;
      this.send(conn, req, 200, { headers: [["Expires", String(expires)], ["Contact", `<sip:127.0.0.1:${this.port};transport=tcp>`]] });
      if (expires === 0) this.notify(sub, undefined, "terminated;reason=timeout");
      return;
    }
    const contact = req.contact[0];
    const localTag = generateTag();
    const expires = req.expires ?? 600;
    const sub: ServerSubscription = {
      conn,
      event,
      target: req.uri.toString(),
      callId: req.callId,
      localTag,
      remote: req.getHeader("From") ?? "",
      contactUri: contact instanceof NameAddr ? contact.uri.toString() : "",
      cseq: 0,
      expires,
      terminated: false,
    };
    this.subscriptions.push(sub);
    this.send(conn, req, 200, { toTag: localTag, headers: [["Expires", String(expires)], ["Contact", `<sip:127.0.0.1:${this.port};transport=tcp>`]] });
    const body = this.initialNotify(sub, req);
    this.notify(sub, body);
  }
}
