/**
 * The one XML library of Herald (server and browser): @xmldom/xmldom's DOM, built by Herald's own
 * strict parser (lib/xml-parser.ts: XML 1.0 + Namespaces, every well-formedness error is an error);
 * `parseXmlTree` builds a lighter read-only tree (lib/xml-tree.ts) for code that only reads.
 *
 * - DOCTYPE declarations are refused outright, so no external entity is ever resolved and
 *   no entity expansion ("billion laughs") can happen.
 * - Input size and element nesting depth are bounded; the depth is checked by a scan of the text
 *   before any DOM is built.
 */
import { DOMImplementation, XMLSerializer } from "@xmldom/xmldom";
import { TREE_BUILDER, XmlDepthError, XmlSyntaxError, parseDocument } from "./xml-parser";
import type { TreeDocument } from "./xml-tree";

export type XmlDocument = globalThis.Document;
export type XmlElement = globalThis.Element;
export type XmlNode = globalThis.Node;

/*
 * The read-only part of the DOM that validators and readers use. xmldom's nodes have it, and so
 * has the tree `parseXmlTree` builds (lib/xml-tree.ts): code typed with these reads either.
 */
export interface XmlNodeView {
  readonly nodeType: number;
  readonly firstChild: XmlNodeView | null;
  readonly nextSibling: XmlNodeView | null;
  readonly textContent: string | null;
}
export interface XmlAttrView {
  readonly namespaceURI: string | null;
  /** Qualified name. */
  readonly name: string;
  readonly prefix: string | null;
  readonly localName: string;
  readonly value: string;
}
export interface XmlElementView extends XmlNodeView {
  readonly namespaceURI: string | null;
  readonly localName: string;
  readonly prefix: string | null;
  readonly tagName: string;
  readonly attributes: ArrayLike<XmlAttrView>;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  getAttributeNS(namespaceURI: string | null, localName: string): string | null;
}
export interface XmlTextView extends XmlNodeView {
  /** nodeType 3 (text) or 4 (CDATA). */
  readonly data: string;
}
export interface XmlDocumentView extends XmlNodeView {
  readonly documentElement: XmlElementView | null;
}

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

/** DOCTYPE or entity declarations, anywhere (one pass over the text). */
const DECLARATION_RE = /<!(?:DOCTYPE|ENTITY)/i;
/** Strict UTF-8; decode() without `stream` keeps no state between calls, so one serves all. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Decode UTF-8 strictly; throws XmlParseError("not-utf-8") on invalid sequences. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
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

/** The checks before any tree is built: size, UTF-8, no declarations, depth. Returns the text. */
function checkedText(input: string | Uint8Array, options: ParseXmlOptions): string {
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
  if (DECLARATION_RE.test(text)) {
    throw new XmlParseError("doctype", "DOCTYPE and entity declarations are not allowed");
  }
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_XML_DEPTH;
  if (maxDepth !== Infinity && xmlDepthExceeds(text, maxDepth)) {
    throw new XmlParseError("too-deep", `elements nested deeper than ${maxDepth} levels`);
  }
  return text;
}

function wellFormed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof XmlDepthError) throw new XmlParseError("too-deep", err.message);
    if (err instanceof XmlSyntaxError) throw new XmlParseError("not-well-formed", err.message);
    throw err;
  }
}

/** Parse an XML document from text or bytes into xmldom's DOM. Throws XmlParseError. */
export function parseXml(input: string | Uint8Array, options: ParseXmlOptions = {}): XmlDocument {
  const text = checkedText(input, options);
  return wellFormed(() => parseDocument(text) as XmlDocument);
}

/**
 * Parse like `parseXml` (the same checks and errors) into a read-only tree (lib/xml-tree.ts), for
 * code that only reads the document (validation): a third of the time and of the garbage.
 */
export function parseXmlTree(input: string | Uint8Array, options: ParseXmlOptions = {}): XmlDocumentView {
  const text = checkedText(input, options);
  return wellFormed(() => parseDocument<TreeDocument>(text, {}, TREE_BUILDER));
}

/** Serialize a document or node to text. */
export function serializeXml(node: XmlNode): string {
  return new XMLSerializer().serializeToString(node as never);
}

/** Child elements of a node (skipping text, comments, PIs); read-only trees' nodes give theirs. */
export function childElements(node: XmlNode): XmlElement[];
export function childElements(node: XmlNodeView): XmlElementView[];
export function childElements(node: XmlNodeView): XmlElementView[] {
  const out: XmlElementView[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as XmlElementView);
  return out;
}

/** Child elements with the given namespace and local name. */
export function childrenNS(node: XmlNode, ns: string | null, localName: string): XmlElement[];
export function childrenNS(node: XmlNodeView, ns: string | null, localName: string): XmlElementView[];
export function childrenNS(node: XmlNodeView, ns: string | null, localName: string): XmlElementView[] {
  return childElements(node).filter((e) => e.namespaceURI === ns && e.localName === localName);
}

/** First child element with the given namespace and local name. */
export function firstChildNS(node: XmlNode, ns: string | null, localName: string): XmlElement | undefined;
export function firstChildNS(node: XmlNodeView, ns: string | null, localName: string): XmlElementView | undefined;
export function firstChildNS(node: XmlNodeView, ns: string | null, localName: string): XmlElementView | undefined {
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1 && (c as XmlElementView).namespaceURI === ns && (c as XmlElementView).localName === localName) {
      return c as XmlElementView;
    }
  }
  return undefined;
}

/** Text content of an element, trimmed. */
export function textOf(el: XmlNodeView | undefined): string | undefined {
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
