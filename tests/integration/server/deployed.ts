/**
 * The presence server as deployed, on SQLite and on PostgreSQL: Prisma accounts, the Prisma XCAP
 * store, the Prisma presence state store, and the portal's XCAP root writing documents on the same
 * database (its change events reach the server, as `npm start` wires them). For `describe.each`.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import type { Db } from "@/lib/db";
import { portalXcapStore, type XcapHttp } from "@/lib/portal/xcap-http";
import { PresenceServer, PrismaAccountDirectory, PrismaPresenceStateStore, type PresenceServerOptions } from "@/lib/server";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { XcapClient } from "@/lib/xcap/client";
import type { XcapChangeEvent, XcapStore } from "@/lib/xcap/server";
import { startPostgres, type PgCluster } from "../../helpers/postgres";
import { SipTestClient } from "../../helpers/sip-client";
import { openMigrated, tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { testXcapHttp } from "../../helpers/test-xcap-http";

export const DOMAIN = "example.test";
export const PASSWORD = "Correct-Horse-9";
export const SECRET = "ephemeral-secret-for-tests";
export const XCAP_ROOT = "http://herald.test/xcap-root";

export type Backend = [name: string, open: () => Promise<TempDb>];

/**
 * SQLite and PostgreSQL, each `open()` a fresh migrated database. Call once at the top of a test
 * file: the file's one PostgreSQL cluster starts with its first database and stops after the file.
 */
export function databaseBackends(prefix: string): Backend[] {
  let cluster: Promise<PgCluster> | undefined;
  let databases = 0;
  afterAll(async () => {
    await (await cluster?.catch(() => undefined))?.stop();
  });
  return [
    ["SQLite", () => tempSqliteDb()],
    [
      "PostgreSQL",
      async () => {
        const pg = await (cluster ??= startPostgres());
        const name = `${prefix}_${++databases}`;
        pg.createDatabase(name);
        return openMigrated(pg.url(name), "");
      },
    ],
  ];
}

export interface DeployedDb {
  readonly db: Db;
  /** Run after the current test (before its documents and presence state are cleared). */
  defer(fn: () => Promise<unknown> | unknown): void;
}

/**
 * One database for the enclosing describe: opened with the domain and `users`' accounts before
 * its tests; after each test, what it deferred runs and its documents and presence state go.
 */
export function useDeployedDb(open: () => Promise<TempDb>, users: string[] = ["alice", "bob", "carol"]): DeployedDb {
  let t: TempDb | undefined;
  let cleanup: Array<() => Promise<unknown> | unknown> = [];
  beforeAll(async () => {
    t = await open();
    await addDomain(t.db, DOMAIN);
    for (const u of users) await addAccount(t.db, { address: `${u}@${DOMAIN}`, password: PASSWORD });
  }, 60_000);
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
    await t?.db.xcapDocument.deleteMany({});
    await t?.db.presenceState.deleteMany({});
  });
  afterAll(async () => t?.close());
  return {
    get db() {
      if (!t) throw new Error("the database is not open yet (use it inside a test)");
      return t.db;
    },
    defer: (fn) => void cleanup.push(fn),
  };
}

/** The portal's XCAP root on `db` (its cached Prisma store); `onChange` gets its change events. */
export function portalXcapHttp(db: Db, onChange: (e: XcapChangeEvent) => void = () => undefined): XcapHttp {
  return testXcapHttp(db, { store: portalXcapStore(db), ephemeralSecret: SECRET, onChange });
}

/** The XCAP client of `user` (a user part of DOMAIN), acting through `xcapHttp` as that user. */
export function xcapClientOf(xcapHttp: XcapHttp, user: string): XcapClient {
  return new XcapClient({ root: XCAP_ROOT, xui: `sip:${user}@${DOMAIN}`, fetch: (url, init) => xcapHttp.handleAs(new Request(url, init), `${user}@${DOMAIN}`) });
}

/**
 * The portal's XCAP root and the embedded presence server on `d`'s database. `serverStore` wraps
 * the store the server reads (to observe or delay its reads); `stop()` may be called early (a
 * restart) and otherwise runs after the test.
 */
export async function startDeployed(d: DeployedDb, overrides: Partial<PresenceServerOptions> = {}, serverStore: (s: XcapStore) => XcapStore = (s) => s) {
  const db = d.db;
  const listeners = new Set<(e: XcapChangeEvent) => void>();
  const xcapHttp = portalXcapHttp(db, (e) => listeners.forEach((l) => l(e)));
  const server = new PresenceServer({
    listen: { host: "127.0.0.1", tcpPort: 0 },
    accounts: new PrismaAccountDirectory(db),
    ephemeralSecret: SECRET,
    xcap: {
      store: serverStore(new PrismaXcapStore(db)),
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    state: new PrismaPresenceStateStore(db),
    ...overrides,
  });
  const port = (await server.start()).tcp!.port;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= server.stop());
  d.defer(stop);
  /** The XCAP client of `user` through the portal's XCAP root, whose changes reach this server. */
  const xcapOf = (user: string) => xcapClientOf(xcapHttp, user);
  /** A SIP user agent of `user` connected to this server, closed after the test. */
  const ua = async (user: string) => {
    const c = await SipTestClient.connect({ host: "127.0.0.1", port, user, domain: DOMAIN, password: PASSWORD });
    d.defer(() => c.close());
    return c;
  };
  return { server, port, stop, xcapOf, ua };
}
