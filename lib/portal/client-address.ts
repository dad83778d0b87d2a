/**
 * The real client address of an HTTP request or WebSocket upgrade: the socket's peer, or — only
 * when that peer is a trusted reverse proxy (TRUSTED_PROXIES) — the rightmost X-Forwarded-For
 * entry that is not a trusted proxy. Entries further left were written by the client (or by
 * proxies Herald does not know) and prove nothing; each trusted proxy appends the address it saw.
 */
import { isIP } from "node:net";

/** The header Herald's HTTP server sets to the client address (any incoming value is overwritten). */
export const CLIENT_IP_HEADER = "x-herald-client-ip";

/** An address as Herald compares it: IPv4-mapped IPv6 as IPv4, brackets and ports removed. */
export function normalizeIp(raw: string): string {
  let a = raw.trim().replace(/^"|"$/g, "");
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1];
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  return a.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "").toLowerCase();
}

export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: ReadonlySet<string> | readonly string[],
): string {
  const peer = socketAddress ? normalizeIp(socketAddress) : "unknown";
  const trusted = trustedProxies instanceof Set ? trustedProxies : new Set([...trustedProxies].map(normalizeIp));
  if (trusted.size === 0 || !trusted.has(peer) || !forwardedFor) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]);
    if (trusted.has(hop)) continue;
    // written by a trusted proxy, so it is what that proxy saw; a non-address there is unusable
    return isIP(hop) ? hop : peer;
  }
  return peer; // only proxies: the request started at one of them
}
