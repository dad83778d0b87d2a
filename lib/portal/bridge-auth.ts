/**
 * Who is behind a WebSocket upgrade: the next-auth session cookie, re-checked against the DB
 * (account id, disabled, session epoch: lib/accounts/revocations).
 */
import type { IncomingMessage } from "node:http";
import { getToken } from "next-auth/jwt";
import { config } from "../config";
import { db } from "../db";
import { sessionEndReason } from "../accounts/revocations";

export async function sessionAorOfUpgrade(req: IncomingMessage): Promise<{ aor: string } | null> {
  try {
    const token = await getToken({ req: { headers: req.headers, cookies: parseCookies(req.headers.cookie) } as never, secret: config().authSecret });
    const address = typeof token?.address === "string" ? token.address : null;
    if (!address) return null;
    const acc = await db().account.findUnique({ where: { address }, include: { domain: true } });
    if (!acc || sessionEndReason(token ?? {}, acc) || !acc.domain.enabled) return null;
    return { aor: acc.address };
  } catch {
    return null;
  }
}

/** Cookie header → name/value map (next-auth reads `req.cookies`, which plain Node requests lack). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      out[name] = raw;
    }
  }
  return out;
}
