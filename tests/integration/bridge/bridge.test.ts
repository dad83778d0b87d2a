/**
 * ws bridge over real sockets: a `ws` client plays the browser (RFC 7118), a tiny TCP SIP server
 * plays upstream. Security (session, identity, sizes, malformed input), rewriting, relaying both
 * ways, limits and close semantics.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createSipBridge, type SipBridge, type SipBridgeOptions } from "../../../lib/bridge";
import { SipRequest, SipResponse, createRequest, createResponse, generateTag, parseMessage, serializeMessage, type NameAddr, type SipMessageAny } from "../../../lib/sip";
import { waitFor } from "../../helpers/wait";
import { cookieSession } from "./session-cookie";
import { startFakeUpstream, type FakeUpstream, type UpstreamConnection } from "./fake-upstream";

const W = { timeoutMs: 5000, intervalMs: 5 };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const authenticate = cookieSession("example.test");

interface Setup {
  bridge: SipBridge;
  upstream: FakeUpstream;
  url: string;
  logs: string[];
}

async function setup(opts: Partial<SipBridgeOptions> = {}, upstream?: FakeUpstream): Promise<Setup> {
  const up = upstream ?? (await startFakeUpstream());
  const logs: string[] = [];
  const bridge = createSipBridge({
    upstream: { host: "127.0.0.1", port: up.port, transport: "tcp" },
    authenticate,
    logger: (level, msg) => logs.push(`${level} ${msg}`),
    ...opts,
  });
  const addr = await bridge.listen(0, "127.0.0.1");
  cleanups.push(() => up.close());
  cleanups.push(() => bridge.close());
  return { bridge, upstream: up, url: `ws://127.0.0.1:${addr.port}${opts.path ?? "/sip"}`, logs };
}

interface Browser {
  ws: WebSocket;
  received: string[];
  parsed(): SipMessageAny[];
  closed?: { code: number; reason: string };
  send(data: string | Buffer | SipMessageAny): void;
}

function openBrowser(url: string, o: { user?: string | null; protocol?: string | string[] | null; autoPong?: boolean; origin?: string } = {}): Promise<Browser> {
  const headers: Record<string, string> = {};
  if (o.user !== null) headers.cookie = `other=1; session=${o.user ?? "alice"}`;
  const protocol = o.protocol === null ? undefined : (o.protocol ?? "sip");
  const ws = new WebSocket(url, protocol, { headers, autoPong: o.autoPong ?? true, origin: o.origin });
  const b: Browser = {
    ws,
    received: [],
    parsed: () => b.received.filter((r) => r.trim() !== "").map((r) => parseMessage(r)),
    send: (d) => ws.send(d instanceof SipRequest || d instanceof SipResponse ? serializeMessage(d).toString("utf8") : d),
  };
  ws.on("message", (data) => b.received.push(data.toString()));
  ws.on("close", (code, reason) => (b.closed = { code, reason: reason.toString() }));
  cleanups.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(b));
    ws.once("error", reject);
  });
}

/** Open and expect the HTTP upgrade to be refused: resolves with the status code. */
function refusedUpgrade(url: string, o: { user?: string | null; protocol?: string | null; origin?: string } = {}): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  if (o.user !== null) headers.cookie = `session=${o.user ?? "alice"}`;
  const ws = new WebSocket(url, o.protocol === null ? undefined : (o.protocol ?? "sip"), { headers, origin: o.origin });
  cleanups.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("open", () => reject(new Error("upgrade unexpectedly accepted")));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", () => {});
  });
}

const INSTANCE = '"<urn:uuid:2d3c1a52-6c2b-4b7c-9a55-1f1b4c0b3a11>"';

function browserRequest(method: string, o: { from?: string; to?: string; uri?: string; contact?: boolean; headers?: Array<[string, string]>; body?: string } = {}): SipRequest {
  const from = o.from ?? "sip:alice@example.test";
  return createRequest({
    method,
    uri: o.uri ?? (method === "REGISTER" ? "sip:example.test" : (o.to ?? from)),
    from: `<${from}>`,
    to: `<${o.to ?? from}>`,
    via: { transport: "WSS", host: "k3b9x2p1q7.invalid" },
    contact: o.contact === false ? undefined : `<sip:h7f2k9a1@k3b9x2p1q7.invalid;transport=ws;ob>;+sip.instance=${INSTANCE};reg-id=1`,
    headers: o.headers,
    body: o.body,
    contentType: o.body !== undefined ? "text/plain" : undefined,
  });
}

