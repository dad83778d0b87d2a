/**
 * SIP over TCP and TLS (RFC 3261 §18, RFC 5626 keep-alive, RFC 5923 connection reuse).
 *
 * - Listens on TCP and/or TLS (port 0 allowed; `listen()` reports the real ports).
 * - Every connection, inbound or outbound, gets its own `SipStreamParser`; each message is
 *   emitted as `{ message, connection }`. Requests get `received`/`rport` filled in on the top Via
 *   (§18.2.1, RFC 3581) so responses and later requests can find the connection.
 * - Connection ids are `<kind>-<run>-<n>`: `run` is random per transport instance, so an id kept
 *   in stored state (a registration, a subscription) never names a connection of a later run.
 * - TCP/TLS connections are aliased by their remote source address and, through `addAlias`, by the
 *   Via sent-by a client offers with `;alias` (RFC 5923). The transport never takes an alias from
 *   a request by itself: RFC 5923 §9 allows it only for a peer authenticated for that address, which
 *   the server decides (once a request authenticated, it registers that request's `offeredAlias`
 *   with `addAlias`). Lookups by address take a `reuse` predicate: a connection found
 *   by address is used only when the caller accepts it (we dialled it, or its owner is the one the
 *   request is for), so an address claimed by one peer never captures another's requests.
 * - A malformed request is answered with 400 (or the error's status) when enough headers survive,
 *   otherwise its connection is closed; a framing error closes the connection, after a 513 for a
 *   message too large when its header block allows one. Nothing a peer sends can throw out of
 *   this class.
 * - `openFlow()` accepts an in-process peer (the WebSocket bridge in front of the embedded
 *   server) over an in-memory flow instead of a loopback TCP socket. The server sees it as an
 *   accepted TCP connection (own id, framer and size limits, received/rport, idle timeout,
 *   `connectionClosed`), with the owner and client address the bridge vouches for. Its peer address
 *   is `0.0.0.0` with a port unique among the open flows (ports are reused once a flow is gone), so
 *   a flow is never found by address at all: no aliases, and that address is never dialled. It is
 *   reached only by its connection id; once it is gone, requests towards it fail at once (RFC 5626
 *   §5.3: a failed flow is not replaced by a new one).
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { connectStream, type TlsClientOptions } from "./connect";
import { SipConnection, normalizeAddress, type SipByteStream, type SipConnectionOptions, type StreamTransport } from "./connection";
import { buildErrorResponse } from "./error-response";
import { componentLogger, type SipLogger } from "./logger";
import { MemoryFlowEnd, createMemoryFlow } from "./memory-flow";
import { SipRequest, type SipMessageAny } from "./message";
import { SipParseError } from "./parse-error";
import { SipStreamParser, type KeepAliveKind } from "./stream-parser";
import { realTimers, type TimerApi } from "./timers";
import { UnfinishedMessageTimer } from "./unfinished-message-timer";

const BRACKETS_RE = /^\[|\]$/g;
/**
 * Peer address of in-process flows: the unspecified address is never the source of a real TCP
 * connection (RFC 1122 §3.2.1.3), so flow aliases cannot collide with TCP peers', and it is never
 * a destination: `connect()` refuses it.
 */
export const IN_PROCESS_FLOW_HOST = "0.0.0.0";
const UNSPECIFIED_HOSTS = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);

