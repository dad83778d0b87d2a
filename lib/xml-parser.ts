/**
 * Herald's XML parser: a strict, non-validating XML 1.0 (fifth edition) + Namespaces in XML 1.0
 * parser that builds @xmldom/xmldom nodes — the DOM the rest of Herald uses — or the read-only tree
 * of lib/xml-tree.ts (`TREE_BUILDER`) from one pass of a hand-written scanner (no regex per tag, no
 * recursion on the input's depth).
 *
 * Why (issue 13): xmldom's own DOMParser was about 85 % of the CPU of an XCAP PUT of a 200-entry
 * list: it scans with Unicode regular expressions, records line and column on every node and
 * validates every name again through the DOM API. Measured on that 21 KB list, one process: xmldom
 * 2–4 ms; saxes (strict, namespace-aware) 0.46–0.74 ms for its events alone, before any node is
 * built, and building the tree through xmldom's factories costs another 0.45–0.53 ms; this parser,
 * tree included, 0.4–0.9 ms (3–4× xmldom; `npm run bench -- xcap-put-path --before=DIR`). Two
 * thirds of that is building xmldom's nodes; a whole-document PUT, which only validates its body,
 * gets the read-only tree (~0.12 ms). tests/unit/xml-parser.test.ts compares the xmldom trees with
 * xmldom's own on a corpus, and what the read-only tree shows with what the xmldom tree shows.
 *
 * Everything that is not well-formed is an error (XmlSyntaxError with a message and the offset),
 * never a warning: characters outside XML's Char production (§2.2), names outside the Name
 * production (§2.3), a missing or duplicate attribute, `<` in an attribute value, references to
 * entities other than the five predefined ones (§4.6), character references to non-characters,
 * `]]>` in text, `--` in comments, PIs named `xml`, a misplaced or malformed XML declaration,
 * mismatched or unclosed tags, content outside the root element, and every namespace constraint
 * (undeclared prefixes, `xmlns:p=""`, the reserved `xml` and `xmlns` prefixes and namespaces,
 * two attributes with one expanded name). Markup declarations (`<!DOCTYPE`, `<!ENTITY`) are not
 * parsed at all: lib/xml.ts refuses them before this runs.
 *
 * The xmldom tree is xmldom's, as its DOMParser builds it: line ends normalized to LF (§2.11), attribute
 * values normalized (§3.3.3), the XML declaration kept as a processing instruction, whitespace
 * around the root element kept as text nodes of the document, CDATA sections as CDATASection
 * nodes, comments and PIs as nodes. (xmldom also turns U+0085, U+2028 and U+2029 into LF, an
 * XML 1.1 rule; XML 1.0 keeps them, and so does this parser.)
 */
import { DOMImplementation, NamedNodeMap, NodeList } from "@xmldom/xmldom";
import { TreeAttr, TreeDocument, TreeElement, TreeMarkup, TreeText, type TreeChild } from "./xml-tree";

export const XML_NS = "http://www.w3.org/XML/1998/namespace";
export const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    /** Offset in the (line-end normalized) text where the problem was found. */
    readonly offset: number,
  ) {
    super(message);
    this.name = "XmlSyntaxError";
  }
}

export interface ParseDocumentOptions {
  /** Deepest element nesting accepted (root = 1); deeper input throws XmlDepthError. Default: unchecked. */
  maxDepth?: number;
}

/** Elements nest deeper than the limit. */
export class XmlDepthError extends XmlSyntaxError {}

// §2.2 Char: anything else (C0 controls, lone surrogates, U+FFFE/U+FFFF) is not a character
const NOT_CHAR_RE = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

// §2.3 names, by code unit: 1 = NameStartChar (and NameChar), 2 = NameChar only; ASCII from a table
const NAME_TABLE = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) NAME_TABLE[c] = 1;
  else if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e) NAME_TABLE[c] = 2;
}

/** 1: NameStartChar, 2: NameChar but not a start, 0: neither (`:` excluded: NCName). `c` is a code point. */
function nameClass(c: number): number {
  if (c < 128) return NAME_TABLE[c]!;
  if (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    (c >= 0x200c && c <= 0x200d) ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0xeffff)
  ) {
    return 1;
  }
  if (c === 0xb7 || (c >= 0x300 && c <= 0x36f) || (c >= 0x203f && c <= 0x2040)) return 2;
  return 0;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Names bound at the start of every document (Namespaces in XML §3). */
