/**
 * SQLite through Prisma's better-sqlite3 adapter is one connection: a query issued outside a
 * transaction while an interactive transaction is open must not become part of it (lib/db.ts
 * isolateTransactions), or a rollback undoes a write its caller was told had succeeded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heldTransaction } from "../../helpers/held-transaction";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

describe("SQLite: queries next to an open transaction", () => {
  let t: TempDb;
  beforeAll(async () => {
    t = await tempSqliteDb();
  });
  afterAll(async () => t?.close());

  const row = (path: string) => ({ auid: "resource-lists", scope: "users", xui: "sip:a@example.test", path, content: "<x/>", etag: path });

  it("a write outside the transaction survives the transaction's rollback, and waits for it to end", async () => {
    const tx = await heldTransaction(t.db, (q) => q.xcapDocument.create({ data: row("in-tx") }));
    let outsideDone = false;
    const outside = t.db.xcapDocument.create({ data: row("outside") }).then(() => (outsideDone = true));
    // the outside write does not run while the transaction is open
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(outsideDone).toBe(false);
    expect(await tx.rollBack()).toBe("roll back");
    await outside;
    expect((await t.db.xcapDocument.findMany({ select: { path: true } })).map((r) => r.path)).toEqual(["outside"]);
  });

  it("a committed transaction and the writes queued behind it both land", async () => {
    const [a, b] = await Promise.all([
      t.db.$transaction(async (q) => {
        await q.xcapDocument.create({ data: row("tx-1") });
        await q.xcapDocument.create({ data: row("tx-2") });
      }),
      t.db.xcapDocument.create({ data: row("plain") }),
    ]);
    expect(a).toBeUndefined();
    expect(b.path).toBe("plain");
    expect(await t.db.xcapDocument.count({ where: { path: { in: ["tx-1", "tx-2", "plain"] } } })).toBe(3);
  });
});
