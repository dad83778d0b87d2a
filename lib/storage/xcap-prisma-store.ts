/**
 * XcapStore over Prisma (SQLite or PostgreSQL): one row per document with its ETag; writes are
 * compare-and-set on the ETag, and rls-services service URIs are claimed in the same transaction
 * (a primary key on the URI keeps two users from claiming one at the same time).
 *
 * Optionally with a per-process cache of document texts (`cache`), so that reading an unchanged
 * document costs no database round trip. The database stays the authority:
 * - every write is still one compare-and-set statement on the ETag in the database, so a cached
 *   ETag that another process has outdated makes the write fail (the XCAP core then reads again,
 *   bypassing the cache, and retries or answers 412) — never a lost update;
 * - writes through this store update its cache at once (read-your-writes in this process);
 * - an entry is served for at most `ttlMs` after it was read or written, then read again: a write
 *   by another process (a second portal process on the same database) is seen within `ttlMs`.
 * Absent documents are not cached.
 */
import { postgresPipeline, postgresPool, runSqliteStatement, sqliteDateTime, type Db } from "../db";
import type {
  StoredXcapDocument,
  XcapDocumentKey,
  XcapDocumentListing,
  XcapGetOptions,
  XcapPutInput,
  XcapPutResult,
  XcapStore,
  XcapUsage,
} from "../xcap/server";

const where = (k: XcapDocumentKey) => ({ auid: k.auid, scope: k.scope, xui: k.xui ?? "", path: k.docPath });
const docId = (k: XcapDocumentKey) => JSON.stringify([k.auid, k.scope, k.xui ?? "", k.docPath]);

class Mismatch extends Error {}
class Taken extends Error {
  constructor(readonly uris: string[]) {
    super("service uri taken");
  }
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === "P2002" || /unique constraint/i.test(e?.message ?? "");
}

interface UsageRow {
  documents: number | bigint;
  bytes: number | bigint;
}
type DocumentRow = { xui: string; content: string; etag: string };

export interface XcapTextCacheOptions {
  /** How long a cached document is served without reading the database again, ms. */
  ttlMs: number;
  /** Most documents kept (least recently used go first). Default 1024. */
  maxEntries?: number;
  /** Most text kept, UTF-16 code units. Default 16 Mi (about 32 MB). */
  maxChars?: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

const COMPARE_AND_SET_POSTGRES = `UPDATE "XcapDocument" SET "content" = $1, "etag" = $2, "updatedAt" = $3 WHERE "auid" = $4 AND "scope" = $5 AND "xui" = $6 AND "path" = $7 AND "etag" = $8`;
const compareAndSetValues = (key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string) => [
  doc.content,
  doc.etag,
  new Date().toISOString(),
  key.auid,
  key.scope,
  key.xui ?? "",
  key.docPath,
  expectedEtag,
];

export interface PrismaXcapStoreOptions {
  /** Cache document texts in this process (see the file comment). Default: no cache. */
  cache?: XcapTextCacheOptions;
}

interface CacheEntry {
  content: string;
  etag: string;
  until: number;
}

/** LRU of document texts with a freshness deadline per entry. */
class TextCache {
  private readonly entries = new Map<string, CacheEntry>();
  private chars = 0;
  private readonly maxEntries: number;
  private readonly maxChars: number;
  readonly now: () => number;
  /**
   * Bumped before and after every write through the store: a read that was in flight across a
   * write must not put what it read into the cache (it may predate the write).
   */
  writes = 0;
  readonly stats = { hits: 0, misses: 0 };