interface Scope {
  [prefix: string]: string;
}
const ROOT_SCOPE: Scope = Object.assign(Object.create(null) as Scope, { xml: XML_NS });

/*
 * Node construction. xmldom's factories (createElementNS, createAttributeNS, setAttributeNode,
 * appendChild) check again every name and namespace this parser has already checked and walk
 * insertion rules that cannot fail here; the nodes are made with exactly the fields those
 * factories give them (xmldom 0.9.12, pinned; tests/unit/xml-parser.test.ts compares every field
 * and the DOM edits that follow with xmldom's own parse), in the same order (same hidden classes).
 */
interface Fields {
  [field: string]: unknown;
}
const TEMPLATE = new DOMImplementation().createDocument(null, "");
const ELEMENT_PROTO = Object.getPrototypeOf(TEMPLATE.createElementNS(null, "e")) as object;
const ATTR_PROTO = Object.getPrototypeOf(TEMPLATE.createAttributeNS(null, "a")) as object;
const TEXT_PROTO = Object.getPrototypeOf(TEMPLATE.createTextNode("")) as object;
const NodeListClass = NodeList as unknown as new () => Fields;
const NamedNodeMapClass = NamedNodeMap as unknown as new () => Fields;

function newElement(doc: Document, ns: string | null, qname: string, prefix: string | null, local: string): Element {
  const el = Object.create(ELEMENT_PROTO) as Fields;
  el._nsMap = Object.create(null);
  const attrs = new NamedNodeMapClass();
  el.attributes = attrs;
  el.childNodes = new NodeListClass();
  el.ownerDocument = doc;
  el.nodeName = qname;
  el.tagName = qname;
  el.namespaceURI = ns;
  el.prefix = prefix;
  el.localName = local;
  attrs._ownerElement = el;
  return el as unknown as Element;
}

/** createAttributeNS + setAttributeNode (the name is new on the element: checked by the parser). */
function addAttribute(doc: Document, el: Element, ns: string | null, qname: string, prefix: string | null, local: string, value: string): void {
  const a = Object.create(ATTR_PROTO) as Fields;
  a.namespaceURI = null;
  a.prefix = null;
  a.ownerElement = null;
  a.ownerDocument = doc;
  a.childNodes = new NodeListClass();
  a.nodeName = qname;
  a.name = qname;
  a.specified = true;
  a.namespaceURI = ns;
  a.prefix = prefix;
  a.localName = local;
  a.nodeValue = value;
  a.value = value;
  const list = el.attributes as unknown as Fields & { length: number };
  list[list.length] = a;
  list.length++;
  // NamedNodeMap's (namespace, local name) index, as _nnmIndexAdd keeps it
  let bucket: Fields;
  if (!ns) bucket = list._noNsIndex as Fields;
  else {
    const index = list._nsIndex as Fields;
    bucket = (index[ns] as Fields | undefined) ?? (index[ns] = Object.create(null) as Fields);
  }
  bucket[local] = a;
  a.ownerElement = el;
  (doc as unknown as { _inc: number })._inc++;
  if (ns === XMLNS_NS) ((el as unknown as Fields)._nsMap as Fields)[prefix ? local : ""] = value;
}

function newText(doc: Document, data: string): Node {
  const t = Object.create(TEXT_PROTO) as Fields;
  t.ownerDocument = doc;
  t.childNodes = new NodeListClass();
  // CharacterData's data and nodeValue are accessors over _data (and length)
  t._data = data;
  t.length = data.length;
  return t as unknown as Node;
}

/** parent.appendChild(node) for a new node and an element parent. */
function append(doc: Document, parent: Node, node: Node): void {
  const p = parent as unknown as Fields;
  const c = node as unknown as Fields;
  const last = p.lastChild as Fields | null;
  c.previousSibling = last;
  c.nextSibling = null;
  if (last) last.nextSibling = c;
  else p.firstChild = c;
  p.lastChild = c;
  c.parentNode = p;
  const list = p.childNodes as Fields & { length: number };
  list[list.length++] = c;
  (doc as unknown as { _inc: number })._inc++;
}

/**
 * What the scanner calls to build a tree: the nodes it makes are opaque to it. `append` links a
 * new node as the last child of `parent` (`top`: the parent is the document).
 */
