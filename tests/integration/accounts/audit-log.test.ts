/** The console's audit log view (ISSUE-16): newest first, filtered by actor (kind prefix), action (family prefix) and target, paged. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain, setDisabled, setRole } from "@/lib/accounts/service";
import { auditActions, searchAudit } from "@/lib/accounts/audit-log";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

let t: TempDb;
beforeAll(async () => {
  t = await tempSqliteDb();
  await addDomain(t.db, "example.test", { actor: "cli" });
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1", actor: { actor: "admin:root@example.test", ip: "192.0.2.1" } });
  await addAccount(t.db, { address: "bob@example.test", password: "Bob-pass1", actor: "token:provisioning" });
  await setRole(t.db, "bob@example.test", "admin", "token:provisioning");
  await setDisabled(t.db, "alice@example.test", true, { actor: "admin:root@example.test", ip: "192.0.2.1" });
});
afterAll(async () => t?.close());

describe("audit log search", () => {
  it("newest first, all entries without filters", async () => {
    const r = await searchAudit(t.db);
    expect(r.total).toBe(5);
    expect(r.items.map((e) => e.action)).toEqual(["account.disable", "account.role", "account.add", "account.add", "domain.add"]);
  });

  it("filters by actor kind, action family and target, and pages", async () => {
    expect((await searchAudit(t.db, { actor: "admin:" })).items.map((e) => [e.action, e.target, e.ip])).toEqual([
      ["account.disable", "alice@example.test", "192.0.2.1"],
      ["account.add", "alice@example.test", "192.0.2.1"],
    ]);
    expect((await searchAudit(t.db, { actor: "token:provisioning", action: "account.role" })).total).toBe(1);
    expect((await searchAudit(t.db, { action: "account." })).total).toBe(4);
    expect((await searchAudit(t.db, { action: "account" })).total).toBe(0); // exact unless it ends in "."
    expect((await searchAudit(t.db, { target: "bob" })).items.map((e) => e.action)).toEqual(["account.role", "account.add"]);
    const p2 = await searchAudit(t.db, { page: 2, pageSize: 2 });
    expect(p2).toMatchObject({ page: 2, pageSize: 2, total: 5 });
    expect(p2.items.map((e) => e.action)).toEqual(["account.add", "account.add"]);
    expect(await auditActions(t.db)).toEqual(["account.add", "account.disable", "account.role", "domain.add"]);
  });
});
