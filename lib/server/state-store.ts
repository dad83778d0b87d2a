/**
 * Persistence of the presence server's hot state: registrar bindings, RFC 6665 subscriptions
 * with their dialogs, and the rows event packages keep themselves (presence: RFC 3903
 * publications, watcher info: watcher records). Rows are opaque JSON under (kind, key) — the
 * `PresenceState` table; this module knows no package. The server keeps everything in memory and writes
 * behind through `WriteBehind`: changes are coalesced per row (latest wins) and flushed in
 * batches (each written in transactions of at most `maxRowsPerWrite` rows), and `flush()` on stop
 * writes whatever is left.
 */
import { postgresPool, runOnSqliteConnection, sqliteDateTime, type Db, type SqliteConnection } from "../db";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { componentLogger, type SipLogger } from "../sip";
import { SqliteStateWriter } from "./sqlite-state-writer";

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
  /** Release what the store holds (a writer thread); called once the server stopped. */
  close?(): Promise<void>;
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

interface Statement {
  run(...params: unknown[]): { changes: number };
}

export interface PrismaPresenceStateStoreOptions {
  /**
   * SQLite database files: write on a worker thread with its own connection (sqlite-state-writer.ts)
   * instead of on the event loop. Default true; in-memory databases always write inline.
   */
  writerThread?: boolean;
}

/** The `PresenceState` Prisma model (SQLite or PostgreSQL). */
export class PrismaPresenceStateStore implements PresenceStateStore {
  private statements?: { conn: SqliteConnection; begin: Statement; commit: Statement; rollback: Statement; upsert: Statement; remove: Statement };
  /** The SQLite writer thread: undefined until the first write decides, null when there is none. */
  private writer?: Promise<SqliteStateWriter | null>;

  constructor(
    private readonly db: Db,
    private readonly options: PrismaPresenceStateStoreOptions = {},
  ) {}

  /** Whether writes go through a writer thread (tests). */
  async usesWriterThread(): Promise<boolean> {
    return (await this.writerThread()) !== null;
  }

  private writerThread(): Promise<SqliteStateWriter | null> {
    this.writer ??= (async () => {
      if (this.options.writerThread === false) return null;
      const file = await (runOnSqliteConnection(this.db, (c) => c.name) ?? (await this.db.$connect(), runOnSqliteConnection(this.db, (c) => c.name)));
      if (!file || file === ":memory:") return null;
      return new SqliteStateWriter({ file, upsertSql: UPSERT_SQL, deleteSql: DELETE_SQL });
    })();
    return this.writer;
  }

  async close(): Promise<void> {
    const w = await this.writer;
    this.writer = undefined; // a later write (the store reused by a restarted server) starts a new thread
    await w?.close();
  }

  async load(kind: StateKind): Promise<StateRow[]> {
    const rows = await this.db.presenceState.findMany({ where: { kind } });
    return rows.map((r) => ({ kind, key: r.key, data: r.data, expiresAt: r.expiresAt ? r.expiresAt.getTime() : undefined }));
  }

