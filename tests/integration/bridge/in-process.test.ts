/**
 * The deployed default: the bridge in front of Herald's embedded presence server in the same
 * process, each WebSocket on its own in-memory flow (`transport.openFlow()`), no loopback TCP.
 * A `ws` client plays the browser (RFC 7118, JsSIP-style Via/Contact), with digest auth against
 * the real server: register, subscribe, NOTIFYs back over the flow, publish; close in both
 * directions with RFC 5626 flow-failure handling; size limits on both sides; the identity check.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { createSipBridge, type SipBridge, type SipBridgeLimits } from "@/lib/bridge";
import type { PresenceServer, PresenceServerOptions } from "@/lib/server";
import { InstantMessaging, MemoryMessageStore } from "@/lib/server/message";
import {
  IN_PROCESS_FLOW_HOST,
  SipRequest,
  SipResponse,
  SipStreamFramer,
  buildDigestAuthorization,
  createRequest,
  createResponse,
  generateCallId,
  generateTag,
  parseMessage,
  serializeMessage,
  type MemoryFlowEnd,
  type SipConnection,
  type SipMessageAny,
} from "@/lib/sip";
import { waitFor } from "../../helpers/wait";
import { forgetRevocationsBefore, noteRevocation, revokedSince } from "@/lib/accounts/revocations";
import { cookieSession } from "./session-cookie";
import { DOMAIN, PASSWORD, XcapFixture, accounts, allowRules, client as tcpClient, startServer } from "../server/harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const W = { timeoutMs: 5000, intervalMs: 5 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const authenticate = cookieSession(DOMAIN);

interface Setup {
  server: PresenceServer;
  xcap: XcapFixture;
  port: number;
  bridge: SipBridge;
  url: string;
  /** Requests the server received, and the connection each came over. */
  atServer: Array<{ message: SipMessageAny; connection: SipConnection }>;
  flows: SipConnection[];
  /** The bridge's ends of the flows, in the order opened. */
  ends: MemoryFlowEnd[];
  /** Who the bridge vouched for when opening each flow. */
  peers: Array<{ aor: string; clientAddress?: string }>;
}

async function setup(o: { server?: Partial<PresenceServerOptions>; limits?: SipBridgeLimits } = {}): Promise<Setup> {
  const { server, xcap, port } = await startServer(o.server);
  cleanups.push(() => server.stop());
  const atServer: Setup["atServer"] = [];
  const flows: SipConnection[] = [];
  server.transport.on("message", (m) => atServer.push(m));
  server.transport.on("connection", (c) => flows.push(c));
  const ends: MemoryFlowEnd[] = [];
  const peers: Setup["peers"] = [];
  // as `herald start` wires it (lib/cli/start.ts bridgeUpstream): the flow belongs to the session's user
  const openFlow = (peer: { aor: string; clientAddress?: string }) => {
    peers.push(peer);
    const end = server.transport.openFlow({ owner: `sip:${peer.aor}`, clientAddress: peer.clientAddress });
    ends.push(end);
    return end;
  };
  const bridge = createSipBridge({ upstream: { openFlow }, authenticate, limits: o.limits });
  cleanups.push(() => bridge.close());
  const addr = await bridge.listen(0, "127.0.0.1");
  return { server, xcap, port, bridge, url: `ws://127.0.0.1:${addr.port}/sip`, atServer, flows, ends, peers };
}

/** A browser tab: JsSIP-like SIP over a WebSocket, digest answers, NOTIFYs answered 200. */
class Tab {
  readonly requests: SipRequest[] = [];
  closed?: { code: number };
  private readonly waiting = new Map<string, (r: SipResponse) => void>();
  private cseq = 1;
  private nc = 1;
  readonly callId = generateCallId("tab");
  readonly fromTag = generateTag();
  readonly contact: string;

