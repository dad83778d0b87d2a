/**
 * A tiny SIP server over TCP (or TLS) for bridge tests: frames each connection with
 * SipStreamParser, records what arrives (parsed and raw), answers requests with 200 (REGISTER
 * echoes the Contact), answers CRLFCRLF pings with CRLF, and lets the test send on a connection.
 */
import net, { type AddressInfo, type Socket } from "node:net";
import tls from "node:tls";
import { SipRequest, SipStreamParser, createResponse, generateTag, serializeMessage, type SipMessageAny } from "../../../lib/sip";

export interface UpstreamConnection {
  socket: Socket;
  received: Array<{ msg: SipMessageAny; raw: Buffer }>;
  keepAlives: Array<"ping" | "pong">;
  /** Every byte received, as latin1 text. */
  bytes: string;
  ended: boolean;
  closed: boolean;
  send(data: Buffer | string): void;
}

export interface FakeUpstream {
  port: number;
  connections: UpstreamConnection[];
  /** Set to false to stop auto-answering requests. */
  autoAnswer: boolean;
  close(): Promise<void>;
}

export async function startFakeUpstream(opts: { tls?: { cert: Buffer; key: Buffer } } = {}): Promise<FakeUpstream> {
  const connections: UpstreamConnection[] = [];
  const state = { autoAnswer: true };
  const onSocket = (socket: Socket) => {
    const conn: UpstreamConnection = {
      socket,
      received: [],
      keepAlives: [],
      bytes: "",
      ended: false,
      closed: false,
      send: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
    };
    connections.push(conn);
    const framer = new SipStreamParser();
    framer.on("message", (msg, raw) => {
      conn.received.push({ msg, raw: Buffer.from(raw) });
      if (state.autoAnswer && msg instanceof SipRequest && msg.method !== "ACK") {
        const headers: Array<[string, string]> = [];
        if (msg.method === "REGISTER") for (const c of msg.getHeaders("Contact")) headers.push(["Contact", `${c};expires=600`]);
        socket.write(serializeMessage(createResponse(msg, 200, { toTag: generateTag(), headers })));
      }
    });
    framer.on("keepalive", (kind) => {
      conn.keepAlives.push(kind);
      if (kind === "ping") socket.write("\r\n");
    });
    framer.on("framingError", () => socket.destroy());
    socket.on("data", (d: Buffer) => {
      conn.bytes += d.toString("latin1");
      framer.push(d);
    });
    socket.on("end", () => (conn.ended = true));
    socket.on("close", () => (conn.closed = true));
    socket.on("error", () => {});
  };
  const server = opts.tls ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onSocket) : net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connections,
    get autoAnswer() {
      return state.autoAnswer;
    },
    set autoAnswer(v: boolean) {
      state.autoAnswer = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}
