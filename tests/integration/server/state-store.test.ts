/**
 * PrismaPresenceStateStore's write path (raw upserts and deletes, synchronously in one transaction
 * on SQLite, Prisma transactions on PostgreSQL, issue 13): what `apply` writes is what `load` and
 * Prisma read back, on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaPresenceStateStore } from "@/lib/server";
import { bothDatabases, type TempDb } from "../../helpers/temp-db";

const backends = bothDatabases("herald_state_store");

describe.each(backends)("presence state store on %s", (_name, open) => {
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

  it("writes a batch larger than one chunk", async () => {
    const store = new PrismaPresenceStateStore(t.db);
    await store.apply(Array.from({ length: 1200 }, (_, i) => ({ kind: "watcher" as const, key: `w${i}`, data: `{"i":${i}}` })));
    const rows = await store.load("watcher");
    expect(rows).toHaveLength(1200);
    expect(rows.find((r) => r.key === "w1199")).toEqual({ kind: "watcher", key: "w1199", data: '{"i":1199}', expiresAt: undefined });
  });
});
