/** Pure parts of the bridge: header-text edits, identity comparison, token bucket, SIP_UPSTREAM parsing. */
import { describe, expect, it } from "vitest";
import { parseUpstreamUri } from "../../../lib/bridge";
import { editClientMessage, isSessionAor, parseSessionAor, scanClientMessage, splitRaw, stripTopVia } from "../../../lib/bridge/rewrite";
import { TokenBucket } from "../../../lib/bridge/token-bucket";
import { NameAddr, parseMessage, parseUri } from "../../../lib/sip";

const REGISTER = [
  "REGISTER sip:example.test SIP/2.0",
  "v: SIP/2.0/WSS k3b9.invalid;branch=z9hG4bK776asdhds",
  "Max-Forwards: 70",
  "From: <sip:alice@example.test>;tag=1928301774",
  "To: <sip:alice@example.test>",
  "Call-ID: a84b4c76e66710",
  "CSeq: 1 REGISTER",
  "m: <sip:x7@k3b9.invalid;transport=ws>;expires=600,",
  " <sip:x8@k3b9.invalid;transport=ws>",
  "P-Asserted-Identity: <sip:bob@example.test>",
  "X-Weird:   spaced\tvalue ",
  "Content-Length: 4",
  "",
  "body",
].join("\r\n");

describe("editClientMessage", () => {
  it("inserts the Via on top, replaces the (folded, compact) Contact, drops P-Asserted-Identity, keeps the rest byte for byte", () => {
    const raw = Buffer.from(REGISTER);
    const msg = parseMessage(raw);
    const contacts = (msg.contact as NameAddr[]).map((c) => {
      const r = c.clone();
      (r.uri as { host: string }).host = "10.0.0.1";
      return r;
    });
    const out = editClientMessage(raw, msg, { via: "SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK-x", contacts }).toString();
    expect(out).toBe(
      [
        "REGISTER sip:example.test SIP/2.0",
        "Via: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK-x",
        "v: SIP/2.0/WSS k3b9.invalid;branch=z9hG4bK776asdhds",
        "Max-Forwards: 70",
        "From: <sip:alice@example.test>;tag=1928301774",
        "To: <sip:alice@example.test>",
        "Call-ID: a84b4c76e66710",
        "CSeq: 1 REGISTER",
        "Contact: <sip:x7@10.0.0.1;transport=ws>;expires=600, <sip:x8@10.0.0.1;transport=ws>",
        "X-Weird:   spaced\tvalue ",
        "Content-Length: 4",
        "",
        "body",
      ].join("\r\n"),
    );
    expect(parseMessage(out, { stream: true }).via).toHaveLength(2);
  });

  it("adds Content-Length when absent, cuts trailing bytes beyond it, skips leading CRLFs", () => {
    const noLength = "\r\nMESSAGE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/WSS h.invalid;branch=z9hG4bKa\r\nFrom: <sip:alice@example.test>;tag=1\r\nTo: <sip:bob@example.test>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\r\nhi ü";
    const raw = Buffer.from(noLength);
    const out = editClientMessage(raw, parseMessage(raw), {});
    const reparsed = parseMessage(out, { stream: true });
    expect(reparsed.bodyText).toBe("hi ü");
    expect(out.toString().startsWith("MESSAGE ")).toBe(true);

    const extra = Buffer.from(noLength.replace("CSeq: 1 MESSAGE\r\n", "CSeq: 1 MESSAGE\r\nContent-Length: 2\r\n"));
    const cut = editClientMessage(extra, parseMessage(extra), {});
    expect(parseMessage(cut, { stream: true }).bodyText).toBe("hi");
  });

  it("with only a Via to insert, keeps every other byte as it was (folded lines, odd spacing, non-ASCII body)", () => {
    const head = [
      "PUBLISH sip:alice@example.test SIP/2.0",
      "Via: SIP/2.0/WSS h.invalid;branch=z9hG4bKa",
      "From: <sip:alice@example.test>;tag=1",
      "To: <sip:alice@example.test>",
      "Call-ID: c",
      "CSeq: 2 PUBLISH",
      "X-Folded: one,",
      "\ttwo",
      "l:   6",
    ].join("\r\n");
    const raw = Buffer.from(`${head}\r\n\r\nhé ü`);
    const out = editClientMessage(raw, parseMessage(raw), { via: "SIP/2.0/TCP 0.0.0.0:7;branch=z9hG4bK-hb1-a;rport;alias" });
    expect(out.toString()).toBe(head.replace("SIP/2.0\r\n", "SIP/2.0\r\nVia: SIP/2.0/TCP 0.0.0.0:7;branch=z9hG4bK-hb1-a;rport;alias\r\n") + "\r\n\r\nhé ü");
  });

  it("with only a Via to insert, still drops P-Asserted-Identity, cuts bytes beyond Content-Length and skips leading CRLFs", () => {
    const msg = "MESSAGE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/WSS h.invalid;branch=z9hG4bKa\r\nFrom: <sip:alice@example.test>;tag=1\r\nTo: <sip:bob@example.test>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhi";
    const via = { via: "SIP/2.0/TCP 0.0.0.0:7;branch=z9hG4bK-x" };
    const withPai = Buffer.from(msg.replace("Call-ID: c\r\n", "Call-ID: c\r\nP-Asserted-Identity: <sip:bob@example.test>\r\n"));
    expect(editClientMessage(withPai, parseMessage(withPai), via).toString()).not.toContain("P-Asserted-Identity");
    const trailing = Buffer.from(msg + "garbage");
    expect(editClientMessage(trailing, parseMessage(trailing), via).toString().endsWith("\r\n\r\nhi")).toBe(true);
    const leading = Buffer.from("\r\n" + msg);
    expect(editClientMessage(leading, parseMessage(leading), via).toString().startsWith("MESSAGE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 0.0.0.0:7")).toBe(true);
  });

  it("a single Contact line is replaced on the bytes with the same result as the general path", () => {
    const base = [
      "SUBSCRIBE sip:alice+presence@example.test SIP/2.0",
      "Via: SIP/2.0/WSS h.invalid;branch=z9hG4bKa",
      "From: <sip:alice@example.test>;tag=1",
      "To: <sip:alice+presence@example.test>",
      "Call-ID: c",
      "CSeq: 1 SUBSCRIBE",
      "CONTACT :  <sip:x7@h.invalid;transport=ws;ob>;+sip.instance=\"<urn:uuid:1>\", <sip:x8@h.invalid;transport=ws>",
      "X-Odd:\tvalue é",
      "Content-Length: 4",
      "",
      "body",
    ].join("\r\n");
    const variants = [base, base.replace("CONTACT :", "m:"), base.replace("SUBSCRIBE sip:alice+presence@example.test SIP/2.0", "SIP/2.0 200 OK")];
    for (const text of variants) {
      const raw = Buffer.from(text);
      const msg = parseMessage(raw);
      const contacts = (msg.contact as NameAddr[]).map((c) => {
        const r = c.clone();
        (r.uri as { host: string }).host = "0.0.0.0";
        return r;
      });
      for (const edit of [{ via: "SIP/2.0/TCP 0.0.0.0:7;branch=z9hG4bK-x", contacts }, { contacts }, { contacts: [] }]) {
        if (msg.isRequest === false && edit.via) continue;
        const fast = editClientMessage(raw, msg, edit);
        // a leading CRLF takes the general path (split and re-join every header line)
        const leading = Buffer.concat([Buffer.from("\r\n"), raw]);
        expect(fast.equals(editClientMessage(leading, parseMessage(leading), edit))).toBe(true);
        expect(fast.toString()).toContain("\r\nX-Odd:\tvalue é\r\n");
        expect(fast.toString().match(/\r\n(Contact|CONTACT|m) ?:/g)?.length ?? 0).toBe(edit.contacts.length ? 1 : 0);
      }
    }
  });

  it("leaves Contact alone when no replacement is given (Contact: *)", () => {
    const raw = Buffer.from(REGISTER.replace(/\r\nm: [^]*?transport=ws>\r\n/, "\r\nContact: *\r\n"));
    const out = editClientMessage(raw, parseMessage(raw), { via: "SIP/2.0/TCP 1.2.3.4:5;branch=z9hG4bKq" }).toString();
    expect(out).toContain("\r\nContact: *\r\n");
  });
});

