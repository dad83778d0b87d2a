/**
 * The per-process cache of digest credentials (lib/accounts/digest-lookup): answers are reused for
 * the TTL, account writes in this process empty it at once, and writes it cannot see (another
 * process, simulated by writing the row directly) stop working once the TTL has passed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addAccount, addDomain, setDisabled, setPassword } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { accountsChanged } from "@/lib/accounts/changes";
import { accountCredentialsLookup, CredentialsCache, sipCredentialsLookup } from "@/lib/accounts/digest-lookup";
import { issueEphemeralCredentials } from "@/lib/sip";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

const TTL = 5_000;

describe("digest credentials cache", () => {
  let t: TempDb;
  let clock = 1_000_000;
  const now = () => clock;
  let n = 0;
  let user = "";

  beforeAll(async () => {
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    clock = 1_000_000;
    user = `u${++n}`;
    await addAccount(t.db, { address: `${user}@example.test`, password: "First-pass1" });
  });

  const setup = () => {
    const cache = new CredentialsCache({ ttlMs: TTL, now });
    return { cache, lookup: accountCredentialsLookup(t.db, { cache }) };
  };
  const ha1 = (password: string) => digestHa1(user, "example.test", password);
  /** What another process (the CLI) does: write the row, no in-process announcement. */
  const otherProcess = (data: { disabled?: boolean; ha1?: string }) => t.db.account.update({ where: { address: `${user}@example.test` }, data });

  it("answers repeated lookups from the cache: one query per user and realm within the TTL", async () => {
    const { cache, lookup } = setup();
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1"));
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1"));
    expect(await lookup(user, "example.test", "SHA-256")).toBe(digestHa1(user, "example.test", "First-pass1", "sha256"));
    expect(cache.stats).toEqual({ hits: 2, misses: 1 });
    // a lookup for another realm is its own entry (and finds nothing)
    expect(await lookup(user, "other.test", "MD5")).toBeUndefined();
    expect(cache.stats.misses).toBe(2);
  });

  it("shares one query between concurrent lookups", async () => {
    const { cache, lookup } = setup();
    await Promise.all(Array.from({ length: 10 }, () => lookup(user, "example.test", "MD5")));
    expect(cache.stats.misses).toBe(1);
  });

  it("a disable or password change by another process takes effect once the TTL has passed", async () => {
    const { lookup } = setup();
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1"));
    await otherProcess({ disabled: true });
    clock += TTL - 1;
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1")); // still within the TTL
    clock += 1;
    expect(await lookup(user, "example.test", "MD5")).toBeUndefined();

    await otherProcess({ disabled: false, ha1: ha1("Second-pass2") });
    clock += TTL - 1;
    expect(await lookup(user, "example.test", "MD5")).toBeUndefined(); // the "no account" answer is cached too
    clock += 1;
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("Second-pass2"));
  });

  it("a disable, re-enable or password change in this process takes effect at once", async () => {
    const { lookup } = setup();
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1"));
    await setDisabled(t.db, `${user}@example.test`, true);
    expect(await lookup(user, "example.test", "MD5")).toBeUndefined();
    await setDisabled(t.db, `${user}@example.test`, false);
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1"));
    await setPassword(t.db, `${user}@example.test`, "Second-pass2");
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("Second-pass2"));
  });

  it("an account added in this process is found at once even after a cached miss", async () => {
    const { lookup } = setup();
    const late = `late${n}`;
    expect(await lookup(late, "example.test", "MD5")).toBeUndefined();
    await addAccount(t.db, { address: `${late}@example.test`, password: "Late-pass1" });
    expect(await lookup(late, "example.test", "MD5")).toBe(digestHa1(late, "example.test", "Late-pass1"));
  });

  it("does not keep an answer whose query was in flight while an account was written", async () => {
    let release!: (v: { ha1: string; ha1Sha256: string } | null) => void;
    const cache = new CredentialsCache({ ttlMs: TTL, now });
    const first = cache.get("x", "example.test", () => new Promise((r) => (release = r)));
    accountsChanged(); // e.g. setDisabled committed while the query ran
    release({ ha1: "old", ha1Sha256: "old" });
    expect(await first).toEqual({ ha1: "old", ha1Sha256: "old" });
    await Promise.resolve();
    const again = await cache.get("x", "example.test", async () => null);
    expect(again).toBeNull();
    expect(cache.stats.misses).toBe(2);
  });

  it("short-lived credentials stop with their account (cached account answer, same TTL)", async () => {
    const secret = "ephemeral-secret-for-tests";
    const cache = new CredentialsCache({ ttlMs: TTL, now });
    const lookup = sipCredentialsLookup(t.db, secret, { cache })("example.test");
    const eph = issueEphemeralCredentials({ secret, user, ttlSeconds: 600 });
    expect(await lookup(eph.username, "example.test", "MD5")).toBeDefined();
    await otherProcess({ disabled: true });
    clock += TTL;
    expect(await lookup(eph.username, "example.test", "MD5")).toBeUndefined();
  });

  it("ttlMs 0 queries every time", async () => {
    const cache = new CredentialsCache({ ttlMs: 0, now });
    const lookup = accountCredentialsLookup(t.db, { cache });
    expect(await lookup(user, "example.test", "MD5")).toBe(ha1("First-pass1"));
    await otherProcess({ disabled: true });
    expect(await lookup(user, "example.test", "MD5")).toBeUndefined();
  });
});