const lastConn = (up: FakeUpstream): UpstreamConnection => up.connections[up.connections.length - 1];
const responses = (b: Browser): SipResponse[] => b.parsed().filter((m): m is SipResponse => m instanceof SipResponse);

/** A browser whose presence-list SUBSCRIBE went through the bridge and was answered: the upstream connection, the SUBSCRIBE and its Contact. */
async function subscribedBrowser(upstream: FakeUpstream, url: string) {
  const b = await openBrowser(url);
  b.send(browserRequest("SUBSCRIBE", { to: "sip:alice+presence@example.test", headers: [["Event", "presence"], ["Expires", "600"]] }));
  await waitFor(() => lastConn(upstream)?.received.length === 1 && responses(b).length === 1, { ...W, what: "SUBSCRIBE round trip" });
  const conn = lastConn(upstream);
  const sub = conn.received[0].msg as SipRequest;
  const target = sub.contact[0];
  if (target === undefined || target === "*") throw new Error("the SUBSCRIBE has no usable Contact");
  return { b, conn, sub, target };
}

/** The in-dialog NOTIFY the upstream server sends for `sub` to its Contact. */
function notifyFor(sub: SipRequest, target: NameAddr, upstreamPort: number, pidf: string): SipRequest {
  return createRequest({
    method: "NOTIFY",
    uri: target.uri,
    from: `<sip:alice+presence@example.test>;tag=${generateTag()}`,
    to: sub.getHeader("From")!,
    callId: sub.callId,
    via: { transport: "TCP", host: "127.0.0.1", port: upstreamPort },
    contact: `<sip:presence@127.0.0.1:${upstreamPort};transport=tcp>`,
    headers: [["Event", "presence"], ["Subscription-State", "active;expires=600"]],
    body: pidf,
    contentType: "application/pidf+xml",
  });
}