describe("scanClientMessage", () => {
  const usual = [
    "SUBSCRIBE sip:alice+presence@example.test SIP/2.0",
    "Via: SIP/2.0/WSS h.invalid;branch=z9hG4bKtop, SIP/2.0/WSS g.invalid;branch=z9hG4bKnext",
    "From: <sip:alice@example.test>;tag=1",
    "To: <sip:alice+presence@example.test>",
    "Call-ID: c",
    "CSeq: 1 SUBSCRIBE",
    "m: <sip:x7@h.invalid;transport=ws;ob>",
    "Content-Length: 4",
    "",
    "body",
  ].join("\r\n");

  it("finds the start line end, header end, top Via branch and the Contact line's bytes", () => {
    const raw = Buffer.from(usual);
    const layout = scanClientMessage(raw)!;
    expect(layout).toMatchObject({ isRequest: true, branch: "z9hG4bKtop", startLineEnd: usual.indexOf("\r\n"), headEnd: usual.indexOf("\r\n\r\n") });
    expect(raw.subarray(layout.contact!.start, layout.contact!.end).toString()).toBe("m: <sip:x7@h.invalid;transport=ws;ob>\r\n");
    expect(layout.contact!.value.trim()).toBe("<sip:x7@h.invalid;transport=ws;ob>");
    expect(scanClientMessage(Buffer.from(usual.replace(/^SUBSCRIBE [^\r]+/, "SIP/2.0 200 OK")))?.isRequest).toBe(false);
  });

  it.each([
    ["a CRLF before the start line", (m: string) => "\r\n" + m],
    ["a folded line", (m: string) => m.replace("Call-ID: c", "Call-ID: c\r\nX-A: one,\r\n two")],
    ["two Contact lines", (m: string) => m.replace("Call-ID: c", "Call-ID: c\r\nContact: <sip:y@h.invalid>")],
    ["no Content-Length", (m: string) => m.replace("Content-Length: 4\r\n", "")],
    ["two Content-Length lines", (m: string) => m.replace("Call-ID: c", "Call-ID: c\r\nl: 4")],
    ["P-Asserted-Identity", (m: string) => m.replace("Call-ID: c", "Call-ID: c\r\nP-Asserted-Identity: <sip:bob@example.test>")],
    ["a line without a colon", (m: string) => m.replace("Call-ID: c", "Call-ID: c\r\nnonsense")],
    ["no header end", (m: string) => m.replace("\r\n\r\n", "\r\n")],
  ])("leaves a message with %s to the general path", (_what, change) => {
    expect(scanClientMessage(Buffer.from(change(usual)))).toBeUndefined();
  });
});

