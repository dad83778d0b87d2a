/**
 * SIP over WebSocket (RFC 7118) ↔ SIP over TCP/TLS relay. Attach `handleUpgrade` to an HTTP
 * server's `upgrade` event (the portal does), or run it on its own port with `listen`.
 *
 * Upgrade checks, in order: path, WebSocket upgrade request (400), version 13 (426, RFC 6455
 * §4.4), subprotocol `sip` (400, RFC 7118 §4.1), Origin (403), capacity (503), portal session
 * via `authenticate` (401), upstream connection (502). Only then is the 101 sent, so a browser
 * never holds a WebSocket without its upstream leg. Over the per-address or per-user connection
 * limit the upgrade completes only to close the WebSocket at once with 1008 and the reason (a
 * page cannot read the status of a refused upgrade, it can read a close reason).
 *
 * `closeUser` ends every connection of an account (4001 and a reason: its sessions ended), also
 * those whose upgrade was being authenticated at that moment.
 *
 * Upstream: a SIP server over TCP/TLS (one connection per WebSocket), or — `{ openFlow }` — a
 * SIP server in this process (the embedded one: `transport.openFlow()`), one in-memory flow per
 * WebSocket, which that server treats as an accepted TCP connection. The bridge handles both
 * alike (same rewriting, limits and close semantics); only the kernel hop is gone.
 */
import { CONTENT_TYPES } from "../presence/namespaces";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { DEFAULT_MAX_MESSAGE_SIZE, SipUri, componentLogger, connectStream, parseUri, type SipByteStream, type SipLogger, type TlsClientOptions } from "../sip";
import { BridgedConnection, WsClose, type ConnectionLimits } from "./bridged-connection";
import { newMetrics, snapshotMetrics, type BridgeMetrics, type UpgradeRejection } from "./metrics";
import { parseSessionAor } from "./rewrite";

/** The WebSocket subprotocol for SIP (RFC 7118 §4.1). */
export const SIP_SUBPROTOCOL = "sip";

export interface SipBridgeUpstream {
  host: string;
  port: number;
  /** Default "tcp". */
  transport?: "tcp" | "tls";
  /** Outbound TLS options (transport "tls"). The certificate is verified unless rejectUnauthorized is false. */
  tls?: TlsClientOptions;
  /** Default 5,000 ms. */
  connectTimeoutMs?: number;
}

/**
 * A SIP server in this process: one new in-memory flow per WebSocket (the embedded server's
 * `transport.openFlow()`), seen by the server as an accepted TCP connection. Throwing means the
 * server cannot take the connection (the upgrade is refused with 502). `peer` is who the bridge
 * vouches for: the session's user (`user@domain`), whom the bridge lets the browser be and nobody
 * else, and the browser's address — the server may treat the flow as authenticated for that user.
 */
export interface SipBridgeInProcessUpstream {
  openFlow: (peer: { aor: string; clientAddress?: string }) => SipByteStream;
  /** For logs. Default "in-process". */
  name?: string;
}

export interface SipBridgeLimits {
  /** Largest SIP message from the browser (WS maxPayload). Default 64 KiB. Larger WS frames close with 1009. */
  maxMessageBytes?: number;
  /**
   * Largest SIP message from the SIP server (upstream framer). Default 4 MiB: an RLS full-state
   * NOTIFY of a few hundred contacts (RFC 4662 multipart) is far above 64 KiB.
   */
  maxUpstreamMessageBytes?: number;
  /** Sustained SIP messages per second per connection, browser → bridge (token bucket). Default 50. */
  maxMessagesPerSecond?: number;
  /** Bucket size: messages allowed in a burst. Default 2 × maxMessagesPerSecond. */
  messageBurst?: number;
  /** Close a WebSocket whose browser has sent nothing, not even a pong, for this long; pings go out after a third of it. Default 60,000. 0 disables. */
  idleTimeoutMs?: number;
  /** RFC 5626 CRLFCRLF keep-alive towards upstream after this long without writing. Default 30,000. 0 disables. */
  upstreamKeepAliveMs?: number;
  /** Open plus in-progress bridged connections. Default 10,000. */
  maxConnections?: number;
  /** Open plus in-progress connections of one session user (after authentication); more are closed with 1008. Default 20. */
  maxConnectionsPerUser?: number;
  /** Open plus in-progress connections from one client address (before authentication); more are closed with 1008. Default 100. */
  maxConnectionsPerAddress?: number;
}