describe("upgrade", () => {
  it("refuses an upgrade without a session with 401, and nothing reaches upstream", async () => {
    const { bridge, upstream, url } = await setup();
    const r = await refusedUpgrade(url, { user: null });
    expect(r.status).toBe(401);
    expect(upstream.connections).toHaveLength(0);
    expect(bridge.metrics().upgradesRejected.unauthorized).toBe(1);
    expect(bridge.metrics().connectionsTotal).toBe(0);
  });

  it("refuses a missing or wrong subprotocol with 400 (RFC 7118 §4.1)", async () => {
    const { bridge, upstream, url } = await setup();
    expect((await refusedUpgrade(url, { protocol: null })).status).toBe(400);
    const wrong = await refusedUpgrade(url, { protocol: "xmpp" });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatch(/subprotocol "sip"/);
    expect(upstream.connections).toHaveLength(0);
    expect(bridge.metrics().upgradesRejected.badRequest).toBe(2);
  });

  it("negotiates `sip` among several offered subprotocols", async () => {
    const { url } = await setup();
    const b = await openBrowser(url, { protocol: ["chat", "sip"] });
    expect(b.ws.protocol).toBe("sip");
  });

  it("refuses a cross-site Origin with 403 but accepts the same origin", async () => {
    const { upstream, url } = await setup();
    expect((await refusedUpgrade(url, { origin: "https://evil.example" })).status).toBe(403);
    expect(upstream.connections).toHaveLength(0);
    const host = new URL(url).host;
    const b = await openBrowser(url, { origin: `http://${host}` });
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("answers 502 when the SIP server is unreachable", async () => {
    const up = await startFakeUpstream();
    const port = up.port;
    await up.close();
    const bridge = createSipBridge({ upstream: { host: "127.0.0.1", port }, authenticate });
    cleanups.push(() => bridge.close());
    const addr = await bridge.listen(0, "127.0.0.1");
    const r = await refusedUpgrade(`ws://127.0.0.1:${addr.port}/sip`);
    expect(r.status).toBe(502);
    expect(bridge.metrics().upgradesRejected.upstreamUnavailable).toBe(1);
  });

  it("answers 503 above maxConnections", async () => {
    const { bridge, url } = await setup({ limits: { maxConnections: 1 } });
    await openBrowser(url);
    expect((await refusedUpgrade(url)).status).toBe(503);
    expect(bridge.metrics().upgradesRejected.overloaded).toBe(1);
  });

  it("answers 500 when authenticate throws, and keeps serving", async () => {
    let fail = true;
    const { url } = await setup({
      authenticate: async (req) => {
        if (fail) throw new Error("db down");
        return authenticate(req);
      },
    });
    expect((await refusedUpgrade(url)).status).toBe(500);
    fail = false;
    await openBrowser(url);
  });

  it("handleUpgrade takes only its path when attached to another HTTP server", async () => {
    const up = await startFakeUpstream();
    cleanups.push(() => up.close());
    const bridge = createSipBridge({ upstream: { host: "127.0.0.1", port: up.port }, authenticate, path: "/sip" });
    cleanups.push(() => bridge.close());
    const server = http.createServer((_q, s) => s.end());
    const others: string[] = [];
    server.on("upgrade", (req, socket, head) => {
      if (bridge.handleUpgrade(req, socket, head)) return;
      others.push(req.url ?? "");
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    expect((await refusedUpgrade(`ws://127.0.0.1:${port}/other`)).status).toBe(404);
    expect(others).toEqual(["/other"]);
    const b = await openBrowser(`ws://127.0.0.1:${port}/sip?v=1`);
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => responses(b).length === 1, { ...W, what: "OPTIONS answer" });
  });
});

describe("identity", () => {
  it("answers 403 itself for a request from another user, and nothing reaches upstream", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    const cases = [
      browserRequest("REGISTER", { from: "sip:bob@example.test" }),
      browserRequest("REGISTER", { to: "sip:bob@example.test", uri: "sip:example.test" }),
      browserRequest("SUBSCRIBE", { from: "sip:bob@example.test", to: "sip:carol@example.test", headers: [["Event", "presence"]] }),
      browserRequest("PUBLISH", { from: "sip:alice@example.test", to: "sip:bob@example.test", headers: [["Event", "presence"]] }),
      browserRequest("MESSAGE", { from: "sip:Alice@example.test", to: "sip:bob@example.test" }),
      browserRequest("MESSAGE", { from: "sips:alice@example.test", to: "sip:bob@example.test" }),
      browserRequest("MESSAGE", { from: "sip:alice@example.test.evil", to: "sip:bob@example.test" }),
      browserRequest("OPTIONS", { from: "tel:+15551234" }),
    ];
    for (const c of cases) b.send(c);
    await waitFor(() => responses(b).length === cases.length, { ...W, what: "403s" });
    for (const [i, r] of responses(b).entries()) {
      expect(r.status).toBe(403);
      expect(r.callId).toBe(cases[i].callId);
      expect(r.to.tag).toBeDefined();
      expect(r.via).toHaveLength(1); // the browser's own Via, nothing of the bridge
    }
    // TCP is ordered: once a later, valid request has arrived, nothing refused can still be on its way
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => lastConn(upstream)?.received.length === 1, { ...W, what: "valid OPTIONS upstream" });
    expect((lastConn(upstream).received[0].msg as SipRequest).method).toBe("OPTIONS");
    expect(bridge.metrics().errors.clientForbidden).toBe(cases.length);
    expect(bridge.metrics().messages.answeredByBridge).toBe(cases.length);
  });

  it("compares the domain case-insensitively and ignores port and parameters", async () => {
    const { upstream, url } = await setup();
    const b = await openBrowser(url);
    b.send(browserRequest("REGISTER", { from: "sip:alice@EXAMPLE.Test", to: "sip:alice@example.TEST:5060;transport=tcp" }));
    await waitFor(() => lastConn(upstream)?.received.length === 1, { ...W, what: "REGISTER upstream" });
    await waitFor(() => responses(b)[0]?.status === 200, { ...W, what: "200" });
  });

  it("never answers an ACK, even a forbidden one", async () => {
    const { upstream, url } = await setup();
    const b = await openBrowser(url);
    b.send(browserRequest("ACK", { from: "sip:bob@example.test", to: "sip:alice@example.test", contact: false }));
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => responses(b).length === 1 && lastConn(upstream)?.received.length === 1, { ...W, what: "OPTIONS round trip" });
    expect(responses(b)[0].cseq.method).toBe("OPTIONS");
  });
});

