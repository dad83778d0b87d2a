/** Account and login behaviour on both databases: SQLite and a private PostgreSQL cluster. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain, AccountError, checkLogin, deleteAccount, listAccounts, setDisabled, setPassword, setRole } from "@/lib/accounts/service";
import type { Db } from "@/lib/db";
import { openMigrated, tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { startPostgres, type PgCluster } from "../../helpers/postgres";

const backends: [string, () => Promise<{ t: TempDb; stop?: () => Promise<void> }>][] = [
  ["sqlite", async () => ({ t: await tempSqliteDb() })],
  [
    "postgresql",
    async () => {
      const pg: PgCluster = await startPostgres();
      pg.createDatabase("herald_test");
      const t = await openMigrated(pg.url("herald_test"), "");
      return { t, stop: () => pg.stop() };
    },
  ],
];

describe.each(backends)("accounts on %s", (_name, open) => {
  let t: TempDb;
  let stop: (() => Promise<void>) | undefined;
  let db: Db;

  beforeAll(async () => {
    ({ t, stop } = await open());
    db = t.db;
    await addDomain(db, "example.test");
  });
  afterAll(async () => {
    await t?.close();
    await stop?.();
  });

  async function expectCode(p: Promise<unknown>, code: string) {
    await expect(p).rejects.toBeInstanceOf(AccountError);
    await expect(p).rejects.toMatchObject({ code });
  }

  it("adds an account with scrypt hash and digest HA1s", async () => {
    const a = await addAccount(db, { address: "alice@example.test", password: "Wonderland1", displayName: "Alice" });
    expect(a).toMatchObject({ address: "alice@example.test", role: "user", disabled: false });
    const row = await db.account.findUniqueOrThrow({ where: { address: "alice@example.test" } });
    expect(row.passwordHash).toMatch(/^scrypt\$/);
    expect(row.ha1).toMatch(/^[0-9a-f]{32}$/);
    expect(row.ha1Sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await db.auditEvent.count({ where: { action: "account.add", target: "alice@example.test" } })).toBe(1);
  });

  it("refuses bad input and changes nothing", async () => {
    const before = await db.account.count();
    await expectCode(addAccount(db, { address: "alice@example.test", password: "Wonderland1" }), "duplicate-account");
    await expectCode(addAccount(db, { address: "not-an-address", password: "Wonderland1" }), "malformed-address");
    await expectCode(addAccount(db, { address: "zed@unknown.test", password: "Wonderland1" }), "unknown-domain");
    await expectCode(addAccount(db, { address: "zed@example.test", password: "" }), "weak-password");
    await expectCode(addAccount(db, { address: "zed@example.test", password: "abc" }), "weak-password");
    await expectCode(addDomain(db, "example.test"), "duplicate-domain");
    expect(await db.account.count()).toBe(before);
  });

  it("checks logins: good, wrong password, unknown, disabled", async () => {
    expect(await checkLogin(db, "alice@example.test", "Wonderland1")).toMatchObject({ ok: true });
    expect(await checkLogin(db, "sip:alice@EXAMPLE.test", "Wonderland1")).toMatchObject({ ok: true });
    expect(await checkLogin(db, "alice@example.test", "wrong-pass1")).toEqual({ ok: false, reason: "bad-password" });
    expect(await checkLogin(db, "nobody@example.test", "Wonderland1")).toEqual({ ok: false, reason: "unknown-account" });
    expect(await checkLogin(db, "garbage", "x")).toEqual({ ok: false, reason: "malformed-address" });
    await setDisabled(db, "alice@example.test", true);
    expect(await checkLogin(db, "alice@example.test", "Wonderland1")).toEqual({ ok: false, reason: "disabled" });
    await setDisabled(db, "alice@example.test", false);
  });

  it("changes a password", async () => {
    await setPassword(db, "alice@example.test", "Looking-Glass2");
    expect(await checkLogin(db, "alice@example.test", "Wonderland1")).toMatchObject({ ok: false });
    expect(await checkLogin(db, "alice@example.test", "Looking-Glass2")).toMatchObject({ ok: true });
    expect((await listAccounts(db)).map((a) => a.address)).toEqual(["alice@example.test"]);
  });

  it("disable, password change and delete raise the session epoch and record a revocation in order; enable and role do not", async () => {
    const epoch = async () => (await db.account.findUniqueOrThrow({ where: { address: "alice@example.test" } })).sessionEpoch;
    const revocations = async () => (await db.accountRevocation.findMany({ orderBy: { id: "asc" } })).map((r) => `${r.address} ${r.reason}`);
    const e0 = await epoch();
    const r0 = await revocations();
    await setDisabled(db, "alice@example.test", true);
    await setDisabled(db, "alice@example.test", false);
    await setRole(db, "alice@example.test", "admin");
    expect(await epoch()).toBe(e0 + 1);
    await setPassword(db, "alice@example.test", "Through-Glass3");
    expect(await epoch()).toBe(e0 + 2);
    await addAccount(db, { address: "bob@example.test", password: "Builder-1" });
    await db.xcapDocument.create({ data: { auid: "resource-lists", scope: "users", xui: "sip:bob@example.test", path: "index", content: "<x/>", etag: "e" } });
    await db.rlsServiceUri.create({ data: { uri: "sip:bob-list@example.test", xui: "sip:bob@example.test", path: "index" } });
    await deleteAccount(db, "bob@example.test");
    expect(await db.account.findUnique({ where: { address: "bob@example.test" } })).toBeNull();
    expect(await db.xcapDocument.count({ where: { xui: "sip:bob@example.test" } })).toBe(0);
    expect(await db.rlsServiceUri.count({ where: { xui: "sip:bob@example.test" } })).toBe(0);
    expect((await revocations()).slice(r0.length)).toEqual(["alice@example.test disabled", "alice@example.test password-changed", "bob@example.test deleted"]);
    expect(await db.auditEvent.count({ where: { action: "account.delete", target: "bob@example.test" } })).toBe(1);
    await expectCode(deleteAccount(db, "bob@example.test"), "unknown-account");
  });
});
