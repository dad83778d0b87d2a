/** Who is behind a WebSocket upgrade: the next-auth session cookie, re-checked against the DB. */
import type { IncomingMessage } from "node:http";
import { getToken } from "next-auth/jwt";
import { config } from "../config";
import { db } from "../db";

export async function sessionAorOfUpgrade(req: IncomingMessage): Promise<{ aor: string } | null> {
  try {
    const token = await getToken({ req: req as never, secret: config().authSecret });
    const address = typeof token?.address === "string" ? token.address : null;
    if (!address) return null;
    const acc = await db().account.findUnique({ where: { address }, include: { domain: true } });
    if (!acc || acc.disabled || !acc.domain.enabled) return null;
    return { aor: acc.address };
  } catch {
    return null;
  }
}
