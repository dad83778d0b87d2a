import { describe, expect, it } from "vitest";
import { AorError, canonicalAor, parseAor } from "../../../lib/sip/aor";

describe("canonicalAor (addresses read from the wire or documents)", () => {
  it.each([
    ["sip:alice@example.test", "sip:alice@example.test"],
    ["alice@Example.TEST", "sip:alice@example.test"],
    ["SIPS:Alice@EXAMPLE.test", "sip:Alice@example.test"],
    ["sips:Bob@Example.TEST:5061;x=y", "sip:Bob@example.test"],
    ["<sip:bob@example.test;transport=tcp>;tag=1", "sip:bob@example.test"],
    ['"Bob" <sip:bob@Example.test?subject=x>', "sip:bob@example.test"],
    ["  sip:bob@example.test:5060  ", "sip:bob@example.test"],
    ["sip%3Abob%40Example.test", "sip:bob@example.test"],
    ["sip:b%C3%A9a@example.test", "sip:béa@example.test"],
    ["sip:bob@[2001:DB8::1]:5061", "sip:bob@[2001:db8::1]"],
    ["sip:Example.TEST", "sip:example.test"],
    ["tel:+15551234567", "tel:+15551234567"],
    ["pres:bob@example.test", "pres:bob@example.test"],
  ])("%s → %s", (input, out) => expect(canonicalAor(input)).toBe(out));
  it("never throws", () => {
    for (const s of ["", "<", "@", "sip:", "%ff%fe", ";;", "<sip:a@b"]) expect(typeof canonicalAor(s)).toBe("string");
  });
});

describe("parseAor (addresses a person typed)", () => {
  it("accepts user@domain, sip: and sips:, lower-cases the host, drops params and port", () => {
    expect(parseAor("alice@Example.TEST")).toEqual({ user: "alice", host: "example.test", aor: "sip:alice@example.test" });
    expect(parseAor("sip:Bob@EXAMPLE.test;transport=tcp").aor).toBe("sip:Bob@example.test");
    expect(parseAor("sips:bob@example.test:5061").aor).toBe("sip:bob@example.test");
    expect(parseAor(" <sip:bob@192.0.2.1> ").aor).toBe("sip:bob@192.0.2.1");
    expect(parseAor("sipho@example.com").aor).toBe("sip:sipho@example.com");
  });
  it.each([
    ["", /expected user@domain/],
    ["alice", /expected user@domain/],
    ["@example.test", /expected user@domain/],
    ["alice@", /invalid domain/],
    ["al ice@example.test", /invalid user part/],
    ["bo#b@example.test", /invalid user part/],
    ["a@b@example.test", /invalid user part/],
    ["alice@exa_mple.test", /invalid domain/],
    ["alice@-bad.test", /invalid domain/],
    ["tel:+15551234567", /a tel: URI is not a SIP address/],
    ["x".repeat(300) + "@example.test", /longer than 256 characters/],
  ])("refuses %j with a message naming the problem", (input, why) => {
    const err = (() => {
      try {
        parseAor(input);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AorError);
    expect((err as AorError).code).toBe("malformed-address");
    expect((err as AorError).message).toMatch(/^malformed SIP address /);
    expect((err as AorError).message).toMatch(why);
  });
  it("with fullDomain, refuses a one-label domain such as sipbob@x (a mistyped sip:bob@…)", () => {
    expect(() => parseAor("sipbob@x", { fullDomain: true })).toThrow(/"x" is not a full domain name; expected user@domain such as bob@example.com/);
    expect(() => parseAor("sip:bob@x", { fullDomain: true })).toThrow(AorError);
    expect(parseAor("bob@localhost", { fullDomain: true }).aor).toBe("sip:bob@localhost");
    expect(parseAor("bob@x").aor).toBe("sip:bob@x");
  });
});
