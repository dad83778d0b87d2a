/**
 * A browser's SIP without a browser: a WebSocket to Herald's bridge (`/sip`) with a portal session
 * cookie, one SIP message per frame (RFC 7118), and SipTestClient speaking over it.
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { encode } from "next-auth/jwt";
import { generateTag, type SipByteStream } from "../../lib/sip";
import { SipTestClient, type SipTestClientOptions } from "./sip-client";

/** What the portal's sign-in puts in the session token (lib/portal/auth.ts): account id, address, session epoch. */
export async function bridgeSessionCookie(accountId: number | string, address: string, secret: string, epoch = 0): Promise<string> {
  return `next-auth.session-token=${await encode({ token: { sub: String(accountId), address, epoch }, secret })}`;
}

/** The part of a socket SipTestClient uses, over a WebSocket (the bridge rewrites Via and Contact). */
export function wsSipStream(ws: WebSocket): SipByteStream {
  const e = new EventEmitter();
  ws.on("message", (data) => e.emit("data", Buffer.from(data as Buffer)));
  ws.on("close", () => e.emit("close"));
  ws.on("error", (err) => e.emit("error", err));
  return Object.assign(e, {
    localAddress: `${generateTag()}.invalid`,
    localPort: 5060,
    get destroyed() {
      return ws.readyState === WebSocket.CLOSED;
    },
    writableEnded: false,
    write: (d: Buffer | string) => {
      ws.send(d.toString());
      return true;
    },
    end: () => ws.close(),
    destroy: () => ws.terminate(),
    pause: () => undefined,
    resume: () => undefined,
    setTimeout: () => undefined,
  }) as unknown as SipByteStream;
}

/** Open a WebSocket to `baseUrl`'s bridge with `cookie` (from `localAddress`, e.g. 127.0.0.7, when given). */
export async function openBridgeSocket(baseUrl: string, cookie: string, localAddress?: string): Promise<WebSocket> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/sip`, "sip", { headers: { cookie }, perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`bridge upgrade refused: ${res.statusCode}`)));
  });
  return ws;
}

/** A SipTestClient over a bridge WebSocket (`options.host`/`port` are unused). */
export async function connectBridged(ws: WebSocket, options: Omit<SipTestClientOptions, "host" | "port" | "stream">): Promise<SipTestClient> {
  return SipTestClient.connect({ ...options, host: "127.0.0.1", port: 0, stream: () => wsSipStream(ws) });
}