export interface TreeBuilder<D> {
  document(): D;
  element(doc: D, ns: string | null, qname: string, prefix: string | null, local: string): object;
  /** A new attribute of `el`: the name is not on it yet (the scanner checks). */
  attribute(doc: D, el: object, ns: string | null, qname: string, prefix: string | null, local: string, value: string): void;
  text(doc: D, data: string): object;
  cdata(doc: D, data: string): object;
  comment(doc: D, data: string): object;
  pi(doc: D, target: string, data: string): object;
  append(doc: D, parent: object, node: object, top: boolean): void;
}

/** xmldom nodes, as its DOMParser builds them (the DOM Herald edits and serializes). */
export const XMLDOM_BUILDER: TreeBuilder<Document> = {
  document: () => new DOMImplementation().createDocument(null, "") as unknown as Document,
  element: (doc, ns, qname, prefix, local) => newElement(doc, ns, qname, prefix, local),
  attribute: (doc, el, ns, qname, prefix, local, value) => addAttribute(doc, el as Element, ns, qname, prefix, local, value),
  text: (doc, data) => newText(doc, data),
  cdata: (doc, data) => doc.createCDATASection(data),
  comment: (doc, data) => doc.createComment(data),
  pi: (doc, target, data) => doc.createProcessingInstruction(target, data),
  // inside the root element the new node is linked directly; the document's few children (and
  // documentElement) through xmldom
  append: (doc, parent, node, top) => (top ? (parent as Node).appendChild(node as Node) : append(doc, parent as Node, node as Node)),
};

/** The read-only tree of lib/xml-tree.ts. */
export const TREE_BUILDER: TreeBuilder<TreeDocument> = {
  document: () => new TreeDocument(),
  element: (_doc, ns, qname, prefix, local) => new TreeElement(ns, qname, prefix, local),
  attribute: (_doc, el, ns, qname, prefix, local, value) => (el as TreeElement).attributes.push(new TreeAttr(ns, qname, prefix, local, value)),
  text: (_doc, data) => new TreeText(3, data),
  cdata: (_doc, data) => new TreeText(4, data),
  comment: (_doc, data) => new TreeMarkup(8, data),
  pi: (_doc, target, data) => new TreeMarkup(7, data, target),
  append: (doc, parent, node, top) => {
    (parent as TreeElement | TreeDocument).append(node as TreeChild);
    if (top && (node as TreeChild).nodeType === 1) doc.documentElement = node as TreeElement;
  },
};

const XML_DECL_RE =
  /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\n]*\?>/y;

interface OpenElement {
  el: object;
  qname: string;
  scope: Scope;
}

/**
 * Parse `input` (a whole document) into an xmldom Document. Throws XmlSyntaxError. Refuse
 * DOCTYPE and entity declarations before calling this: a `<!DOCTYPE` here is a syntax error.
 */
