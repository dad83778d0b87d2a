/**
 * lib/xml-parser.ts (behind lib/xml.ts parseXml): the same xmldom tree as xmldom's own DOMParser
 * on every well-formed input, and an error on everything xmldom refused — and on the
 * not-well-formed input xmldom let through with a warning. parseXmlTree (the read-only tree of
 * lib/xml-tree.ts): what the XmlNodeView types show of it is what they show of the xmldom tree.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import { parseDocument, XmlSyntaxError } from "@/lib/xml-parser";
import { parseXml, parseXmlTree, XmlParseError, type XmlAttrView, type XmlDocumentView, type XmlElementView, type XmlErrorCode, type XmlNodeView } from "@/lib/xml";
import { serializeFaithful } from "@/lib/xcap/serialize";
import { numberedContacts, presRulesXml, resourceListsXml, rlsServicesXml } from "../helpers/kamailio-documents";
import { pidf } from "../helpers/sip-client";

/** xmldom's DOMParser as lib/xml.ts used it: warnings ignored, errors thrown. */
function xmldom(text: string): Document {
  return new DOMParser({
    onError: (level: string, message: string) => {
      if (level !== "warning") throw new Error(message);
    },
  }).parseFromString(text, "application/xml") as unknown as Document;
}

/** Everything a reader of the tree can see, node by node (iterative: no recursion on depth). */
function dump(root: Node): string[] {
  const out: string[] = [];
  const todo: Array<[Node, number]> = [[root, 0]];
  while (todo.length) {
    const [n, d] = todo.pop()!;
    const el = n as Element;
    const attrs = el.attributes
      ? Array.from({ length: el.attributes.length }, (_, i) => {
          const a = el.attributes[i]!;
          return `${a.name}{${a.namespaceURI}|${a.prefix}|${a.localName}}=${JSON.stringify(a.value)}/${JSON.stringify(a.nodeValue)}/${a.ownerElement === el}`;
        })
      : [];
    const nsMap = (n as unknown as { _nsMap?: Record<string, string> })._nsMap;
    out.push(
      [
        " ".repeat(d),
        n.nodeType,
        n.nodeName,
        `ns=${(n as Element).namespaceURI ?? null}`,
        `prefix=${(n as Element).prefix ?? null}`,
        `local=${(n as Element).localName ?? null}`,
        n.nodeType === 7 ? `target=${(n as ProcessingInstruction).target}` : "",
        `data=${JSON.stringify((n as CharacterData).data)}`,
        `value=${JSON.stringify(n.nodeValue)}`,
        `length=${(n as CharacterData).length}`,
        attrs.join(" "),
        nsMap ? JSON.stringify({ ...nsMap }) : "",
        `children=${n.childNodes?.length}`,
        `owner=${n.ownerDocument === (root.ownerDocument ?? root)}`,
        `parent=${n === root || n.parentNode !== null}`,
      ].join(" "),
    );
    const kids: Node[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) kids.push(c);
    // childNodes agrees with the sibling links
    for (let k = 0; k < kids.length; k++) if (n.childNodes[k] !== kids[k] || kids[k]!.parentNode !== n) out.push(`BROKEN LINKS at ${n.nodeName}[${k}]`);
    for (let k = kids.length - 1; k >= 0; k--) todo.push([kids[k]!, d + 1]);
  }
  return out;
}

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
const fixtureFiles = [
  ...readdirSync(path.join(FIXTURES, "presence")).map((f) => path.join(FIXTURES, "presence", f)),
  ...readdirSync(path.join(FIXTURES, "xcap/blink")).map((f) => path.join(FIXTURES, "xcap/blink", f)),
].filter((f) => f.endsWith(".xml"));

