/**
 * The Prisma client singleton. DATABASE_URL picks the provider: SQLite (better-sqlite3 driver
 * adapter) or PostgreSQL (pg driver adapter); both generated clients have the same models.
 */
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client";
import { parseDatabaseUrl } from "./database-url";
import { config } from "./config";
import { processWide, setProcessWide } from "./process-wide";

export type Db = InstanceType<typeof SqliteClient>;

/** The part of better-sqlite3's Database that Herald's synchronous fast paths use. */
export interface SqliteConnection {
  readonly inTransaction: boolean;
  /** The database file (":memory:" for an in-memory database). */
  readonly name: string;
  prepare(sql: string): { run(...params: unknown[]): { changes: number } };
}

interface SqliteHolder {
  conn?: SqliteConnection;
  /** Resolves once no transaction is open on the connection (isolateTransactions). */
  idle?: () => Promise<void>;
}
const sqliteConnections = new WeakMap<object, SqliteHolder>();

/**
 * Run `fn` synchronously on the better-sqlite3 connection Prisma's adapter opened for `client`,
 * once no transaction is open on it (as every query outside a transaction waits, see
 * isolateTransactions): a hot statement then needs no event-loop turns. Undefined when `client`
 * is not SQLite or Prisma has not connected yet — use Prisma then.
 */
export function runOnSqliteConnection<T>(client: Db, fn: (conn: SqliteConnection) => T): Promise<T> | undefined {
  const h = sqliteConnections.get(client);
  const conn = h?.conn;
  if (!conn || !h.idle) return undefined;
  const idle = h.idle;
  return (async () => {
    // a transaction may begin between `idle` resolving and this continuation: check again
    while (conn.inTransaction) await idle();
    return fn(conn);
  })();
}

/** A DateTime as Prisma's SQLite adapter writes it (so that Prisma reads it back). */
export function sqliteDateTime(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "+00:00");
}

const preparedStatements = new WeakMap<SqliteConnection, Map<string, unknown>>();

/**
 * `runOnSqliteConnection` with `sql` prepared once per connection (kept until the connection goes):
 * `fn` gets the statement, typed as the caller uses it (better-sqlite3's `run`, `get`, `all`).
 */
export function runSqliteStatement<S, T>(client: Db, sql: string, fn: (stmt: S) => T): Promise<T> | undefined {
  return runOnSqliteConnection(client, (conn) => {
    let byText = preparedStatements.get(conn);
    if (!byText) preparedStatements.set(conn, (byText = new Map()));
    let stmt = byText.get(sql) as S | undefined;
    if (stmt === undefined) byText.set(sql, (stmt = conn.prepare(sql) as unknown as S));
    return fn(stmt);
  });
}

/** Open a client for a database URL (tests open their own; the app uses db()). */
export function openDb(databaseUrl: string): Db {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.provider === "sqlite") {
    if (target.file !== ":memory:") mkdirSync(path.dirname(target.file), { recursive: true });
    const factory = new PrismaBetterSqlite3({ url: `file:${target.file}`, timeout: 10_000 });
    const holder: SqliteHolder = {};
    // the adapter factory as Prisma calls it, keeping the connection each connect() opens
    const adapter = {
      provider: factory.provider,
      adapterName: factory.adapterName,
      connect: async () => {
        const a = await factory.connect();
        holder.conn = (a as unknown as { client: SqliteConnection }).client;
        return isolateTransactions(a as unknown as SqliteAdapter, holder);
      },
      connectToShadowDb: () => factory.connectToShadowDb(),
    } as unknown as PrismaBetterSqlite3;
    const client = new SqliteClient({ adapter });
    sqliteConnections.set(client, holder);
    return client;
  }
  const factory = new PrismaPg({ connectionString: target.url });
  const holder: PostgresHolder = { url: target.url };
  // the adapter factory as Prisma calls it, keeping the pg pool each connect() opens
  const adapter = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const a = await factory.connect();
      const pool = a.underlyingDriver() as unknown as PostgresPool;
      holder.pool = pool;
      const dispose = a.dispose.bind(a);
      a.dispose = async () => {
        if (holder.pool === pool) holder.pool = undefined;
        await holder.pipeline?.end();
        return dispose();
      };
      return a;
    },
    connectToShadowDb: () => factory.connectToShadowDb(),
  } as unknown as PrismaPg;
  const client = new PostgresClient({ adapter }) as unknown as Db;
  postgresPools.set(client, holder);
  return client;
}

/** The part of pg's Pool that Herald's PostgreSQL fast paths use. */
export interface PostgresPool {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rowCount: number | null; rows: R[] }>;
}
interface PostgresHolder {
  url: string;
  pool?: PostgresPool;
  pipeline?: PostgresPipelineConnection;
}
const postgresPools = new WeakMap<object, PostgresHolder>();