export interface SipTransportOptions {
  /** TCP listener; omit to not listen on TCP. */
  tcp?: { host?: string; port?: number };
  /** TLS listener, enabled when cert and key are given. */
  tls?: { host?: string; port?: number; cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /** Options for outbound TLS connections (default verifies the server certificate). */
  tlsClient?: TlsClientOptions;
  /** Close connections idle this long (ms). Default 600,000 (10 min, longer than RFC 5626 keep-alive). 0 disables. */
  idleTimeoutMs?: number;
  /** Outbound connect timeout (ms). Default 10,000. */
  connectTimeoutMs?: number;
  maxHeaderSize?: number;
  maxMessageSize?: number;
  /** Maximum simultaneous inbound connections per listener, and open in-process flows. Default 10,000. */
  maxConnections?: number;
  /**
   * Inbound TCP/TLS connections one source address may hold at once; one more is closed as soon
   * as it is accepted. In-process flows (the bridge, which limits its own users) are not counted.
   * Default 100; 0 = no limit.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Header timeout (ms): a connection whose message (header block or body) is still unfinished
   * this long after its first byte arrived is closed. Default 30,000; 0 disables.
   */
  headerTimeoutMs?: number;
  /** Timers for the header timeout (tests: fake time). Default real timers. */
  timers?: TimerApi;
  /**
   * Bytes a peer may leave unread on its connection before the connection is destroyed (see
   * DEFAULT_MAX_SEND_BACKLOG, the default: 4 MiB); 0 = no limit.
   */
  maxSendBacklogBytes?: number;
  logger?: SipLogger;
}

export interface IncomingSipMessage {
  message: SipMessageAny;
  connection: SipConnection;
}

export interface SipTransportEvents {
  message: [incoming: IncomingSipMessage];
  connection: [connection: SipConnection];
  connectionClosed: [connection: SipConnection];
  keepalive: [connection: SipConnection, kind: KeepAliveKind];
  /** A message could not be parsed (answered with 4xx when possible). */
  messageError: [error: SipParseError, connection: SipConnection];
}

export interface ListenAddresses {
  tcp?: AddressInfo;
  tls?: AddressInfo;
}

export class SipTransport extends EventEmitter<SipTransportEvents> {
  private readonly options: SipTransportOptions;
  private readonly log: SipLogger;
  private tcpServer?: Server;
  private tlsServer?: Server;
  private readonly connections = new Map<string, SipConnection>();
  private readonly aliases = new Map<string, string>();
  /** Alias keys each connection was given, so a close removes its own without scanning them all. */
  private readonly aliasKeysOf = new Map<string, string[]>();
  private readonly pendingConnects = new Map<string, Promise<SipConnection>>();
  /** Open in-process flows by their synthetic peer port. */
  private readonly flows = new Map<number, SipConnection>();
  /** Open inbound TCP/TLS connections by source address (`maxConnectionsPerAddress`). */
  private readonly perAddress = new Map<string, number>();
  private nextFlowPort = 1;
  private nextId = 1;
  /** Random per transport instance: ids of an earlier run (in stored state) never match ours. */
  readonly runId = randomBytes(4).toString("hex");
  private addresses: ListenAddresses = {};

  constructor(options: SipTransportOptions = {}) {
    super();
    this.options = options;
    this.log = componentLogger("sip:transport", options.logger);
  }

  /** Start the configured listeners; resolves with the bound addresses (real ports when 0 was asked). */
  async listen(): Promise<ListenAddresses> {
    const { tcp, tls } = this.options;
    if (tcp) {
      this.tcpServer = createTcpServer((s) => this.accept(s, "TCP"));
      this.addresses.tcp = await this.bind(this.tcpServer, tcp.host ?? "0.0.0.0", tcp.port ?? 5060);
    }
    if (tls) {
      const opts: TlsOptions = { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.requestCert ?? false, rejectUnauthorized: false };
      this.tlsServer = createTlsServer(opts, (s) => this.accept(s, "TLS"));
      this.tlsServer.on("tlsClientError", (err) => this.log("info", "TLS handshake failed", { error: err.message }));
      this.addresses.tls = await this.bind(this.tlsServer, tls.host ?? "0.0.0.0", tls.port ?? 5061);
    }
    return { ...this.addresses };
  }

  get listening(): ListenAddresses {
    return { ...this.addresses };
  }

