/**
 * Persistence of the presence server's hot state: registrar bindings, RFC 6665 subscriptions
 * with their dialogs, and the rows event packages keep themselves (presence: RFC 3903
 * publications, watcher info: watcher records). Rows are opaque JSON under (kind, key) — the
 * `PresenceState` table; this module knows no package. The server keeps everything in memory and writes
 * behind through `WriteBehind`: changes are coalesced per row (latest wins) and flushed in
 * batches, and `flush()` on stop writes whatever is left.
 */
import { runOnSqliteConnection, type Db, type SqliteConnection } from "../db";
import { componentLogger, type SipLogger } from "../sip";

/** `registration`, `subscription`, or a kind an event package declares (`EventPackage.stateKinds`). */
export type StateKind = string;

export interface StateRow {
  kind: StateKind;
  key: string;
  /** JSON text. */
  data: string;
  /** Wall-clock expiry (ms since the epoch), when the row has one. */
  expiresAt?: number;
}

/** One write: `data` null deletes the row. */
export interface StateWrite {
  kind: StateKind;
  key: string;
  data: string | null;
  expiresAt?: number;
}

export interface PresenceStateStore {
  /** Every row of a kind (expired rows included; the caller decides). */
  load(kind: StateKind): Promise<StateRow[]>;
  /** Apply a batch of upserts/deletes, atomically where the back end can. */
  apply(writes: readonly StateWrite[]): Promise<void>;
}

export class MemoryPresenceStateStore implements PresenceStateStore {
  readonly rows = new Map<string, StateRow>();
  /** Number of `apply` calls (tests check batching). */
  batches = 0;

  async load(kind: StateKind): Promise<StateRow[]> {
    return [...this.rows.values()].filter((r) => r.kind === kind).map((r) => ({ ...r }));
  }

  async apply(writes: readonly StateWrite[]): Promise<void> {
    this.batches++;
    for (const w of writes) {
      const k = `${w.kind}\u0000${w.key}`;
      if (w.data === null) this.rows.delete(k);
      else this.rows.set(k, { kind: w.kind, key: w.key, data: w.data, expiresAt: w.expiresAt });
    }
  }
}

/** The `PresenceState` Prisma model (SQLite or PostgreSQL). */
interface Statement {
  run(...params: unknown[]): { changes: number };
}

export class PrismaPresenceStateStore implements PresenceStateStore {
  private statements?: { conn: SqliteConnection; begin: Statement; commit: Statement; rollback: Statement; upsert: Statement; remove: Statement };

  constructor(private readonly db: Db) {}

  async load(kind: StateKind): Promise<StateRow[]> {
    const rows = await this.db.presenceState.findMany({ where: { kind } });
    return rows.map((r) => ({ kind, key: r.key, data: r.data, expiresAt: r.expiresAt ? r.expiresAt.getTime() : undefined }));
  }

  /**
   * One statement per row, raw SQL (the same text on SQLite and PostgreSQL): Prisma's query
   * compiler cost more CPU than the statements (measured: a 500-row upsert batch was ~10 % of the
   * CPU of `herald start` under 1,000 PUBLISH/s). On SQLite the batch runs synchronously in one
   * transaction on Prisma's own connection (connected first if need be); on PostgreSQL in Prisma
   * transactions of at most 500 rows.
   */
  async apply(writes: readonly StateWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const direct = this.applyOnSqlite(writes) ?? (await this.db.$connect(), this.applyOnSqlite(writes));
    if (direct) return direct;
    for (let i = 0; i < writes.length; i += 500) {
      const chunk = writes.slice(i, i + 500);
      const now = new Date();
      await this.db.$transaction(
        chunk.map((w) =>
          w.data === null
            ? this.db.$executeRawUnsafe(pgParams(DELETE_SQL), w.kind, w.key)
            : this.db.$executeRawUnsafe(pgParams(UPSERT_SQL), w.kind, w.key, w.data, w.expiresAt === undefined ? null : new Date(w.expiresAt), now),
        ),
      );
    }
  }

