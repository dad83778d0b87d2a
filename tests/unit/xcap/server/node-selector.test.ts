import { describe, expect, it } from "vitest";
import { parseNodeSelector, parseXmlnsQuery, selectElement, decodeAttValue } from "@/lib/xcap/node-selector";
import { parseXcapUri, buildXcapUri } from "@/lib/xcap/uri";
import { XcapError } from "@/lib/xcap/errors";
import { parseXml } from "@/lib/xml";

describe("XCAP URI parsing (RFC 4825 §6)", () => {
  it("parses a users-tree document URI and normalises the XUI", () => {
    const a = parseXcapUri("resource-lists/users/alice@example.test/index");
    const b = parseXcapUri("/resource-lists/users/sip:alice@EXAMPLE.test/index");
    expect(a).toMatchObject({ auid: "resource-lists", scope: "users", xui: "sip:alice@example.test", docPath: "index", nodeSelector: null });
    expect(b.xui).toBe(a.xui);
  });

  it("parses the global tree and nested document paths", () => {
    expect(parseXcapUri("xcap-caps/global/index")).toMatchObject({ scope: "global", xui: null, docPath: "index" });
    expect(parseXcapUri("org.openmobilealliance.pres-content/users/sip:a@x/oma_status-icon/index").docPath).toBe("oma_status-icon/index");
  });

  it("percent-decodes the XUI, the document path and the node selector", () => {
    const u = parseXcapUri(
      "resource-lists/users/sip%3Aalice%40example.test/index/~~/resource-lists/list%5B@name=%22friends%22%5D",
    );
    expect(u.xui).toBe("sip:alice@example.test");
    expect(u.nodeSelectorText).toBe('resource-lists/list[@name="friends"]');
    expect(u.nodeSelector!.steps[1]).toEqual({ name: { prefix: null, local: "list" }, attr: { name: { prefix: null, local: "name" }, value: "friends" } });
  });

  it("keeps slashes inside quoted attribute values in one step", () => {
    const u = parseXcapUri('rls-services/users/sip:a@x/index/~~/rls-services/service[@uri="sip:a/b@x"]/packages');
    expect(u.nodeSelector!.steps).toHaveLength(3);
    expect(u.nodeSelector!.steps[1]!.attr!.value).toBe("sip:a/b@x");
  });

  it("refuses malformed URIs", () => {
    expect(() => parseXcapUri("resource-lists/users/sip:a@x/index/~~/")).toThrow(XcapError);
    expect(() => parseXcapUri("resource-lists/users/sip:a@x/%E0%A4%A")).toThrow(/percent/);
    for (const p of ["resource-lists", "resource-lists/users/sip:a@x", "resource-lists/other/x/index", "resource-lists/users/sip:a@x/../index"]) {
      try {
        parseXcapUri(p);
        expect.unreachable(p);
      } catch (e) {
        expect((e as XcapError).status).toBe(404);
      }
    }
  });

  it("normalises XUIs and builds URIs", () => {
    expect(parseXcapUri("resource-lists/users/bob@Example.TEST/index").xui).toBe("sip:bob@example.test");
    // one tree per user whichever scheme reached it: the presence server reads it under sip:
    expect(parseXcapUri("resource-lists/users/sips:bob@example.test/index").xui).toBe("sip:bob@example.test");
    expect(buildXcapUri("http://h/xcap-root/", { auid: "resource-lists", scope: "users", xui: "sip:a@x", docPath: "index" }, 'resource-lists/list[@name="f"]'))
      .toBe("http://h/xcap-root/resource-lists/users/sip:a@x/index/~~/resource-lists/list%5B@name=%22f%22%5D");
  });
});

