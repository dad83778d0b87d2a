/**
 * Child process for tests/bench/xcap.ts --portal: the portal's deployment path of the XCAP root —
 * createXcapHttp (lib/portal/xcap-http.ts: digest against the accounts in the database, fetch-style
 * Request/Response as the Next.js route app/xcap-root/[...path] uses it) over portalXcapStore (the
 * PrismaXcapStore with the per-process document cache that lib/portal/xcap.ts gives the route) on a
 * fresh migrated SQLite database, behind node:http (tests/helpers/xcap-http-server.ts: node request
 * → Request, Response → node response, as Next.js does around a route handler; its web-stream body
 * handling costs 0.2–0.8 ms per 20 KB response, which the route pays as well). Prints one JSON line
 * `{ "xcapRoot": … }` when listening; SIGTERM stops it and removes the database.
 *   npx tsx tests/bench/xcap-portal-server.ts --domain example.test --user alice:secret [--user …]
 *        [--sqlite-synchronous off|normal]
 * SQLite durability: `off` by default, the class of the Kamailio reference's PostgreSQL
 * (tests/helpers/postgres.ts runs it with fsync=off, synchronous_commit=off); `normal` is Herald's
 * deployment setting (lib/db.ts: WAL, fsync at checkpoints). The line printed says which.
 */
import { addAccount, addDomain } from "../../lib/accounts/service";
import { createXcapHttp, portalXcapStore } from "../../lib/portal/xcap-http";
import { tempSqliteDb } from "../helpers/temp-db";
import { serveFetch } from "../helpers/xcap-http-server";

const users: Record<string, string> = {};
let domain = "example.test";
let synchronous = "off";
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--domain") domain = process.argv[++i]!;
  else if (a === "--sqlite-synchronous") synchronous = process.argv[++i]!.toLowerCase();
  else if (a === "--user") {
    const [u, ...p] = process.argv[++i]!.split(":");
    users[u!] = p.join(":");
  }
}

if (synchronous !== "off" && synchronous !== "normal") throw new Error("--sqlite-synchronous: off or normal");
const t = await tempSqliteDb();
await t.db.$queryRawUnsafe(`PRAGMA synchronous=${synchronous.toUpperCase()}`);
await addDomain(t.db, domain);
for (const [user, password] of Object.entries(users)) await addAccount(t.db, { address: `${user}@${domain}`, password });
let changes = 0;
const xcap = createXcapHttp({
  db: t.db,
  store: portalXcapStore(t.db),
  rootPath: "/xcap-root",
  maxBodyBytes: 4 * 1024 * 1024,
  secret: "bench-nonce-secret-0123456789abcdef",
  ephemeralSecret: "bench-ephemeral-secret",
  sessionAor: async () => null,
  onChange: () => void changes++,
});
const srv = await serveFetch((r) => xcap.handle(r));
process.stdout.write(JSON.stringify({ xcapRoot: `${srv.url}/xcap-root`, pid: process.pid, db: t.url, sqliteSynchronous: synchronous }) + "\n");
const stop = () =>
  void srv
    .close()
    .then(() => t.close())
    .finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