  /** The batch in one transaction on the SQLite connection; undefined when the database is not SQLite. */
  private applyOnSqlite(writes: readonly StateWrite[]): Promise<void> | undefined {
    return runOnSqliteConnection(this.db, (conn) => {
      if (this.statements?.conn !== conn) {
        this.statements = {
          conn,
          begin: conn.prepare("BEGIN IMMEDIATE"),
          commit: conn.prepare("COMMIT"),
          rollback: conn.prepare("ROLLBACK"),
          upsert: conn.prepare(UPSERT_SQL),
          remove: conn.prepare(DELETE_SQL),
        };
      }
      const st = this.statements;
      const now = sqliteDateTime(Date.now());
      st.begin.run();
      try {
        for (const w of writes) {
          if (w.data === null) st.remove.run(w.kind, w.key);
          else st.upsert.run(w.kind, w.key, w.data, w.expiresAt === undefined ? null : sqliteDateTime(w.expiresAt), now);
        }
        st.commit.run();
      } catch (e) {
        if (conn.inTransaction) st.rollback.run();
        throw e;
      }
    });
  }
}

const UPSERT_SQL = `INSERT INTO "PresenceState" ("kind", "key", "data", "expiresAt", "updatedAt") VALUES (?, ?, ?, ?, ?)
  ON CONFLICT ("kind", "key") DO UPDATE SET "data" = excluded."data", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"`;
const DELETE_SQL = `DELETE FROM "PresenceState" WHERE "kind" = ? AND "key" = ?`;

/** `?` placeholders as PostgreSQL's `$1`, `$2`, … */
function pgParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A DateTime as Prisma's SQLite adapter writes it (so that Prisma reads it back). */
function sqliteDateTime(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "+00:00");
}

export interface WriteBehindOptions {
  store: PresenceStateStore;
  /** Delay between the first change and the flush (ms). Default 200. */
  delayMs?: number;
  logger?: SipLogger;
}

type Snapshot = () => { data: string; expiresAt?: number } | null;

/**
 * Coalescing write-behind queue. `mark(kind, key, snapshot)` records that a row changed; the
 * snapshot function runs at flush time, so a subscription that sends 50 NOTIFYs in one window is
 * written once with its latest CSeq.
 */
export class WriteBehind {
  private readonly store: PresenceStateStore;
  private readonly delayMs: number;
  private readonly log: SipLogger;
  private dirty = new Map<string, { kind: StateKind; key: string; snapshot: Snapshot }>();
  private timer?: ReturnType<typeof setTimeout>;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: WriteBehindOptions) {
    this.store = options.store;
    this.delayMs = options.delayMs ?? 200;
    this.log = componentLogger("presence:store", options.logger);
  }

  mark(kind: StateKind, key: string, snapshot: Snapshot): void {
    this.dirty.set(`${kind}\u0000${key}`, { kind, key, snapshot });
    if (!this.timer && !this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.delayMs);
      this.timer.unref?.();
    }
  }

  remove(kind: StateKind, key: string): void {
    this.mark(kind, key, () => null);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Write everything marked so far (serialized with any flush in progress). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = async () => {
      if (this.dirty.size === 0) return;
      const batch = this.dirty;
      this.dirty = new Map();
      const writes: StateWrite[] = [];
      for (const { kind, key, snapshot } of batch.values()) {
        const s = snapshot();
        writes.push(s === null ? { kind, key, data: null } : { kind, key, data: s.data, expiresAt: s.expiresAt });
      }
      try {
        await this.store.apply(writes);
      } catch (e) {
        this.log("error", "write-behind flush failed; will retry", { error: String(e), rows: writes.length });
        for (const [k, v] of batch) if (!this.dirty.has(k)) this.dirty.set(k, v);
        if (!this.stopped && !this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.flush();
          }, Math.max(1000, this.delayMs));
          this.timer.unref?.();
        }
      }
    };
    this.flushing = this.flushing.then(run, run);
    return this.flushing;
  }

  /** Final flush; later marks are still queued but no timer is started. */
  async stop(): Promise<void> {
    await this.flush();
    this.stopped = true;
    await this.flush();
  }
}