export interface SipBridgeOptions {
  /** URL path of the WebSocket endpoint. Default "/sip". */
  path?: string;
  upstream: SipBridgeUpstream | SipBridgeInProcessUpstream;
  /** The portal session for the upgrade request: `{ aor: "alice@example.test" }` or null (→ 401). */
  authenticate: (req: IncomingMessage) => Promise<{ aor: string } | null>;
  /**
   * Cross-site WebSocket hijacking guard. Default: when the request has an Origin header, its
   * host must equal the Host header; requests without Origin (non-browser clients) pass.
   */
  checkOrigin?: (origin: string | undefined, req: IncomingMessage) => boolean;
  limits?: SipBridgeLimits;
  /** The client address an upgrade request counts against (maxConnectionsPerAddress). Default: the socket's remote address. */
  clientAddress?: (req: IncomingMessage) => string;
  /** Messages are prefixed `bridge:ws`. */
  logger?: SipLogger;
}

export interface SipBridge {
  /** For an HTTP server's `upgrade` event: true when the path is the bridge's (the request is then handled, accepted or refused). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Standalone: an HTTP server of its own that only does the bridge's upgrades. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  metrics(): BridgeMetrics;
  /**
   * Close every connection of `aor` (`user@domain`) with 4001 and `reason` (its sessions ended),
   * including upgrades being authenticated now. Returns how many open connections were closed.
   */
  closeUser(aor: string, reason: string): number;
  /**
   * Close the one connection whose in-process flow the embedded server sees from port `flowPort`
   * (a registration the operator ended) with 4001 and `reason`. False when there is none.
   */
  closeFlow(flowPort: number, reason: string): boolean;
  /** Close every bridged connection (WS 1001, upstream FIN) and the standalone listener. */
  close(): Promise<void>;
}

/** `sip:host:port;transport=tcp|tls` (the SIP_UPSTREAM setting) → upstream options. Throws on anything else. */
export function parseUpstreamUri(text: string): SipBridgeUpstream {
  const uri = parseUri(text.trim());
  if (!(uri instanceof SipUri) || uri.user !== undefined) throw new Error(`SIP upstream must be sip:host[:port][;transport=tcp|tls], got ${JSON.stringify(text)}`);
  const t = uri.transport ?? (uri.scheme === "sips" ? "tls" : "tcp");
  if (t !== "tcp" && t !== "tls") throw new Error(`SIP upstream transport must be tcp or tls, got ${JSON.stringify(t)}`);
  return { host: uri.host.replace(/^\[|\]$/g, ""), port: uri.port ?? (t === "tls" ? 5061 : 5060), transport: t };
}

class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly kind: UpgradeRejection,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const DEFAULT_MAX_UPSTREAM_MESSAGE_SIZE = 4 * 1024 * 1024;