export function parseDocument(input: string, options?: ParseDocumentOptions): Document;
export function parseDocument<D extends object>(input: string, options: ParseDocumentOptions, builder: TreeBuilder<D>): D;
export function parseDocument<D extends object>(input: string, options: ParseDocumentOptions = {}, builder: TreeBuilder<D> = XMLDOM_BUILDER as unknown as TreeBuilder<D>): D {
  const bad = NOT_CHAR_RE.exec(input);
  if (bad) {
    throw new XmlSyntaxError(`character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} is not allowed in XML`, bad.index);
  }
  // §2.11: CRLF and lone CR become LF before parsing
  const text = input.indexOf("\r") >= 0 ? input.replace(/\r\n?/g, "\n") : input;
  const maxDepth = options.maxDepth ?? Infinity;
  const b = builder;
  const doc = b.document();
  const n = text.length;
  const stack: OpenElement[] = [];
  let parent: object = doc;
  let scope: Scope = ROOT_SCOPE;
  let root: object | null = null;
  let i = 0;
  // attribute names and values of the start tag being read (reused)
  const attNames: string[] = [];
  const attValues: string[] = [];
  const attOffsets: number[] = [];

  const fail = (message: string, at: number): never => {
    throw new XmlSyntaxError(`${message} (${where(text, at)})`, at);
  };

  /** End of the NCName starting at `p` (p itself when there is none). */
  const ncNameEnd = (p: number): number => {
    if (p >= n) return p;
    let c = text.charCodeAt(p);
    if (c < 128) {
      if (NAME_TABLE[c] !== 1) return p;
      p++;
    } else {
      const cp = text.codePointAt(p)!;
      if (nameClass(cp) !== 1) return p;
      p += cp > 0xffff ? 2 : 1;
    }
    for (;;) {
      c = text.charCodeAt(p);
      if (c < 128) {
        if (NAME_TABLE[c] === 0) return p;
        p++;
      } else if (p >= n) return p;
      else {
        const cp = text.codePointAt(p)!;
        if (nameClass(cp) === 0) return p;
        p += cp > 0xffff ? 2 : 1;
      }
    }
  };

  /** QName at `p`: its end; `colon` receives the offset of its colon (or -1). */
  let colon = -1;
  const qNameEnd = (p: number, what: string): number => {
    const e1 = ncNameEnd(p);
    if (e1 === p) fail(`${what} expected`, p);
    colon = -1;
    if (text.charCodeAt(e1) !== 0x3a /* : */) return e1;
    const e2 = ncNameEnd(e1 + 1);
    if (e2 === e1 + 1 || text.charCodeAt(e2) === 0x3a) fail(`${what} is not a valid qualified name`, p);
    colon = e1;
    return e2;
  };

  /** Replace the references in `s` (which holds a "&"), starting at text offset `at`. §4.1, §4.6 */
  const expand = (s: string, at: number): string => {
    let out = "";
    let from = 0;
    for (let amp = s.indexOf("&"); amp >= 0; amp = s.indexOf("&", from)) {
      out += s.slice(from, amp);
      const semi = s.indexOf(";", amp + 1);
      if (semi < 0) fail("a reference does not end with ';'", at + amp);
      const name = s.slice(amp + 1, semi);
      if (name.charCodeAt(0) === 0x23 /* # */) {
        const hex = name.charCodeAt(1) === 0x78; /* x */
        const digits = name.slice(hex ? 2 : 1);
        if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) fail(`"&${name};" is not a character reference`, at + amp);
        const cp = parseInt(digits, hex ? 16 : 10);
        // §4.1 well-formedness constraint Legal Character
        if (!(cp <= 0x10ffff) || NOT_CHAR_RE.test(String.fromCodePoint(cp))) fail(`"&${name};" refers to a character not allowed in XML`, at + amp);
        out += String.fromCodePoint(cp);
      } else {
        const v = PREDEFINED[name];
        if (v === undefined) fail(`undeclared entity "&${name};"`, at + amp);
        out += v;
      }
      from = semi + 1;
    }
    return out + s.slice(from);
  };

  const appendChild = (node: object) => b.append(doc, parent, node, stack.length === 0);

  /** Character data from `from` to the next "<" (or the end): text of the current element. */
  const characters = (from: number, to: number) => {
    let s = text.slice(from, to);
    if (stack.length === 0) {
      // §2.1: only white space (and markup) around the root element
      for (let k = 0; k < s.length; k++) if (!isSpace(s.charCodeAt(k))) fail(root ? "content after the root element" : "content before the root element", from + k);
      appendChild(b.text(doc, s));
      return;
    }
    const cdEnd = s.indexOf("]]>");
    if (cdEnd >= 0) fail("']]>' is not allowed in text", from + cdEnd);
    if (s.indexOf("&") >= 0) s = expand(s, from);
    appendChild(b.text(doc, s));
  };

  if (text.startsWith("<?xml", 0) && (isSpace(text.charCodeAt(5)) || text.charCodeAt(5) === 0x3f)) {
    // §2.8 XMLDecl: only at the very start, with a version
    XML_DECL_RE.lastIndex = 0;
    if (!XML_DECL_RE.test(text)) fail("the XML declaration is not well-formed", 0);
    const end = XML_DECL_RE.lastIndex;
    appendChild(b.pi(doc, "xml", text.slice(6, end - 2).trimStart()));
    i = end;
  }

  while (i < n) {
    const lt = text.indexOf("<", i);
    if (lt < 0) {
      if (stack.length) break; // reported below
      // white space after the last markup: checked, and not kept (as xmldom does)
      for (let k = i; k < n; k++) if (!isSpace(text.charCodeAt(k))) fail(root ? "content after the root element" : "content before the root element", k);
      break;
    }
    if (lt > i) characters(i, lt);
    const c = text.charCodeAt(lt + 1);
    if (c === 0x2f /* </ */) {
      const top = stack.pop();
      if (!top) fail("an end tag without a start tag", lt);
      const end = qNameEnd(lt + 2, "element name");
      if (end - lt - 2 !== top!.qname.length || !text.startsWith(top!.qname, lt + 2)) fail(`end tag </${text.slice(lt + 2, end)}> does not match <${top!.qname}>`, lt);
      let p = end;
      while (isSpace(text.charCodeAt(p))) p++;
      if (text.charCodeAt(p) !== 0x3e /* > */) fail(`end tag </${top!.qname}> is not closed with '>'`, p);
      i = p + 1;
      const up = stack[stack.length - 1];
      parent = up ? up.el : doc;
      scope = up ? up.scope : ROOT_SCOPE;
    } else if (c === 0x21 /* <! */) {
      if (text.startsWith("<!--", lt)) {
        // §2.5: "--" only as the comment's end
        const end = text.indexOf("-->", lt + 4);
        if (end < 0) fail("unterminated comment", lt);
        const body = text.slice(lt + 4, end);
        if (body.indexOf("--") >= 0 || body.endsWith("-")) fail("'--' is not allowed inside a comment", lt);
        appendChild(b.comment(doc, body));
        i = end + 3;
      } else if (text.startsWith("<![CDATA[", lt)) {
        if (stack.length === 0) fail("CDATA section outside the root element", lt);
        const end = text.indexOf("]]>", lt + 9);
        if (end < 0) fail("unterminated CDATA section", lt);
        appendChild(b.cdata(doc, text.slice(lt + 9, end)));
        i = end + 3;
      } else {
        fail("markup declarations (DOCTYPE, ENTITY, …) are not allowed", lt);
      }
    } else if (c === 0x3f /* <? */) {
      // §2.6 PI: a target that is an NCName other than "xml" in any case
      const tEnd = ncNameEnd(lt + 2);
      if (tEnd === lt + 2) fail("processing instruction without a target", lt);
      const target = text.slice(lt + 2, tEnd);
      if (target.toLowerCase() === "xml") fail(lt === 0 ? "the XML declaration is not well-formed" : "an XML declaration is only allowed at the start of the document", lt);
      const end = text.indexOf("?>", tEnd);
      if (end < 0) fail("unterminated processing instruction", lt);
      if (end > tEnd && !isSpace(text.charCodeAt(tEnd))) fail("processing instruction target is not a name", lt);
      let d = tEnd;
      while (d < end && isSpace(text.charCodeAt(d))) d++;
      appendChild(b.pi(doc, target, text.slice(d, end)));
      i = end + 2;
    } else {
      // start tag (§3.1)
      if (root && stack.length === 0) fail("a second root element", lt);
      // an empty element is one level deeper too
      if (stack.length >= maxDepth) throw new XmlDepthError(`elements nested deeper than ${maxDepth} levels`, lt);
      const nameEnd = qNameEnd(lt + 1, "element name");
      const nameColon = colon;
      const qname = text.slice(lt + 1, nameEnd);
      let p = nameEnd;
      let atts = 0;
      let attSet: Set<string> | undefined;
      let expanded: Set<string> | undefined;
      let declares = false;
      let empty = false;
      for (;;) {
        const s0 = p;
        while (isSpace(text.charCodeAt(p))) p++;
        const ch = text.charCodeAt(p);
        if (ch === 0x3e /* > */) {
          p++;
          break;
        }
        if (ch === 0x2f /* / */) {
          if (text.charCodeAt(p + 1) !== 0x3e) fail("'/' in a start tag not followed by '>'", p);
          empty = true;
          p += 2;
          break;
        }
        if (p >= n) fail(`unterminated start tag <${qname}>`, lt);
        if (p === s0) fail(`white space required before attribute in <${qname}>`, p);
        const aStart = p;
        const aEnd = qNameEnd(p, "attribute name");
        const aName = text.slice(aStart, aEnd);
        p = aEnd;
        while (isSpace(text.charCodeAt(p))) p++;
        if (text.charCodeAt(p) !== 0x3d /* = */) fail(`attribute ${aName} has no value`, aStart);
        p++;
        while (isSpace(text.charCodeAt(p))) p++;
        const q = text.charCodeAt(p);
        if (q !== 0x22 && q !== 0x27) fail(`the value of attribute ${aName} is not quoted`, p);
        const close = text.indexOf(q === 0x22 ? '"' : "'", p + 1);
        if (close < 0) fail(`the value of attribute ${aName} is not closed`, p);
        let v = text.slice(p + 1, close);
        if (v.indexOf("<") >= 0) fail(`'<' in the value of attribute ${aName}`, p + 1 + v.indexOf("<"));
        // §3.3.3: white space characters become spaces, then references are replaced
        if (v.indexOf("\n") >= 0 || v.indexOf("\t") >= 0) v = v.replace(/[\t\n]/g, " ");
        if (v.indexOf("&") >= 0) v = expand(v, p + 1);
        // §3.1 Unique Att Spec (a set past a few attributes: no quadratic time on hostile tags)
        if (atts < 8) {
          for (let k = 0; k < atts; k++) if (attNames[k] === aName) fail(`attribute ${aName} appears twice`, aStart);
        } else {
          if (atts === 8) attSet = new Set(attNames.slice(0, 8));
          if (attSet!.has(aName)) fail(`attribute ${aName} appears twice`, aStart);
          attSet!.add(aName);
        }
        if (aName === "xmlns" || aName.startsWith("xmlns:")) declares = true;
        attNames[atts] = aName;
        attValues[atts] = v;
        attOffsets[atts++] = aStart;
        p = close + 1;
      }
      // namespace declarations first (Namespaces in XML §3)
      if (declares) {
        scope = Object.create(scope) as Scope;
        for (let k = 0; k < atts; k++) {
          const a = attNames[k]!;
          const v = attValues[k]!;
          if (a === "xmlns") {
            if (v === XML_NS || v === XMLNS_NS) fail(`the namespace ${v} cannot be the default namespace`, attOffsets[k]!);
            scope[""] = v;
          } else if (a.startsWith("xmlns:")) {
            const prefix = a.slice(6);
            if (prefix === "xmlns") fail("the prefix xmlns cannot be declared", attOffsets[k]!);
            if (prefix === "xml" && v !== XML_NS) fail(`the prefix xml is bound to ${XML_NS} only`, attOffsets[k]!);
            if (prefix !== "xml" && v === XML_NS) fail(`the namespace ${XML_NS} is bound to the prefix xml only`, attOffsets[k]!);
            if (v === XMLNS_NS) fail(`the namespace ${XMLNS_NS} cannot be bound to a prefix`, attOffsets[k]!);
            if (v === "") fail(`the prefix ${prefix} cannot be undeclared (xmlns:${prefix}="")`, attOffsets[k]!);
            scope[prefix] = v;
          }
        }
      }
      let ns: string | null;
      if (nameColon >= 0) {
        const prefix = text.slice(lt + 1, nameColon);
        if (prefix === "xmlns") fail("the prefix xmlns cannot name an element", lt);
        const uri = scope[prefix];
        if (uri === undefined) fail(`the prefix ${prefix} of <${qname}> is not declared`, lt);
        ns = uri!;
      } else ns = scope[""] || null;
      const el = nameColon >= 0 ? b.element(doc, ns, qname, qname.slice(0, nameColon - lt - 1), qname.slice(nameColon - lt)) : b.element(doc, ns, qname, null, qname);
      for (let k = 0; k < atts; k++) {
        const a = attNames[k]!;
        const ac = a.indexOf(":");
        let ans: string | null = null;
        if (a === "xmlns") ans = XMLNS_NS;
        else if (ac >= 0) {
          const prefix = a.slice(0, ac);
          if (prefix === "xmlns") ans = XMLNS_NS;
          else {
            const uri = scope[prefix];
            if (uri === undefined) fail(`the prefix ${prefix} of attribute ${a} is not declared`, attOffsets[k]!);
            ans = uri!;
            // Namespaces §6.3: no two attributes with the same expanded name
            const key = `${uri}\u0000${a.slice(ac + 1)}`;
            if ((expanded ??= new Set()).has(key)) fail(`attribute ${a} repeats the expanded name of another`, attOffsets[k]!);
            expanded.add(key);
          }
        }
        b.attribute(doc, el, ans, a, ac >= 0 ? a.slice(0, ac) : null, ac >= 0 ? a.slice(ac + 1) : a, attValues[k]!);
      }
      appendChild(el);
      if (!root) root = el;
      if (!empty) {
        stack.push({ el, qname, scope });
        parent = el;
      } else {
        const up = stack[stack.length - 1];
        scope = up ? up.scope : ROOT_SCOPE;
      }
      i = p;
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1]!.qname}> is not closed`, n);
  if (!root) fail("missing root element", n);
  return doc;
}

/** "line L, column C" of offset `at` (1-based), for messages. */
function where(text: string, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf("\n"); k >= 0 && k < at; k = text.indexOf("\n", k + 1)) {
    line++;
    lineStart = k + 1;
  }
  return `line ${line}, column ${at - lineStart + 1}`;
}