  constructor(readonly options: XcapTextCacheOptions) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 1024);
    this.maxChars = Math.max(0, options.maxChars ?? 16 * 1024 * 1024);
    this.now = options.now ?? Date.now;
  }

  fresh(k: string): CacheEntry | undefined {
    const e = this.entries.get(k);
    if (!e || e.until <= this.now()) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    this.entries.delete(k);
    this.entries.set(k, e);
    return e;
  }

  set(k: string, doc: { content: string; etag: string }): void {
    this.delete(k);
    if (doc.content.length > this.maxChars) return;
    this.entries.set(k, { content: doc.content, etag: doc.etag, until: this.now() + this.options.ttlMs });
    this.chars += doc.content.length;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(k: string): void {
    const e = this.entries.get(k);
    if (!e) return;
    this.entries.delete(k);
    this.chars -= e.content.length;
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
  }
}

type ReadResult = StoredXcapDocument | null;

/**
 * Document reads issued in the same turn of the event loop leave together: one query per
 * (auid, scope, path) with the XUIs in an IN list. The RLS starting a 200-contact list asks for
 * 200 presentities' pres-rules (then their lists, their pidf-manipulation) at once; with one
 * round trip per read, a cold server spent most of the list's first NOTIFY in Prisma. A lone read
 * is one unique-key lookup, as before, one event-loop hop later.
 */
class ReadBatcher {
  private pending = new Map<string, { key: XcapDocumentKey; waiters: Array<{ resolve: (r: ReadResult) => void; reject: (e: unknown) => void }> }>();
  private scheduled = false;
  /** Queries sent (tests, diagnostics). */
  queries = 0;

  constructor(private readonly db: Db) {}

