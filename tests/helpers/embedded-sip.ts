import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import type { Db } from "@/lib/db";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server";
import { MemoryXcapStore } from "@/lib/xcap/server";
import { tempSqliteDb } from "./temp-db";

/**
 * The embedded SIP server as `herald start` configures it from `env` (SIP on a free loopback
 * port), on a temporary SQLite database (`seed` fills it first) and data directory, with an
 * in-memory XCAP store. `close` stops it and removes both.
 */
export async function embeddedSipFromEnv(
  env: Record<string, string>,
  options: { seed?: (db: Db) => Promise<unknown>; rls?: false } = {},
): Promise<{ sip: RunningSipServer; cfg: HeraldConfig; db: Db; close: () => Promise<void> }> {
  const tdb = await tempSqliteDb();
  const dataDir = mkdtempSync(path.join(tmpdir(), "herald-cfg-"));
  let sip: RunningSipServer | undefined;
  let cfg: HeraldConfig;
  const close = async () => {
    await sip?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await tdb.close();
  };
  try {
    await options.seed?.(tdb.db);
    cfg = loadConfig({ SIP_HOST: "127.0.0.1", SIP_PORT: "0", HERALD_DATA_DIR: dataDir, ...env }, dataDir);
    sip = await startEmbeddedSipServer(cfg, tdb.db, { store: new MemoryXcapStore() }, { logger: () => {}, ...(options.rls === false ? { rls: false as const } : {}) });
  } catch (err) {
    await close();
    throw err;
  }
  return { sip, cfg, db: tdb.db, close };
}
