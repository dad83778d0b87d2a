/**
 * The write-behind's SQLite writes on a worker thread with a connection of its own to the same
 * database file (WAL: one writer at a time, readers never blocked; both connections wait for the
 * other's write lock up to their busy timeout). Run on the server's event loop, a flush of held
 * subscriptions' rows took 8–10 % of its time under SUBSCRIBE load and held requests for the length
 * of each transaction; here the event loop only hands the rows over.
 *
 * The worker runs plain JavaScript given as source (`eval`), so it needs no TypeScript loader in
 * whatever runs Herald (tsx, vitest, a bundle). Each `apply` is one transaction; its promise
 * settles when the transaction committed or failed (the durability the write-behind promises is
 * unchanged: a row is on disk once its flush resolved).
 */
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import type { StateWrite } from "./state-store";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const upsert = db.prepare(workerData.upsertSql);
const remove = db.prepare(workerData.deleteSql);
// db.ts sqliteDateTime, restated: this source runs without the project's modules
const stamp = (ms) => new Date(ms).toISOString().replace("Z", "+00:00");
const apply = db.transaction((writes, now) => {
  for (const w of writes) {
    if (w.data === null) remove.run(w.kind, w.key);
    else upsert.run(w.kind, w.key, w.data, w.expiresAt === undefined ? null : stamp(w.expiresAt), now);
  }
});
parentPort.on("message", (m) => {
  if (m.close) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    apply.immediate(m.writes, stamp(m.now));
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

export interface SqliteStateWriterOptions {
  /** The database file (the one Prisma's connection has open). */
  file: string;
  upsertSql: string;
  deleteSql: string;
  /** How long a write waits for another connection's write lock, ms. Default 10,000 (Prisma's adapter's). */
  busyTimeoutMs?: number;
}

export class SqliteStateWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private next = 1;
  private failed?: Error;

  constructor(options: SqliteStateWriterOptions) {
    const require = createRequire(import.meta.url);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module: require.resolve("better-sqlite3"),
        file: options.file,
        upsertSql: options.upsertSql,
        deleteSql: options.deleteSql,
        busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
      },
    });
    // the pending flushes keep nothing alive: stop() flushes before the process ends
    this.worker.unref();
    this.worker.on("message", (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error === undefined) p.resolve();
      else p.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`state writer thread exited (${code})`)));
  }

  /** False once the thread failed (or closed): the caller writes on its own connection then. */
  get usable(): boolean {
    return this.failed === undefined;
  }

  apply(writes: readonly StateWrite[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, writes, now: Date.now() });
    });
  }

  /** Close the connection and end the thread (after the writes already handed over). */
  async close(): Promise<void> {
    if (this.failed) return;
    const exited = new Promise<void>((r) => this.worker.once("exit", () => r()));
    this.worker.postMessage({ close: true });
    await exited;
  }
}
