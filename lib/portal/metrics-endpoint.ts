/**
 * `/metrics` (Prometheus text format), closed unless the operator opens it: a scraper either sends
 * `Authorization: Bearer <METRICS_TOKEN>` or comes from an address in METRICS_ALLOW (the real
 * client address, X-Forwarded-For only from TRUSTED_PROXIES). Nothing is open by default: behind
 * a reverse proxy on the same host every client would look like loopback. A wrong token counts in
 * the shared limiter of password guesses.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthLimiter } from "../accounts/auth-limiter";
import { METRICS_CONTENT_TYPE, metricsText } from "../metrics";
import { CLIENT_IP_HEADER, normalizeIp } from "./client-address";

export interface MetricsEndpointOptions {
  /** METRICS_TOKEN; undefined: no token opens it. */
  token?: string;
  /** METRICS_ALLOW: client addresses that need no token. */
  allow: readonly string[];
  authLimiter?: AuthLimiter;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

function text(status: number, body: string, headers: Record<string, string> = {}) {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers } });
}

export async function serveMetrics(req: Request, o: MetricsEndpointOptions): Promise<Response> {
  const ip = normalizeIp(req.headers.get(CLIENT_IP_HEADER) ?? "unknown");
  const auth = req.headers.get("authorization");
  let allowed = o.allow.map(normalizeIp).includes(ip);
  if (!allowed && auth && o.token) {
    const attempt = o.authLimiter?.attempt({ account: "metrics-token", address: ip });
    if (attempt && !attempt.allowed) return text(429, "too many failed attempts", { "retry-after": String(attempt.retryAfterSeconds) });
    const presented = /^Bearer +(\S+) *$/i.exec(auth)?.[1] ?? "";
    allowed = timingSafeEqual(digest(presented), digest(o.token));
    if (allowed) attempt?.succeeded();
    else attempt?.failed();
    if (!allowed) return text(401, "wrong metrics token", { "www-authenticate": 'Bearer realm="herald-metrics"' });
  }
  if (!allowed) return text(403, "metrics are closed to this address: set METRICS_TOKEN or METRICS_ALLOW");
  return new Response(await metricsText(), { headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" } });
}
