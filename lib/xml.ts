/**
 * The one XML library of Herald (server and browser): @xmldom/xmldom behind a safe parser.
 *
 * - DOCTYPE declarations are refused outright, so no external entity is ever resolved and
 *   no entity expansion ("billion laughs") can happen.
 * - Input size and element nesting depth are bounded; the depth is checked by a scan of the text
 *   before any DOM is built.
 * - Any parser warning that would silently change the document (unknown entity, mismatched
 *   tag) is an error.
 */
import { DOMImplementation, DOMParser, XMLSerializer } from "@xmldom/xmldom";
import xmldomGrammar from "@xmldom/xmldom/lib/grammar.js";

/**
 * xmldom 0.9's parser builds a new Unicode RegExp from constant grammar parts for every end tag
 * (`g.reg(...)` in its sax.js, looked up on the grammar module at each call): measured at 20 % of
 * the CPU of an XCAP PUT of a 200-entry list. The same parts give the same expression, and a
 * RegExp without the g/y flags keeps no state between exec calls: compile each source once.
 */
{
  const g = xmldomGrammar as { reg: (...parts: Array<RegExp | string>) => RegExp; __heraldMemo?: true };
  if (!g.__heraldMemo) {
    const compile = g.reg;
    // a trie on the parts' identities (the grammar's RegExp objects and string literals): reading
    // `.source` of its long Unicode expressions would cost about what compiling them does
    interface Node {
      next: Map<RegExp | string, Node>;
      re?: RegExp;
    }
    const root: Node = { next: new Map() };
    let nodes = 0;
    g.reg = function (this: unknown, ...parts: Array<RegExp | string>): RegExp {
      let n = root;
      for (const p of parts) {
        let c = n.next.get(p);
        if (!c) {
          if (++nodes > 1024) {
            // only constant parts reach here; a bound anyway
            root.next.clear();
            nodes = 0;
            return compile.apply(this, parts);
          }
          n.next.set(p, (c = { next: new Map() }));
        }
        n = c;
      }
      return (n.re ??= compile.apply(this, parts));
    };
    g.__heraldMemo = true;
  }
}

export type XmlDocument = globalThis.Document;
export type XmlElement = globalThis.Element;
export type XmlNode = globalThis.Node;

export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;
/** Deepest element nesting accepted by default (the root element is level 1). */
export const DEFAULT_MAX_XML_DEPTH = 100;

export type XmlErrorCode = "too-large" | "too-deep" | "doctype" | "not-well-formed" | "not-utf-8";

export class XmlParseError extends Error {
  constructor(
    readonly code: XmlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "XmlParseError";
  }
}

export interface ParseXmlOptions {
  /** Maximum size in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Maximum element nesting depth (root = 1). Default DEFAULT_MAX_XML_DEPTH; Infinity: unchecked. */
  maxDepth?: number;
}

const DOCTYPE_RE = /<!DOCTYPE/i;
const ENTITY_DECL_RE = /<!ENTITY/i;

/** Decode UTF-8 strictly; throws XmlParseError("not-utf-8") on invalid sequences. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new XmlParseError("not-utf-8", "document is not valid UTF-8");
  }
}

/**
 * Index of the `>` that ends the tag whose name starts at `from` (quoted attribute values may hold
 * `>`), or -1 when the text ends first. One pass: a regex with nested quantifiers backtracks
 * exponentially on an unterminated tag.
 */
function tagEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3e /* > */) return i;
    if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
      const close = text.indexOf(c === 0x22 ? '"' : "'", i + 1);
      if (close < 0) return -1;
      i = close;
    }
  }
  return -1;
}

/**
 * Whether elements in `text` nest deeper than `max`: one pass over the markup, no recursion and no
 * DOM. Comments, CDATA sections and processing instructions are skipped; quoted attribute values
 * may contain `>`. Exact for well-formed input; on malformed input the parser reports the error.
 */
export function xmlDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let i = 0;
  for (;;) {
    const lt = text.indexOf("<", i);
    if (lt < 0) return false;
    const c = text.charCodeAt(lt + 1);
    if (c === 0x2f /* </ */) {
      depth--;
      i = lt + 2;
    } else if (c === 0x21 /* <! */) {
      let end: number;
      if (text.startsWith("<!--", lt)) end = text.indexOf("-->", lt + 4);
      else if (text.startsWith("<![CDATA[", lt)) end = text.indexOf("]]>", lt + 9);
      else {
        // a declaration: not well-formed here (DOCTYPE is refused before the scan)
        i = lt + 2;
        continue;
      }
      if (end < 0) return false;
      i = end + 3;
    } else if (c === 0x3f /* <? */) {
      const end = text.indexOf("?>", lt + 2);
      if (end < 0) return false;
      i = end + 2;
    } else {
      const gt = tagEnd(text, lt + 1);
      if (gt < 0) return false;
      i = gt + 1;
      // an empty element ("/>") is one level deeper too, but closes at once
      if ((text.charCodeAt(i - 2) === 0x2f ? depth + 1 : ++depth) > max) return true;
    }
  }
}

/**
 * In a browser the page parses what it receives (NOTIFY bodies: PIDF, RLMI, watcherinfo,
 * xcap-diff; it never edits a parsed document) with the browser's own XML parser: native code,
 * about ten times faster than xmldom in JavaScript on a 200-contact list's first NOTIFY. The checks
 * above (size, DOCTYPE and entity declarations, depth) run first in both cases.
 */
const browserParser: globalThis.DOMParser | undefined =
  typeof window === "object" && typeof globalThis.DOMParser === "function" ? new globalThis.DOMParser() : undefined;