describe("node selector grammar", () => {
  it("parses every step form and terminal selector", () => {
    const s = parseNodeSelector('a/b[2]/c[@x="1"]/d[3][@p:y=\'v\']/*/*[1]/@z');
    expect(s.steps).toEqual([
      { name: { prefix: null, local: "a" } },
      { name: { prefix: null, local: "b" }, position: 2 },
      { name: { prefix: null, local: "c" }, attr: { name: { prefix: null, local: "x" }, value: "1" } },
      { name: { prefix: null, local: "d" }, position: 3, attr: { name: { prefix: "p", local: "y" }, value: "v" } },
      { name: "*" },
      { name: "*", position: 1 },
    ]);
    expect(s.terminal).toEqual({ kind: "attribute", name: { prefix: null, local: "z" } });
    expect(parseNodeSelector("a/namespace::*").terminal).toEqual({ kind: "namespace" });
    expect(parseNodeSelector("p:a/q:b").steps[1]!.name).toEqual({ prefix: "q", local: "b" });
  });

  it("decodes references in attribute test values", () => {
    expect(parseNodeSelector('a[@n="x&amp;y&#33;&quot;"]').steps[0]!.attr!.value).toBe('x&y!"');
    expect(decodeAttValue("a&bogus;")).toBeUndefined();
    expect(decodeAttValue("a & b")).toBeUndefined();
    expect(decodeAttValue("a<b")).toBeUndefined();
  });

  it("refuses malformed selectors with 400", () => {
    for (const bad of ["a[0]", "a[@x=1]", "a[@x='1'][2]", "a//b", "a[", "@x", "1a", "a[@x='1'][@y='2']", 'a[@x="1]', "a[last()]"]) {
      try {
        parseNodeSelector(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect((e as XcapError).status, bad).toBe(400);
      }
    }
  });

  it("parses xmlns() bindings from the query", () => {
    const m = parseXmlnsQuery("?xmlns(cr=urn:ietf:params:xml:ns:common-policy)xmlns(pr=urn:ietf:params:xml:ns:pres-rules)");
    expect([...m]).toEqual([
      ["cr", "urn:ietf:params:xml:ns:common-policy"],
      ["pr", "urn:ietf:params:xml:ns:pres-rules"],
    ]);
    expect(parseXmlnsQuery("xmlns(a%3Durn%3Ax)").get("a")).toBe("urn:x");
    expect(() => parseXmlnsQuery("foo=bar")).toThrow(XcapError);
  });
});

describe("node selector evaluation", () => {
  const doc = parseXml(`<r xmlns="urn:d" xmlns:o="urn:o"><a n="1"/><o:a n="1"/><a n="2"/><b/><a n="3" o:k="v"/></r>`);
  const ns = { bindings: new Map([["o", "urn:o"], ["d", "urn:d"]]), defaultNamespace: "urn:d" };
  const pick = (s: string) => {
    const r = selectElement(doc, parseNodeSelector(s).steps, ns);
    return r.kind === "found" ? `${r.element.namespaceURI}|${r.element.getAttribute("n") ?? r.element.localName}` : r.kind;
  };

  it("selects by name in the default namespace and by prefix", () => {
    expect(pick("r/b")).toBe("urn:d|b");
    expect(pick("d:r/o:a")).toBe("urn:o|1");
    expect(pick("r/a")).toBe("ambiguous");
    expect(pick("r/c")).toBe("none");
  });

  it("positions count siblings with the same name (XPath semantics)", () => {
    expect(pick("r/a[2]")).toBe("urn:d|2");
    expect(pick("r/a[3]")).toBe("urn:d|3");
    expect(pick("r/a[4]")).toBe("none");
    expect(pick("r/*[2]")).toBe("urn:o|1");
  });

  it("attribute tests, combined position + attribute, wildcard and namespaced attributes", () => {
    expect(pick('r/a[@n="2"]')).toBe("urn:d|2");
    expect(pick('r/a[2][@n="2"]')).toBe("urn:d|2");
    expect(pick('r/a[2][@n="3"]')).toBe("none");
    expect(pick('r/*[@n="1"]')).toBe("ambiguous");
    expect(pick('r/*[@o:k="v"]')).toBe("urn:d|3");
    expect(pick('r/a[@k="v"]')).toBe("none");
  });

  it("the first step must match the root element", () => {
    expect(pick("a")).toBe("none");
    expect(pick("*")).toBe("urn:d|r");
  });
});