  constructor(
    readonly ws: WebSocket,
    readonly user: string,
  ) {
    const token = generateTag();
    this.contact = `<sip:${token}@${token}.invalid;transport=ws;ob>;+sip.instance="<urn:uuid:00000000-0000-4000-8000-${token.padStart(12, "0").slice(-12)}>";reg-id=1`;
    ws.on("message", (data) => this.onMessage(parseMessage(data as Buffer)));
    ws.on("close", (code) => (this.closed = { code }));
  }

  static open(url: string, user: string): Promise<Tab> {
    const ws = new WebSocket(url, "sip", { headers: { cookie: `session=${user}` } });
    cleanups.push(() => ws.terminate());
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new Tab(ws, user)));
      ws.once("error", reject);
    });
  }

  get aor(): string {
    return `sip:${this.user}@${DOMAIN}`;
  }

  private onMessage(m: SipMessageAny): void {
    if (m instanceof SipResponse) {
      if (m.status < 200) return;
      const key = `${m.callId} ${m.cseq.seq}`;
      this.waiting.get(key)?.(m);
      this.waiting.delete(key);
      return;
    }
    this.requests.push(m);
    if (m.method !== "ACK") this.send(createResponse(m, 200, { headers: [["Contact", `<sip:${this.user}@x.invalid;transport=ws>`]] }));
  }

  send(m: SipMessageAny | string | Buffer): void {
    this.ws.send(typeof m === "string" || Buffer.isBuffer(m) ? m : serializeMessage(m).toString("utf8"));
  }

  build(method: string, uri: string, o: { to?: string; headers?: Array<[string, string]>; body?: string; contentType?: string; callId?: string; fromTag?: string } = {}): SipRequest {
    return createRequest({
      method,
      uri,
      from: `<${this.aor}>;tag=${o.fromTag ?? this.fromTag}`,
      to: `<${o.to ?? uri}>`,
      callId: o.callId ?? this.callId,
      cseq: this.cseq++,
      via: { transport: "WSS", host: "k3b9x2p1q7.invalid" },
      contact: this.contact,
      headers: o.headers,
      body: o.body,
      contentType: o.contentType,
    });
  }

  request(req: SipRequest): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const key = `${req.callId} ${req.cseq.seq}`;
      const t = setTimeout(() => reject(new Error(`no answer to ${req.method}`)), W.timeoutMs);
      this.waiting.set(key, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.send(req);
    });
  }

  /** Send, and once more with credentials if challenged (401/407). */
  async withAuth(make: () => SipRequest): Promise<SipResponse> {
    const first = make();
    const r = await this.request(first);
    if (r.status !== 401 && r.status !== 407) return r;
    const challenge = r.getHeader(r.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate")!;
    const again = make();
    again.setHeader(r.status === 401 ? "Authorization" : "Proxy-Authorization", buildDigestAuthorization({ challenge, method: again.method, uri: again.uri.toString(), username: this.user, password: PASSWORD, nc: this.nc++ }));
    return this.request(again);
  }

  register(expires = 600): Promise<SipResponse> {
    return this.withAuth(() => this.build("REGISTER", `sip:${DOMAIN}`, { to: this.aor, headers: [["Expires", String(expires)]] }));
  }

  subscribe(resource: string): Promise<SipResponse> {
    const callId = generateCallId("sub");
    const fromTag = generateTag();
    return this.withAuth(() => this.build("SUBSCRIBE", resource, { callId, fromTag, headers: [["Event", "presence"], ["Accept", "application/pidf+xml"], ["Expires", "600"]] }));
  }

  publish(note: string): Promise<SipResponse> {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${this.aor}"><tuple id="t1"><status><basic>open</basic></status><note>${note}</note></tuple></presence>`;
    const callId = generateCallId("pub");
    return this.withAuth(() => this.build("PUBLISH", this.aor, { callId, headers: [["Event", "presence"], ["Expires", "600"]], body, contentType: "application/pidf+xml" }));
  }

  notifies(): SipRequest[] {
    return this.requests.filter((r) => r.method === "NOTIFY");
  }
}

