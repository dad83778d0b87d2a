/** authorizeLogin: the next-auth credentials check with its limits and audit trail. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config";
import { addAccount, addDomain, setDisabled } from "@/lib/accounts/service";
import { authorizeLogin } from "@/lib/portal/auth";
import { signInEvents } from "@/lib/portal/sign-in-events";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

describe("portal login checks", () => {
  let t: TempDb;
  beforeAll(async () => {
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = loadConfig({
      HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-login-")),
      AUTH_FAILURES_PER_ACCOUNT: "3",
      AUTH_FAILURES_PER_ADDRESS: "6",
    });
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    for (const u of ["alice", "bob", "carol", "dave"]) await addAccount(t.db, { address: `${u}@example.test`, password: "Password-1" });
  });
  afterAll(async () => t?.close());

  it("accepts good credentials and carries id, address and role", async () => {
    const u = await authorizeLogin({ address: "alice@example.test", password: "Password-1" }, "10.0.0.1");
    expect(u).toMatchObject({ address: "alice@example.test", role: "user" });
    expect(Number(u.id)).toBeGreaterThan(0);
  });

  it("refuses a wrong password and an unknown account alike, and audits the failure", async () => {
    await expect(authorizeLogin({ address: "alice@example.test", password: "nope-nope-1" }, "10.0.0.2")).rejects.toThrow("invalid");
    await expect(authorizeLogin({ address: "zed@example.test", password: "Password-1" }, "10.0.0.2")).rejects.toThrow("invalid");
    const failures = await t.db.auditEvent.findMany({ where: { action: "login.failed" } });
    expect(failures.map((f) => [f.target, f.detail, f.ip])).toEqual([
      ["alice@example.test", "bad-password", "10.0.0.2"],
      ["zed@example.test", "unknown-account", "10.0.0.2"],
    ]);
  });

  it("announces a successful sign-in (the embedded server warms the buddy list), never a failed one", async () => {
    const signedIn: string[] = [];
    const stop = signInEvents().subscribe((a) => signedIn.push(a));
    const broken = signInEvents().subscribe(() => {
      throw new Error("a listener's failure is its own");
    });
    try {
      await expect(authorizeLogin({ address: "alice@example.test", password: "nope-nope-1" }, "10.0.0.4")).rejects.toThrow("invalid");
      await authorizeLogin({ address: "alice@example.test", password: "Password-1" }, "10.0.0.4");
    } finally {
      stop();
      broken();
    }
    expect(signedIn).toEqual(["alice@example.test"]);
  });

  it("refuses a disabled account", async () => {
    await setDisabled(t.db, "carol@example.test", true);
    await expect(authorizeLogin({ address: "carol@example.test", password: "Password-1" }, "10.0.0.3")).rejects.toThrow("disabled");
  });

  it("limits failures per account, even with the right password afterwards", async () => {
    for (let i = 0; i < 3; i++) {
      await expect(authorizeLogin({ address: "bob@example.test", password: "wrong-wrong-1" }, `10.1.0.${i}`)).rejects.toThrow("invalid");
    }
    await expect(authorizeLogin({ address: "bob@example.test", password: "Password-1" }, "10.1.0.9")).rejects.toThrow("limited");
    expect(await t.db.auditEvent.count({ where: { action: "login.limited", target: "bob@example.test" } })).toBe(1);
  });

  it("limits failures per client address across accounts", async () => {
    for (let i = 0; i < 6; i++) {
      await expect(authorizeLogin({ address: `nobody${i}@example.test`, password: "x-x-x-x-1" }, "10.9.9.9")).rejects.toThrow("invalid");
    }
    await expect(authorizeLogin({ address: "dave@example.test", password: "Password-1" }, "10.9.9.9")).rejects.toThrow("limited");
    // another address is not affected
    await expect(authorizeLogin({ address: "dave@example.test", password: "Password-1" }, "10.9.9.10")).resolves.toMatchObject({ address: "dave@example.test" });
  });
});
