import { describe, expect, it } from "vitest";
import { PresencePayloadError } from "../../../lib/presence/errors";
import { parseMediaType } from "../../../lib/presence/media-type";
import { composeMultipartRelated, composeRlsNotifyBody } from "../../../lib/presence/multipart-composer";
import { partText } from "../../../lib/presence/multipart-related";
import { parseMultipartRelated } from "../../../lib/presence/multipart-parser";
import { composePidf } from "../../../lib/presence/pidf-composer";
import { parsePidf } from "../../../lib/presence/pidf-parser";
import type { RlmiList } from "../../../lib/presence/rlmi";
import { composeRlmi } from "../../../lib/presence/rlmi-composer";
import { parseRlmi } from "../../../lib/presence/rlmi-parser";
import { bodiesOfType, toCrlf } from "./fixtures";
import { expectValidXml } from "./xsd";

const LIST: RlmiList = {
  uri: "sip:alice+presence@example.test",
  version: 3,
  fullState: true,
  names: [{ text: "Buddies", lang: "en" }],
  resources: [
    { uri: "sip:bob@example.test", names: [{ text: "Bob" }], instances: [{ id: "i1", state: "active", cid: "bob-1@example.test" }] },
    { uri: "sip:carol@example.test", names: [], instances: [{ id: "i2", state: "pending" }] },
    { uri: "sip:dave@example.test", names: [], instances: [{ id: "i3", state: "terminated", reason: "rejected" }] },
    { uri: "sip:erin@example.test", names: [], instances: [] },
  ],
};

const code = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(PresencePayloadError);
    return (e as PresencePayloadError).code;
  }
};

describe("RLMI", () => {
  it("composes schema-valid documents that round-trip", async () => {
    const xml = composeRlmi(LIST);
    await expectValidXml(xml);
    expect(parseRlmi(xml)).toEqual(LIST);
    await expectValidXml(composeRlmi({ uri: "sip:x@y", version: 0, fullState: false, names: [], resources: [], cid: "nested@x" }));
  });
  it("rejects malformed lists", () => {
    expect(code(() => parseRlmi('<list xmlns="urn:ietf:params:xml:ns:rlmi" version="1" fullState="true"/>'))).toBe("missing-attribute");
    expect(code(() => parseRlmi('<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:x" version="a" fullState="true"/>'))).toBe("missing-attribute");
    expect(code(() => parseRlmi('<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:x" version="1" fullState="true"><resource uri="sip:y"><instance id="1" state="odd"/></resource></list>'))).toBe("invalid-value");
    expect(code(() => parseRlmi("<list/>"))).toBe("wrong-root");
  });
});

describe("parseMediaType", () => {
  it("handles quoted parameters and case", () => {
    expect(parseMediaType('Multipart/Related;type="application/rlmi+xml";start="<a;b>";boundary=XyZ ; charset="a\\"b"')).toEqual({
      mime: "multipart/related",
      params: { type: "application/rlmi+xml", start: "<a;b>", boundary: "XyZ", charset: 'a"b' },
    });
    expect(code(() => parseMediaType("nonsense"))).toBe("bad-content-type");
  });
});

