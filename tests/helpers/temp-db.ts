/** A fresh migrated SQLite database in a temp directory, installed as the process-wide client. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openDb, prepareDb, setDb, type Db } from "@/lib/db";
import { deployMigrations } from "@/lib/migrations";
import { startPostgres } from "./postgres";

export interface TempDb {
  db: Db;
  url: string;
  dir: string;
  close(): Promise<void>;
}

export async function tempSqliteDb(): Promise<TempDb> {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-db-"));
  const url = `file:${path.join(dir, "herald.db")}`;
  return openMigrated(url, dir, () => rmSync(dir, { recursive: true, force: true }));
}

export async function openMigrated(url: string, dir: string, cleanup: () => void = () => {}): Promise<TempDb> {
  await deployMigrations(url);
  const db = openDb(url);
  await prepareDb(db, url);
  setDb(db);
  return {
    db,
    url,
    dir,
    async close() {
      await db.$disconnect();
      cleanup();
    },
  };
}

/**
 * SQLite and PostgreSQL (a private cluster with database `pgDatabase`) as `describe.each` rows:
 * [name, open], `open` giving a migrated database and what stops its server.
 */
export function bothDatabases(pgDatabase: string): [string, () => Promise<{ t: TempDb; stop?: () => Promise<void> }>][] {
  return [
    ["sqlite", async () => ({ t: await tempSqliteDb() })],
    [
      "postgresql",
      async () => {
        const pg = await startPostgres();
        pg.createDatabase(pgDatabase);
        return { t: await openMigrated(pg.url(pgDatabase), ""), stop: () => pg.stop() };
      },
    ],
  ];
}