describe("relay and rewriting", () => {
  it("REGISTER reaches upstream with the bridge's Via and rewritten Contact; the answer comes back without that Via", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    const reg = browserRequest("REGISTER", { headers: [["Expires", "600"], ["X-Odd", "keep   these\tbytes ; exactly"]] });
    reg.addHeader("P-Asserted-Identity", "<sip:bob@example.test>");
    b.send(reg);
    await waitFor(() => lastConn(upstream)?.received.length === 1, { ...W, what: "REGISTER upstream" });
    const conn = lastConn(upstream);
    const got = conn.received[0].msg as SipRequest;
    const rawText = conn.received[0].raw.toString();

    // Via: the bridge's on top (its upstream socket's address as the server sees it), then the browser's
    expect(got.via).toHaveLength(2);
    const top = got.via[0];
    expect(top.transport).toBe("TCP");
    expect(top.host).toBe("127.0.0.1");
    expect(top.port).toBe(conn.socket.remotePort);
    expect(top.branch).toMatch(/^z9hG4bK/);
    expect(top.params.has("rport")).toBe(true);
    expect(top.params.has("alias")).toBe(true);
    expect(got.via[1].toString()).toBe(reg.via[0].toString());

    // Contact: same user and parameters, reachable over this TCP connection
    const contact = got.contact[0];
    if (contact === "*") throw new Error("unexpected *");
    expect(contact.uri.toString()).toBe(`sip:h7f2k9a1@127.0.0.1:${conn.socket.remotePort};transport=tcp;ob`);
    expect(contact.params.get("+sip.instance")).toBe(INSTANCE);
    expect(contact.params.get("reg-id")).toBe("1");

    // everything else byte for byte; P-Asserted-Identity from a browser is not trusted
    expect(rawText).toContain("X-Odd: keep   these\tbytes ; exactly\r\n");
    expect(rawText.startsWith("REGISTER sip:example.test SIP/2.0\r\n")).toBe(true);
    expect(got.hasHeader("P-Asserted-Identity")).toBe(false);
    for (const h of ["From", "To", "Call-ID", "CSeq", "Expires", "Max-Forwards"]) expect(got.getHeader(h)).toBe(reg.getHeader(h));

    await waitFor(() => responses(b).length === 1, { ...W, what: "200 to REGISTER" });
    const res = responses(b)[0];
    expect(res.status).toBe(200);
    expect(res.getHeaders("Via")).toEqual(reg.getHeaders("Via"));
    expect(res.callId).toBe(reg.callId);

    const m = bridge.metrics();
    expect(m.connectionsOpen).toBe(1);
    expect(m.messages).toMatchObject({ fromClient: 1, toUpstream: 1, fromUpstream: 1, toClient: 1 });
  });

  it("keeps a body and adds Content-Length when the browser omitted it (optional on WebSocket)", async () => {
    const { upstream, url } = await setup();
    const b = await openBrowser(url);
    const text = serializeMessage(browserRequest("MESSAGE", { to: "sip:bob@example.test", contact: false, body: "héllo\r\n\r\nworld" })).toString();
    b.send(text.replace(/Content-Length: \d+\r\n/, ""));
    await waitFor(() => lastConn(upstream)?.received.length === 1, { ...W, what: "MESSAGE upstream" });
    const got = lastConn(upstream).received[0].msg;
    expect(got.bodyText).toBe("héllo\r\n\r\nworld");
    expect(got.contentLength).toBe(Buffer.byteLength("héllo\r\n\r\nworld"));
  });

  it("relays an upstream NOTIFY over the same connection byte for byte, and the browser's 200 back", async () => {
    const { upstream, url } = await setup();
    const { b, conn, sub, target } = await subscribedBrowser(upstream, url);
    // the server sends the NOTIFY to the Contact, which is this connection's peer address
    expect(`${(target.uri as { host: string }).host}:${(target.uri as { port?: number }).port}`).toBe(`127.0.0.1:${conn.socket.remotePort}`);
    const notify = notifyFor(sub, target, upstream.port, '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.test"/>');
    const raw = serializeMessage(notify);
    conn.send(raw);
    await waitFor(() => b.received.some((r) => r.startsWith("NOTIFY ")), { ...W, what: "NOTIFY at the browser" });
    expect(b.received.find((r) => r.startsWith("NOTIFY "))).toBe(raw.toString());

    const ok = createResponse(notify, 200);
    const okRaw = serializeMessage(ok);
    b.send(okRaw);
    await waitFor(() => conn.received.length === 2, { ...W, what: "200 to NOTIFY upstream" });
    expect(conn.received[1].raw.equals(okRaw)).toBe(true);
  });

  it("relays a large upstream NOTIFY (an RLS full state of hundreds of contacts) that is over the browser-side limit", async () => {
    const { upstream, url } = await setup();
    const { b, conn, sub, target } = await subscribedBrowser(upstream, url);
    const notify = notifyFor(
      sub,
      target,
      upstream.port,
      `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.test"><note>${"x".repeat(300 * 1024)}</note></presence>`,
    );
    const raw = serializeMessage(notify);
    expect(raw.length).toBeGreaterThan(256 * 1024);
    conn.send(raw);
    await waitFor(() => b.received.some((r) => r.startsWith("NOTIFY ")), { ...W, what: "large NOTIFY at the browser" });
    expect(b.received.find((r) => r.startsWith("NOTIFY "))).toBe(raw.toString());
  });

  it("rewrites the Contact of a response from the browser (a 2xx to NOTIFY refreshes the target, RFC 6665 §4.1.2)", async () => {
    const { upstream, url } = await setup();
    const b = await openBrowser(url);
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => lastConn(upstream)?.received.length === 1, { ...W, what: "OPTIONS upstream" });
    const conn = lastConn(upstream);
    const notify = createRequest({
      method: "NOTIFY",
      uri: "sip:h7f2k9a1@127.0.0.1",
      from: "<sip:bob@example.test>",
      to: "<sip:alice@example.test>;tag=abc",
      via: { transport: "TCP", host: "127.0.0.1", port: upstream.port },
      headers: [["Event", "presence"], ["Subscription-State", "active"]],
    });
    conn.send(serializeMessage(notify));
    await waitFor(() => b.received.some((r) => r.startsWith("NOTIFY ")), { ...W, what: "NOTIFY" });
    b.send(createResponse(notify, 200, { headers: [["Contact", "<sip:h7f2k9a1@k3b9x2p1q7.invalid;transport=ws>"]] }));
    await waitFor(() => conn.received.length === 2, { ...W, what: "200 upstream" });
    const c = conn.received[1].msg.contact[0];
    expect(String(c)).toBe(`<sip:h7f2k9a1@127.0.0.1:${conn.socket.remotePort};transport=tcp>`);
  });

  it("drops a response from upstream that does not carry the bridge's Via", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => responses(b).length === 1, { ...W, what: "OPTIONS answer" });
    const stray = createResponse(browserRequest("OPTIONS", { contact: false }), 200);
    lastConn(upstream).send(serializeMessage(stray));
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => responses(b).length === 2, { ...W, what: "second OPTIONS answer" });
    expect(bridge.metrics().errors.upstreamMisrouted).toBe(1);
  });

  it("answers RFC 5626 CRLF keep-alives on both sides", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    b.send("\r\n\r\n");
    await waitFor(() => b.received.includes("\r\n"), { ...W, what: "pong over WS" });
    await waitFor(() => lastConn(upstream)?.keepAlives.includes("ping"), { ...W, what: "ping forwarded upstream" });
    const conn = lastConn(upstream);
    const before = conn.bytes.length;
    conn.send("\r\n\r\n");
    // the bridge answers the server's ping itself with a CRLF pong (a framer only tells a lone CRLF at the next message)
    await waitFor(() => conn.bytes.slice(before) === "\r\n", { ...W, what: "pong upstream" });
    await waitFor(() => bridge.metrics().keepAlives.fromUpstream >= 1, { ...W, what: "keep-alive counters" });
    expect(b.received.filter((r) => r.trim() !== "")).toHaveLength(0);
  });

  it("relays to a TLS upstream with a verified certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bridge-tls-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=sip.example.test", "-addext", "subjectAltName=DNS:sip.example.test", "-days", "1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    const cert = readFileSync(join(dir, "cert.pem"));
    const up = await startFakeUpstream({ tls: { cert, key: readFileSync(join(dir, "key.pem")) } });
    const { url } = await setup({ upstream: { host: "127.0.0.1", port: up.port, transport: "tls", tls: { ca: cert, servername: "sip.example.test" } } }, up);
    const b = await openBrowser(url);
    b.send(browserRequest("REGISTER"));
    await waitFor(() => responses(b).length === 1, { ...W, what: "REGISTER over TLS" });
    const got = lastConn(up).received[0].msg;
    expect(got.via[0].transport).toBe("TLS");
    expect(String(got.contact[0])).toContain(";transport=tls");
  });
});