describe("multipart/related", () => {
  it("reads Kamailio's RLS NOTIFY body, with LF and with CRLF line ends", () => {
    const [notify] = bodiesOfType("rls-notify-with-bob.txt", "multipart/related");
    const ct = notify.headers.get("content-type") as string;
    for (const body of [notify.body, toCrlf(notify.body)]) {
      const m = parseMultipartRelated(ct, new TextEncoder().encode(body));
      expect(m.type).toBe("application/rlmi+xml");
      expect(m.start).toBe("1795312906.sip:alice+presence@example.test.938774734");
      expect(m.parts).toHaveLength(2);
      expect(m.rlmi).toMatchObject({
        uri: "sip:alice+presence@example.test",
        version: 2,
        fullState: true,
        resources: [
          { uri: "sip:bob@example.test", instances: [{ id: "Scf8UhwQ", state: "active", cid: "1795312906.sip:bob@example.test.1315941959" }] },
          { uri: "sip:carol@example.test", instances: [] },
        ],
      });
      const bob = m.byContentId.get(m.rlmi!.resources[0].instances[0].cid!)!;
      expect(bob.mediaType.mime).toBe("application/pidf+xml");
      const pidf = parsePidf(bob.body);
      expect(pidf.entity).toBe("sip:bob@example.test");
      expect(pidf.tuples[0].notes[0].text).toBe("Bob is here");
    }
  });

  it("round-trips its own RLS NOTIFY body (bytes and text)", async () => {
    const bob = composePidf({ entity: "sip:bob@example.test", extended: "away", note: "brb — café" });
    const composed = composeRlsNotifyBody(LIST, [{ contentId: "bob-1@example.test", contentType: "application/pidf+xml", body: bob }]);
    expect(composed.contentType).toMatch(/^multipart\/related;type="application\/rlmi\+xml";start="<[^>]+>";boundary=[0-9A-Za-z]{24}$/);
    expect(composed.text).toContain("Content-Transfer-Encoding: binary\r\n");
    const m = parseMultipartRelated(composed.contentType, composed.body);
    expect(m.rlmi).toEqual(LIST);
    await expectValidXml(partText(m.root));
    expect(partText(m.byContentId.get("bob-1@example.test")!)).toBe(bob);
    expect(parseMultipartRelated(composed.contentType, composed.text).parts).toHaveLength(2);
  });

  it("parses nested lists, preamble, epilogue, padding, folded headers and base64", () => {
    const inner = composeMultipartRelated({
      boundary: "inner-b",
      parts: [
        { contentType: "application/rlmi+xml", contentId: "inner-root", body: composeRlmi({ uri: "sip:friends@example.test", version: 1, fullState: true, names: [], resources: [{ uri: "sip:x@example.test", names: [], instances: [{ id: "x", state: "active", cid: "x@p" }] }] }) },
        { contentType: "application/pidf+xml", contentId: "x@p", body: composePidf({ entity: "sip:x@example.test" }) },
      ],
    });
    const body =
      "This is the preamble.\r\n" +
      "--outer  \r\n" +
      "Content-Type: application/rlmi+xml\r\nContent-ID:\r\n <root@x>\r\n\r\n" +
      composeRlmi({ uri: "sip:all@example.test", version: 1, fullState: true, names: [], resources: [{ uri: "sip:friends@example.test", names: [], instances: [{ id: "f", state: "active", cid: "nested@x" }] }] }) +
      "\r\n--outer\r\n" +
      `Content-Type: ${inner.contentType}\r\nContent-ID: <nested@x>\r\n\r\n` +
      inner.text +
      "\r\n--outer\n" +
      "Content-Type: text/plain\nContent-ID: <b64@x>\nContent-Transfer-Encoding: base64\n\n" +
      btoa("hello") +
      "\n--outer--\r\nepilogue --outer\r\n";
    const m = parseMultipartRelated('multipart/related;type="application/rlmi+xml";start="<root@x>";boundary=outer', body);
    expect(m.parts.map((p) => p.contentId)).toEqual(["root@x", "nested@x", "b64@x"]);
    const nested = m.byContentId.get("nested@x")!.multipart!;
    expect(nested.rlmi?.uri).toBe("sip:friends@example.test");
    expect(parsePidf(nested.byContentId.get("x@p")!.body).entity).toBe("sip:x@example.test");
    expect(partText(m.byContentId.get("b64@x")!)).toBe("hello");
  });

  it("gives typed errors for malformed input", () => {
    const ok = composeRlsNotifyBody(LIST, [{ contentId: "bob-1@example.test", contentType: "application/pidf+xml", body: "<x/>" }]);
    const b = /boundary=(\w+)/.exec(ok.contentType)![1];
    const cases: [string, string | Uint8Array, string][] = [
      ["application/pidf+xml", ok.body, "bad-content-type"],
      ["multipart/related", ok.body, "missing-boundary"],
      ["multipart/related;boundary=nothere", ok.body, "malformed-multipart"],
      [ok.contentType, ok.text.slice(0, ok.text.length - 10), "malformed-multipart"],
      [`multipart/related;boundary=${b}`, `--${b}--\r\n`, "malformed-multipart"],
      [`multipart/related;boundary=${b};start="<missing>"`, ok.body, "missing-root-part"],
      [`multipart/related;boundary=${b}`, `--${b}\r\nbad header line\r\n\r\nx\r\n--${b}--`, "malformed-multipart"],
      [`multipart/related;boundary=${b}`, `--${b}\r\nContent-Type: application/rlmi+xml\r\n\r\n<list>\r\n--${b}--`, "not-xml"],
      [`multipart/related;boundary=${b}`, `--${b}\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n--${b}--`, "malformed-multipart"],
      ["multipart/related;boundary=", "", "missing-boundary"],
      ["", "", "bad-content-type"],
    ];
    for (const [ct, body, expected] of cases) expect([ct, code(() => parseMultipartRelated(ct, body))]).toEqual([ct, expected]);
    expect(code(() => parseMultipartRelated(ok.contentType, ok.body, { maxBytes: 10 }))).toBe("too-large");
    expect(code(() => parseMultipartRelated(ok.contentType, ok.body, { maxParts: 1 }))).toBe("too-large");
    // nesting bound
    let ct = "text/plain";
    let body = "leaf";
    for (let i = 0; i < 6; i++) {
      const c = composeMultipartRelated({ boundary: `b${i}`, parts: [{ contentType: ct, body }] });
      ct = c.contentType;
      body = c.text;
    }
    expect(code(() => parseMultipartRelated(ct, body))).toBe("too-deep");
    expect(parseMultipartRelated(ct, body, { maxDepth: 10 }).parts).toHaveLength(1);
  });

  it("never throws anything but PresencePayloadError on garbage", () => {
    const ok = composeRlsNotifyBody(LIST, [{ contentId: "bob-1@example.test", contentType: "application/pidf+xml", body: composePidf({ entity: "sip:bob@example.test" }) }]);
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let n = 0; n < 300; n++) {
      const bytes = ok.body.slice(0, Math.floor(rand() * ok.body.length));
      for (let k = 0; k < 5; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        parseMultipartRelated(ok.contentType, bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(PresencePayloadError);
      }
    }
  });
});
