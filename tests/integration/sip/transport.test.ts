import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SipTransport, type IncomingSipMessage } from "../../../lib/sip/transport";
import { SipRequest, SipResponse } from "../../../lib/sip/message";
import { createRequest, createResponse } from "../../../lib/sip/ua-helpers";
import { serializeMessage } from "../../../lib/sip/serializer";
import { TransactionLayer } from "../../../lib/sip/transaction-layer";
import type { SipConnection } from "../../../lib/sip/connection";
import type { LogLevel } from "../../../lib/sip/logger";
import { sendUntilClosed } from "../../helpers/send-until-closed";

/** Resolve when `pred` holds; poll on the event loop, bounded. */
async function waitFor<T>(pred: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function register(transport: "TCP" | "TLS", port: number, extra: Array<[string, string]> = []): SipRequest {
  return createRequest({
    method: "REGISTER",
    uri: "sip:example.test",
    from: "<sip:alice@example.test>",
    to: "<sip:alice@example.test>",
    via: { transport, host: "client.invalid", port },
    contact: `<sip:alice@127.0.0.1:${port};transport=${transport.toLowerCase()}>`,
    headers: [["Expires", "600"], ...extra],
  });
}

function rawClient(port: number): Promise<{ socket: Socket; data: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let buf = "";
    let closed = false;
    const socket = connect({ host: "127.0.0.1", port }, () => resolve({ socket, data: () => buf, closed: () => closed }));
    socket.on("data", (d) => (buf += d.toString("utf8")));
    socket.on("close", () => (closed = true));
    socket.on("error", reject);
  });
}

const logs: Array<[LogLevel, string]> = [];
const logger = (level: LogLevel, msg: string) => logs.push([level, msg]);
const transports: SipTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

async function server(opts: ConstructorParameters<typeof SipTransport>[0] = {}) {
  const t = new SipTransport({ tcp: { host: "127.0.0.1", port: 0 }, logger, ...opts });
  transports.push(t);
  const addr = await t.listen();
  const received: IncomingSipMessage[] = [];
  t.on("message", (m) => received.push(m));
  return { t, addr, received };
}

