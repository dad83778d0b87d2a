/** lib/xml.ts: element nesting is bounded by a scan of the text, before any DOM is built. */
import { describe, expect, it, vi } from "vitest";
import { DOMImplementation } from "@xmldom/xmldom";
import { DEFAULT_MAX_XML_DEPTH, XmlParseError, parseXml, xmlDepthExceeds } from "@/lib/xml";

const nested = (n: number) => `${"<a>".repeat(n)}${"</a>".repeat(n)}`;

describe("xmlDepthExceeds", () => {
  it("counts open elements; empty elements, end tags, comments, CDATA and PIs do not nest", () => {
    expect(xmlDepthExceeds(nested(3), 3)).toBe(false);
    expect(xmlDepthExceeds(nested(4), 3)).toBe(true);
    expect(xmlDepthExceeds(`<a><b/><b/><c></c><d x="1"/></a>`, 2)).toBe(false);
    expect(xmlDepthExceeds(`<a><b><c/></b></a>`, 2)).toBe(true);
    expect(xmlDepthExceeds(`<a><b><!-- <x><y><z> --><![CDATA[<x><y><z>]]><?pi <x><y>?></b></a>`, 2)).toBe(false);
  });

  it("a `>` or `/` inside a quoted attribute value does not end the tag", () => {
    expect(xmlDepthExceeds(`<a x=">"><b y='/>'></b></a>`, 2)).toBe(false);
    expect(xmlDepthExceeds(`<a x=">"><b y='/>'><c/></b></a>`, 3)).toBe(false);
    expect(xmlDepthExceeds(`<a x=">"><b y='/'><c></c></b></a>`, 2)).toBe(true);
  });

  it("never throws on huge or unterminated markup", () => {
    expect(xmlDepthExceeds(`<a ${"b".repeat(1_000_000)}>`, 5)).toBe(false);
    expect(xmlDepthExceeds(`<a b="${"c ".repeat(500_000)}`, 5)).toBe(false);
    expect(xmlDepthExceeds(`<a><!-- never closed ${"<b>".repeat(1000)}`, 5)).toBe(false);
  });
});

describe("parseXml depth limit", () => {
  it("refuses nesting beyond the default (100) with code too-deep; accepts exactly the limit", () => {
    expect(DEFAULT_MAX_XML_DEPTH).toBe(100);
    expect(parseXml(nested(100)).documentElement.localName).toBe("a");
    expect(() => parseXml(nested(101))).toThrowError(XmlParseError);
    try {
      parseXml(nested(5000));
    } catch (e) {
      expect((e as XmlParseError).code).toBe("too-deep");
    }
    expect(() => parseXml(nested(5000))).toThrowError(/nested deeper than 100 levels/);
  });

  it("a 780 KB body nested 112,000 deep is refused before any DOM is built", () => {
    const body = nested(112_000);
    expect(body.length).toBeGreaterThan(780_000);
    // every parse (lib/xml-parser.ts) starts with one new document
    const parse = vi.spyOn(DOMImplementation.prototype, "createDocument");
    try {
      expect(() => parseXml(body)).toThrowError(/nested deeper than 100 levels/);
      expect(parse).not.toHaveBeenCalled();
      parseXml(nested(3));
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("maxDepth sets another limit; Infinity does not check", () => {
    expect(() => parseXml(nested(3), { maxDepth: 2 })).toThrowError(/deeper than 2/);
    expect(parseXml(nested(200), { maxDepth: Infinity }).documentElement.localName).toBe("a");
  });
});

describe("depth scan on unterminated markup", () => {
  it("ends in one pass on a start tag cut off inside its attributes (no backtracking)", () => {
    const attrs = Array.from({ length: 2000 }, (_, i) => ` xmlns:p${i}="urn:x:${i}"`).join("");
    const cut = `<?xml version="1.0"?>\n<presence${attrs} xmlns:rpid="urn:ietf:params:xml:ns:pi`;
    expect(xmlDepthExceeds(cut, 100)).toBe(false);
    expect(xmlDepthExceeds(`<a b="x>y"><c d='>'/></a>`, 1)).toBe(true);
    expect(xmlDepthExceeds(`<a b="x>y"><c d='>'/></a>`, 2)).toBe(false);
  });
});
