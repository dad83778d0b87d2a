/**
 * Bearer tokens of the provisioning API (/api/v1, RFC 6750). A token is `herald_` + 32 random
 * bytes (base64url); only its SHA-256 is stored — a token carries 256 bits of entropy, so a fast
 * hash is enough (a slow one would only slow every API request). The token is shown once, when
 * created. Every token is an operator token: it may do what the admin console does.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db";
import { AccountError, actorOf, audit, type Actor } from "./service";

export const TOKEN_PREFIX = "herald_";
/** Characters of a token kept in clear to recognise it in lists (prefix included). */
const SHOWN = TOKEN_PREFIX.length + 6;
const TOKEN_RE = /^herald_[A-Za-z0-9_-]{43}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ApiTokenView {
  id: number;
  name: string;
  /** The token's first characters, e.g. `herald_Ab12Cd…`. */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Whether `token` looks like a Herald token at all (no database query for anything else). */
export function isTokenShaped(token: string): boolean {
  return TOKEN_RE.test(token);
}

/** The part of a presented token that keys the auth limiter: its shown prefix (never the secret part). */
export function tokenLimiterKey(token: string): string {
  return `api-token:${isTokenShaped(token) ? token.slice(0, SHOWN) : "malformed"}`;
}

/** Create a token named `name` (unique among tokens not revoked); returns it in clear, once. */
export async function createApiToken(db: Db, name: string, actor?: Actor): Promise<{ token: string; view: ApiTokenView }> {
  if (!NAME_RE.test(name)) throw new AccountError("invalid-value", `malformed token name ${JSON.stringify(name)}: 1-64 letters, digits, ".", "_" or "-"`);
  if (await db.apiToken.findFirst({ where: { name, revokedAt: null } })) throw new AccountError("invalid-value", `a token named ${name} exists (revoke it first)`);
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const row = await db.apiToken.create({ data: { name, tokenHash: hashToken(token), prefix: token.slice(0, SHOWN) } });
  await audit(db, { ...actorOf(actor), action: "token.create", target: `token:${name}`, detail: `prefix=${row.prefix}` });
  return { token, view: row };
}

export async function listApiTokens(db: Db): Promise<ApiTokenView[]> {
  return db.apiToken.findMany({ orderBy: [{ revokedAt: "asc" }, { name: "asc" }], select: { id: true, name: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true } });
}

/** Revoke the token named `name`: requests carrying it are refused from now on. */
export async function revokeApiToken(db: Db, name: string, actor?: Actor): Promise<void> {
  const row = await db.apiToken.findFirst({ where: { name, revokedAt: null } });
  if (!row) throw new AccountError("invalid-value", `no token named ${JSON.stringify(name)} that is not revoked`);
  await db.apiToken.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
  await audit(db, { ...actorOf(actor), action: "token.revoke", target: `token:${name}`, detail: `prefix=${row.prefix}` });
}

export type TokenCheck = { ok: true; name: string } | { ok: false; reason: "unknown" | "revoked" };

/**
 * Look a presented token up. `lastUsedAt` is written at most once a minute per token (a busy
 * client does not turn every read into a write).
 */
export async function verifyApiToken(db: Db, token: string, now = new Date()): Promise<TokenCheck> {
  if (!isTokenShaped(token)) return { ok: false, reason: "unknown" };
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!row) return { ok: false, reason: "unknown" };
  if (row.revokedAt) return { ok: false, reason: "revoked" };
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  }
  return { ok: true, name: row.name };
}
