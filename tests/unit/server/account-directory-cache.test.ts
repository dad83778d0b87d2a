/**
 * PrismaAccountDirectory with a cache (as `herald start`'s SIP server runs it, issue 13): one
 * account read serves the digest check and the status check of many requests; an account write in
 * this process (or a revocation the watcher reports, lib/cli/start.ts) makes the next request read
 * again.
 */
import { describe, expect, it } from "vitest";
import type { Db } from "@/lib/db";
import { PrismaAccountDirectory } from "@/lib/server/account-directory";
import { CredentialsCache } from "@/lib/accounts/digest-lookup";
import { accountsChanged } from "@/lib/accounts/changes";

function fakeDb(rows: Map<string, { disabled: boolean; ha1: string; ha1Sha256: string }>) {
  const queries: string[] = [];
  const db = {
    account: {
      findUnique: async ({ where }: { where: { address: string } }) => {
        queries.push(where.address);
        return rows.get(where.address) ?? null;
      },
    },
  } as unknown as Db;
  return { db, queries };
}

describe("PrismaAccountDirectory cache", () => {
  it("reads an account once for its credentials and status over many requests", async () => {
    const { db, queries } = fakeDb(new Map([["alice@example.test", { disabled: false, ha1: "md5-ha1", ha1Sha256: "sha-ha1" }]]));
    const dir = new PrismaAccountDirectory(db, { cache: new CredentialsCache({ ttlMs: 60_000 }) });
    for (let i = 0; i < 5; i++) {
      expect(await dir.lookupHa1("alice", "example.test", "MD5")).toBe("md5-ha1");
      expect(await dir.lookupHa1("Alice", "example.test", "SHA-256")).toBe("sha-ha1");
      expect(await dir.accountStatus("alice", "example.test")).toBe("active");
    }
    expect(await dir.accountStatus("nobody", "example.test")).toBe("unknown");
    expect(await dir.accountStatus("nobody", "example.test")).toBe("unknown");
    expect(queries).toEqual(["alice@example.test", "nobody@example.test"]);
  });

  it("reads again after an account write in this process (a revocation seen by the watcher counts as one)", async () => {
    const rows = new Map([["bob@example.test", { disabled: false, ha1: "h", ha1Sha256: "s" }]]);
    const { db, queries } = fakeDb(rows);
    const dir = new PrismaAccountDirectory(db, { cache: new CredentialsCache({ ttlMs: 60_000 }) });
    expect(await dir.accountStatus("bob", "example.test")).toBe("active");
    rows.set("bob@example.test", { disabled: true, ha1: "h", ha1Sha256: "s" });
    accountsChanged();
    expect(await dir.accountStatus("bob", "example.test")).toBe("disabled");
    expect(await dir.lookupHa1("bob", "example.test", "MD5")).toBeUndefined();
    expect(queries).toEqual(["bob@example.test", "bob@example.test"]);
  });

  it("without a cache reads on every call", async () => {
    const { db, queries } = fakeDb(new Map());
    const dir = new PrismaAccountDirectory(db);
    await dir.accountStatus("carol", "example.test");
    await dir.accountStatus("carol", "example.test");
    expect(queries).toHaveLength(2);
  });
});
