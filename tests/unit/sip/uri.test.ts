import { describe, expect, it } from "vitest";
import { SipUri, parseUri, AbsoluteUri } from "../../../lib/sip/uri";
import { NameAddr } from "../../../lib/sip/name-addr";
import { Via } from "../../../lib/sip/via";
import { SipParseError } from "../../../lib/sip/parse-error";
import { Params, splitTopLevel } from "../../../lib/sip/syntax";
import { canonicalHeaderName } from "../../../lib/sip/header-names";

describe("SIP URI", () => {
  it("parses user, password, host, port, params and headers; serializes back", () => {
    const u = SipUri.parse("sips:alice:pw%40x@[2001:db8::1]:5061;transport=tls;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent");
    expect(u.scheme).toBe("sips");
    expect(u.user).toBe("alice");
    expect(u.password).toBe("pw@x");
    expect(u.host).toBe("[2001:db8::1]");
    expect(u.port).toBe(5061);
    expect(u.transport).toBe("tls");
    expect(u.params.get("lr")).toBeNull();
    expect(u.params.get("maddr")).toBe("239.255.255.1");
    expect(u.headers).toEqual([["subject", "project x"], ["priority", "urgent"]]);
    expect(u.toString()).toBe("sips:alice:pw%40x@[2001:db8::1]:5061;transport=tls;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent");
    expect(SipUri.parse(u.toString()).equals(u)).toBe(true);
    expect(new SipUri({ user: "a b", host: "example.test" }).toString()).toBe("sip:a%20b@example.test");
  });

  it("rejects malformed URIs with SipParseError", () => {
    for (const bad of ["sip:", "sip:alice@", "sip:alice@host:99999", "sip:alice@host:x", "sip:a@[::1", "sip:a b@host", "sip:a@ho st", "sip:a@300.1.1.1", "nocolon", "sip:a@h;=x"]) {
      expect(() => parseUri(bad), bad).toThrow(SipParseError);
    }
  });

  it("keeps other schemes opaque (tel:, pres:, urn:)", () => {
    const p = parseUri("pres:alice@example.test");
    expect(p).toBeInstanceOf(AbsoluteUri);
    expect(p.toString()).toBe("pres:alice@example.test");
    expect(parseUri("tel:+1-201-555-0123").scheme).toBe("tel");
  });

  // RFC 3261 §19.1.4 examples
  it.each([
    ["sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"],
    ["sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"],
    ["sip:carol@chicago.com", "sip:carol@chicago.com;security=on"],
    ["sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"],
    ["sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"],
    ["sip:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:alice@atlanta.com?priority=urgent&subject=project%20x"],
  ])("equivalent: %s == %s", (a, b) => {
    expect(parseUri(a).equals(parseUri(b))).toBe(true);
    expect(parseUri(b).equals(parseUri(a))).toBe(true);
  });

  it.each([
    ["SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"],
    ["sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"],
    ["sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"],
    ["sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"],
    ["sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"],
    ["sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"],
    ["sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"],
    ["sip:alice@atlanta.com", "sips:alice@atlanta.com"],
  ])("not equivalent: %s != %s", (a, b) => {
    expect(parseUri(a).equals(parseUri(b))).toBe(false);
    expect(parseUri(b).equals(parseUri(a))).toBe(false);
  });
});

describe("name-addr, Via, params, header names", () => {
  it("name-addr with quoted display name escapes, params; addr-spec params belong to the header", () => {
    const n = NameAddr.parse('"Alice \\"A\\" Smith" <sip:alice@example.test;transport=tcp>;tag=abc;expires=600');
    expect(n.displayName).toBe('Alice "A" Smith');
    expect(n.tag).toBe("abc");
    expect(n.params.get("expires")).toBe("600");
    expect((n.uri as SipUri).transport).toBe("tcp");
    expect(n.toString()).toBe('"Alice \\"A\\" Smith" <sip:alice@example.test;transport=tcp>;tag=abc;expires=600');
    const a = NameAddr.parse("sip:bob@example.test;tag=xyz");
    expect(a.tag).toBe("xyz");
    expect((a.uri as SipUri).params.size).toBe(0);
    expect(NameAddr.parse("Bob Smith <sip:bob@example.test>").displayName).toBe("Bob Smith");
    for (const bad of ["", '"open <sip:a@b>', "<sip:a@b", "<sip:a@b> junk", "Bell, A <sip:a@b>", "< sip:a@b>"]) {
      expect(() => NameAddr.parse(bad), bad).toThrow(SipParseError);
    }
  });

  it("Via with IPv6, rport/received, branch; set and serialize", () => {
    const v = Via.parse("SIP/2.0/tls [2001:db8::9]:5061;branch=z9hG4bKabc;rport;alias");
    expect(v.transport).toBe("TLS");
    expect(v.host).toBe("[2001:db8::9]");
    expect(v.port).toBe(5061);
    expect(v.rport).toBe(true);
    expect(v.isRfc3261Branch).toBe(true);
    v.rport = 40000;
    v.received = "2001:db8::9";
    expect(v.toString()).toBe("SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKabc;rport=40000;alias;received=2001:db8::9");
    for (const bad of ["SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host;", "SIP/2.0/UDP host;rport=x", "SIP/2.0/UDP ho st"]) {
      expect(() => Via.parse(bad), bad).toThrow(SipParseError);
    }
  });

  it("splits on top-level separators only; compact header names map to canonical ones", () => {
    expect(splitTopLevel('"a,b" <sip:x;y=1,z>, <sip:q>', ",")).toEqual(['"a,b" <sip:x;y=1,z>', " <sip:q>"]);
    expect(() => splitTopLevel('"open', ",")).toThrow(SipParseError);
    expect(Params.parse(" a = 1 ; b ; c=\"x;y\"").toJSON()).toEqual({ a: "1", b: null, c: '"x;y"' });
    expect(Object.fromEntries(["i", "m", "e", "l", "c", "f", "s", "k", "t", "v", "o", "u", "r", "b", "x", "y"].map((c) => [c, canonicalHeaderName(c)]))).toEqual({
      i: "Call-ID", m: "Contact", e: "Content-Encoding", l: "Content-Length", c: "Content-Type", f: "From", s: "Subject", k: "Supported",
      t: "To", v: "Via", o: "Event", u: "Allow-Events", r: "Refer-To", b: "Referred-By", x: "Session-Expires", y: "Identity",
    });
    expect(canonicalHeaderName("cseq")).toBe("CSeq");
    expect(canonicalHeaderName("www-authenticate")).toBe("WWW-Authenticate");
    expect(canonicalHeaderName("X-Custom")).toBe("X-Custom");
  });
});