  private bind(server: Server, host: string, port: number): Promise<AddressInfo> {
    server.maxConnections = this.options.maxConnections ?? 10_000;
    server.on("error", (err) => this.log("error", "listener error", { error: err.message }));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** Connection by id, if still open. */
  getConnection(id: string): SipConnection | undefined {
    const c = this.connections.get(id);
    return c && !c.closed ? c : undefined;
  }

  /**
   * An open TCP/TLS connection to/from host:port (source address or alias), optionally of one
   * transport, that `reuse` accepts (default: any). In-process flows are never found by address.
   */
  findConnection(host: string, port: number, transport?: StreamTransport, reuse?: (c: SipConnection) => boolean): SipConnection | undefined {
    for (const t of transport ? [transport] : (["TLS", "TCP"] as const)) {
      const id = this.aliases.get(aliasKey(t, host, port));
      const c = id ? this.getConnection(id) : undefined;
      if (c && (!reuse || reuse(c))) return c;
    }
    return undefined;
  }

  /**
   * Make `host:port` resolve to this connection (RFC 5923 alias, or a registered Contact). The
   * caller vouches for the peer (RFC 5923 §9: only for a peer authenticated for that address).
   * Ignored for in-process flows, which have no address.
   */
  addAlias(connection: SipConnection, host: string, port: number): void {
    if (connection.closed || connection.inProcess) return; // a closed one's aliases are already gone
    // a client offers the same alias on every request (RFC 5923): its key is computed once
    const last = connection.lastAlias;
    const key = last && last.host === host && last.port === port ? last.key : aliasKey(connection.transport, host, port);
    if (key !== last?.key) connection.lastAlias = { host, port, key };
    if (this.aliases.get(key) === connection.id) return;
    this.aliases.set(key, connection.id);
    const keys = this.aliasKeysOf.get(connection.id);
    if (keys) keys.push(key);
    else this.aliasKeysOf.set(connection.id, [key]);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * The `;alias` a request offers for its connection (RFC 5923 §5): the top Via's sent-by when it
   * carries the parameter. Register it with `addAlias` once the peer is trusted for it.
   */
  offeredAlias(request: SipRequest, connection: SipConnection): { host: string; port: number } | undefined {
    const top = request.topVia;
    if (!top || !top.params.has("alias")) return undefined;
    return { host: top.host.replace(BRACKETS_RE, ""), port: top.port ?? (connection.transport === "TLS" ? 5061 : 5060) };
  }

  /**
   * Reuse an open connection to host:port or open one (TCP or TLS). An existing connection is
   * reused only when `reuse` accepts it; default: only one we dialled ourselves.
   */
  connect(host: string, port: number, transport: StreamTransport = "TCP", reuse: (c: SipConnection) => boolean = isOutbound): Promise<SipConnection> {
    const existing = this.findConnection(host, port, transport, reuse);
    if (existing) return Promise.resolve(existing);
    if (UNSPECIFIED_HOSTS.has(host.toLowerCase().replace(BRACKETS_RE, ""))) {
      // an in-process flow that is gone (or a bogus Contact): the unspecified address is no destination
      return Promise.reject(new Error(`${host}:${port} is not reachable (closed in-process flow or unspecified address)`));
    }
    const key = aliasKey(transport, host, port);
    const pending = this.pendingConnects.get(key);
    if (pending) return pending;
    const p = connectStream({ host, port, transport, tls: this.options.tlsClient, timeoutMs: this.options.connectTimeoutMs ?? 10_000 }).then((socket) => {
      const conn = this.adopt(socket, transport, "outbound");
      this.addAlias(conn, host, port);
      return conn;
    });
    this.pendingConnects.set(key, p);
    const done = () => this.pendingConnects.delete(key);
    p.then(done, done);
    return p;
  }

  /**
   * Send over a known connection (by id) or to host:port (reusing or opening a connection).
   * Throws/rejects when the connection is gone — a transport error for the transaction layer.
   */
  async send(message: SipMessageAny | Buffer, target: { connectionId: string } | { host: string; port: number; transport?: StreamTransport }): Promise<SipConnection> {
    let conn: SipConnection | undefined;
    if ("connectionId" in target) {
      conn = this.getConnection(target.connectionId);
      if (!conn) throw new Error(`connection ${target.connectionId} is gone`);
    } else {
      conn = await this.connect(target.host, target.port, target.transport ?? "TCP");
    }
    conn.send(message);
    return conn;
  }

  async close(): Promise<void> {
    for (const c of [...this.connections.values()]) c.destroy();
    const closeServer = (s?: Server) => new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    await Promise.all([closeServer(this.tcpServer), closeServer(this.tlsServer)]);
    this.tcpServer = this.tlsServer = undefined;
    this.addresses = {};
  }

  /**
   * Accept an in-process peer: a new in-memory flow whose server end is adopted as an inbound
   * TCP connection (see the module comment); the peer's end is returned. Throws when
   * `maxConnections` flows are open.
   */
  openFlow(options: { owner?: string; clientAddress?: string; asserts?: (aor: string) => boolean } = {}): MemoryFlowEnd {
    const max = Math.min(this.options.maxConnections ?? 10_000, 65_535);
    if (this.flows.size >= max) throw new Error(`too many in-process flows (${this.flows.size})`);
    let port = this.nextFlowPort;
    while (this.flows.has(port)) port = (port % 65_535) + 1;
    this.nextFlowPort = (port % 65_535) + 1;
    const listener = this.addresses.tcp ?? this.addresses.tls;
    const host = !listener || UNSPECIFIED_HOSTS.has(listener.address) ? "127.0.0.1" : listener.address;
    const [peerEnd, serverEnd] = createMemoryFlow({ address: IN_PROCESS_FLOW_HOST, port }, { address: host, port: listener?.port ?? 0 });
    const conn = this.adopt(serverEnd, "TCP", "inbound", "flow", { inProcess: true, owner: options.owner, clientAddress: options.clientAddress, asserts: options.asserts });
    this.flows.set(port, conn);
    conn.once("close", () => this.flows.delete(port));
    return peerEnd;
  }

  /** Open in-process flows. */
  get flowCount(): number {
    return this.flows.size;
  }

  private accept(socket: Socket, transport: StreamTransport): void {
    try {
      const address = normalizeAddress(socket.remoteAddress ?? "");
      const max = this.options.maxConnectionsPerAddress ?? 100;
      const open = this.perAddress.get(address) ?? 0;
      if (max > 0 && open >= max) {
        this.log("info", "too many connections from one address, closing the new one", { address, open });
        socket.on("error", () => {}); // a reset racing the close is no concern of ours
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const conn = this.adopt(socket, transport, "inbound");
      this.perAddress.set(address, open + 1);
      conn.once("close", () => {
        const n = (this.perAddress.get(address) ?? 1) - 1;
        if (n > 0) this.perAddress.set(address, n);
        else this.perAddress.delete(address);
      });
    } catch (e) {
      this.log("error", "failed to set up connection", { error: String(e) });
      socket.destroy();
    }
  }

  private adopt(socket: SipByteStream, transport: StreamTransport, direction: "inbound" | "outbound", kind: string = transport.toLowerCase(), options?: SipConnectionOptions): SipConnection {
    const id = `${kind}-${this.runId}-${this.nextId++}`;
    const maxSendBacklog = this.options.maxSendBacklogBytes;
    const conn = new SipConnection(id, transport, socket, direction, maxSendBacklog === undefined ? options : { ...options, maxSendBacklog });
    conn.on("backlog", (bytes) => this.log("warn", "peer does not read: connection closed", { id, address: conn.clientAddress, unreadBytes: bytes }));
    this.connections.set(id, conn);
    this.addAlias(conn, conn.remoteAddress, conn.remotePort); // a source address; not for flows
    socket.on("error", (err) => this.log("debug", "socket error", { id, error: err.message }));
    const idle = this.options.idleTimeoutMs ?? 600_000;
    if (idle > 0) {
      socket.setTimeout(idle, () => {
        this.log("debug", "idle timeout", { id });
        conn.close();
      });
    }
    const framer = new SipStreamParser({ maxHeaderSize: this.options.maxHeaderSize, maxMessageSize: this.options.maxMessageSize });
    const unfinished = this.unfinishedMessageTimer(conn);
    framer.on("message", (message) => {
      unfinished.messageCompleted();
      this.onMessage(message, conn);
    });
    framer.on("parseError", (err, raw) => {
      unfinished.messageCompleted();
      this.onParseError(err, raw, conn);
    });
    framer.on("keepalive", (kind) => {
      if (kind === "ping") conn.sendPong(); // RFC 5626 §4.4.1: answer CRLFCRLF with CRLF
      this.safeEmit("keepalive", conn, kind);
    });
    framer.on("framingError", (err, head) => {
      this.log("info", "framing error, closing connection", { id, code: err.code });
      this.safeEmit("messageError", err, conn);
      if (head) this.answerMalformed(head, err, conn); // 513 where the header block allows one (RFC 3261 §21.5.14)
      conn.close();
    });
    // parser bug or a throwing listener: never crash the process because of one peer
    const fail = (e: unknown) => {
      this.log("error", "unexpected error handling data, closing connection", { id, error: String(e) });
      conn.destroy();
    };
    socket.on("data", (chunk: Buffer) => {
      try {
        framer.push(chunk);
        unfinished.afterData(framer.unfinished);
      } catch (e) {
        fail(e);
      }
    });
    if (socket instanceof MemoryFlowEnd) {
      // the in-process peer (the bridge) parsed this message already, with the framer's own parse
      socket.on("message", (raw: Buffer, msg: SipMessageAny | undefined) => {
        try {
          if (!msg || !framer.acceptParsed(raw, msg)) framer.push(raw);
          unfinished.afterData(framer.unfinished);
        } catch (e) {
          fail(e);
        }
      });
    }
    socket.on("end", () => framer.end());
    conn.once("close", () => {
      this.connections.delete(id);
      for (const k of this.aliasKeysOf.get(id) ?? []) if (this.aliases.get(k) === id) this.aliases.delete(k);
      this.aliasKeysOf.delete(id);
      this.safeEmit("connectionClosed", conn);
    });
    this.safeEmit("connection", conn);
    return conn;
  }

  /** The header timeout of one connection (`headerTimeoutMs`), disposed when it closes. */
  private unfinishedMessageTimer(conn: SipConnection): UnfinishedMessageTimer {
    const t = new UnfinishedMessageTimer(this.options.headerTimeoutMs ?? 30_000, this.options.timers ?? realTimers, () => {
      this.log("info", "unfinished message timed out, closing connection", { id: conn.id });
      conn.close();
    });
    conn.once("close", () => t.dispose());
    return t;
  }

  private onMessage(message: SipMessageAny, conn: SipConnection): void {
    if (message instanceof SipRequest) {
      const vias = message.via;
      const top = vias[0].clone();
      let changed = false;
      // RFC 3261 §18.2.1: received when sent-by host differs from the source address
      if (top.host.replace(BRACKETS_RE, "") !== conn.remoteAddress) {
        top.received = conn.remoteAddress;
        changed = true;
      }
      // RFC 3581 §4: fill in rport when asked
      if (top.rport === true) {
        top.rport = conn.remotePort;
        top.received = conn.remoteAddress;
        changed = true;
      }
      if (changed) message.setHeader("Via", [top, ...message.getHeaders("Via").slice(1)]);
      // RFC 5923 `;alias` is not taken here: §9 wants the peer authenticated for it (the server's call)
    }
    this.safeEmit("message", { message, connection: conn });
  }

  /**
   * A framed message that does not parse. A request is answered with the error's status and
   * specific reason when a response can be formed (Via, From, To, Call-ID and CSeq present,
   * RFC 3261 §8.2.6.2); a malformed response is dropped (§18.1.2); anything else — no SIP
   * request line, or a request nobody could match an answer to — closes the connection, so the
   * peer learns at once instead of waiting for its transaction timers.
   */
  private onParseError(err: SipParseError, raw: Buffer, conn: SipConnection): void {
    this.log("info", "malformed message", { id: conn.id, code: err.code, reason: err.reason });
    this.safeEmit("messageError", err, conn);
    if (this.answerMalformed(raw, err, conn)) return;
    if (raw.length >= 4 && raw.toString("latin1", 0, 4) === "SIP/") return;
    this.log("info", "malformed request cannot be answered, closing connection", { id: conn.id, code: err.code });
    conn.close();
  }

  /** Answer a malformed or oversized request with `err`'s status when its bytes allow a response; true if sent. */
  private answerMalformed(raw: Buffer, err: SipParseError, conn: SipConnection): boolean {
    try {
      const response = buildErrorResponse(raw, err);
      if (!response) return false;
      conn.send(response);
      return true;
    } catch (e) {
      this.log("debug", "could not send error response", { id: conn.id, error: String(e) });
      return false;
    }
  }

  /** Listener exceptions are logged, never propagated into socket handling. */
  private safeEmit<K extends keyof SipTransportEvents>(event: K, ...args: SipTransportEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SipTransportEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log("error", `listener for ${String(event)} threw`, { error: e instanceof Error ? e.message : String(e) });
    }
  }
}

function isOutbound(c: SipConnection): boolean {
  return c.direction === "outbound";
}

function aliasKey(transport: StreamTransport, host: string, port: number): string {
  return `${transport}|${host.toLowerCase().replace(BRACKETS_RE, "")}|${port}`;
}

