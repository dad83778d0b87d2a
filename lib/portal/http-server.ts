/**
 * Herald's HTTP server: the Next.js portal (pages, server actions, XCAP route handlers) on one
 * port, with WebSocket upgrades handed to registered handlers (the SIP bridge at /sip).
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { existsSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import next from "next";
import { CLIENT_IP_HEADER } from "../auth";

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

export async function startPortal(opts: {
  host: string;
  port: number;
  dir?: string;
  trustForwardedHost?: boolean;
  /** Public XCAP root path when it is not the internal /xcap-root route. */
  xcapRootPath?: string;
}): Promise<PortalServer> {
  const dir = opts.dir ?? APP_DIR;
  const app = next({ dev: false, dir, hostname: opts.host, port: opts.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const upgradeHandlers: UpgradeHandler[] = [];
  const server = http.createServer((req, res) => {
    // the client address as this server saw it; never trust one sent by the client
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "unknown";
    if (!opts.trustForwardedHost) delete req.headers["x-forwarded-host"];
    const root = opts.xcapRootPath;
    if (root && root !== "/xcap-root" && req.url && (req.url === root || req.url.startsWith(root + "/"))) {
      req.url = "/xcap-root" + req.url.slice(root.length);
    }
    handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end("Internal Server Error");
      process.emitWarning(`portal request failed: ${(err as Error)?.message ?? err}`);
    });
  });
  server.on("upgrade", (req, socket, head) => {
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