  /**
   * Raw SQL upserts and deletes (`INSERT … ON CONFLICT DO UPDATE`, the same on SQLite and
   * PostgreSQL): Prisma's query compiler cost more CPU than the statements (measured: a 500-row upsert batch was ~10 % of the
   * CPU of `herald start` under 1,000 PUBLISH/s). On SQLite the batch runs synchronously in one
   * transaction on a writer thread's connection to the same file (or, for an in-memory database, on
   * Prisma's own connection, connected first if need be); on PostgreSQL each 500 rows are one
   * statement on the adapter's pg pool (a multi-row upsert, with the deletes in a data-modifying
   * CTE: atomic, one round trip). Not through Prisma: its query-plan cache kept every batch's rows
   * as a cache key (measured: ~3.5 KB of heap per held subscription).
   */
  async apply(writes: readonly StateWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const thread = await this.writerThread();
    if (thread?.usable) {
      try {
        return await thread.apply(writes);
      } catch (e) {
        if (thread.usable) throw e; // the transaction failed; the write-behind retries
        // the thread is gone: this batch and the next ones on Prisma's connection
      }
    }
    const direct = this.applyOnSqlite(writes) ?? (await this.db.$connect(), this.applyOnSqlite(writes));
    if (direct) return direct;
    const pool = await postgresPool(this.db);
    if (!pool) throw new Error("PrismaPresenceStateStore: the database is neither SQLite nor PostgreSQL");
    for (let i = 0; i < writes.length; i += 500) {
      const { text, values } = postgresBatch(writes.slice(i, i + 500), new Date().toISOString());
      await pool.query(text, values);
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

const UPSERT_HEAD = `INSERT INTO "PresenceState" ("kind", "key", "data", "expiresAt", "updatedAt")`;
const UPSERT_TAIL = `ON CONFLICT ("kind", "key") DO UPDATE SET "data" = excluded."data", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"`;
const UPSERT_SQL = `${UPSERT_HEAD} VALUES (?, ?, ?, ?, ?) ${UPSERT_TAIL}`;
const DELETE_SQL = `DELETE FROM "PresenceState" WHERE "kind" = ? AND "key" = ?`;

/**
 * One PostgreSQL statement for a batch (each row at most once): the upserts as one multi-row
 * `INSERT … ON CONFLICT`, the deletes in a data-modifying CTE in front of it (or alone). Times as
 * UTC ISO text, which a `timestamp` column stores as UTC, as Prisma does.
 */
export function postgresBatch(writes: readonly StateWrite[], now: string): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (v: unknown) => `$${values.push(v)}`;
  const deletes = writes.filter((w) => w.data === null).map((w) => `(${param(w.kind)}, ${param(w.key)})`);
  const del = deletes.length ? `DELETE FROM "PresenceState" WHERE ("kind", "key") IN (${deletes.join(", ")})` : "";
  const upserts = writes
    .filter((w) => w.data !== null)
    .map((w) => `(${param(w.kind)}, ${param(w.key)}, ${param(w.data)}, ${param(w.expiresAt === undefined ? null : new Date(w.expiresAt).toISOString())}, ${param(now)})`);
  if (!upserts.length) return { text: del, values };
  const insert = `${UPSERT_HEAD} VALUES ${upserts.join(", ")} ${UPSERT_TAIL}`;
  return { text: del ? `WITH "deleted" AS (${del}) ${insert}` : insert, values };
}


export interface WriteBehindOptions {
  store: PresenceStateStore;
  /** Delay between the first change and the flush (ms). Default 200. */
  delayMs?: number;
  /**
   * Most rows written in one `apply` (one transaction); a larger batch is written in several, with
   * the event loop free between them (on SQLite a write runs synchronously: 2,000 rows in one
   * go held every request for tens of ms). Default 100.
   */
  maxRowsPerWrite?: number;
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
  private readonly maxRows: number;
  private readonly log: SipLogger;
  private dirty = new Map<string, { kind: StateKind; key: string; snapshot: Snapshot }>();
  private timer?: ReturnType<typeof setTimeout>;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: WriteBehindOptions) {
    this.store = options.store;
    this.delayMs = options.delayMs ?? 200;
    this.maxRows = Math.max(1, options.maxRowsPerWrite ?? 100);
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
      const batch = [...this.dirty];
      this.dirty = new Map();
      // in writes of at most maxRows rows, each row's snapshot taken just before its write
      for (let i = 0; i < batch.length; i += this.maxRows) {
        if (i > 0) await yieldToEventLoop();
        const writes: StateWrite[] = [];
        const end = Math.min(batch.length, i + this.maxRows);
        for (let j = i; j < end; j++) {
          const { kind, key, snapshot } = batch[j]![1];
          const s = snapshot();
          writes.push(s === null ? { kind, key, data: null } : { kind, key, data: s.data, expiresAt: s.expiresAt });
        }
        try {
          await this.store.apply(writes);
        } catch (e) {
          // this write and the ones after it wait for the retry (a newer mark of a row wins)
          this.log("error", "write-behind flush failed; will retry", { error: String(e), rows: batch.length - i });
          for (let j = i; j < batch.length; j++) {
            const [k, v] = batch[j]!;
            if (!this.dirty.has(k)) this.dirty.set(k, v);
          }
          if (!this.stopped && !this.timer) {
            this.timer = setTimeout(() => {
              this.timer = undefined;
              void this.flush();
            }, Math.max(1000, this.delayMs));
            this.timer.unref?.();
          }
          return;
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