describe("hostile input and limits", () => {
  it("closes an oversized frame with 1009 and keeps serving new connections", async () => {
    const { bridge, upstream, url } = await setup({ limits: { maxMessageBytes: 4096 } });
    const b = await openBrowser(url);
    b.send(browserRequest("MESSAGE", { to: "sip:bob@example.test", contact: false, body: "x".repeat(5000) }));
    await waitFor(() => b.closed, { ...W, what: "close" });
    expect(b.closed?.code).toBe(1009);
    await waitFor(() => upstream.connections[0]?.closed, { ...W, what: "upstream leg closed" });
    expect(upstream.connections[0].received).toHaveLength(0);
    expect(bridge.metrics().errors.clientOversized).toBe(1);

    const b2 = await openBrowser(url);
    b2.send(browserRequest("REGISTER"));
    await waitFor(() => responses(b2)[0]?.status === 200, { ...W, what: "REGISTER on a new connection" });
  });

  it("answers malformed but answerable SIP with 400 and stays open", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    const bad = serializeMessage(browserRequest("OPTIONS", { contact: false })).toString().replace(/CSeq: 1 OPTIONS/, "CSeq: one OPTIONS");
    b.send(bad);
    // the 400 echoes the request's (bad) CSeq verbatim (RFC 3261 §8.2.6.2), so look at the text
    await waitFor(() => b.received.length === 1, { ...W, what: "400" });
    expect(b.received[0]).toMatch(/^SIP\/2\.0 400 /);
    expect(b.received[0]).toContain("CSeq: one OPTIONS\r\n");
    const badContact = serializeMessage(browserRequest("REGISTER", { contact: false })).toString().replace("\r\n\r\n", "\r\nContact: <sip:a@b;>>\r\n\r\n");
    b.send(badContact);
    await waitFor(() => b.received.length === 2, { ...W, what: "second 400" });
    expect(parseMessage(b.received[1])).toMatchObject({ status: 400 });
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => b.received.length === 3, { ...W, what: "valid request after" });
    expect(parseMessage(b.received[2])).toMatchObject({ status: 200 });
    expect(lastConn(upstream).received).toHaveLength(1);
    expect(bridge.metrics().errors.clientMalformed).toBe(2);
  });

  it("closes with 1007 on unanswerable garbage and on invalid UTF-8 text, without harming the bridge", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    b.send("hello, this is not SIP");
    await waitFor(() => b.closed, { ...W, what: "close" });
    expect(b.closed?.code).toBe(1007);

    const b2 = await openBrowser(url);
    // a text frame whose payload is not UTF-8: ws rejects it at the framing layer
    b2.ws.send(Buffer.from([0x4f, 0x50, 0xff, 0xfe]), { binary: false });
    await waitFor(() => b2.closed, { ...W, what: "close on bad UTF-8" });
    expect(b2.closed?.code).toBe(1007);

    const b3 = await openBrowser(url);
    b3.ws.send(Buffer.from([0, 1, 2, 3, 0xff]), { binary: true });
    await waitFor(() => b3.closed, { ...W, what: "close on binary garbage" });
    expect(b3.closed?.code).toBe(1007);

    for (const c of upstream.connections.slice(0, 3)) expect(c.received).toHaveLength(0);
    await waitFor(() => upstream.connections.slice(0, 3).every((c) => c.closed), { ...W, what: "upstream legs closed" });
    const b4 = await openBrowser(url);
    b4.send(browserRequest("REGISTER"));
    await waitFor(() => responses(b4)[0]?.status === 200, { ...W, what: "bridge still serves" });
    expect(bridge.metrics().connectionsOpen).toBe(1);
  });

  it("rate-limits: 503 with Retry-After beyond the bucket, then closes 1008 when the client keeps on", async () => {
    const { bridge, upstream, url } = await setup({ limits: { maxMessagesPerSecond: 1, messageBurst: 3 } });
    const b = await openBrowser(url);
    for (let i = 0; i < 6; i++) b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => responses(b).length === 6, { ...W, what: "6 answers" });
    const statuses = responses(b).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 503)).toHaveLength(3);
    const r503 = responses(b).find((r) => r.status === 503)!;
    expect(r503.getHeader("Retry-After")).toBe("1");
    expect(lastConn(upstream).received).toHaveLength(3);
    b.send(browserRequest("OPTIONS", { contact: false }));
    await waitFor(() => b.closed, { ...W, what: "close" });
    expect(b.closed?.code).toBe(1008);
    expect(bridge.metrics().errors.clientRateLimited).toBe(4);
  });
});