/**
 * The pg pool Prisma's adapter opened for `client` (connecting first), or undefined when `client`
 * is not PostgreSQL. A hot statement sent here skips Prisma's query compiler and its query-plan
 * cache, which keeps raw queries' parameters (a write-behind batch's rows) as cache keys.
 */
export async function postgresPool(client: Db): Promise<PostgresPool | undefined> {
  const h = postgresPools.get(client);
  if (!h) return undefined;
  if (!h.pool) await client.$connect();
  return h.pool;
}

/**
 * Statements on one PostgreSQL connection in pipeline mode: each is sent as soon as it is issued,
 * before the previous one is answered, and they run (each in its own implicit transaction) in the
 * order they were issued. The order is fixed when `query` is called.
 */
export interface PostgresPipeline {
  query(name: string, text: string, values: unknown[]): Promise<{ rowCount: number | null }>;
}
interface PostgresPipelineConnection extends PostgresPipeline {
  end(): Promise<void>;
}

/**
 * The pipelined connection of `client` (opened on first use, again after it failed), or
 * undefined when `client` is not PostgreSQL. Separate from the pool: a pooled connection serves
 * one caller at a time.
 */
export function postgresPipeline(client: Db): PostgresPipeline | undefined {
  const h = postgresPools.get(client);
  if (!h) return undefined;
  return (h.pipeline ??= pipelineConnection(h.url));
}

function pipelineConnection(url: string): PostgresPipelineConnection {
  let open: Promise<pg.Client> | null = null;
  const connect = (): Promise<pg.Client> => {
    if (open) return open;
    // `pipeline` is pg's option (8.23) that @types/pg does not list yet
    const c = new pg.Client({ connectionString: url, pipeline: true } as pg.ClientConfig);
    const p = c.connect().then(() => c);
    const drop = () => {
      if (open === p) open = null;
    };
    // a lost connection fails the statements in flight; the next ones open a new connection
    c.on("error", drop);
    c.on("end", drop);
    p.catch(drop);
    return (open = p);
  };
  return {
    // every caller chains on the same promise, so the statements reach the connection in call order
    query: (name, text, values) => connect().then((c) => c.query({ name, text, values })),
    async end() {
      const p = open;
      open = null;
      const c = p ? await p.catch(() => null) : null;
      await c?.end().catch(() => undefined);
    },
  };
}

type Query = unknown;
interface SqliteTransaction {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface SqliteAdapter {
  client: SqliteConnection;
  queryRaw(q: Query): Promise<unknown>;
  executeRaw(q: Query): Promise<number>;
  startTransaction(isolationLevel?: string): Promise<SqliteTransaction>;
}

/**
 * Prisma's SQLite adapter runs everything on one better-sqlite3 connection and serializes only
 * transactions with each other: a query outside a transaction, issued while an interactive (or
 * batch) transaction is open and awaiting, runs inside it — and is undone if that transaction
 * rolls back, though its caller was told it succeeded. Queries outside transactions therefore
 * wait here until no transaction is open.
 */
function isolateTransactions(a: SqliteAdapter, holder: SqliteHolder): SqliteAdapter {
  let open: Promise<void> | null = null;
  const start = a.startTransaction.bind(a);
  const queryRaw = a.queryRaw.bind(a);
  const executeRaw = a.executeRaw.bind(a);
  const idle = async () => {
    // `inTransaction` is the truth (BEGIN has run); `open` is what to wait on
    while (a.client.inTransaction || open) await (open ?? new Promise((r) => setImmediate(r)));
  };
  holder.idle = idle;
  a.startTransaction = async (isolationLevel) => {
    const tx = await start(isolationLevel);
    let end!: () => void;
    const p = new Promise<void>((r) => (end = r));
    open = p;
    const finish = () => {
      if (open === p) open = null;
      end();
    };
    const commit = tx.commit.bind(tx);
    const rollback = tx.rollback.bind(tx);
    tx.commit = () => commit().finally(finish);
    tx.rollback = () => rollback().finally(finish);
    return tx;
  };
  a.queryRaw = async (q) => {
    await idle();
    return queryRaw(q);
  };
  a.executeRaw = async (q) => {
    await idle();
    return executeRaw(q);
  };
  return a;
}

/** Per-connection settings: WAL lets the portal read while the SIP server writes. */
export async function prepareDb(client: Db, databaseUrl: string): Promise<void> {
  if (parseDatabaseUrl(databaseUrl).provider === "sqlite") {
    await client.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    await client.$queryRawUnsafe("PRAGMA synchronous=NORMAL");
  }
}

const DB_KEY = "__heraldDb";

/**
 * The process-wide client. Kept on globalThis so the custom server and the Next.js bundle (which
 * loads its own copy of this module) share one connection.
 */
export function db(): Db {
  return processWide(DB_KEY, () => openDb(config().DATABASE_URL));
}

/** Install a client as the process-wide one (start-up and tests). */
export function setDb(client: Db): void {
  setProcessWide(DB_KEY, client);
}