const corpus: Array<[string, string]> = [
  ...fixtureFiles.map((f) => [path.relative(FIXTURES, f), readFileSync(f, "utf8")] as [string, string]),
  ["200-entry resource-lists", resourceListsXml({ buddies: numberedContacts(200, "example.test"), "x&<\"'": [{ uri: "sip:a@b", name: "A & <B> \"c\" 'd'" }] })],
  ["rls-services", rlsServicesXml([{ uri: "sip:l@example.test", entries: [{ uri: "sip:b@example.test", name: "B" }], packages: ["presence"] }])],
  ["pres-rules", presRulesXml([{ id: "a", identities: ["sip:bob@example.test"], subHandling: "allow" }, { id: "b", identities: ["sip:eve@example.test"], subHandling: "block" }])],
  ["pidf", pidf("sip:alice@example.test", "open", "at lunch &lt;soon&gt; &amp; back")],
  [
    "prolog, CRLF, comments, PIs, CDATA, references, attribute normalization",
    `<?xml version="1.0" encoding="UTF-8"  standalone='yes' ?>\r\n<!-- c -->\n<?pi  some data ?>\n<?empty?>\n<r xmlns="urn:a" xmlns:b="urn:b" b:x="1&amp;2&#10;3\t4\r\n5" y='q"&apos;&#x1F600;'>\r <b:e xml:lang="en">t&lt;&#x41;&#65;&gt;&quot;<![CDATA[<x>&amp;]]>u</b:e><e xmlns=""/><!--x--><f xmlns:c="urn:c"><c:g c:h="1" h="2"/></f>\n</r>\n<!--after-->\n<?after x?>   `,
  ],
  ["no declaration, one empty element", `<r/>`],
  ["non-ASCII names and text", `<réseau xmlns="urn:x" ñame="ü"><日本 a·b="😀">Grüße 😀</日本></réseau>`],
  ["a default namespace undeclared below", `<a xmlns="urn:a"><b xmlns=""><c/></b><d/></a>`],
  ["a prefix redeclared below", `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"/><p:c/></p:a>`],
  ["white space in tags", `<a\n  x = "1"\n\ty='2' ><b /></a >`],
  ["xml-stylesheet-like PI and a target starting with xml", `<?xml-stylesheet href="a"?><a><?xmlfoo bar?></a>`],
  ["character references to tab, LF and CR in an attribute", `<a v="&#9;&#10;&#13;"/>`],
  ["U+FFFD and supplementary characters", `<a>\uFFFD\u{10FFFD}</a>`],
];

describe("parseDocument gives xmldom's tree", () => {
  for (const [name, text] of corpus) {
    it(name, () => {
      const ours = parseDocument(text);
      const theirs = xmldom(text);
      expect(dump(ours)).toEqual(dump(theirs));
      expect(serializeFaithful(ours)).toBe(serializeFaithful(theirs));
      expect(new XMLSerializer().serializeToString(ours as never)).toBe(new XMLSerializer().serializeToString(theirs as never));
      // the DOM API works on it as on xmldom's
      expect(ours.documentElement.isEqualNode(theirs.documentElement as never)).toBe(true);
    });
  }

  it("the nodes take later DOM edits as xmldom's do", () => {
    const text = resourceListsXml({ buddies: numberedContacts(3, "example.test") });
    const edit = (doc: Document) => {
      const list = doc.documentElement.getElementsByTagNameNS("urn:ietf:params:xml:ns:resource-lists", "list")[0]!;
      const entry = list.getElementsByTagName("entry")[1]!;
      list.removeChild(entry);
      list.insertBefore(entry, list.firstChild);
      entry.setAttribute("uri", "sip:moved@example.test");
      doc.documentElement.setAttributeNS("http://www.w3.org/2000/xmlns/", "xmlns:x", "urn:x");
      list.appendChild(doc.importNode(parseDocument(`<x:y xmlns:x="urn:x" a="1"><z/></x:y>`).documentElement, true));
      return serializeFaithful(doc);
    };
    const ours = parseDocument(text);
    const theirs = xmldom(text);
    expect(edit(ours)).toBe(edit(theirs));
    expect(dump(ours)).toEqual(dump(theirs));
  });
});