/** Browsers report a not-well-formed document as a document holding a `parsererror` element. */
const PARSERERROR_NAMESPACES = ["http://www.w3.org/1999/xhtml", "http://www.mozilla.org/newlayout/xml/parsererror.xml"];

export function parseInBrowser(parser: globalThis.DOMParser, text: string): XmlDocument {
  const doc = parser.parseFromString(text, "application/xml");
  for (const ns of PARSERERROR_NAMESPACES) {
    const err = doc.getElementsByTagNameNS(ns, "parsererror")[0];
    if (err) throw new XmlParseError("not-well-formed", (err.textContent ?? "").trim() || "not well-formed");
  }
  if (!doc.documentElement) throw new XmlParseError("not-well-formed", "missing root element");
  return doc;
}

/** Parse an XML document from text or bytes. Throws XmlParseError. */
export function parseXml(input: string | Uint8Array, options: ParseXmlOptions = {}): XmlDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  let text: string;
  if (typeof input === "string") {
    // length in UTF-16 units is a lower bound of UTF-8 bytes: cheap pre-check first
    if (input.length > maxBytes) throw new XmlParseError("too-large", `document larger than ${maxBytes} bytes`);
    text = input;
  } else {
    if (input.byteLength > maxBytes) throw new XmlParseError("too-large", `document larger than ${maxBytes} bytes`);
    text = decodeUtf8(input);
  }
  if (DOCTYPE_RE.test(text) || ENTITY_DECL_RE.test(text)) {
    throw new XmlParseError("doctype", "DOCTYPE and entity declarations are not allowed");
  }
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_XML_DEPTH;
  if (maxDepth !== Infinity && xmlDepthExceeds(text, maxDepth)) {
    throw new XmlParseError("too-deep", `elements nested deeper than ${maxDepth} levels`);
  }
  if (browserParser) return parseInBrowser(browserParser, text);
  let failure: string | undefined;
  const parser = new DOMParser({
    onError: (level: string, message: string) => {
      if (level === "warning") return;
      failure ??= message;
      throw new XmlParseError("not-well-formed", message);
    },
  });
  let doc: XmlDocument;
  try {
    doc = parser.parseFromString(text, "application/xml") as unknown as XmlDocument;
  } catch (err) {
    if (err instanceof XmlParseError) throw err;
    throw new XmlParseError("not-well-formed", failure ?? (err instanceof Error ? err.message : String(err)));
  }
  if (!doc || !doc.documentElement) throw new XmlParseError("not-well-formed", "missing root element");
  return doc;
}

/** Serialize a document or node to text. */
export function serializeXml(node: XmlNode): string {
  return new XMLSerializer().serializeToString(node as never);
}

/** Child elements of a node (skipping text, comments, PIs). */
export function childElements(node: XmlNode): XmlElement[] {
  const out: XmlElement[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as XmlElement);
  return out;
}

/** Child elements with the given namespace and local name. */
export function childrenNS(node: XmlNode, ns: string | null, localName: string): XmlElement[] {
  return childElements(node).filter((e) => e.namespaceURI === ns && e.localName === localName);
}

/** First child element with the given namespace and local name. */
export function firstChildNS(node: XmlNode, ns: string | null, localName: string): XmlElement | undefined {
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1 && (c as XmlElement).namespaceURI === ns && (c as XmlElement).localName === localName) {
      return c as XmlElement;
    }
  }
  return undefined;
}

/** Text content of an element, trimmed. */
export function textOf(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  return (el.textContent ?? "").trim();
}

/** Escape text for inclusion in XML character data or attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c === '"' ? "&quot;" : "&apos;",
  );
}

/** Namespace of `xmlns` / `xmlns:p` declarations (for setAttributeNS). */
export const XMLNS_NAMESPACE = "http://www.w3.org/2000/xmlns/";
/** Namespace of the `xml:` prefix (xml:lang). */
export const XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace";
/** The XML declaration Herald puts in front of the documents it composes. */
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * Create an empty document whose root element is `qualifiedName` in namespace `ns`, declaring
 * the given prefixes on the root (`{ dm: "urn:...:data-model" }`; key "" = default namespace).
 */
export function createXmlDocument(
  ns: string | null,
  qualifiedName: string,
  prefixes: Readonly<Record<string, string>> = {},
): XmlDocument {
  const doc = new DOMImplementation().createDocument(ns, qualifiedName, null) as unknown as XmlDocument;
  const root = doc.documentElement;
  for (const [prefix, uri] of Object.entries(prefixes)) {
    if (prefix === "") {
      if (uri !== ns) root.setAttributeNS(XMLNS_NAMESPACE, "xmlns", uri);
    } else root.setAttributeNS(XMLNS_NAMESPACE, `xmlns:${prefix}`, uri);
  }
  return doc;
}

/**
 * Append a new element to `parent` and return it. `attributes` with value undefined are skipped;
 * a key "xml:lang" sets the xml:lang attribute. `text`, when given, becomes the element's content.
 */
export function appendElementNS(
  parent: XmlNode,
  ns: string | null,
  qualifiedName: string,
  attributes: Readonly<Record<string, string | number | boolean | undefined>> = {},
  text?: string,
): XmlElement {
  const doc = (parent.nodeType === 9 ? parent : parent.ownerDocument) as XmlDocument;
  const el = doc.createElementNS(ns, qualifiedName);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (name.startsWith("xml:")) el.setAttributeNS(XML_NAMESPACE, name, String(value));
    else el.setAttribute(name, String(value));
  }
  if (text !== undefined) el.appendChild(doc.createTextNode(text));
  parent.appendChild(el);
  return el;
}

/** Serialize a whole document with Herald's XML declaration in front. */
export function serializeXmlDocument(doc: XmlDocument): string {
  return `${XML_DECLARATION}\n${serializeXml(doc.documentElement)}`;
}
