/**
 * Persistence of the presence server's hot state: registrar bindings, RFC 6665 subscriptions
 * with their dialogs, and the rows event packages keep themselves (presence: RFC 3903
 * publications, watcher info: watcher records). Rows are opaque JSON under (kind, key) — the
 * `PresenceState` table; this module knows no package. The server keeps everything in memory and writes
 * behind through `WriteBehind`: changes are coalesced per row (latest wins) and flushed in
 * batches, and `flush()` on stop writes whatever is left.
 */
import type { Db } from "../db";
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
export class PrismaPresenceStateStore implements PresenceStateStore {
  constructor(private readonly db: Db) {}

  async load(kind: StateKind): Promise<StateRow[]> {
    const rows = await this.db.presenceState.findMany({ where: { kind } });
    return rows.map((r) => ({ kind, key: r.key, data: r.data, expiresAt: r.expiresAt ? r.expiresAt.getTime() : undefined }));
  }

  async apply(writes: readonly StateWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const ops = writes.map((w) =>
      w.data === null
        ? this.db.presenceState.deleteMany({ where: { kind: w.kind, key: w.key } })
        : this.db.presenceState.upsert({
            where: { kind_key: { kind: w.kind, key: w.key } },
            create: { kind: w.kind, key: w.key, data: w.data, expiresAt: w.expiresAt === undefined ? null : new Date(w.expiresAt) },
            update: { data: w.data, expiresAt: w.expiresAt === undefined ? null : new Date(w.expiresAt) },
          }),
    );
    // chunked so one huge flush does not hold a single enormous transaction
    for (let i = 0; i < ops.length; i += 500) await this.db.$transaction(ops.slice(i, i + 500));
  }
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
