/**
 * The Prisma client singleton. DATABASE_URL picks the provider: SQLite (better-sqlite3 driver
 * adapter) or PostgreSQL (pg driver adapter); both generated clients have the same models.
 */
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client";
import { parseDatabaseUrl } from "./database-url";
import { config } from "./config";

export type Db = InstanceType<typeof SqliteClient>;

/** Open a client for a database URL (tests open their own; the app uses db()). */
export function openDb(databaseUrl: string): Db {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.provider === "sqlite") {
    if (target.file !== ":memory:") mkdirSync(path.dirname(target.file), { recursive: true });
    const adapter = new PrismaBetterSqlite3({ url: `file:${target.file}`, timeout: 10_000 });
    return new SqliteClient({ adapter });
  }
  const adapter = new PrismaPg({ connectionString: target.url });
  return new PostgresClient({ adapter }) as unknown as Db;
}

/** Per-connection settings: WAL lets the portal read while the SIP server writes. */
export async function prepareDb(client: Db, databaseUrl: string): Promise<void> {
  if (parseDatabaseUrl(databaseUrl).provider === "sqlite") {
    await client.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    await client.$queryRawUnsafe("PRAGMA synchronous=NORMAL");
  }
}

const g = globalThis as { __heraldDb?: Db };

/**
 * The process-wide client. Kept on globalThis so the custom server and the Next.js bundle (which
 * loads its own copy of this module) share one connection.
 */
export function db(): Db {
  if (!g.__heraldDb) {
    g.__heraldDb = openDb(config().DATABASE_URL);
  }
  return g.__heraldDb;
}

/** Install a client as the process-wide one (start-up and tests). */
export function setDb(client: Db): void {
  g.__heraldDb = client;
}
