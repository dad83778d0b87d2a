/**
 * Ending an account's sessions. A disable, password change or delete (or the disable of its
 * domain) raises the account's
 * `sessionEpoch` (portal sessions carry the epoch of their login and are refused once it moved,
 * lib/auth.ts) and appends an AccountRevocation row in the same transaction. The running server
 * polls those rows (lib/accounts/revocation-watcher.ts) — the CLI is another process — and closes
 * the account's bridge connections and drops its SIP state; a write in the server's own process
 * also wakes the watcher at once through a process-wide bus.
 */
import type { Db } from "../db";
import { processBus, processWide } from "../process-wide";
import type { RevocationReason, SessionEndReason } from "./session-end";

export { REVOCATION_MESSAGES, REVOCATION_REASONS, isRevocationReason, type RevocationReason, type SessionEndReason } from "./session-end";

export interface Revocation {
  id: number;
  address: string;
  reason: RevocationReason;
}

/** Same-process wake-up of the watcher (its poll still catches every row, this only saves the wait). */
export function revocationBus() {
  return processBus<Revocation>("__heraldAccountRevocations");
}

type Op = ReturnType<Db["xcapDocument"]["deleteMany"]> | ReturnType<Db["domain"]["update"]>;

/**
 * In one transaction: update the account with `data` and raise its epoch (or, with `data` null,
 * delete it), run `extra`, and record the revocation.
 */
export async function revokeSessions(db: Db, acc: { id: number; address: string }, reason: RevocationReason, data: Record<string, unknown> | null, extra: Op[] = []): Promise<Revocation> {
  const change = data === null ? db.account.delete({ where: { id: acc.id } }) : db.account.update({ where: { id: acc.id }, data: { ...data, sessionEpoch: { increment: 1 } } });
  const results = await db.$transaction([...extra, change, db.accountRevocation.create({ data: { address: acc.address, reason } })]);
  const row = results[results.length - 1] as { id: number };
  const r: Revocation = { id: row.id, address: acc.address, reason };
  revocationBus().emit(r);
  return r;
}

/**
 * A domain was disabled: in one transaction with `change` (the domain's update), every account
 * of the domain has its epoch raised and a revocation recorded — their pages are signed out and
 * their bridge connections and SIP state dropped as for a disabled account.
 */
export async function revokeDomainSessions(db: Db, domainId: number, change: Op): Promise<number> {
  const accounts = await db.account.findMany({ where: { domainId }, select: { address: true } });
  await db.$transaction([
    change,
    db.account.updateMany({ where: { domainId }, data: { sessionEpoch: { increment: 1 } } }),
    db.accountRevocation.createMany({ data: accounts.map((a) => ({ address: a.address, reason: "domain-disabled" })) }),
  ]);
  // the watcher reads the rows; one wake-up is enough
  if (accounts[0]) revocationBus().emit({ id: 0, address: accounts[0].address, reason: "domain-disabled" });
  return accounts.length;
}

/**
 * Why a session token no longer stands for `acc` (undefined: it does). The token carries the
 * account id (`sub`) and the session epoch of its login; tokens without an epoch predate epochs
 * and are refused too. A moved epoch says only that the account changed since ("ended").
 */
export function sessionEndReason(token: { sub?: unknown; epoch?: unknown }, acc: { id: number; disabled: boolean; sessionEpoch: number } | null): SessionEndReason | undefined {
  if (!acc || String(acc.id) !== String(token.sub)) return "deleted";
  if (acc.disabled) return "disabled";
  if (acc.sessionEpoch !== token.epoch) return "ended";
  return undefined;
}

/**
 * When each account's sessions were last ended (epoch ms), as this process learnt from the
 * revocation rows (the watcher notes every row it reads, and at start the rows of the last day).
 */
export function revocationTimes(): Map<string, number> {
  return processWide("__heraldRevocationTimes", () => new Map<string, number>());
}

export function noteRevocation(address: string, at: number): void {
  const times = revocationTimes();
  if ((times.get(address) ?? 0) < at) times.set(address, at);
}

/**
 * Whether short-lived credentials for `address` expiring at `expires` (unix seconds) were issued
 * before the account's sessions were last ended (a password change, a disable): such credentials
 * are refused, as the sessions they were issued to. `ttlSeconds` is their life when issued;
 * compared by whole seconds (the expiry's resolution), so credentials issued in the same second
 * as the revocation still count as after it.
 */
export function issuedBeforeRevocation(address: string, expires: number, ttlSeconds: number): boolean {
  const at = revocationTimes().get(address);
  return at !== undefined && Math.floor(at / 1000) > expires - ttlSeconds;
}

/** The check the SIP server and the XCAP root are given, for credentials issued with life `ttlSeconds` (SIP_EPHEMERAL_TTL). */
export function ephemeralRevocationCheck(ttlSeconds: number): (address: string, expires: number) => boolean {
  return (address, expires) => issuedBeforeRevocation(address, expires, ttlSeconds);
}

/** Whether `address`'s sessions were ended at or after `since` (ms): what a bridge flow opened at `since` no longer vouches for. */
export function revokedSince(address: string, since: number): boolean {
  const at = revocationTimes().get(address);
  return at !== undefined && at >= since;
}

/** Forget revocations older than `before` (ms): credentials issued before them have expired. */
export function forgetRevocationsBefore(before: number): void {
  const times = revocationTimes();
  for (const [address, at] of times) if (at < before) times.delete(address);
}