describe("bridge → embedded server over in-process flows", () => {
  it("gives each WebSocket its own flow, seen by the server as a TCP connection from 0.0.0.0:<port>; no socket is opened", async () => {
    const s = await setup();
    const a = await Tab.open(s.url, "alice");
    const b = await Tab.open(s.url, "alice");
    expect((await a.register()).status).toBe(200);
    expect((await b.register()).status).toBe(200);
    const [fa, fb] = s.flows as [SipConnection, SipConnection];
    expect(s.flows).toHaveLength(2);
    expect(fa.id).not.toBe(fb.id);
    expect([fa.transport, fa.direction, fa.remoteAddress]).toEqual(["TCP", "inbound", IN_PROCESS_FLOW_HOST]);
    expect(fa.remotePort).not.toBe(fb.remotePort);
    expect(s.server.transport.connectionCount).toBe(2);
    expect(s.server.transport.flowCount).toBe(2);
    // the bridge's Via got received/rport from the flow (RFC 3261 §18.2.1, RFC 3581)
    const reg = s.atServer.find((m) => m.connection === fa && (m.message as SipRequest).method === "REGISTER")!.message as SipRequest;
    expect(reg.topVia).toMatchObject({ transport: "TCP", host: IN_PROCESS_FLOW_HOST, port: fa.remotePort, rport: fa.remotePort });
    // each binding is bound to its own flow, its Contact rewritten to the flow's address (RFC 5626)
    const bindings = s.server.registrar.bindingsOf(ALICE);
    expect(bindings.map((x) => x.connectionId).sort()).toEqual([fa.id, fb.id].sort());
    const ba = bindings.find((x) => x.connectionId === fa.id)!;
    expect([ba.sourceHost, ba.sourcePort, ba.transport]).toEqual([IN_PROCESS_FLOW_HOST, fa.remotePort, "TCP"]);
    expect(ba.contact).toContain(`@${IN_PROCESS_FLOW_HOST}:${fa.remotePort};transport=tcp`);
  });

  it("opens each flow for the session's user and the browser's address: the server sees the flow owned by that user", async () => {
    const s = await setup();
    await Tab.open(s.url, "alice");
    expect(s.peers).toEqual([{ aor: `alice@${DOMAIN}`, clientAddress: expect.stringMatching(/127\.0\.0\.1$/) }]);
    const [flow] = s.flows as [SipConnection];
    expect([flow.isOwnedBy(ALICE), flow.isOwnedBy(BOB), flow.clientAddress]).toEqual([true, false, "127.0.0.1"]);
  });

  it("the server takes the bridge's parse of a usual message with its bytes (parsed once); an unusual layout it parses from the bytes", async () => {
    const s = await setup();
    const a = await Tab.open(s.url, "alice");
    const handed = vi.spyOn(s.ends[0]!, "writeMessage");
    expect((await a.register()).status).toBe(200);
    const registers = s.atServer.filter((m) => (m.message as SipRequest).method === "REGISTER").map((m) => m.message);
    expect(registers).toHaveLength(1); // the flow's own user: no digest round trip
    expect(handed.mock.calls.map(([, msg]) => msg)).toEqual(registers);
    for (const [i, [raw, msg]] of handed.mock.calls.entries()) {
      expect(msg).toBe(registers[i]); // the very object: no second parse
      expect(raw.toString()).toMatch(/^REGISTER [^\r]+\r\nVia: SIP\/2\.0\/TCP 0\.0\.0\.0:\d+;branch=z9hG4bK-hb/);
    }
    // a folded header line takes the general path: bytes only, parsed at the server
    const folded = serializeMessage(a.build("OPTIONS", `sip:${DOMAIN}`)).toString().replace("\r\nCSeq:", "\r\nX-Folded: one,\r\n two\r\nCSeq:");
    a.send(folded);
    await waitFor(() => s.atServer.some((m) => (m.message as SipRequest).method === "OPTIONS"), { ...W, what: "OPTIONS at the server" });
    const options = s.atServer.find((m) => (m.message as SipRequest).method === "OPTIONS")!.message;
    expect(options.getHeader("X-Folded")).toBe("one, two");
    expect(handed).toHaveBeenCalledTimes(1);
  });

  it("the user a flow was opened for needs no digest; once the account's sessions end (or it is disabled) digest decides again", async () => {
    const directory = accounts();
    const s = await setup({ server: { revokedSince, accounts: directory } });
    await s.xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, []));
    const a = await Tab.open(s.url, "alice");
    expect([(await a.register()).status, (await a.publish("here")).status, (await a.subscribe(ALICE)).status]).toEqual([200, 200, 200]);
    // answered at once: nothing was challenged, so no request carried credentials
    expect(s.atServer.filter((m) => m.message instanceof SipRequest && (m.message.hasHeader("Authorization") || m.message.hasHeader("Proxy-Authorization")))).toEqual([]);
    // the password changed (or sessions ended otherwise) after the flow opened: challenged again
    noteRevocation(`alice@${DOMAIN}`, Date.now());
    try {
      expect((await a.request(a.build("REGISTER", `sip:${DOMAIN}`, { to: a.aor, headers: [["Expires", "600"]] }))).status).toBe(401);
    } finally {
      forgetRevocationsBefore(Date.now() + 1);
    }
    // a new flow (a new WebSocket, accepted for a live session) is trusted again; a disabled account's is not
    const b = await Tab.open(s.url, "alice");
    expect((await b.request(b.build("REGISTER", `sip:${DOMAIN}`, { to: b.aor, headers: [["Expires", "600"]] }))).status).toBe(200);
    directory.setDisabled("alice", DOMAIN, true);
    expect((await b.request(b.build("REGISTER", `sip:${DOMAIN}`, { to: b.aor, headers: [["Expires", "600"]] }))).status).toBe(401);
  });

  it("frames nothing on the way: the server's answers and requests come to the bridge whole; a response without the bridge's Via is still dropped", async () => {
    const s = await setup();
    await s.xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, []));
    const alice = await Tab.open(s.url, "alice");
    const framed = vi.spyOn(SipStreamFramer.prototype, "push");
    expect((await alice.register()).status).toBe(200);
    const sub = await alice.subscribe(ALICE);
    expect(sub.status).toBe(200);
    await waitFor(() => alice.notifies().length > 0, { ...W, what: "NOTIFY through the bridge" });
    await waitFor(() => s.atServer.some((m) => m.message instanceof SipResponse), { ...W, what: "the browser's 200 to the NOTIFY at the server" });
    expect(framed).not.toHaveBeenCalled();
    framed.mockRestore();
    // the answers lost the bridge's Via on the way (RFC 3261 §16.7: the browser sees only its own)
    expect(sub.via.map((v) => `${v.transport} ${v.host}`)).toEqual(["WSS k3b9x2p1q7.invalid"]);
    // a response whose top Via is not the bridge's: dropped and counted, as from a socket
    const stray = createResponse(createRequest({ method: "OPTIONS", uri: ALICE, from: `<${BOB}>;tag=x`, to: `<${ALICE}>`, via: { transport: "TCP", host: "elsewhere.invalid" } }), 200);
    s.flows[0]!.send(stray);
    await waitFor(() => s.bridge.metrics().errors.upstreamMisrouted === 1, { ...W, what: "stray response dropped" });
    expect(alice.requests.every((r) => r.method === "NOTIFY")).toBe(true);
  });

  it("holds whole messages from the server to the upstream size limit: a larger one closes the WebSocket (1011) as from a socket", async () => {
    const s = await setup({ limits: { maxUpstreamMessageBytes: 8192 } });
    const alice = await Tab.open(s.url, "alice");
    expect((await alice.register()).status).toBe(200);
    const message = (size: number) => createRequest({ method: "MESSAGE", uri: ALICE, from: `<${BOB}>;tag=b`, to: `<${ALICE}>`, via: { transport: "TCP", host: "127.0.0.1" }, body: "x".repeat(size), contentType: "text/plain" });
    s.flows[0]!.send(message(6000)); // within the limit: relayed
    await waitFor(() => alice.requests.some((r) => r.method === "MESSAGE"), { ...W, what: "MESSAGE relayed" });
    s.flows[0]!.send(message(9000));
    await waitFor(() => alice.closed, { ...W, what: "WebSocket closed" });
    expect(alice.closed!.code).toBe(1011);
    expect(alice.requests.filter((r) => r.method === "MESSAGE")).toHaveLength(1);
    expect(s.bridge.metrics().errors.upstreamFraming).toBe(1);
  });

  it("REGISTER, SUBSCRIBE and PUBLISH go through; the server's NOTIFYs come back over the flow to the browser", async () => {
    const s = await setup();
    await s.xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, []));
    const alice = await Tab.open(s.url, "alice");
    expect((await alice.register()).status).toBe(200);
    const sub = await alice.subscribe(ALICE);
    expect(sub.status).toBe(200);
    await waitFor(() => alice.notifies().length > 0, { ...W, what: "initial NOTIFY through the bridge" });
    expect(alice.notifies()[0]!.getHeader("Subscription-State")).toMatch(/^active/);
    expect((await alice.publish("writing tests")).status).toBe(200);
    await waitFor(() => alice.notifies().some((n) => n.bodyText.includes("writing tests")), { ...W, what: "NOTIFY with the publication" });
    // the browser's 200s to those NOTIFYs reached the server over the same flow
    await waitFor(() => s.atServer.filter((m) => m.message instanceof SipResponse && m.message.cseq.method === "NOTIFY").length >= 2, { ...W, what: "200 to NOTIFY at the server" });
    expect(new Set(s.atServer.map((m) => m.connection.id))).toEqual(new Set([s.flows[0]!.id]));
    expect(s.server.notifier.stats.failed).toBe(0);
  });

  it("closing the WebSocket closes its flow: the reg-id binding goes (RFC 5626 flow failed), the subscription ends at its next NOTIFY, nothing is dialled", async () => {
    const s = await setup();
    await s.xcap.put(BOB, "org.openmobilealliance.pres-rules", allowRules(BOB, [ALICE]));
    const bob = await tcpClient(s.port, "bob");
    cleanups.push(() => bob.close());
    const alice = await Tab.open(s.url, "alice");
    expect((await alice.register()).status).toBe(200);
    expect((await alice.subscribe(BOB)).status).toBe(200);
    await waitFor(() => alice.notifies().length > 0, { ...W, what: "initial NOTIFY" });
    expect(s.server.notifier.size).toBe(1);
    const connectionsBefore = s.server.transport.connectionCount; // bob's TCP + alice's flow
    const closed: string[] = [];
    s.server.transport.on("connectionClosed", (c) => closed.push(c.id));

    alice.ws.close(1000);
    await waitFor(() => s.server.transport.flowCount === 0, { ...W, what: "flow closed after the WebSocket" });
    expect(closed).toEqual([s.flows[1]!.id]);
    expect(s.server.registrar.bindingsOf(ALICE)).toHaveLength(0);

    expect((await bob.publish(`<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${BOB}"><tuple id="b"><status><basic>open</basic></status></tuple></presence>`)).status).toBe(200);
    await waitFor(() => s.server.notifier.size === 0, { ...W, what: "alice's subscription gone" });
    expect(s.server.notifier.stats.failed).toBe(1);
    expect(s.server.transport.connectionCount).toBe(connectionsBefore - 1);
  });

  it("an idle page keeps its flow through rounds of keep-alives: the server's CRLF pongs are not read as a ping, nothing unfinished times out", async () => {
    // population bench: pages idle for minutes lost their flow ~90 s in — two pongs read as a
    // CRLFCRLF ping, the bridge's CRLF answer held by the server as an unfinished message
    const s = await setup({ server: { headerTimeoutMs: 150 }, limits: { upstreamKeepAliveMs: 60 } });
    await s.xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, []));
    const alice = await Tab.open(s.url, "alice");
    expect((await alice.register()).status).toBe(200);
    expect((await alice.subscribe(ALICE)).status).toBe(200);
    await waitFor(() => alice.notifies().length > 0, { ...W, what: "initial NOTIFY" });
    const upstream: string[] = [];
    const end = s.ends[0]!;
    const write = end.write.bind(end);
    end.write = (d) => (upstream.push(Buffer.from(d).toString("latin1")), write(d));
    const pongs = s.bridge.metrics().keepAlives.fromUpstream;
    // six pings answered: far past the header timeout since the second pong
    await waitFor(() => s.bridge.metrics().keepAlives.fromUpstream >= pongs + 6, { ...W, what: "six pongs from the server" });
    expect(upstream.filter((d) => /^(\r\n)+$/.test(d) && d !== "\r\n\r\n")).toEqual([]); // keep-alives upstream are pings only, no CRLF answering two pongs
    expect(alice.closed).toBeUndefined();
    expect(s.server.transport.flowCount).toBe(1);
    expect((await alice.publish("still here")).status).toBe(200);
    await waitFor(() => alice.notifies().some((n) => n.bodyText.includes("still here")), { ...W, what: "NOTIFY over the same flow" });
  });

  it("when the server closes the flow, the bridge closes the WebSocket (1001)", async () => {
    const s = await setup();
    const alice = await Tab.open(s.url, "alice");
    await waitFor(() => s.flows.length === 1, { ...W, what: "flow" });
    s.flows[0]!.close();
    await waitFor(() => alice.closed, { ...W, what: "WebSocket closed" });
    expect(alice.closed!.code).toBe(1001);
    await waitFor(() => s.bridge.metrics().connectionsOpen === 0, { ...W, what: "bridge forgot it" });
  });

  it("the server stopping closes every bridged WebSocket", async () => {
    const s = await setup();
    const a = await Tab.open(s.url, "alice");
    const b = await Tab.open(s.url, "bob");
    await waitFor(() => s.server.transport.flowCount === 2, { ...W, what: "flows" });
    await s.server.transport.close();
    await waitFor(() => a.closed && b.closed, { ...W, what: "WebSockets closed" });
  });

  it("a frame over the bridge's limit closes the WebSocket (1009) and its flow, with the binding", async () => {
    const s = await setup({ limits: { maxMessageBytes: 4096 } });
    const alice = await Tab.open(s.url, "alice");
    expect((await alice.register()).status).toBe(200);
    alice.send(alice.build("MESSAGE", BOB, { body: "x".repeat(8000), contentType: "text/plain" }));
    await waitFor(() => alice.closed, { ...W, what: "WebSocket closed" });
    expect(alice.closed!.code).toBe(1009);
    await waitFor(() => s.server.transport.flowCount === 0, { ...W, what: "flow closed" });
    expect(s.server.registrar.bindingsOf(ALICE)).toHaveLength(0);
    expect(s.atServer.some((m) => (m.message as SipRequest).method === "MESSAGE")).toBe(false);
  });

  it("a message within the bridge's limit but over the server's closes the flow at the server, and the WebSocket with it", async () => {
    const s = await setup({ server: { maxMessageSize: 3000 }, limits: { maxMessageBytes: 64 * 1024 } });
    const alice = await Tab.open(s.url, "alice");
    expect((await alice.register()).status).toBe(200);
    alice.send(alice.build("MESSAGE", BOB, { body: "x".repeat(5000), contentType: "text/plain" }));
    await waitFor(() => alice.closed, { ...W, what: "WebSocket closed" });
    expect(alice.closed!.code).toBe(1001);
    expect(s.server.transport.flowCount).toBe(0);
    expect(s.server.registrar.bindingsOf(ALICE)).toHaveLength(0);
  });

  it("still answers 403 itself for another user's identity; nothing reaches the server", async () => {
    const s = await setup();
    const alice = await Tab.open(s.url, "alice");
    const r = await alice.request(alice.build("REGISTER", `sip:${DOMAIN}`, { to: BOB, headers: [["Expires", "600"]] }));
    expect(r.status).toBe(403);
    const pub = alice.build("PUBLISH", BOB, { headers: [["Event", "presence"]], body: "<presence/>", contentType: "application/pidf+xml" });
    pub.setHeader("From", `<${BOB}>;tag=${generateTag()}`);
    expect((await alice.request(pub)).status).toBe(403);
    expect(s.atServer).toHaveLength(0);
    expect(s.bridge.metrics().errors.clientForbidden).toBe(2);
  });

  it("a publication made over a bridge flow, even before any REGISTER, ends when the WebSocket closes and the flow grace passes", async () => {
    const s = await setup({ server: { flowGraceMs: 200 } });
    const a = await Tab.open(s.url, "alice");
    expect((await a.publish("over the bridge")).status).toBe(200);
    expect(s.server.presence.publicationsOf(ALICE).map((p) => p.flowBound)).toEqual([true]);
    a.ws.terminate(); // the browser died: no un-PUBLISH
    await waitFor(() => s.server.presence.publicationsOf(ALICE).length === 0, { ...W, what: "the publication to end with its flow" });
  });
});


