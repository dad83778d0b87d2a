/**
 * Watches AccountRevocation rows (lib/accounts/revocations.ts) in the running server: every
 * `intervalMs` one indexed query for rows after the last id seen, plus an immediate poll when
 * this process wrote one. For each row the digest caches are emptied (accountsChanged) and
 * `onRevoked` runs (close the bridge connections, drop the SIP state). A revocation is acted on
 * within `intervalMs` plus one query; rows older than `retainMs` are pruned.
 */
import type { Db } from "../db";
import { componentLogger, type Logger } from "../log";
import { accountsChanged } from "./changes";
import { forgetRevocationsBefore, isRevocationReason, noteRevocation, revocationBus, type Revocation } from "./revocations";

const LOOKBACK = 32;

export interface RevocationWatcherOptions {
  db: Db;
  onRevoked: (r: Revocation) => void | Promise<void>;
  /** Poll period, ms. Default 1000. */
  intervalMs?: number;
  /** Rows older than this are deleted (hourly). Default one day. */
  retainMs?: number;
  /** Most rows read per poll. Default 500. */
  batch?: number;
  logger?: Logger;
}

export class RevocationWatcher {
  private last = 0;
  /** Ids handled among the last LOOKBACK below `last` (PostgreSQL may commit ids out of order). */
  private readonly seen = new Set<number>();
  private timer?: ReturnType<typeof setInterval>;
  private running?: Promise<void>;
  private again = false;
  private unsubscribe?: () => void;
  private lastPrune = 0;
  private readonly o: Required<Omit<RevocationWatcherOptions, "logger">>;
  private readonly log: Logger;

  constructor(options: RevocationWatcherOptions) {
    this.o = { intervalMs: 1000, retainMs: 24 * 3600_000, batch: 500, ...options };
    this.log = componentLogger("accounts:revocations", options.logger);
  }

  /** Start after the rows that exist now (nothing is connected yet that they could concern). */
  async start(): Promise<void> {
    // when each account was last revoked, for as long as rows are kept (short-lived credentials issued before are refused)
    const kept = await this.o.db.accountRevocation.findMany({ where: { at: { gt: new Date(Date.now() - this.o.retainMs) } }, select: { address: true, at: true } });
    for (const r of kept) noteRevocation(r.address, r.at.getTime());
    const recent = await this.o.db.accountRevocation.findMany({ orderBy: { id: "desc" }, take: LOOKBACK, select: { id: true } });
    this.last = recent[0]?.id ?? 0;
    for (const r of recent) this.seen.add(r.id);
    this.lastPrune = Date.now();
    this.unsubscribe = revocationBus().subscribe(() => void this.poll());
    this.timer = setInterval(() => void this.poll(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Read new rows now (serialised: a poll requested meanwhile runs once more afterwards). */
  poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pollOnce();
        } while (this.again);
      } catch (e) {
        this.log("error", "poll failed", { error: e instanceof Error ? e.message : String(e) });
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async pollOnce(): Promise<void> {
    for (;;) {
      // re-read a few ids below the newest seen: concurrent writers' rows may become visible late
      const rows = (
        await this.o.db.accountRevocation.findMany({ where: { id: { gt: this.last - LOOKBACK } }, orderBy: { id: "asc" }, take: this.o.batch + LOOKBACK, select: { id: true, address: true, reason: true, at: true } })
      ).filter((r) => !this.seen.has(r.id));
      if (rows.length === 0) break;
      accountsChanged(); // digest caches of this process forget the accounts at once
      for (const r of rows) {
        this.seen.add(r.id);
        this.last = Math.max(this.last, r.id);
        noteRevocation(r.address, r.at.getTime());
        if (!isRevocationReason(r.reason)) continue;
        try {
          await this.o.onRevoked({ id: r.id, address: r.address, reason: r.reason });
        } catch (e) {
          this.log("error", "handler failed", { address: r.address, error: e instanceof Error ? e.message : String(e) });
        }
      }
      for (const id of this.seen) if (id <= this.last - LOOKBACK) this.seen.delete(id);
      if (rows.length < this.o.batch) break;
    }
    const now = Date.now();
    if (now - this.lastPrune > 3600_000) {
      this.lastPrune = now;
      await this.o.db.accountRevocation.deleteMany({ where: { at: { lt: new Date(now - this.o.retainMs) }, id: { lt: this.last } } });
      forgetRevocationsBefore(now - this.o.retainMs); // the in-memory times are bounded the same way
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    await this.running;
  }
}
