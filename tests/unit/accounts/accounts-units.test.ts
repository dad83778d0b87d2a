import { describe, expect, it } from "vitest";
import { parseAddress } from "@/lib/accounts/address";
import { digestHa1, hashPassword, passwordProblem, verifyPassword, generatePassword } from "@/lib/accounts/password";
import { FailureLimiter } from "@/lib/accounts/rate-limit";

describe("SIP addresses", () => {
  it("accepts user@domain and sip:user@domain, lower-casing the domain", () => {
    expect(parseAddress("alice@Example.TEST").address).toBe("alice@example.test");
    expect(parseAddress("sip:bob@example.test")).toEqual({ user: "bob", domain: "example.test", address: "bob@example.test" });
  });
  it.each(["", "alice", "@example.test", "alice@", "al ice@example.test", "alice@exa_mple.test", "a@b@", "alice@-bad.test"])(
    "rejects %j",
    (s) => expect(() => parseAddress(s)).toThrow(/malformed/),
  );
});

describe("passwords", () => {
  it("hashes with scrypt and verifies", async () => {
    const h = await hashPassword("Secret123!");
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword("Secret123!", h)).toBe(true);
    expect(await verifyPassword("secret123!", h)).toBe(false);
  });
  it("computes HA1 as RFC 2617 does", () => {
    // RFC 2617 §3.5 example: Mufasa / testrealm@host.com / Circle Of Life
    expect(digestHa1("Mufasa", "testrealm@host.com", "Circle Of Life")).toBe("939e7578ed9e3c518a452acee763bce9");
    expect(digestHa1("Mufasa", "testrealm@host.com", "Circle Of Life", "sha256")).toHaveLength(64);
  });
  it("refuses empty, short and one-class passwords", () => {
    expect(passwordProblem("")).toMatch(/empty/);
    expect(passwordProblem("Ab1")).toMatch(/short/);
    expect(passwordProblem("abcdefghij")).toMatch(/weak/);
    expect(passwordProblem("abcdefgh1")).toBeUndefined();
    expect(passwordProblem(generatePassword())).toBeUndefined();
  });
});

describe("FailureLimiter", () => {
  it("blocks after max failures within the window and forgets afterwards", () => {
    let now = 0;
    const l = new FailureLimiter({ max: 3, windowMs: 1000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(l.blocked("k")).toBe(false);
      l.fail("k");
    }
    expect(l.blocked("k")).toBe(true);
    expect(l.blocked("other")).toBe(false);
    now = 1001;
    expect(l.blocked("k")).toBe(false);
  });
  it("stays bounded in memory", () => {
    const l = new FailureLimiter({ max: 1, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) l.fail(`k${i}`);
    expect((l as unknown as { hits: Map<string, unknown> }).hits.size).toBeLessThanOrEqual(100);
  });
});