describe("MESSAGE over the bridge (issue 17)", () => {
  async function withMessaging() {
    const s = await setup();
    const store = new MemoryMessageStore();
    const im = new InstantMessaging({ server: s.server, store, xcap: { store: s.xcap.store } });
    cleanups.push(() => im.stop());
    return { ...s, store };
  }

  it("a page's MESSAGE reaches the other user's page over its flow; 200 to the sender", async () => {
    const s = await withMessaging();
    const alice = await Tab.open(s.url, "alice");
    const bob = await Tab.open(s.url, "bob");
    expect((await bob.register()).status).toBe(200);
    const r = await alice.withAuth(() => alice.build("MESSAGE", BOB, { callId: generateCallId("im"), body: "hi bob", contentType: "text/plain" }));
    expect(r.status).toBe(200);
    const m = await waitFor(() => bob.requests.find((q) => q.method === "MESSAGE"), { ...W, what: "MESSAGE at bob's page" });
    expect([m.from.uri.toString(), m.body.toString()]).toEqual([ALICE, "hi bob"]);
    await waitFor(() => s.store.rows.length === 1, { ...W, what: "history row (written behind)" });
  });

  it("a spoofed From is refused by the bridge (403) and a spoofed CPIM From by the server (403); nothing stored or delivered", async () => {
    const s = await withMessaging();
    const alice = await Tab.open(s.url, "alice");
    const bob = await Tab.open(s.url, "bob");
    expect((await bob.register()).status).toBe(200);
    const spoof = alice.build("MESSAGE", BOB, { body: "from carol, honest", contentType: "text/plain" });
    spoof.setHeader("From", `<sip:carol@${DOMAIN}>;tag=${generateTag()}`);
    expect((await alice.request(spoof)).status).toBe(403);
    const cpim = "From: <sip:carol@example.test>\r\nTo: <sip:bob@example.test>\r\n\r\nContent-Type: text/plain\r\n\r\nfrom carol";
    const inner = await alice.withAuth(() => alice.build("MESSAGE", BOB, { callId: generateCallId("im"), body: cpim, contentType: "message/cpim" }));
    expect(inner.status).toBe(403);
    expect(s.store.rows).toHaveLength(0);
    expect(bob.requests.filter((q) => q.method === "MESSAGE")).toHaveLength(0);
  });
});