export function createSipBridge(options: SipBridgeOptions): SipBridge {
  const path = options.path ?? "/sip";
  const log = componentLogger("bridge:ws", options.logger);
  const l = options.limits ?? {};
  const rate = l.maxMessagesPerSecond ?? 50;
  const limits: ConnectionLimits = {
    maxMessageBytes: l.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_SIZE,
    maxUpstreamMessageBytes: l.maxUpstreamMessageBytes ?? DEFAULT_MAX_UPSTREAM_MESSAGE_SIZE,
    maxMessagesPerSecond: rate,
    messageBurst: l.messageBurst ?? rate * 2,
    idleTimeoutMs: l.idleTimeoutMs ?? 60_000,
    upstreamKeepAliveMs: l.upstreamKeepAliveMs ?? 30_000,
  };
  const maxConnections = l.maxConnections ?? 10_000;
  const maxPerUser = l.maxConnectionsPerUser ?? DEFAULT_MAX_CONNECTIONS_PER_USER;
  const maxPerAddress = l.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const clientAddress = options.clientAddress ?? remoteAddressOf;
  const upstreamOption = options.upstream;
  const inProcess = "openFlow" in upstreamOption ? upstreamOption : undefined;
  const upstream = inProcess ? undefined : (upstreamOption as SipBridgeUpstream);
  const upstreamName = inProcess ? (inProcess.name ?? "in-process") : `${upstream!.host}:${upstream!.port}`;
  const transport = upstream?.transport === "tls" ? "TLS" : "TCP";
  const checkOrigin = options.checkOrigin ?? sameOrigin;
  const metrics = newMetrics();
  const connections = new Set<BridgedConnection>();
  /** Open connections per session AOR (closeUser). */
  const byUser = new Map<string, Set<BridgedConnection>>();
  /** Open plus in-progress connections per user and per client address (the limits). */
  const userCounts = new Map<string, number>();
  const addressCounts = new Map<string, number>();
  /** closeUser calls so far, and the count at the last closeUser of an AOR (upgrades authenticated before it are closed too). */
  let revocations = 0;
  const revokedAt = new Map<string, number>();
  const revokedReason = new Map<string, string>();
  let pending = 0;
  let nextId = 1;
  let closed = false;
  let server: http.Server | undefined;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
  });

  // One timer for all connections: pings, idle timeouts, upstream keep-alives.
  const periods = [limits.idleTimeoutMs / 3, limits.upstreamKeepAliveMs].filter((p) => p > 0);
  const sweepMs = Math.max(20, Math.min(...periods) / 2);
  let lastSweep = Date.now();
  /**
   * End of the last stall of this process's event loop: a sweep late by more than a period ran
   * before the loop read what the browsers sent meanwhile (timers come before I/O), so silence
   * counts from there — a stall (a restart's reconnect storm) closed every page at once.
   */
  let stallEnd = 0;
  const sweep = periods.length > 0 ? setInterval(() => {
    const now = Date.now();
    if (now - lastSweep > 2 * sweepMs) stallEnd = now;
    lastSweep = now;
    for (const c of connections) c.tick(now, stallEnd);
  }, sweepMs) : undefined;
  sweep?.unref();

  function connectUpstream(peer: { aor: string; clientAddress?: string }): Promise<SipByteStream> {
    if (inProcess) {
      try {
        return Promise.resolve(inProcess.openFlow(peer));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const upstream = upstreamOption as SipBridgeUpstream;
    return connectStream({ host: upstream.host, port: upstream.port, transport, tls: upstream.tls, timeoutMs: upstream.connectTimeoutMs ?? 5000 });
  }

  function refuse(socket: Duplex, err: UpgradeRefused): void {
    metrics.upgradesRejected[err.kind]++;
    log("info", "upgrade refused", { status: err.status, kind: err.kind, reason: err.message });
    if (socket.destroyed || !socket.writable) return void socket.destroy();
    const body = err.message + "\n";
    const reason = http.STATUS_CODES[err.status] ?? "Error";
    let head = `HTTP/1.1 ${err.status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    for (const [k, v] of Object.entries(err.headers)) head += `${k}: ${v}\r\n`;
    socket.once("finish", () => socket.destroy());
    socket.end(head + "\r\n" + body);
  }

  /** Synchronous checks on the upgrade request. */
  function precheck(req: IncomingMessage): void {
    if (closed) throw new UpgradeRefused(503, "overloaded", "bridge is shutting down");
    if (req.method !== "GET" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      throw new UpgradeRefused(400, "badRequest", "WebSocket upgrade required");
    }
    if (req.headers["sec-websocket-version"] !== "13") {
      throw new UpgradeRefused(426, "badRequest", "WebSocket version 13 required", { "Sec-WebSocket-Version": "13" });
    }
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!offered.includes(SIP_SUBPROTOCOL)) {
      throw new UpgradeRefused(400, "badRequest", `WebSocket subprotocol "${SIP_SUBPROTOCOL}" required (RFC 7118)`);
    }
    if (!checkOrigin(req.headers.origin, req)) throw new UpgradeRefused(403, "forbiddenOrigin", "origin not allowed");
    if (connections.size + pending >= maxConnections) throw new UpgradeRefused(503, "overloaded", "too many connections", { "Retry-After": "5" });
  }

  /** Complete the upgrade only to close the WebSocket at once with `code` and `reason`. */
  function closeAtOnce(req: IncomingMessage, socket: Duplex, head: Buffer, kind: UpgradeRejection, code: number, reason: string): void {
    metrics.upgradesRejected[kind]++;
    log("info", "upgrade closed at once", { kind, code, reason });
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on("error", () => ws.terminate());
      ws.close(code, reason);
      // a client that never answers the close handshake is dropped
      setTimeout(() => ws.terminate(), 2000).unref();
    });
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      precheck(req);
    } catch (e) {
      return refuse(socket, e as UpgradeRefused);
    }
    const address = clientAddress(req);
    if (count(addressCounts, address, +1) > maxPerAddress) {
      count(addressCounts, address, -1);
      return closeAtOnce(req, socket, head, "addressLimit", WsClose.PolicyViolation, "too many connections from this address");
    }
    pending++;
    const startedAt = revocations;
    let user: string | undefined;
    let released = false;
    /** Give back this upgrade's places in the per-user and per-address counts (once). */
    const release = () => {
      if (released) return;
      released = true;
      if (user !== undefined) count(userCounts, user, -1);
      count(addressCounts, address, -1);
    };
    let handed = false;
    let upstreamSocket: SipByteStream | undefined;
    try {
      let session: { aor: string } | null;
      try {
        session = await options.authenticate(req);
      } catch (e) {
        log("error", "authenticate() failed", { error: e instanceof Error ? e.message : String(e) });
        throw new UpgradeRefused(500, "authError", "session check failed");
      }
      if (!session) throw new UpgradeRefused(401, "unauthorized", "login required");
      const identity = parseSessionAor(session.aor);
      if (!identity) {
        log("error", "authenticate() returned an invalid AOR", { aor: session.aor });
        throw new UpgradeRefused(500, "authError", "session check failed");
      }
      user = identity.aor;
      if (count(userCounts, user, +1) > maxPerUser) return closeAtOnce(req, socket, head, "userLimit", WsClose.PolicyViolation, "too many connections for this user");
      if (socket.destroyed) return;
      try {
        upstreamSocket = await connectUpstream({ aor: identity.aor, clientAddress: address });
      } catch (e) {
        log("warn", "cannot connect to SIP upstream", { upstream: upstreamName, error: e instanceof Error ? e.message : String(e) });
        throw new UpgradeRefused(502, "upstreamUnavailable", "SIP server unavailable");
      }
      if (socket.destroyed || closed) {
        upstreamSocket.destroy();
        return;
      }
      const up = upstreamSocket;
      // ws validates the key itself and answers 400 when it is bad; the upstream leg is then dropped
      const onAbort = () => up.destroy();
      socket.once("close", onAbort);
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        handed = true;
        socket.off("close", onAbort);
        if ((revokedAt.get(identity.aor) ?? -1) >= startedAt) {
          // the account's sessions ended while this upgrade was being authenticated
          up.destroy();
          release();
          metrics.upgradesRejected.sessionEnded++;
          ws.close(WsClose.SessionEnded, revokedReason.get(identity.aor) ?? "session ended");
          return;
        }
        const id = (nextId++).toString(36);
        const conn = new BridgedConnection({
          id,
          ws,
          upstream: up,
          transport,
          identity,
          limits,
          metrics,
          log,
          onClose: (c) => {
            if (!connections.delete(c)) return;
            metrics.connectionsOpen--;
            const set = byUser.get(identity.aor);
            set?.delete(c);
            if (set?.size === 0) byUser.delete(identity.aor);
            release();
          },
        });
        connections.add(conn);
        let set = byUser.get(identity.aor);
        if (!set) byUser.set(identity.aor, (set = new Set()));
        set.add(conn);
        metrics.connectionsOpen++;
        metrics.connectionsTotal++;
        log("debug", "bridged", { id, aor: identity.aor, local: `${up.localAddress}:${up.localPort}` });
      });
    } catch (e) {
      upstreamSocket?.destroy();
      if (e instanceof UpgradeRefused) return refuse(socket, e);
      log("error", "upgrade failed", { error: e instanceof Error ? e.stack : String(e) });
      socket.destroy();
    } finally {
      pending--;
      // handed over: the connection gives its places back when it closes; else (refused, ws
      // rejected the handshake) now
      if (!handed) release();
      if (pending === 0) {
        revokedAt.clear();
        revokedReason.clear();
      }
    }
  }

  return {
    handleUpgrade(req, socket, head) {
      if (pathOf(req.url) !== path) return false;
      socket.on("error", (err) => log("debug", "upgrade socket error", { error: err.message }));
      void upgrade(req, socket, head);
      return true;
    },

    listen(port, host = "0.0.0.0") {
      if (server) return Promise.reject(new Error("bridge is already listening"));
      const s = http.createServer((_req, res) => {
        res.writeHead(426, { "Content-Type": CONTENT_TYPES.text, Upgrade: "websocket", Connection: "Upgrade" });
        res.end(`SIP over WebSocket endpoint: upgrade at ${path} with subprotocol "${SIP_SUBPROTOCOL}"\n`);
      });
      s.on("upgrade", (req, socket, head) => {
        if (!this.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      });
      server = s;
      return new Promise<AddressInfo>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, host, () => {
          s.off("error", reject);
          s.on("error", (err) => log("error", "listener error", { error: err.message }));
          resolve(s.address() as AddressInfo);
        });
      });
    },

    metrics: () => snapshotMetrics(metrics),

    closeUser(aor, reason) {
      const key = parseSessionAor(aor)?.aor ?? aor;
      if (pending > 0) {
        revokedAt.set(key, revocations++);
        revokedReason.set(key, reason);
      }
      const set = byUser.get(key);
      if (!set) return 0;
      for (const c of set) c.close(WsClose.SessionEnded, reason);
      log("info", "connections of a user closed", { aor: key, count: set.size, reason });
      return set.size;
    },

    closeFlow(flowPort, reason) {
      if (!inProcess) return false;
      for (const c of connections) {
        if (c.upstreamPort !== flowPort) continue;
        c.close(WsClose.SessionEnded, reason);
        log("info", "connection closed by the operator", { id: c.id, aor: c.identity.aor, reason });
        return true;
      }
      return false;
    },

    async close() {
      closed = true;
      if (sweep) clearInterval(sweep);
      for (const c of connections) c.close(WsClose.GoingAway, "bridge shutting down");
      // give closing handshakes a bounded moment, then drop whatever is left
      const deadline = Date.now() + 2000;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      for (const c of connections) c.destroy();
      wss.close();
      const s = server;
      server = undefined;
      if (s) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

export const DEFAULT_MAX_CONNECTIONS_PER_USER = 20;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 100;

/** Add `delta` to the count of `key` (entries at zero are removed); returns the new count. */
function count(m: Map<string, number>, key: string, delta: number): number {
  const n = (m.get(key) ?? 0) + delta;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
  return n;
}

/** The default client address of an upgrade: the TCP peer. */
function remoteAddressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? "unknown";
}

function pathOf(url: string | undefined): string {
  if (!url) return "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** Default Origin policy: same host as the request (or no Origin at all, i.e. not a browser). */
function sameOrigin(origin: string | undefined, req: IncomingMessage): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? "").toLowerCase();
  } catch {
    return false;
  }
}