describe("SipTransport over TCP", () => {
  it("listens on port 0, exchanges request/response, fills received/rport, reuses the inbound connection", async () => {
    const { t: srv, addr, received } = await server();
    expect(addr.tcp!.port).toBeGreaterThan(0);
    const cli = new SipTransport({ logger });
    transports.push(cli);
    const got: IncomingSipMessage[] = [];
    cli.on("message", (m) => got.push(m));

    const req = register("TCP", 5099);
    const conn = await cli.send(req, { host: "127.0.0.1", port: addr.tcp!.port, transport: "TCP" });
    const inbound = await waitFor(() => received[0], "REGISTER at server");
    const r = inbound.message as SipRequest;
    expect(r.method).toBe("REGISTER");
    expect(r.topVia!.received).toBe("127.0.0.1");
    expect(r.topVia!.rport).toBe(conn.localPort);
    expect(inbound.connection.remotePort).toBe(conn.localPort);

    // respond over the connection the request came in on
    await srv.send(createResponse(r, 200, { toTag: "srv" }), { connectionId: inbound.connection.id });
    const resp = await waitFor(() => got[0], "200 at client");
    expect((resp.message as SipResponse).status).toBe(200);
    expect((resp.message as SipResponse).topVia!.rport).toBe(conn.localPort);

    // server-initiated request to the registered contact: found by source address (received/rport)
    const found = srv.findConnection("127.0.0.1", r.topVia!.rport as number, "TCP");
    expect(found?.id).toBe(inbound.connection.id);
    const notify = createRequest({ method: "NOTIFY", uri: "sip:alice@127.0.0.1", from: "<sip:bob@example.test>", to: "<sip:alice@example.test>;tag=x", via: { transport: "TCP", host: "127.0.0.1", port: addr.tcp!.port }, headers: [["Event", "presence"], ["Subscription-State", "active"]] });
    await srv.send(notify, { connectionId: found!.id });
    const n = await waitFor(() => got.find((m) => m.message instanceof SipRequest), "NOTIFY at client");
    expect((n.message as SipRequest).method).toBe("NOTIFY");
    // the client reused its single outbound connection
    expect(cli.connectionCount).toBe(1);
    expect(await cli.connect("127.0.0.1", addr.tcp!.port)).toBe(conn);
  });

  it("a transaction over real sockets: client transaction completes with the server's 200", async () => {
    const { t: srv } = await server();
    const layer = new TransactionLayer();
    srv.on("message", ({ message, connection }) => {
      if (message instanceof SipRequest) {
        const d = layer.receiveRequest(message, { send: (r) => connection.send(r), reliable: true });
        if (d.kind === "new") d.transaction.respond(createResponse(message, 200, { toTag: "t" }));
      }
    });
    const cli = new SipTransport({ logger });
    transports.push(cli);
    const clientLayer = new TransactionLayer();
    cli.on("message", ({ message }) => {
      if (message instanceof SipResponse) clientLayer.receiveResponse(message);
    });
    const conn = await cli.connect("127.0.0.1", srv.listening.tcp!.port);
    const statuses: number[] = [];
    const tx = clientLayer.sendRequest(register("TCP", 5098), { send: (r) => conn.send(r), reliable: true });
    tx.on("response", (r) => statuses.push(r.status));
    await waitFor(() => statuses.length > 0, "transaction response");
    expect(statuses).toEqual([200]);
    expect(tx.state).toBe("Terminated");
    expect(layer.size.servers).toBe(0);
    layer.dispose();
    clientLayer.dispose();
  });

  it("answers a CRLFCRLF ping with a CRLF pong and reports it", async () => {
    const { t: srv, addr } = await server();
    const kinds: string[] = [];
    srv.on("keepalive", (_c, k) => kinds.push(k));
    const c = await rawClient(addr.tcp!.port);
    c.socket.write("\r\n\r\n");
    await waitFor(() => c.data() === "\r\n", "pong");
    expect(kinds).toEqual(["ping"]);
    c.socket.destroy();
  });

  it("malformed request with enough headers → 400 with reason, connection stays usable", async () => {
    const { addr, received } = await server();
    const c = await rawClient(addr.tcp!.port);
    const bad = serializeMessage(register("TCP", 5097)).toString().replace(/^From: .*$/m, 'From: "unterminated <sip:alice@example.test>;tag=1');
    c.socket.write(bad);
    await waitFor(() => c.data().includes("\r\n\r\n"), "400 response");
    expect(c.data()).toMatch(/^SIP\/2\.0 400 unterminated display name\r\n/);
    expect(c.data()).toContain("CSeq: 1 REGISTER");
    c.socket.write(serializeMessage(register("TCP", 5097)));
    await waitFor(() => received.length === 1, "good message after bad");
    expect(c.closed()).toBe(false);
    c.socket.destroy();
  });

  it("unsupported version gets 505; a message without Content-Length closes the connection", async () => {
    const { addr } = await server();
    const c = await rawClient(addr.tcp!.port);
    c.socket.write(serializeMessage(register("TCP", 5096)).toString().replace("REGISTER sip:example.test SIP/2.0", "REGISTER sip:example.test SIP/3.0"));
    await waitFor(() => c.data().includes("\r\n\r\n"), "505");
    expect(c.data()).toMatch(/^SIP\/2\.0 505 /);
    c.socket.write("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n");
    await waitFor(() => c.closed(), "close after framing error");
  });

  it("garbage and a throwing listener never crash the process; other connections keep working", async () => {
    const { t: srv, addr, received } = await server({ tcp: { host: "127.0.0.1", port: 0 }, maxHeaderSize: 2048 });
    srv.on("message", () => {
      throw new Error("listener bug");
    });
    const g = await rawClient(addr.tcp!.port);
    g.socket.write(Buffer.alloc(5000, 0x41));
    await waitFor(() => g.closed(), "garbage connection closed");
    const c = await rawClient(addr.tcp!.port);
    const wire = serializeMessage(register("TCP", 5095));
    for (let i = 0; i < wire.length; i += 7) c.socket.write(wire.subarray(i, i + 7)); // arbitrary chunking
    await waitFor(() => received.length === 1, "chunked message");
    await waitFor(() => logs.some(([, m]) => m.includes("listener for message threw")), "listener error logged");
    c.socket.destroy();
  });

  it("closes idle connections", async () => {
    const { t: srv, addr } = await server({ tcp: { host: "127.0.0.1", port: 0 }, idleTimeoutMs: 100 });
    const closed: SipConnection[] = [];
    srv.on("connectionClosed", (c) => closed.push(c));
    const c = await rawClient(addr.tcp!.port);
    await waitFor(() => c.closed(), "idle close", 5000);
    await waitFor(() => closed.length === 1, "connectionClosed event");
    expect(srv.connectionCount).toBe(0);
  });

  it("sending on a closed connection id rejects (a transport error for the transaction layer)", async () => {
    const { t: srv, addr } = await server();
    const ids: string[] = [];
    srv.on("connection", (c) => ids.push(c.id));
    const c = await rawClient(addr.tcp!.port);
    await waitFor(() => ids.length === 1, "connection");
    c.socket.destroy();
    await waitFor(() => srv.getConnection(ids[0]) === undefined, "connection gone");
    await expect(srv.send(register("TCP", 1), { connectionId: ids[0] })).rejects.toThrow(/gone/);
  });

  it("destroys a connection whose peer stops reading once its unread backlog passes maxSendBacklogBytes; a reading peer keeps its connection", async () => {
    const { t: srv, addr } = await server({ tcp: { host: "127.0.0.1", port: 0 }, maxSendBacklogBytes: 256 * 1024 });
    const conns: SipConnection[] = [];
    srv.on("connection", (c) => conns.push(c));
    const chunk = Buffer.alloc(16 * 1024, "x");
    const reader = await rawClient(addr.tcp!.port);
    let read = 0;
    reader.socket.on("data", (d) => (read += d.length));
    await waitFor(() => conns.length === 1, "the reader's connection");
    // a reader takes what it is sent: 2 MiB written as it drains stays one connection
    for (let k = 0; k < 128; k++) {
      conns[0]!.send(chunk);
      if (conns[0]!.stream.writableLength > 128 * 1024) await new Promise((r) => conns[0]!.stream.once("drain", () => r(undefined)));
    }
    await waitFor(() => read === 128 * chunk.length, "the reader to get everything");
    expect(conns[0]!.closed).toBe(false);

    const before = logs.length;
    const stalled = await rawClient(addr.tcp!.port);
    stalled.socket.pause();
    await waitFor(() => conns.length === 2, "the stalled peer's connection");
    // bounded at 64 MiB (the kernel's buffers take a few first)
    const sent = sendUntilClosed(conns[1]!, chunk, 64 * 1024 * 1024);
    expect(conns[1]!.closed).toBe(true);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    // reading again, the peer finds the connection ended after what the kernel had taken
    stalled.socket.resume();
    await waitFor(() => stalled.closed(), "the stalled peer to see its connection end");
    expect(logs.slice(before)).toContainEqual(["warn", "sip:transport peer does not read: connection closed"]);
    await expect(srv.send(chunk, { connectionId: conns[1]!.id })).rejects.toThrow();
    // the reader is untouched
    expect(conns[0]!.closed).toBe(false);
  });
});

