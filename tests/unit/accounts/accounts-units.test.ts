import { describe, expect, it } from "vitest";
import { accountAddress } from "@/lib/accounts/address";
import { digestHa1, hashPassword, passwordProblem, verifyPassword, generatePassword } from "@/lib/accounts/password";

describe("SIP addresses", () => {
  it("accepts user@domain and sip:user@domain, lower-casing the domain", () => {
    expect(accountAddress("alice@Example.TEST").address).toBe("alice@example.test");
    expect(accountAddress("sip:bob@example.test")).toEqual({ user: "bob", domain: "example.test", address: "bob@example.test" });
  });
  it.each(["", "alice", "@example.test", "alice@", "al ice@example.test", "alice@exa_mple.test", "a@b@", "alice@-bad.test"])(
    "rejects %j",
    (s) => expect(() => accountAddress(s)).toThrow(/malformed/),
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
