/**
 * SipTransport.openFlow: an in-process peer over an in-memory flow is an accepted TCP connection
 * to the server (id, addresses, received/rport, replies over it, limits, idle timeout, close both
 * ways), with the owner and client address it was opened with; its address is never looked up
 * (no aliases) and never dialled.
 */
import { connect as tcpConnect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  IN_PROCESS_FLOW_HOST,
  SipRequest,
  SipStreamParser,
  SipTransport,
  createRequest,
  createResponse,
  parseFrame,
  serializeMessage,
  type IncomingSipMessage,
  type MemoryFlowEnd,
  type SipConnection,
  type SipMessageAny,
  type SipTransportOptions,
} from "@/lib/sip";
import { waitFor } from "../../helpers/wait";

const transports: SipTransport[] = [];
const servers: Server[] = [];
const cleanupSockets: Socket[] = [];
afterEach(async () => {
  for (const s of cleanupSockets.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function start(opts: SipTransportOptions = {}) {
  const t = new SipTransport({ tcp: { host: "127.0.0.1", port: 0 }, ...opts });
  transports.push(t);
  const addr = await t.listen();
  const received: IncomingSipMessage[] = [];
  const closed: SipConnection[] = [];
  t.on("message", (m) => received.push(m));
  t.on("connectionClosed", (c) => closed.push(c));
  return { t, port: addr.tcp!.port, received, closed };
}

/** The peer's end, with what it received framed into messages. */
function peer(end: MemoryFlowEnd) {
  const got: SipMessageAny[] = [];
  const parser = new SipStreamParser();
  parser.on("message", (m) => got.push(m));
  let ended = false;
  let closed = false;
  end.on("data", (d) => parser.push(d));
  end.on("end", () => (ended = true));
  end.on("close", () => (closed = true));
  return { end, got, ended: () => ended, closed: () => closed };
}

function options(sentBy: string): Buffer {
  const req = createRequest({ method: "OPTIONS", uri: "sip:example.test", from: "<sip:alice@example.test>", to: "<sip:example.test>", via: { transport: "TCP", host: sentBy } });
  req.setHeader("Via", `SIP/2.0/TCP ${sentBy};branch=z9hG4bK-flow-test;rport;alias`);
  return serializeMessage(req);
}

describe("SipTransport.openFlow", () => {
  it("is an inbound TCP connection of its own, peer 0.0.0.0 with a port unique among the open flows", async () => {
    const { t, port } = await start();
    const seen: SipConnection[] = [];
    t.on("connection", (c) => seen.push(c));
    const a = t.openFlow();
    const b = t.openFlow();
    expect(seen).toHaveLength(2);
    const [ca, cb] = seen as [SipConnection, SipConnection];
    expect(ca.id).not.toBe(cb.id);
    expect(ca.id).toMatch(new RegExp(`^flow-${t.runId}-\\d+$`));
    expect([ca.transport, ca.direction, ca.remoteAddress, ca.localAddress, ca.localPort]).toEqual(["TCP", "inbound", IN_PROCESS_FLOW_HOST, "127.0.0.1", port]);
    expect(ca.remotePort).not.toBe(cb.remotePort);
    // the peer's end mirrors it, as a socket's local/remote pair would
    expect([a.localAddress, a.localPort, a.remoteAddress, a.remotePort]).toEqual([IN_PROCESS_FLOW_HOST, ca.remotePort, "127.0.0.1", port]);
    expect(b.localPort).toBe(cb.remotePort);
    expect(t.flowCount).toBe(2);
    // reached by id only: its synthetic address is no key to it
    expect(t.findConnection(IN_PROCESS_FLOW_HOST, ca.remotePort)).toBeUndefined();
    expect(t.getConnection(ca.id)).toBe(ca);
  });

  it("records the owner and client address the flow was opened with (clientAddress defaults to the peer address)", async () => {
    const { t } = await start();
    const seen: SipConnection[] = [];
    t.on("connection", (c) => seen.push(c));
    t.openFlow({ owner: "sip:alice@example.test", clientAddress: "::ffff:192.0.2.7" });
    t.openFlow();
    const [owned, plain] = seen as [SipConnection, SipConnection];
    expect([owned.isOwnedBy("sip:alice@example.test"), owned.isOwnedBy("sip:bob@example.test"), owned.owned, owned.clientAddress]).toEqual([true, false, true, "192.0.2.7"]);
    expect([plain.owned, plain.clientAddress]).toEqual([false, IN_PROCESS_FLOW_HOST]);
  });

  it("fills received/rport from the flow's address, never aliases the flow, and answers over it by id", async () => {
    const { t, received } = await start();
    const p = peer(t.openFlow());
    p.end.write(options("k3b9x2p1q7.invalid"));
    const [m] = await waitFor(() => received.length > 0 && received, { what: "request at the server" });
    const req = m!.message as SipRequest;
    const via = req.topVia!;
    expect([via.received, via.rport]).toEqual([IN_PROCESS_FLOW_HOST, p.end.localPort]);
    // the offered alias is not taken, not even when asked for (a flow has no address)
    t.addAlias(m!.connection, "k3b9x2p1q7.invalid", 5060);
    expect(t.findConnection("k3b9x2p1q7.invalid", 5060)).toBeUndefined();
    await expect(t.send(createResponse(req, 200), { host: IN_PROCESS_FLOW_HOST, port: p.end.localPort })).rejects.toThrow(/not reachable/);
    await t.send(createResponse(req, 200), { connectionId: m!.connection.id });
    await waitFor(() => p.got.length > 0, { what: "response over the flow" });
    expect((p.got[0] as { status: number }).status).toBe(200);
  });

  it("a closing TCP connection takes its aliases with it, but not one another connection has taken over since", async () => {
    const { t, port } = await start();
    const conns: SipConnection[] = [];
    t.on("connection", (c) => conns.push(c));
    const sockets: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = tcpConnect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      sockets.push(s);
    }
    await waitFor(() => conns.length === 2, { what: "both accepted" });
    const [ca, cb] = conns as [SipConnection, SipConnection];
    const a = sockets.find((s) => s.localPort === ca.remotePort)!;
    cleanupSockets.push(...sockets);
    t.addAlias(ca, "alice.invalid", 5060);
    t.addAlias(ca, "shared.invalid", 5060);
    t.addAlias(cb, "shared.invalid", 5060); // RFC 5923: the newest connection offering the alias wins
    a.end();
    await waitFor(() => ca.closed, { what: "a closed" });
    expect(t.findConnection("alice.invalid", 5060)).toBeUndefined();
    expect(t.findConnection("127.0.0.1", ca.remotePort)).toBeUndefined();
    expect(t.findConnection("shared.invalid", 5060)).toBe(cb);
    t.addAlias(ca, "late.invalid", 5060); // on a closed connection: nothing to find
    expect(t.findConnection("late.invalid", 5060)).toBeUndefined();
  });

  it("takes a message its peer wrote with its parse (writeMessage) as that very object, received/rport filled in as for parsed bytes", async () => {
    const { t, received } = await start();
    const end = t.openFlow();
    const raw = options("k3b9x2p1q7.invalid");
    const parsed = parseFrame(raw, raw.indexOf("\r\n\r\n"));
    end.writeMessage(raw, parsed);
    end.write(raw); // the same bytes without a parse: parsed at the server
    await waitFor(() => received.length === 2, { what: "both at the server" });
    expect(received[0]!.message).toBe(parsed);
    expect(received[1]!.message).not.toBe(parsed);
    expect(received[1]!.message).toEqual(parsed);
    expect((parsed as SipRequest).topVia!.received).toBe(IN_PROCESS_FLOW_HOST);
  });

  it("parses the bytes itself when a parsed message is not exactly one frame at a boundary within its limits", async () => {
    const { t, received, closed } = await start({ maxMessageSize: 2048 });
    const end = t.openFlow();
    const raw = options("k3b9x2p1q7.invalid");
    const parse = (b: Buffer) => parseFrame(b, b.indexOf("\r\n\r\n"));
    // half a message pending: the parsed one is pushed as bytes behind it (and frames as two halves)
    end.write(raw.subarray(0, 40));
    const second = parse(raw);
    end.writeMessage(raw.subarray(40), second);
    end.writeMessage(raw.subarray(0, 40), parse(raw));
    end.write(raw.subarray(40));
    await waitFor(() => received.length === 2, { what: "two messages framed from the bytes" });
    expect(received.map((m) => m.message === second)).toEqual([false, false]);
    expect(received[0]!.message).toEqual(received[1]!.message);
    // over the server's limit: the framer sees the bytes and closes the flow, as for plain bytes
    const big = serializeMessage(createRequest({ method: "MESSAGE", uri: "sip:bob@example.test", from: "<sip:alice@example.test>", to: "<sip:bob@example.test>", via: { transport: "TCP", host: "x.invalid" }, body: "x".repeat(4096), contentType: "text/plain" }));
    end.writeMessage(big, parse(big));
    await waitFor(() => closed.length === 1, { what: "flow closed by the server" });
    expect(received).toHaveLength(2);
  });

  it("answers RFC 5626 CRLFCRLF pings with CRLF, as on TCP", async () => {
    const { t } = await start();
    const end = t.openFlow();
    const bytes: string[] = [];
    end.on("data", (d) => bytes.push(d.toString()));
    end.write("\r\n\r\n");
    await waitFor(() => bytes.join("") === "\r\n", { what: "pong" });
  });

  it("applies the size limits: an oversized message closes the flow (connectionClosed, the peer's end closes)", async () => {
    const { t, closed } = await start({ maxMessageSize: 2048 });
    const p = peer(t.openFlow());
    const big = createRequest({ method: "MESSAGE", uri: "sip:bob@example.test", from: "<sip:alice@example.test>", to: "<sip:bob@example.test>", via: { transport: "TCP", host: "x.invalid" }, body: "x".repeat(4096), contentType: "text/plain" });
    p.end.write(serializeMessage(big));
    await waitFor(() => p.closed(), { what: "flow closed by the server" });
    expect(p.ended()).toBe(true);
    expect(closed).toHaveLength(1);
    expect(t.flowCount).toBe(0);
  });

  it("closing the peer's end closes the server's connection (connectionClosed), and the other way round", async () => {
    const { t, closed } = await start();
    const conns: SipConnection[] = [];
    t.on("connection", (c) => conns.push(c));
    const p1 = peer(t.openFlow());
    const p2 = peer(t.openFlow());
    p1.end.end();
    await waitFor(() => closed.length === 1, { what: "connectionClosed after the peer's FIN" });
    expect(closed[0]).toBe(conns[0]);
    expect(conns[0]!.closed).toBe(true);
    conns[1]!.close();
    await waitFor(() => p2.closed(), { what: "peer end closed after the server's close" });
    expect(p2.ended()).toBe(true);
    expect(t.flowCount).toBe(0);
  });

  it("closes an idle flow after idleTimeoutMs, like an idle TCP connection; traffic keeps one open", async () => {
    const { t } = await start({ idleTimeoutMs: 150 });
    const idle = peer(t.openFlow());
    const busy = peer(t.openFlow());
    const keepAlive = setInterval(() => busy.end.write("\r\n\r\n"), 30);
    try {
      await waitFor(() => idle.closed(), { what: "idle flow closed" });
      expect(busy.closed()).toBe(false);
    } finally {
      clearInterval(keepAlive);
    }
  });

  it("close() closes every flow", async () => {
    const { t } = await start();
    const p = peer(t.openFlow());
    await t.close();
    await waitFor(() => p.closed(), { what: "flow closed by close()" });
  });

  it("refuses more than maxConnections open flows", async () => {
    const { t } = await start({ maxConnections: 2 });
    t.openFlow();
    const second = t.openFlow();
    expect(() => t.openFlow()).toThrow(/too many/);
    second.destroy();
    await waitFor(() => t.flowCount === 1, { what: "flow gone" });
    expect(() => t.openFlow()).not.toThrow();
  });

  it("never dials a flow address: a closed flow's peer is unreachable at once, even with a listener on that port", async () => {
    const { t } = await start();
    // 0.0.0.0 as a destination reaches the local host on Linux: a listener is there to be (wrongly) found
    const listener = createServer((s) => s.destroy());
    servers.push(listener);
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    const port = (listener.address() as AddressInfo).port;
    await expect(t.connect(IN_PROCESS_FLOW_HOST, port)).rejects.toThrow(/not reachable/);
    await expect(t.connect("::", port)).rejects.toThrow(/not reachable/);
    expect(t.connectionCount).toBe(0);
  });
});
