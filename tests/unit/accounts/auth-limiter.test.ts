/** The one limiter of password guesses (lib/accounts/auth-limiter): reservation, back-off, keys. */
import { describe, expect, it } from "vitest";
import { AuthLimiter, addressKey, type AuthAttempt, type AuthAttemptSlot } from "@/lib/accounts/auth-limiter";

function setup(options: ConstructorParameters<typeof AuthLimiter>[0] = {}) {
  let now = 1_000_000;
  const limiter = new AuthLimiter({ now: () => now, ...options });
  return {
    limiter,
    advance: (ms: number) => (now += ms),
    attempt: (account: string, address: string) => limiter.attempt({ account, address }),
  };
}

const slot = (a: AuthAttempt): AuthAttemptSlot => {
  if (!a.allowed) throw new Error(`refused (${a.scope}, ${a.retryAfterSeconds} s)`);
  return a;
};

describe("AuthLimiter", () => {
  it("reserves before the check: of 30 concurrent guesses only the allowance gets a slot", () => {
    const { attempt } = setup();
    const results = Array.from({ length: 30 }, () => attempt("alice@example.test", "10.0.0.1"));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    const refused = results.filter((r) => !r.allowed);
    expect(refused).toHaveLength(25);
    expect(refused[0]).toMatchObject({ scope: "account-address", retryAfterSeconds: 1 });
  });

  it("after the allowance each attempt waits twice as long as the one before, capped", () => {
    const { attempt, advance } = setup({ maxBackoffSeconds: 16 });
    for (let i = 0; i < 5; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = attempt("alice@example.test", "10.0.0.1");
      expect(r.allowed).toBe(false);
      const wait = (r as { retryAfterSeconds: number }).retryAfterSeconds;
      waits.push(wait);
      advance(wait * 1000 - 1);
      expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(false); // not a moment early
      advance(1);
      slot(attempt("alice@example.test", "10.0.0.1")).failed();
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 16, 16]);
  });

  it("in back-off, one attempt at a time", () => {
    const { attempt, advance } = setup();
    for (let i = 0; i < 5; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    advance(1000);
    const probe = slot(attempt("alice@example.test", "10.0.0.1"));
    expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(false);
    probe.released(); // not a guess (e.g. a stale nonce): nothing counted, the next may go
    expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(true);
  });

  it("the owner from another address still gets in; the account key stops only a distributed attack", () => {
    const { attempt } = setup();
    for (let i = 0; i < 5; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(false);
    slot(attempt("alice@example.test", "192.0.2.7")).succeeded();
    // 50 failures for the account from many addresses: now every address waits
    for (let i = 0; i < 45; i++) slot(attempt("alice@example.test", `10.1.${i}.1`)).failed();
    expect(attempt("alice@example.test", "192.0.2.7")).toMatchObject({ allowed: false, scope: "account" });
    expect(attempt("bob@example.test", "192.0.2.7").allowed).toBe(true);
  });

  it("limits one address across accounts", () => {
    const { attempt } = setup();
    for (let i = 0; i < 20; i++) slot(attempt(`user${i}@example.test`, "10.0.0.9")).failed();
    expect(attempt("dave@example.test", "10.0.0.9")).toMatchObject({ allowed: false, scope: "address" });
    expect(attempt("dave@example.test", "10.0.0.10").allowed).toBe(true);
  });

  it("a success clears only its (account, address) key, never the address's or the account's count", () => {
    const { attempt } = setup();
    for (let i = 0; i < 4; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    slot(attempt("alice@example.test", "10.0.0.1")).succeeded();
    for (let i = 0; i < 4; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(true);
    // an attacker's own successful sign-ins do not reset the address
    for (let i = 0; i < 19; i++) {
      slot(attempt(`victim${i}@example.test`, "10.0.0.2")).failed();
      slot(attempt("mallory@example.test", "10.0.0.2")).succeeded();
    }
    slot(attempt("victim@example.test", "10.0.0.2")).failed();
    expect(attempt("other@example.test", "10.0.0.2")).toMatchObject({ allowed: false, scope: "address" });
  });

  it("a client proven by a success may have many attempts in flight, until its next failure", () => {
    const { attempt } = setup();
    slot(attempt("alice@example.test", "10.0.0.1")).succeeded();
    // e.g. an XCAP client fetching its documents at once: up to the per-address number
    const parallel = Array.from({ length: 30 }, () => attempt("alice@example.test", "10.0.0.1"));
    expect(parallel.filter((r) => r.allowed)).toHaveLength(20);
    expect(parallel.find((r) => !r.allowed)).toMatchObject({ scope: "account-address", retryAfterSeconds: 1 });
    parallel.forEach((r) => r.allowed && r.succeeded());
    // one failure and it is a client like any other
    slot(attempt("alice@example.test", "10.0.0.1")).failed();
    const after = Array.from({ length: 10 }, () => attempt("alice@example.test", "10.0.0.1"));
    expect(after.filter((r) => r.allowed)).toHaveLength(4);
  });

  it("behind one address (an office NAT), a proven client is not held back by the others' failures", () => {
    const { attempt } = setup();
    slot(attempt("alice@example.test", "10.0.0.1")).succeeded();
    for (let i = 0; i < 20; i++) slot(attempt(`user${i}@example.test`, "10.0.0.1")).failed();
    expect(attempt("bob@example.test", "10.0.0.1")).toMatchObject({ allowed: false, scope: "address" });
    slot(attempt("alice@example.test", "10.0.0.1")).succeeded();
    // a guesser at alice from there: one failure and alice's key is no longer proven, so the
    // address's back-off holds it too
    slot(attempt("alice@example.test", "10.0.0.1")).failed();
    expect(attempt("alice@example.test", "10.0.0.1")).toMatchObject({ allowed: false, scope: "address" });
  });

  it("settles a slot once", () => {
    const { attempt } = setup();
    const s = slot(attempt("alice@example.test", "10.0.0.1"));
    for (let i = 0; i < 10; i++) s.failed();
    for (let i = 0; i < 4; i++) expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(true);
  });

  it("forgets a key's failures a window after the last one", () => {
    const { attempt, advance } = setup({ windowSeconds: 60 });
    for (let i = 0; i < 5; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    advance(60_001);
    for (let i = 0; i < 5; i++) slot(attempt("alice@example.test", "10.0.0.1")).failed();
    expect(attempt("alice@example.test", "10.0.0.1").allowed).toBe(false);
  });

  it("keeps nothing for attempts that leave nothing to remember", () => {
    const { limiter, attempt } = setup();
    slot(attempt("alice@example.test", "10.0.0.1")).released();
    expect(limiter.size).toBe(0);
    slot(attempt("alice@example.test", "10.0.0.1")).succeeded();
    expect(limiter.size).toBe(1); // the proven (account, address) key
  });

  it("stays bounded in memory", () => {
    const { limiter, attempt } = setup({ maxKeys: 300 });
    for (let i = 0; i < 2000; i++) slot(attempt(`u${i}@example.test`, `10.${i >> 8}.${i & 255}.1`)).failed();
    expect(limiter.size).toBeLessThanOrEqual(300);
  });

  it("counts IPv6 clients per /64 and IPv4-mapped addresses as IPv4", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("10.0.0.1")).toBe("10.0.0.1");
    const { attempt } = setup();
    for (let i = 0; i < 20; i++) slot(attempt(`user${i}@example.test`, `2001:db8:1:2::${i + 1}`)).failed();
    expect(attempt("dave@example.test", "2001:db8:1:2::ffff")).toMatchObject({ allowed: false, scope: "address" });
  });
});