describe("close semantics and liveness", () => {
  it("closes the WebSocket (1001) when upstream closes", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    await waitFor(() => upstream.connections.length === 1, { ...W, what: "upstream leg" });
    upstream.connections[0].socket.end();
    await waitFor(() => b.closed, { ...W, what: "WS closed" });
    expect(b.closed?.code).toBe(1001);
    await waitFor(() => bridge.metrics().connectionsOpen === 0, { ...W, what: "connection count" });
  });

  it("closes the WebSocket (1011) when upstream resets", async () => {
    const { upstream, url } = await setup();
    const b = await openBrowser(url);
    await waitFor(() => upstream.connections.length === 1, { ...W, what: "upstream leg" });
    upstream.connections[0].socket.resetAndDestroy();
    await waitFor(() => b.closed, { ...W, what: "WS closed" });
    expect([1001, 1011]).toContain(b.closed?.code);
  });

  it("ends the upstream connection when the WebSocket closes", async () => {
    const { bridge, upstream, url } = await setup();
    const b = await openBrowser(url);
    await waitFor(() => upstream.connections.length === 1, { ...W, what: "upstream leg" });
    b.ws.close(1000);
    await waitFor(() => upstream.connections[0].ended, { ...W, what: "upstream FIN" });
    await waitFor(() => bridge.metrics().connectionsOpen === 0, { ...W, what: "connection count" });
  });

  it("closes a browser that stops answering pings after idleTimeoutMs; a live one stays", async () => {
    const { bridge, upstream, url } = await setup({ limits: { idleTimeoutMs: 300 } });
    const live = await openBrowser(url);
    let pings = 0;
    live.ws.on("ping", () => pings++);
    const dead = await openBrowser(url, { autoPong: false });
    await waitFor(() => dead.closed, { ...W, what: "idle close" });
    expect(bridge.metrics().errors.idleTimeout).toBe(1);
    await waitFor(() => upstream.connections.filter((c) => c.closed).length === 1, { ...W, what: "its upstream leg closed" });
    await waitFor(() => pings >= 4, { ...W, what: "pings to the live browser" });
    expect(live.closed).toBeUndefined();
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("does not close live browsers for the silence of its own stalled event loop (a restart's reconnect storm)", async () => {
    const { bridge, url } = await setup({ limits: { idleTimeoutMs: 300 } });
    const live = await openBrowser(url);
    let pings = 0;
    live.ws.on("ping", () => pings++);
    await waitFor(() => pings >= 1, { ...W, what: "a first ping" });
    // the whole process busy for longer than the idle timeout: no pong can be read meanwhile, and the
    // sweep timer runs before the loop reads the sockets again (a simulated stall, not a wait)
    const until = Date.now() + 700;
    while (Date.now() < until);
    const after = pings;
    await waitFor(() => pings >= after + 2, { ...W, what: "pings after the stall" });
    expect(live.closed).toBeUndefined();
    expect(bridge.metrics().errors.idleTimeout).toBe(0);
  });

  it("sends RFC 5626 keep-alives upstream on an otherwise idle connection", async () => {
    const { upstream, url } = await setup({ limits: { upstreamKeepAliveMs: 100 } });
    await openBrowser(url);
    await waitFor(() => (lastConn(upstream)?.keepAlives.filter((k) => k === "ping").length ?? 0) >= 2, { ...W, what: "keep-alive pings" });
  });

  it("close() closes every bridged connection with 1001 and refuses new upgrades", async () => {
    const { bridge, upstream, url } = await setup();
    const a = await openBrowser(url);
    const b = await openBrowser(url, { user: "bob" });
    await bridge.close();
    await waitFor(() => a.closed && b.closed, { ...W, what: "both closed" });
    expect([a.closed?.code, b.closed?.code]).toEqual([1001, 1001]);
    await waitFor(() => upstream.connections.every((c) => c.closed), { ...W, what: "upstream legs closed" });
    expect(bridge.metrics().connectionsOpen).toBe(0);
  });
});
