import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMessage } from "../../../lib/sip/parser";
import { serializeMessage } from "../../../lib/sip/serializer";
import { SipRequest, SipResponse } from "../../../lib/sip/message";
import { SipParseError } from "../../../lib/sip/parse-error";
import { AbsoluteUri, SipUri } from "../../../lib/sip/uri";

const dir = join(process.cwd(), "tests/fixtures/sip/rfc4475");
const load = (name: string) => readFileSync(join(dir, `${name}.sip`));

describe("RFC 4475 §3.1.1 valid messages parse", () => {
  it.each(["wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri", "transports", "mpart01", "unreason", "noreason", "bcast", "unkscm", "inv2543", "regescrt"])(
    "%s parses, validates and round-trips",
    (name) => {
      const m = parseMessage(load(name));
      m.validate();
      const again = parseMessage(serializeMessage(m), { stream: true });
      expect(again.startLine()).toBe(m.startLine());
      expect(again.via.map(String)).toEqual(m.via.map(String));
      expect(again.body.equals(m.body)).toBe(true);
      expect(again.callId).toBe(m.callId);
    },
  );

  it("wsinv: folding, odd whitespace, compact forms, quoted escapes", () => {
    const m = parseMessage(load("wsinv")) as SipRequest;
    expect(m.to.tag).toBe("1918181833n");
    expect(m.from.displayName).toBe('J Rosenberg \\"');
    expect(m.from.tag).toBe("98asjd8");
    expect(m.maxForwards).toBe(68);
    expect(m.cseq.seq).toBe(9);
    expect(m.cseq.method).toBe("INVITE");
    expect(m.via.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ["UDP", "192.0.2.2", "390skdjuw"],
      ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["UDP", "192.168.255.111", "z9hG4bK30239"],
    ]);
    expect(m.getHeader("Subject")).toBe("");
    expect(m.getHeader("NewFangledHeader")).toBe("newfangled value continued newfangled value");
    expect(m.getHeader("UnknownHeaderWithUnusualValue")).toBe(";;,,;;,;");
    const contact = m.contact[0];
    expect(contact !== "*" && contact.displayName).toBe('Quoted string ""');
    expect(contact !== "*" && contact.params.get("q")).toBe("0.33");
    expect(contact !== "*" && contact.params.get("newparam")).toBe("newvalue");
    expect(m.route[0].uri.toString()).toBe("sip:services.example.com;lr;unknownwith=value;unknown-no-value");
    expect(m.body.length).toBe(m.contentLength);
  });

  it("intmeth: unusual method, URI user/password characters, quoted control characters", () => {
    const m = parseMessage(load("intmeth")) as SipRequest;
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    const uri = m.uri as SipUri;
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(m.to.displayName).toBe("BEL:\x07 NUL:\x00 DEL:\x7f");
    expect(m.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.from.params.getUnquoted("fromParam''~+*_!.-%")).toBe("работающий");
    expect(m.callId).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  });

  it("esc01/escnull/semiuri: %-escapes are decoded and compare equal", () => {
    const esc01 = parseMessage(load("esc01")) as SipRequest;
    expect((esc01.uri as SipUri).user).toBe("sips:user@example.com");
    expect((esc01.to.uri as SipUri).user).toBe("user");
    expect(esc01.to.uri.equals(SipUri.parse("sip:user@example.com"))).toBe(true);
    expect((esc01.from.uri as SipUri).user).toBe("I have spaces");
    const escnull = parseMessage(load("escnull"));
    expect((escnull.to.uri as SipUri).user).toBe("null-\0-null");
    expect(escnull.contact.length).toBe(2);
    const semi = parseMessage(load("semiuri")) as SipRequest;
    expect((semi.uri as SipUri).user).toBe("user;par=u@example.net");
    expect((semi.uri as SipUri).host).toBe("example.com");
    expect(semi.accept).toEqual(["application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed", "message/sip", "message/sipfrag"]);
  });

  it("esc02: escaped method stays unknown; C%6Fntact is not Contact", () => {
    const m = parseMessage(load("esc02")) as SipRequest;
    expect(m.method).toBe("RE%47IST%45R");
    expect(m.contact.length).toBe(2);
    expect(m.getHeader("C%6Fntact")).toBe("<sip:alias2@host2.example.com>");
  });

  it("lwsdisp, transports, longreq, dblreq, mpart01, unreason, noreason, unkscm, inv2543", () => {
    expect(parseMessage(load("lwsdisp")).from.displayName).toBe("caller");
    expect(parseMessage(load("transports")).via.map((v) => v.transport)).toEqual(["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    const longreq = parseMessage(load("longreq"));
    expect(longreq.via.length).toBe(34);
    expect(longreq.to.uri.toString()).toContain("unknownparam1=verylong");
    const dbl = parseMessage(load("dblreq")) as SipRequest;
    expect(dbl.method).toBe("REGISTER");
    expect(dbl.body.length).toBe(0); // RFC 3261 §18.3: bytes past Content-Length are discarded on datagrams
    const mp = parseMessage(load("mpart01"));
    expect(mp.body.length).toBe(mp.contentLength);
    expect(mp.body.includes(Buffer.from([0x00, 0xff, 0xfe]))).toBe(true);
    expect(mp.contentType!.param("boundary")).toBe("7a9cbec02ceef655");
    const unreason = parseMessage(load("unreason")) as SipResponse;
    expect(unreason.status).toBe(200);
    expect(unreason.reason).toBe("= 2**3 * 5**2 но сто девяносто девять - простое");
    const noreason = parseMessage(load("noreason")) as SipResponse;
    expect(noreason.status).toBe(100);
    expect(noreason.reason).toBe("");
    const unkscm = parseMessage(load("unkscm")) as SipRequest;
    expect(unkscm.uri).toBeInstanceOf(AbsoluteUri);
    expect(unkscm.uri.scheme).toBe("nobodyknowsthisscheme");
    const inv = parseMessage(load("inv2543"));
    expect(inv.topVia!.branch).toBeUndefined();
    expect(inv.topVia!.isRfc3261Branch).toBe(false);
    const regescrt = parseMessage(load("regescrt"));
    const c = regescrt.contact[0];
    expect(c !== "*" && (c.uri as SipUri).headers).toEqual([["Route", "<sip:sip.example.com>"]]);
  });
});

describe("RFC 4475 §3.1.2 invalid messages are rejected", () => {
  it.each([
    ["badinv01", "MALFORMED_HEADER", 400],
    ["clerr", "BODY_TRUNCATED", 400],
    ["ncl", "INVALID_CONTENT_LENGTH", 400],
    ["scalar02", "INVALID_CSEQ", 400],
    ["quotbal", "INVALID_NAME_ADDR", 400],
    ["ltgtruri", "INVALID_URI", 400],
    ["lwsruri", "MALFORMED_START_LINE", 400],
    ["lwsstart", "MALFORMED_START_LINE", 400],
    ["trws", "MALFORMED_START_LINE", 400],
    ["escruri", "INVALID_URI", 400],
    ["badaspec", "INVALID_NAME_ADDR", 400],
    ["baddn", "INVALID_NAME_ADDR", 400],
    ["badvers", "UNSUPPORTED_VERSION", 505],
    ["mismatch01", "METHOD_MISMATCH", 400],
    ["mismatch02", "METHOD_MISMATCH", 400],
    ["bigcode", "INVALID_STATUS_CODE", 400],
    ["mcl01", "DUPLICATE_HEADER", 400],
  ] as const)("%s → %s (%d)", (name, code, status) => {
    let err: unknown;
    try {
      parseMessage(load(name));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SipParseError);
    expect((err as SipParseError).code).toBe(code);
    expect((err as SipParseError).status).toBe(status);
    expect((err as SipParseError).reason).not.toMatch(/[\r\n]/);
  });

  it("regbadct: Contact addr-spec with URI headers is rejected when Contact is parsed (lazy header)", () => {
    const m = parseMessage(load("regbadct"));
    expect(() => m.contact).toThrow(SipParseError);
    expect(() => m.validate()).toThrow(/enclosed in <>/);
  });

  it("scalar02's other overlarge scalars are caught by the lazy views too", () => {
    const text = load("scalar02").toString().replace("36893488147419103232", "1");
    expect(() => parseMessage(text)).toThrow(/Expires/); // Expires is parsed eagerly
    const m = parseMessage(text.replace(/Expires: 10+/, "Expires: 10"));
    expect(() => m.maxForwards).toThrow(SipParseError); // 300 > 255, lazy
    const c = m.contact[0];
    expect(c !== "*" && c.params.get("expires")).toBe("280297596632815");
  });
});