describe("stripTopVia", () => {
  const res = (vias: string) =>
    Buffer.from(`SIP/2.0 200 OK\r\n${vias}From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 2\r\n\r\nok`);

  it("removes the top Via line", () => {
    const out = stripTopVia(res("Via: SIP/2.0/TCP 1.2.3.4:5;branch=z9hG4bK-hb1-x;received=9.9.9.9\r\nVia: SIP/2.0/WSS h.invalid;branch=z9hG4bKb\r\n"));
    expect(out.toString()).toBe(res("Via: SIP/2.0/WSS h.invalid;branch=z9hG4bKb\r\n").toString());
  });

  it("removes only the first value of a combined or folded Via line", () => {
    const out = stripTopVia(res("Via: SIP/2.0/TCP 1.2.3.4:5;branch=z9hG4bK-hb1-x,\r\n  SIP/2.0/WSS h.invalid;branch=z9hG4bKb\r\n"));
    expect(parseMessage(out).getHeaders("Via")).toEqual(["SIP/2.0/WSS h.invalid;branch=z9hG4bKb"]);
  });

  it("splitRaw keeps folded lines with their header", () => {
    const s = splitRaw(Buffer.from(REGISTER))!;
    expect(s.headers.find((h) => h.lower === "contact")?.text).toContain("\r\n <sip:x8@");
    expect(s.body.toString()).toBe("body");
  });
});

describe("identity", () => {
  const alice = parseSessionAor("alice@Example.TEST")!;

  it("parses the session AOR with or without sip:", () => {
    expect(alice).toEqual({ user: "alice", domain: "example.test", aor: "alice@example.test" });
    expect(parseSessionAor("sip:alice@example.test")).toEqual(alice);
    expect(parseSessionAor("alice")).toBeUndefined();
    expect(parseSessionAor("@example.test")).toBeUndefined();
  });

  it.each([
    ["sip:alice@example.test", true],
    ["sip:alice@EXAMPLE.test:5060;transport=tcp", true],
    ["sip:%61lice@example.test", true], // compared unescaped (RFC 3261 §19.1.4)
    ["sip:Alice@example.test", false], // user part is case-sensitive
    ["sips:alice@example.test", false],
    ["sip:bob@example.test", false],
    ["sip:alice@example.test.evil", false],
    ["sip:example.test", false],
    ["tel:+15551234", false],
  ])("%s → %s", (uri, ok) => {
    expect(isSessionAor(parseUri(uri), alice)).toBe(ok);
  });
});

describe("TokenBucket", () => {
  it("allows a burst, then refills at the rate", () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    t += 100; // one token
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 10_000; // capped at the burst
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});

describe("parseUpstreamUri", () => {
  it("reads SIP_UPSTREAM forms", () => {
    expect(parseUpstreamUri("sip:127.0.0.1:5060;transport=tcp")).toEqual({ host: "127.0.0.1", port: 5060, transport: "tcp" });
    expect(parseUpstreamUri("sip:sip.example.test;transport=tls")).toEqual({ host: "sip.example.test", port: 5061, transport: "tls" });
    expect(parseUpstreamUri("sips:sip.example.test")).toEqual({ host: "sip.example.test", port: 5061, transport: "tls" });
    expect(parseUpstreamUri("sip:[::1]:5070")).toEqual({ host: "::1", port: 5070, transport: "tcp" });
    expect(() => parseUpstreamUri("sip:host;transport=udp")).toThrow(/tcp or tls/);
    expect(() => parseUpstreamUri("sip:alice@host")).toThrow();
    expect(() => parseUpstreamUri("http://host")).toThrow();
  });
});