  read(key: XcapDocumentKey): Promise<ReadResult> {
    const k = docId(key);
    let entry = this.pending.get(k);
    if (!entry) this.pending.set(k, (entry = { key, waiters: [] }));
    const e = entry;
    return new Promise<ReadResult>((resolve, reject) => {
      e.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const groups = new Map<string, typeof batch>();
    for (const b of batch) {
      const g = `${b.key.auid}\u0000${b.key.scope}\u0000${b.key.docPath}`;
      const list = groups.get(g);
      if (list) list.push(b);
      else groups.set(g, [b]);
    }
    await Promise.all(
      [...groups.values()].map(async (group) => {
        try {
          const found = await this.query(group.map((b) => b.key));
          for (const b of group) {
            const row = found.get(b.key.xui ?? "") ?? null;
            for (const w of b.waiters) w.resolve(row ? { content: row.content, etag: row.etag } : null);
          }
        } catch (err) {
          for (const b of group) for (const w of b.waiters) w.reject(err);
        }
      }),
    );
  }

  /** Rows by XUI for keys that differ only in their XUI. */
  private async query(keys: XcapDocumentKey[]): Promise<Map<string, { content: string; etag: string }>> {
    this.queries++;
    const out = new Map<string, { content: string; etag: string }>();
    const { auid, scope, docPath } = keys[0]!;
    const xuis = keys.map((k) => k.xui ?? "");
    // SQLite: one prepared statement on Prisma's own connection, the XUIs as a JSON array. A cold
    // server's first SUBSCRIBEs read many presentities' documents at once: through Prisma the
    // batch's query plan was compiled and interpreted on the event loop (tens of ms the first
    // time, 1–3 ms after); the statement costs well under 1 ms.
    const direct = runSqliteStatement(
      this.db,
      `SELECT "xui", "content", "etag" FROM "XcapDocument" WHERE "auid" = ? AND "scope" = ? AND "path" = ? AND "xui" IN (SELECT "value" FROM json_each(?))`,
      (stmt: { all(...params: unknown[]): DocumentRow[] }) => stmt.all(auid, scope, docPath, JSON.stringify(xuis)),
    );
    if (direct) {
      for (const r of await direct) out.set(r.xui, { content: r.content, etag: r.etag });
      return out;
    }
    // PostgreSQL: the same query on the adapter's pg pool, the XUIs as one array parameter
    const pool = await postgresPool(this.db);
    if (pool) {
      const { rows } = await pool.query<DocumentRow>(
        `SELECT "xui", "content", "etag" FROM "XcapDocument" WHERE "auid" = $1 AND "scope" = $2 AND "path" = $3 AND "xui" = ANY($4::text[])`,
        [auid, scope, docPath, xuis],
      );
      for (const r of rows) out.set(r.xui, { content: r.content, etag: r.etag });
      return out;
    }
    // Prisma only before the SQLite connection is open; a lone read is one unique-key lookup
    if (keys.length === 1) {
      const row = await this.db.xcapDocument.findUnique({ where: { auid_scope_xui_path: where(keys[0]!) }, select: { content: true, etag: true } });
      if (row) out.set(xuis[0]!, row);
      return out;
    }
    const rows = await this.db.xcapDocument.findMany({
      where: { auid, scope, path: docPath, xui: { in: xuis } },
      select: { xui: true, content: true, etag: true },
    });
    for (const r of rows) out.set(r.xui, { content: r.content, etag: r.etag });
    return out;
  }
}

export class PrismaXcapStore implements XcapStore {
  private readonly cache: TextCache | null;
  private readonly reads: ReadBatcher;

  constructor(
    private readonly db: Db,
    options: PrismaXcapStoreOptions = {},
  ) {
    this.cache = options.cache && options.cache.ttlMs > 0 ? new TextCache(options.cache) : null;
    this.reads = new ReadBatcher(db);
  }

  /** Read queries sent to the database (tests, diagnostics). */
  get readQueries(): number {
    return this.reads.queries;
  }

  /** Cache counters (tests, diagnostics); zeros without a cache. */
  get cacheStats(): { hits: number; misses: number } {
    return this.cache ? { ...this.cache.stats } : { hits: 0, misses: 0 };
  }

  /** Forget every cached document. */
  clearCache(): void {
    this.cache?.clear();
  }

  async get(key: XcapDocumentKey, options?: XcapGetOptions): Promise<StoredXcapDocument | null> {
    const cache = this.cache;
    if (!cache) return this.read(key);
    const k = docId(key);
    if (!options?.fresh) {
      const e = cache.fresh(k);
      if (e) return { content: e.content, etag: e.etag, cached: true };
    }
    const writes = cache.writes;
    const row = await this.read(key);
    if (cache.writes === writes) {
      if (row) cache.set(k, row);
      else cache.delete(k);
    }
    return row;
  }

  private read(key: XcapDocumentKey): Promise<StoredXcapDocument | null> {
    return this.reads.read(key);
  }

  async put(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string | null): Promise<XcapPutResult> {
    return this.cached(key, doc, this.write(key, doc, expectedEtag));
  }

  /**
   * PostgreSQL: the compare-and-set of a replacement on the pipelined connection (lib/db.ts), so
   * that the next write of a document is on the wire while this one is answered. Null for
   * creations, rls-services (a transaction) and SQLite (its writes complete at once anyway).
   */
  orderedPut(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string): Promise<XcapPutResult> | null {
    if (doc.serviceUris !== undefined || key.auid === "rls-services") return null;
    const pipeline = postgresPipeline(this.db);
    if (!pipeline) return null;
    const written = pipeline
      .query("xcap-compare-and-set", COMPARE_AND_SET_POSTGRES, compareAndSetValues(key, doc, expectedEtag))
      .then((r): XcapPutResult => (r.rowCount === 1 ? { ok: true } : { ok: false, reason: "etag-mismatch" }));
    return this.cached(key, doc, written);
  }

  /** Keep the text cache right around a write (the entry leaves before it, comes back after it). */
  private async cached(key: XcapDocumentKey, doc: XcapPutInput, written: Promise<XcapPutResult>): Promise<XcapPutResult> {
    const cache = this.cache;
    const k = docId(key);
    if (cache) {
      cache.writes++;
      cache.delete(k);
    }
    let result: XcapPutResult;
    try {
      result = await written;
    } finally {
      if (cache) cache.writes++;
    }
    if (cache && result.ok) cache.set(k, doc);
    return result;
  }

  private async write(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string | null): Promise<XcapPutResult> {
    try {
      if (doc.serviceUris === undefined && key.auid !== "rls-services") {
        // no service URIs to claim: the compare-and-set is one statement, no transaction
        if (expectedEtag === null) {
          await this.db.xcapDocument.create({ data: { ...where(key), content: doc.content, etag: doc.etag } });
        } else if ((await this.compareAndSet(key, doc, expectedEtag)) !== 1) {
          throw new Mismatch();
        }
        return { ok: true };
      }
      await this.db.$transaction(async (tx) => {
        if (expectedEtag === null) {
          await tx.xcapDocument.create({ data: { ...where(key), content: doc.content, etag: doc.etag } });
        } else {
          const n = await tx.xcapDocument.updateMany({
            where: { ...where(key), etag: expectedEtag },
            data: { content: doc.content, etag: doc.etag },
          });
          if (n.count !== 1) throw new Mismatch();
        }
        const id = docId(key);
        const uris = [...new Set(doc.serviceUris ?? [])];
        const owners = uris.length ? await tx.rlsServiceUri.findMany({ where: { uri: { in: uris } } }) : [];
        const reclaim = new Set(doc.reclaimServiceUris ?? []);
        const taken = owners.filter((o) => o.path !== id && !reclaim.has(o.uri)).map((o) => o.uri);
        if (taken.length) throw new Taken(taken);
        const moved = owners.filter((o) => o.path !== id).map((o) => o.uri);
        await tx.rlsServiceUri.deleteMany({ where: moved.length ? { OR: [{ path: id }, { uri: { in: moved } }] } : { path: id } });
        if (uris.length) {
          for (const uri of uris) await tx.rlsServiceUri.create({ data: { uri, xui: key.xui ?? "", path: id } });
        }
      });
      return { ok: true };
    } catch (err) {
      if (err instanceof Mismatch) return { ok: false, reason: "etag-mismatch" };
      if (err instanceof Taken) return { ok: false, reason: "service-uri-taken", uris: err.uris };
      if (isUniqueViolation(err)) {
        // a concurrent create of the same document, or a concurrent claim of a service URI
        if (key.auid === "rls-services" && doc.serviceUris?.length) {
          const owners = await this.findServiceUriOwners(doc.serviceUris);
          const taken = owners.filter((o) => docId(o.key) !== docId(key)).map((o) => o.uri);
          if (taken.length) return { ok: false, reason: "service-uri-taken", uris: taken };
        }
        return { ok: false, reason: "etag-mismatch" };
      }
      throw err;
    }
  }

  /**
   * `UPDATE … WHERE <key> AND etag = expected`, the number of rows changed. Raw SQL (the same text
   * on SQLite and PostgreSQL: quoted identifiers, bound parameters) because this is the hot path
   * of every XCAP write and Prisma's query compiler costs more CPU than the statement itself
   * (measured: 420 µs against 250 µs for a 20 KB document on SQLite). The unique key's index
   * finds the row; updatedAt is set as @updatedAt would.
   */
  private compareAndSet(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string): Promise<number> {
    // SQLite: the same statement on Prisma's own connection, synchronously. Writes to one document
    // are serialized in this process, so every turn of the event loop the Prisma call waited was a
    // turn the next writer of the document waited too.
    const updatedAt = sqliteDateTime(Date.now());
    const direct = runSqliteStatement(
      this.db,
      `UPDATE "XcapDocument" SET "content" = ?, "etag" = ?, "updatedAt" = ? WHERE "auid" = ? AND "scope" = ? AND "xui" = ? AND "path" = ? AND "etag" = ?`,
      (stmt: { run(...params: unknown[]): { changes: number } }) => stmt.run(doc.content, doc.etag, updatedAt, key.auid, key.scope, key.xui ?? "", key.docPath, expectedEtag).changes,
    );
    if (direct) return direct;
    return this.compareAndSetOnPostgres(key, doc, expectedEtag);
  }

  /**
   * PostgreSQL: the statement on the adapter's pg pool (through Prisma's client a 20 KB document's
   * write cost ~1 ms more CPU). Through Prisma only on SQLite before its connection is open.
   */
  private async compareAndSetOnPostgres(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string): Promise<number> {
    const pool = await postgresPool(this.db);
    if (!pool) {
      return this.db.$executeRaw`UPDATE "XcapDocument" SET "content" = ${doc.content}, "etag" = ${doc.etag}, "updatedAt" = ${new Date()}
        WHERE "auid" = ${key.auid} AND "scope" = ${key.scope} AND "xui" = ${key.xui ?? ""} AND "path" = ${key.docPath} AND "etag" = ${expectedEtag}`;
    }
    const r = await pool.query(COMPARE_AND_SET_POSTGRES, compareAndSetValues(key, doc, expectedEtag));
    return r.rowCount ?? 0;
  }

  async delete(key: XcapDocumentKey, expectedEtag: string): Promise<boolean> {
    const cache = this.cache;
    const k = docId(key);
    if (cache) {
      cache.writes++;
      cache.delete(k);
    }
    try {
      if (key.auid !== "rls-services") {
        // only rls-services documents own service URI rows
        const n = await this.db.xcapDocument.deleteMany({ where: { ...where(key), etag: expectedEtag } });
        return n.count === 1;
      }
      return await this.db.$transaction(async (tx) => {
        const n = await tx.xcapDocument.deleteMany({ where: { ...where(key), etag: expectedEtag } });
        if (n.count !== 1) return false;
        await tx.rlsServiceUri.deleteMany({ where: { path: docId(key) } });
        return true;
      });
    } finally {
      if (cache) cache.writes++;
    }
  }

  async listUserDocuments(xui: string): Promise<XcapDocumentListing[]> {
    const rows = await this.db.xcapDocument.findMany({ where: { scope: "users", xui } });
    return rows.map((r) => ({
      key: { auid: r.auid, scope: "users" as const, xui: r.xui, docPath: r.path },
      etag: r.etag,
      size: Buffer.byteLength(r.content),
      lastModified: r.updatedAt,
    }));
  }

  /**
   * One aggregate over the XUI index (octet_length is UTF-8 bytes on PostgreSQL and on SQLite
   * ≥ 3.43). Asked before every write that grows a user's tree, so on SQLite it runs as a prepared
   * statement on Prisma's own connection, as the compare-and-set does.
   */
  async usage(xui: string): Promise<XcapUsage> {
    const direct = runSqliteStatement(
      this.db,
      `SELECT COUNT(*) AS "documents", COALESCE(SUM(octet_length("content")), 0) AS "bytes" FROM "XcapDocument" WHERE "scope" = 'users' AND "xui" = ?`,
      (stmt: { get(...params: unknown[]): UsageRow | undefined }) => stmt.get(xui),
    );
    const row = direct ? await direct : await this.usageQuery(xui);
    return { documents: Number(row?.documents ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /** PostgreSQL on the adapter's pg pool; through Prisma only before the SQLite connection is open. */
  private async usageQuery(xui: string): Promise<UsageRow | undefined> {
    const sql = `SELECT COUNT(*) AS "documents", COALESCE(SUM(octet_length("content")), 0) AS "bytes" FROM "XcapDocument" WHERE "scope" = 'users' AND "xui" = $1`;
    const pool = await postgresPool(this.db);
    if (pool) return (await pool.query<UsageRow>(sql, [xui])).rows[0];
    return (await this.db.$queryRawUnsafe<UsageRow[]>(sql.replace("$1", "?"), xui))[0];
  }

  async findServiceUriOwners(uris: string[]): Promise<Array<{ uri: string; key: XcapDocumentKey }>> {
    if (!uris.length) return [];
    const rows = await this.db.rlsServiceUri.findMany({ where: { uri: { in: uris } } });
    return rows.map((r) => {
      const [auid, scope, xui, docPath] = JSON.parse(r.path) as [string, "users" | "global", string, string];
      return { uri: r.uri, key: { auid, scope, xui: xui || null, docPath } };
    });
  }
}