describe("SipTransport over TLS", () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "herald-sip-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    cert = readFileSync(join(dir, "cert.pem"));
    key = readFileSync(join(dir, "key.pem"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("TLS listener and verified TLS client exchange messages both ways", async () => {
    const srv = new SipTransport({ tls: { host: "127.0.0.1", port: 0, cert, key }, logger });
    transports.push(srv);
    const addr = await srv.listen();
    expect(addr.tcp).toBeUndefined();
    const received: IncomingSipMessage[] = [];
    srv.on("message", (m) => received.push(m));
    const cli = new SipTransport({ tlsClient: { ca: cert, servername: "localhost" }, logger });
    transports.push(cli);
    const got: IncomingSipMessage[] = [];
    cli.on("message", (m) => got.push(m));
    const conn = await cli.send(register("TLS", 5061), { host: "127.0.0.1", port: addr.tls!.port, transport: "TLS" });
    expect(conn.transport).toBe("TLS");
    const inbound = await waitFor(() => received[0], "REGISTER over TLS");
    expect(inbound.connection.transport).toBe("TLS");
    inbound.connection.send(createResponse(inbound.message as SipRequest, 200, { toTag: "t" }));
    const res = await waitFor(() => got[0], "200 over TLS");
    expect((res.message as SipResponse).status).toBe(200);
  });

  it("an untrusted certificate is refused by the client", async () => {
    const srv = new SipTransport({ tls: { host: "127.0.0.1", port: 0, cert, key }, logger });
    transports.push(srv);
    const addr = await srv.listen();
    const cli = new SipTransport({ logger }); // no CA: default verification must fail
    transports.push(cli);
    await expect(cli.connect("127.0.0.1", addr.tls!.port, "TLS")).rejects.toThrow();
  });
});

describe("SipTransport under damaged input", () => {
  it("2,000 randomly damaged messages over real sockets: process survives, server keeps answering", async () => {
    const { mutate, prng } = await import("../../unit/sip/fuzz-helpers");
    const { t: srv, addr } = await server({ tcp: { host: "127.0.0.1", port: 0 }, maxHeaderSize: 4096, maxMessageSize: 8192 });
    srv.on("message", ({ message, connection }) => {
      if (message instanceof SipRequest) connection.send(createResponse(message, 200, { toTag: "f" }));
    });
    let errors = 0;
    srv.on("messageError", () => errors++);
    const rnd = prng(42);
    const base = serializeMessage(register("TCP", 5094));
    for (let conn = 0; conn < 20; conn++) {
      const c = await rawClient(addr.tcp!.port);
      c.socket.on("error", () => {}); // the server may close on us mid-write
      for (let i = 0; i < 100 && !c.closed(); i++) c.socket.write(mutate(base, rnd));
      c.socket.destroy();
    }
    await waitFor(() => srv.connectionCount === 0, "fuzz connections cleaned up");
    expect(errors).toBeGreaterThan(0);
    const ok = await rawClient(addr.tcp!.port);
    ok.socket.write(base);
    await waitFor(() => ok.data().startsWith("SIP/2.0 200 OK\r\n"), "server still answers");
    ok.socket.destroy();
  });
});
