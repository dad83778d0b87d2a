/**
 * The console's and API's account reads at scale, and the CSV import (ISSUE-16 item 1): on the
 * default SQLite, with 10,000 accounts, how long one page of the account search takes (first
 * page, a deep page, a search by name part, a search that matches nothing), and how long a
 * 10,000-row CSV import takes as a dry run and for real (scrypt per password, 4 at a time).
 * `--rows=` changes the count. Prints JSON lines.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openDb, prepareDb, setDb } from "../../lib/db";
import { deployMigrations } from "../../lib/migrations";
import { addDomain, searchAccounts } from "../../lib/accounts/service";
import { importAccounts } from "../../lib/accounts/csv-import";

const { values } = parseArgs({ options: { rows: { type: "string", default: "10000" }, "no-import": { type: "boolean", default: false } }, strict: false });
const ROWS = Number(values.rows);
const print = (o: object) => process.stdout.write(JSON.stringify({ bench: "admin", ...o }) + "\n");

async function open() {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-admin-"));
  const url = `file:${path.join(dir, "herald.db")}`;
  await deployMigrations(url);
  const db = openDb(url);
  await prepareDb(db, url);
  setDb(db);
  await addDomain(db, "example.test", { actor: "bench" });
  return { db, close: async () => (await db.$disconnect(), rmSync(dir, { recursive: true, force: true })) };
}

const csv = (n: number) => ["address,password,displayName,role", ...Array.from({ length: n }, (_, i) => `user${String(i).padStart(5, "0")}@example.test,Pass-word${i},User Number ${i},user`)].join("\n");

const a = await open();
const t0 = performance.now();
const r = await importAccounts(a.db, csv(ROWS), { actor: "bench", dryRun: values["no-import"] === true });
print({ measure: "import", rows: ROWS, dryRun: r.dryRun, created: r.created, ms: Math.round(performance.now() - t0) });
if (values["no-import"]) {
  // accounts without real password hashes: only the reads are measured
  const d = await a.db.domain.findFirstOrThrow();
  for (let i = 0; i < ROWS; i += 500) {
    await a.db.account.createMany({
      data: Array.from({ length: Math.min(500, ROWS - i) }, (_, k) => {
        const n = i + k;
        return { username: `user${String(n).padStart(5, "0")}`, domainId: d.id, address: `user${String(n).padStart(5, "0")}@example.test`, displayName: `User Number ${n}`, passwordHash: "x", ha1: "x", ha1Sha256: "x" };
      }),
    });
  }
}
const dry = performance.now();
const again = await importAccounts(a.db, csv(ROWS), { dryRun: true });
print({ measure: "import dry run (every row an existing account)", rows: ROWS, errors: again.errors, ms: Math.round(performance.now() - dry) });
for (const [label, opts] of [
  ["first page", { page: 1 }],
  ["page 150", { page: 150 }],
  ["search by name part, page 1", { query: "Number 99" }],
  ["search without a match", { query: "nobody-here" }],
] as const) {
  const times: number[] = [];
  let total = 0;
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    total = (await searchAccounts(a.db, { ...opts, pageSize: 50 })).total;
    times.push(performance.now() - s);
  }
  times.sort((x, y) => x - y);
  print({ measure: `account search: ${label}`, accounts: ROWS, matches: total, p50Ms: +times[10].toFixed(2), maxMs: +times[19].toFixed(2) });
}
await a.close();
