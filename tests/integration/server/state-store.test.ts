/**
 * PrismaPresenceStateStore's write path (raw upserts and deletes, synchronously in one transaction
 * on SQLite, one statement per batch on the pg pool on PostgreSQL, issue 13): what `apply` writes is what `load` and
 * Prisma read back, on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaPresenceStateStore } from "@/lib/server";
import { postgresBatch } from "@/lib/server/state-store";
import { postgresPool } from "@/lib/db";
import { SqliteStateWriter } from "@/lib/server/sqlite-state-writer";
import { bothDatabases, tempSqliteDb, type TempDb } from "../../helpers/temp-db";

const backends = bothDatabases("herald_state_store");

describe("PostgreSQL write-behind statement", () => {
  it("a batch is one statement: the deletes in a CTE before one multi-row upsert, parameters numbered in order", () => {
    const { text, values } = postgresBatch(
      [
        { kind: "subscription", key: "s1", data: "{}", expiresAt: Date.UTC(2030, 0, 1) },
        { kind: "subscription", key: "gone", data: null },
        { kind: "publication", key: "p1", data: "[]" },
      ],
      "2030-01-01T00:00:00.000Z",
    );
    expect(text).toBe(
      'WITH "deleted" AS (DELETE FROM "PresenceState" WHERE ("kind", "key") IN (($1, $2))) INSERT INTO "PresenceState" ("kind", "key", "data", "expiresAt", "updatedAt") VALUES ($3, $4, $5, $6, $7), ($8, $9, $10, $11, $12) ON CONFLICT ("kind", "key") DO UPDATE SET "data" = excluded."data", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"',
    );
    expect(values).toEqual(["subscription", "gone", "subscription", "s1", "{}", "2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z", "publication", "p1", "[]", null, "2030-01-01T00:00:00.000Z"]);
    expect(postgresBatch([{ kind: "k", key: "x", data: null }], "t").text).toBe('DELETE FROM "PresenceState" WHERE ("kind", "key") IN (($1, $2))');
  });
});

describe.each(backends)("presence state store on %s", (name, open) => {
  let t: TempDb;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ t, stop } = await open());
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await stop?.();
  });

  it("upserts, updates and deletes rows; expiry times and absent expiries read back exactly", async () => {
    const store = new PrismaPresenceStateStore(t.db);
    const expires = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
    await store.apply([
      { kind: "publication", key: "p1", data: '{"v":1}', expiresAt: expires },
      { kind: "publication", key: "p2", data: '{"v":2}' },
      { kind: "subscription", key: "s1", data: '{"s":1}', expiresAt: expires + 1000 },
    ]);
    await store.apply([
      { kind: "publication", key: "p1", data: '{"v":"1b"}', expiresAt: expires + 5 },
      { kind: "publication", key: "p2", data: null },
      { kind: "publication", key: "never-written", data: null },
    ]);
    expect(await store.load("publication")).toEqual([{ kind: "publication", key: "p1", data: '{"v":"1b"}', expiresAt: expires + 5 }]);
    expect(await store.load("subscription")).toEqual([{ kind: "subscription", key: "s1", data: '{"s":1}', expiresAt: expires + 1000 }]);
    const row = await t.db.presenceState.findUnique({ where: { kind_key: { kind: "publication", key: "p1" } } });
    expect(row?.updatedAt).toBeInstanceOf(Date);
    expect(Math.abs(row!.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("the pg pool behind Prisma is there on PostgreSQL only, and again after a disconnect", async () => {
    const pool = await postgresPool(t.db);
    if (name === "sqlite") return expect(pool).toBeUndefined();
    expect((await pool!.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await t.db.$disconnect();
    const again = await postgresPool(t.db);
    expect(again).not.toBe(pool);
    expect((await again!.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    expect(await t.db.presenceState.count()).toBeGreaterThanOrEqual(0);
  });

  it("writes a batch larger than one chunk", async () => {
    const store = new PrismaPresenceStateStore(t.db);
    await store.apply(Array.from({ length: 1200 }, (_, i) => ({ kind: "watcher" as const, key: `w${i}`, data: `{"i":${i}}` })));
    const rows = await store.load("watcher");
    expect(rows).toHaveLength(1200);
    expect(rows.find((r) => r.key === "w1199")).toEqual({ kind: "watcher", key: "w1199", data: '{"i":1199}', expiresAt: undefined });
  });
});

describe("presence state store on a SQLite file: the writer thread", () => {
  let t: TempDb;
  beforeAll(async () => {
    t = await tempSqliteDb();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const rows = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ kind: "watcher" as const, key: `${tag}${i}`, data: `{"i":${i},"pad":"${"x".repeat(200)}"}` }));

  it("writes a batch while the event loop keeps running, next to writes on Prisma's own connection", async () => {
    const store = new PrismaPresenceStateStore(t.db);
    expect(await store.usesWriterThread()).toBe(true);
    let turns = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    // Prisma writes on the main connection meanwhile: each waits for the other's write lock, none fails
    const [, created] = await Promise.all([
      store.apply(rows(20_000, "big")).finally(() => (done = true)),
      Promise.all(Array.from({ length: 20 }, (_, i) => t.db.xcapDocument.create({ data: { auid: "pres-rules", scope: "users", xui: `sip:w${i}@example.test`, path: "index", content: "<x/>", etag: `e${i}` } }))),
    ]);
    // written inline, the transaction would hold the event loop from the call to its end
    expect(turns).toBeGreaterThan(2);
    expect(created).toHaveLength(20);
    expect(await t.db.presenceState.count({ where: { kind: "watcher", key: { startsWith: "big" } } })).toBe(20_000);
    await store.close();
  });

  it("a store closed by a stopped server starts a new thread for the next one; writerThread: false writes inline", async () => {
    const store = new PrismaPresenceStateStore(t.db);
    await store.apply(rows(3, "a"));
    await store.close();
    await store.apply(rows(3, "b"));
    expect(await store.usesWriterThread()).toBe(true);
    expect((await store.load("watcher")).filter((r) => /^[ab]\d$/.test(r.key))).toHaveLength(6);
    await store.close();
    const inline = new PrismaPresenceStateStore(t.db, { writerThread: false });
    expect(await inline.usesWriterThread()).toBe(false);
    await inline.apply(rows(2, "c"));
    expect((await inline.load("watcher")).filter((r) => /^c\d$/.test(r.key))).toHaveLength(2);
  });

  it("a thread that cannot open its database fails its writes with the reason instead of leaving them waiting", async () => {
    const w = new SqliteStateWriter({ file: "/nonexistent-dir/herald.db", upsertSql: "SELECT 1", deleteSql: "SELECT 1" });
    await expect(w.apply(rows(1, "x"))).rejects.toThrow(/unable to open|directory does not exist|SQLITE_CANTOPEN|exited/i);
    expect(w.usable).toBe(false);
  });
});