describe("parseDocument refuses what is not well-formed", () => {
  // [name, text, whether xmldom refused it too]
  const bad: Array<[string, string, boolean]> = [
    ["unclosed element", `<a><b></a>`, true],
    ["unclosed root", `<a>`, true],
    ["end tag without start tag", `<a></a></b>`, true],
    ["mismatched end tag", `<a></b>`, true],
    ["two root elements", `<a/><b/>`, true],
    ["text before the root", `x<a/>`, true],
    ["text after the root", `<a/>x`, true],
    ["no root element", `<?xml version="1.0"?><!-- only a comment -->`, true],
    ["empty document", ``, true],
    ["undeclared element prefix", `<a xmlns="urn:a"><q:b/></a>`, true],
    ["undeclared attribute prefix", `<a q:x="1"/>`, true],
    ["undeclared entity", `<a>&lol;</a>`, true],
    ["undeclared entity in an attribute", `<a x="&lol;"/>`, true],
    ["reference without ';'", `<a>&amp</a>`, true],
    ["'<' in an attribute value", `<a x="<"/>`, true],
    ["duplicate attribute", `<a x="1" x="2"/>`, true],
    ["XML declaration not at the start", ` <?xml version="1.0"?><a/>`, true],
    ["XML declaration without version", `<?xml encoding="UTF-8"?><a/>`, true],
    ["invalid element name", `<1a/>`, true],
    ["CDATA outside the root", `<![CDATA[x]]><a/>`, true],
    ["unterminated comment", `<a><!-- x</a>`, true],
    ["a second XML declaration", `<?xml version="1.0"?><a><?xml version="1.0"?></a>`, true],
    ["the prefix xmlns bound", `<a xmlns:xmlns="urn:x"/>`, false],
    // accepted by xmldom with a warning (or silently): not well-formed all the same
    ["unquoted attribute value", `<a x=1/>`, false],
    ["attribute without value", `<a x/>`, false],
    ["no white space between attributes", `<a x="1"y="2"/>`, false],
    ["'--' inside a comment", `<a><!-- a -- b --></a>`, false],
    ["']]>' in text", `<a>]]></a>`, false],
    ["a control character", `<a>\u0001</a>`, false],
    ["a character reference to a control character", `<a>&#1;</a>`, false],
    ["a character reference to a surrogate", `<a>&#xD800;</a>`, false],
    ["a character reference out of range", `<a>&#x110000;</a>`, false],
    ["a malformed character reference", `<a>&#x;</a>`, false],
    ["U+FFFE", `<a>\uFFFE</a>`, false],
    ["a lone surrogate", `<a>\uD800</a>`, false],
    ["xmlns:p undeclared (Namespaces 1.0)", `<a xmlns:p="urn:p"><b xmlns:p=""/></a>`, false],
    ["two attributes with one expanded name", `<a xmlns:p="urn:x" xmlns:q="urn:x" p:y="1" q:y="2"/>`, false],
    ["the prefix xml bound elsewhere", `<a xmlns:xml="urn:x"/>`, false],
    ["the XML namespace bound to another prefix", `<a xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, false],
    ["the xmlns namespace as default", `<a xmlns="http://www.w3.org/2000/xmlns/"/>`, false],
    ["a PI named xml inside", `<a><?XML x?></a>`, true],
    ["a colon in a PI target", `<a><?a:b x?></a>`, false],
    ["a name with two colons", `<a:b:c xmlns:a="urn:a"/>`, false],
    ["an element named with the xmlns prefix", `<xmlns:a/>`, true],
    ["'/' not followed by '>'", `<a / >`, false],
    ["XML declaration with a bad standalone", `<?xml version="1.0" standalone="maybe"?><a/>`, true],
  ];
  for (const [name, text, xmldomRefused] of bad) {
    it(`${name}${xmldomRefused ? "" : " (xmldom let it through)"}`, () => {
      expect(() => parseDocument(text)).toThrowError(XmlSyntaxError);
      let refused = false;
      try {
        xmldom(text);
      } catch {
        refused = true;
      }
      if (xmldomRefused) expect(refused).toBe(true);
    });
  }

  it("messages say what and where", () => {
    expect(() => parseDocument(`<a>\n  <b>\n</a>`)).toThrowError(/end tag <\/a> does not match <b> \(line 3, column 1\)/);
    expect(() => parseDocument(`<r xmlns="urn:r"><q:list/></r>`)).toThrowError(/prefix q of <q:list> is not declared/);
    expect(() => parseDocument(`<a>&xxe;</a>`)).toThrowError(/undeclared entity "&xxe;"/);
  });

  it("does not recurse on depth: 30,000 nested elements parse with maxDepth unset", () => {
    const n = 30_000;
    const doc = parseDocument(`${"<a>".repeat(n)}${"</a>".repeat(n)}`);
    let depth = 0;
    for (let e: Node | null = doc.documentElement; e; e = e.firstChild) depth++;
    expect(depth).toBe(n);
  });
});

/** What the XmlNodeView types show, node by node (iterative). */
function view(root: XmlNodeView): string[] {
  const out: string[] = [];
  const todo: Array<[XmlNodeView, number]> = [[root, 0]];
  while (todo.length) {
    const [n, d] = todo.pop()!;
    const line = [" ".repeat(d), n.nodeType, `text=${JSON.stringify(n.textContent)}`];
    if (n.nodeType === 1) {
      const el = n as XmlElementView;
      line.push(`{${el.namespaceURI}|${el.prefix}|${el.localName}|${el.tagName}}`);
      for (let i = 0; i < el.attributes.length; i++) {
        const a: XmlAttrView = el.attributes[i]!;
        line.push(`${a.name}{${a.namespaceURI}|${a.prefix}|${a.localName}}=${JSON.stringify(a.value)}`);
        // the lookups agree with the list
        line.push(`${el.getAttribute(a.name) === a.value}/${el.hasAttribute(a.name)}/${JSON.stringify(el.getAttributeNS(a.namespaceURI, a.localName))}`);
      }
      line.push(`missing=${el.getAttribute("no-such")}/${el.hasAttribute("no-such")}/${el.getAttributeNS("urn:none", "x")}`);
    } else if (n.nodeType === 9) {
      const de = (n as XmlDocumentView).documentElement;
      line.push(`root=${de?.tagName}`);
    } else {
      line.push(`data=${JSON.stringify((n as unknown as { data: string }).data)}`);
      if (n.nodeType === 7) line.push(`target=${(n as unknown as { target: string }).target}`);
    }
    out.push(line.join(" "));
    const kids: XmlNodeView[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) kids.push(c);
    for (let k = kids.length - 1; k >= 0; k--) todo.push([kids[k]!, d + 1]);
  }
  return out;
}

describe("parseXmlTree reads as the xmldom tree", () => {
  for (const [name, text] of corpus) {
    it(name, () => {
      expect(view(parseXmlTree(text))).toEqual(view(parseXml(text)));
    });
  }

  it("refuses with parseXml's codes", () => {
    const code = (parse: typeof parseXml | typeof parseXmlTree, input: string, options?: Parameters<typeof parseXml>[1]) => {
      try {
        parse(input, options);
        return undefined;
      } catch (e) {
        return (e as XmlParseError).code;
      }
    };
    const inputs: Array<[string, Parameters<typeof parseXml>[1]?]> = [
      [`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`],
      [`<a xmlns="urn:a"><q:b/></a>`],
      [`<a><b></a>`],
      [`<a>&xxe;</a>`],
      [`<a>${"x".repeat(2048)}</a>`, { maxBytes: 1024 }],
      [`${"<a>".repeat(101)}${"</a>".repeat(101)}`],
      [`<a><b><c/></b></a>`, { maxDepth: 2 }],
      [`<a><b><c/></b></a>`, { maxDepth: 3 }],
    ];
    const codes = inputs.map(([input, options]) => code(parseXmlTree, input, options));
    expect(codes).toEqual(inputs.map(([input, options]) => code(parseXml, input, options)));
    expect(codes).toEqual(["doctype", "not-well-formed", "not-well-formed", "not-well-formed", "too-large", "too-deep", "too-deep", undefined]);
  });

  it("textContent does not recurse on depth: 30,000 nested elements", () => {
    const n = 30_000;
    const doc = parseXmlTree(`${"<a>".repeat(n)}x${"</a>".repeat(n)}<!--c-->`, { maxDepth: Infinity });
    let depth = 0;
    let e: XmlNodeView | null = doc.documentElement;
    for (; e; e = e.firstChild) depth++;
    expect(depth).toBe(n + 1); // the text node below the deepest element
    expect(doc.documentElement!.textContent).toBe("x");
  });
});

describe("parseXml errors (lib/xml.ts) keep their codes", () => {
  const code = (input: string | Uint8Array, options?: Parameters<typeof parseXml>[1]): XmlErrorCode | undefined => {
    try {
      parseXml(input, options);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(XmlParseError);
      return (e as XmlParseError).code;
    }
  };

  it("DOCTYPE and entity declarations → doctype, before parsing", () => {
    expect(code(`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`)).toBe("doctype");
    expect(code(`<a><!ENTITY x "y"></a>`)).toBe("doctype");
  });

  it("undeclared prefixes, mismatched tags, stray text → not-well-formed", () => {
    expect(code(`<a xmlns="urn:a"><q:b/></a>`)).toBe("not-well-formed");
    expect(code(`<a q:x="1"/>`)).toBe("not-well-formed");
    expect(code(`<a><b></a>`)).toBe("not-well-formed");
    expect(code(`<a>\u0000</a>`)).toBe("not-well-formed");
  });

  it("bytes that are not UTF-8 → not-utf-8; too large → too-large; too deep → too-deep", () => {
    expect(code(new Uint8Array([0x3c, 0x61, 0xe9, 0x2f, 0x3e]))).toBe("not-utf-8");
    expect(code(`<a>${"x".repeat(2048)}</a>`, { maxBytes: 1024 })).toBe("too-large");
    expect(code(new TextEncoder().encode(`<a>${"é".repeat(600)}</a>`), { maxBytes: 1024 })).toBe("too-large");
    expect(code(`${"<a>".repeat(101)}${"</a>".repeat(101)}`)).toBe("too-deep");
    expect(code(`<a><b><c/></b></a>`, { maxDepth: 2 })).toBe("too-deep");
    expect(code(`<a><b><c/></b></a>`, { maxDepth: 3 })).toBeUndefined();
  });

  it("the shared UTF-8 decoder keeps no state: a refused body changes nothing for the next", () => {
    expect(code(new Uint8Array([0x3c, 0x61, 0x3e, 0xe2, 0x82]))).toBe("not-utf-8"); // cut inside "€"
    expect(parseXml(new TextEncoder().encode("<a>€</a>")).documentElement.textContent).toBe("€");
  });

  it("a UTF-8 byte order mark before bytes is dropped", () => {
    expect(parseXml(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(`<a/>`)])).documentElement.localName).toBe("a");
  });
});
