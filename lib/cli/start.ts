/** `herald start`: migrate, build if needed, then run every piece in this process. */
import type { HeraldConfig } from "../config";
import { openDb, prepareDb, setDb } from "../db";
import { deployMigrations } from "../migrations";
import { buildPortal, hasBuild, startPortal } from "../portal/http-server";

export interface RunningHerald {
  httpPort: number;
  stop(): Promise<void>;
}

export async function startHerald(cfg: HeraldConfig, log: (line: string) => void = (l) => process.stdout.write(l + "\n")): Promise<RunningHerald> {
  const applied = await deployMigrations(cfg.DATABASE_URL);
  if (applied.length) log(`herald: applied migrations ${applied.join(", ")}`);
  const db = openDb(cfg.DATABASE_URL);
  await prepareDb(db, cfg.DATABASE_URL);
  setDb(db);
  (globalThis as { __heraldConfig?: HeraldConfig }).__heraldConfig = cfg;
  // next-auth v4 builds absolute URLs from NEXTAUTH_URL, else (with AUTH_TRUST_HOST) from the
  // request's Host; the portal server drops client-sent X-Forwarded-Host unless PUBLIC_URL is set.
  if (cfg.PUBLIC_URL) process.env.NEXTAUTH_URL = cfg.PUBLIC_URL;
  else process.env.AUTH_TRUST_HOST = "true";
  if (!hasBuild()) {
    log("herald: no build found, running next build (once)…");
    await buildPortal();
  }
  const portal = await startPortal({ host: cfg.HOST, port: cfg.PORT, trustForwardedHost: Boolean(cfg.PUBLIC_URL), xcapRootPath: cfg.XCAP_ROOT_PATH });
  log(`herald: portal listening on http://${cfg.HOST === "0.0.0.0" ? "localhost" : cfg.HOST}:${portal.port}`);
  const stop = async () => {
    await portal.close();
    await db.$disconnect();
  };
  const onSignal = () => {
    void stop().finally(() => process.exit(0));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return { httpPort: portal.port, stop };
}
