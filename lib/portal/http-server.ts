/**
 * Herald's HTTP server: the Next.js portal (pages, server actions, XCAP route handlers) on one
 * port, with WebSocket upgrades handed to registered handlers (the SIP bridge at /sip).
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { existsSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import next from "next";
import { CLIENT_IP_HEADER, clientAddress, normalizeIp } from "./client-address";
import { badCallbackUrl } from "./callback-url";

export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean;

export interface PortalServer {
  server: http.Server;
  port: number;
  /** Add a handler for WebSocket upgrades; it returns true when it took the request. */
  onUpgrade(handler: UpgradeHandler): void;
  close(): Promise<void>;
}

export const APP_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

export function hasBuild(dir = APP_DIR): boolean {
  return existsSync(path.join(dir, ".next", "BUILD_ID"));
}

/** Run `next build` (used by `npm start` when no build exists yet). */
export function buildPortal(dir = APP_DIR): Promise<void> {
  return new Promise((resolve, reject) => {
    const bin = path.join(dir, "node_modules", "next", "dist", "bin", "next");
    const child = spawn(process.execPath, [bin, "build"], {
      cwd: dir,
      stdio: "inherit",
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code})`))));
  });
}

export interface PortalServerOptions {
  host: string;
  port: number;
  trustForwardedHost?: boolean;
  /** Public XCAP root path when it is not the internal /xcap-root route. */
  xcapRootPath?: string;
  /** Reverse proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES). Default none. */
  trustedProxies?: readonly string[];
  /**
   * An unfinished request head older than this closes the connection (HTTP_HEADER_TIMEOUT_SECONDS),
   * ms. Default 30,000. The whole request (body included) gets at most 300 s or this, if longer.
   */
  headerTimeoutMs?: number;
  /**
   * Serves the XCAP root (`/xcap-root`, after the XCAP_ROOT_PATH mapping) itself, before Next.js
   * routing: Next's router, its request and response adapters and web streams cost several times
   * the XCAP request (measured, issue 13). Default: Next's route (app/xcap-root).
   */
  xcap?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
}

export const DEFAULT_HEADER_TIMEOUT_MS = 30_000;

/** Request heads parsed on each connection (the header timeout's second look). */
const heads = new WeakMap<object, number>();
const headSeen = (socket: object) => heads.set(socket, (heads.get(socket) ?? 0) + 1);

/**
 * Node's own answers to a client error (what `server` does without a `clientError` listener).
 * A header timeout (ERR_HTTP_REQUEST_TIMEOUT) gets a second look first: Node measures it from the
 * accept, so a connection accepted while the event loop was busy — a reconnect storm of pages
 * after a restart, each setting up its SIP — can time out before its request, waiting in the
 * socket, was ever read; closing it then resets the connection (ECONNRESET at the page). The poll
 * phase that follows reads what arrived: a head parsed by then is served; a peer still short of
 * its head (slowloris) is closed as before, one loop turn later.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const close = () => {
    if (socket.destroyed) return;
    if (socket.writable && socket.bytesWritten === 0) socket.write(CLIENT_ERROR_RESPONSES[err.code ?? ""] ?? BAD_REQUEST);
    socket.destroy(err);
  };
  if (err.code !== "ERR_HTTP_REQUEST_TIMEOUT") return close();
  const seen = heads.get(socket) ?? 0;
  setImmediate(() => {
    if ((heads.get(socket) ?? 0) === seen) close();
  });
}

const BAD_REQUEST = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
const CLIENT_ERROR_RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
};

export async function startPortal(opts: PortalServerOptions & { dir?: string }): Promise<PortalServer> {
  const dir = opts.dir ?? APP_DIR;
  const app = next({ dev: false, dir, hostname: opts.host, port: opts.port });
  await app.prepare();
  return listenPortal(app.getRequestHandler(), opts);
}

/**
 * The portal's HTTP server around a request handler (Next.js's in production): the client address
 * header, the callbackUrl check, the XCAP root mapping, header timeouts and WebSocket upgrades.
 */
export async function listenPortal(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  opts: PortalServerOptions,
): Promise<PortalServer> {
  const upgradeHandlers: UpgradeHandler[] = [];
  const trusted = new Set((opts.trustedProxies ?? []).map(normalizeIp));
  const headersTimeout = opts.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
  /** Herald's view of who sent the request; never one sent by the client. */
  const identify = (req: http.IncomingMessage) => {
    req.headers[CLIENT_IP_HEADER] = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
    if (!opts.trustForwardedHost) delete req.headers["x-forwarded-host"];
  };
  const server = http.createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(300_000, headersTimeout),
      // how often the timeouts above are checked (Node's default, 30 s, would let a slow client
      // stay up to that much longer)
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    },
    (req, res) => {
      identify(req);
      // a callbackUrl with control characters is refused, not cleaned: browsers drop tabs and
      // newlines from URLs, which is how `/\t/evil.example` becomes `//evil.example`
      if (badCallbackUrl(req.url)) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        res.end("Bad Request: callbackUrl must not contain control characters");
        return;
      }
      const root = opts.xcapRootPath;
      if (root && root !== "/xcap-root" && req.url && (req.url === root || req.url.startsWith(root + "/"))) {
        req.url = "/xcap-root" + req.url.slice(root.length);
      }
      const direct = opts.xcap && req.url && (req.url.startsWith("/xcap-root/") || req.url.startsWith("/xcap-root?") || req.url === "/xcap-root");
      (direct ? opts.xcap!(req, res) : handle(req, res)).catch((err: unknown) => {
        if (res.headersSent) res.destroy();
        else {
          res.statusCode = 500;
          res.end("Internal Server Error");
        }
        process.emitWarning(`portal request failed: ${(err as Error)?.message ?? err}`);
      });
    },
  );
  server.on("request", (req) => headSeen(req.socket));
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket as Socket));
  server.on("upgrade", (req, socket, head) => {
    headSeen(req.socket);
    identify(req);
    for (const h of upgradeHandlers) if (h(req, socket, head)) return;
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    server,
    port,
    onUpgrade: (h) => upgradeHandlers.push(h),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
