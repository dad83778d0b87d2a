/**
 * Small helpers for the hand-written document validators: content models as regular expressions
 * over one-letter tokens per child element (fast, and close enough to the XSDs in
 * ../shared/schemas that the tests cross-check them with xmllint).
 */
import type { XmlDocumentView, XmlElementView, XmlTextView } from "../../xml";
import { schemaError } from "../errors";

export function describe(el: XmlElementView): string {
  return el.namespaceURI ? `{${el.namespaceURI}}${el.localName}` : String(el.localName);
}

/** Root element must be `{ns}local`. */
export function expectRoot(doc: XmlDocumentView, ns: string, local: string): XmlElementView {
  const root = doc.documentElement as XmlElementView;
  if (root.namespaceURI !== ns || root.localName !== local) {
    throw schemaError(`root element must be {${ns}}${local}, not ${describe(root)}`);
  }
  return root;
}

/**
 * Check the children of `el` against a content model: each child in `ns` becomes the token
 * `tokens[localName]` (unknown names in `ns` fail), each child in another namespace becomes "O".
 * Also refuses non-whitespace text in element-only content.
 */
export function checkContent(
  el: XmlElementView,
  ns: string | readonly string[],
  tokens: Record<string, string>,
  model: RegExp,
): XmlElementView[] {
  const own = typeof ns === "string" ? [ns] : ns;
  let s = "";
  const kids: XmlElementView[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 3 || c.nodeType === 4) {
      if ((c as XmlTextView).data.trim() !== "") throw schemaError(`text not allowed in ${describe(el)}`);
      continue;
    }
    if (c.nodeType !== 1) continue;
    const k = c as XmlElementView;
    kids.push(k);
    const kns = k.namespaceURI ?? "";
    if (kns === own[0] || own.includes(kns)) {
      // names in the first namespace are looked up as they are (no key to build for each child)
      const t = kns === own[0] ? tokens[k.localName] : tokens[`{${kns}}${k.localName}`];
      if (typeof t !== "string" || !t) throw schemaError(`element ${describe(k)} not allowed in ${describe(el)}`); // not an inherited "constructor"
      s += t;
    } else {
      s += "O";
    }
  }
  if (!model.test(s)) throw schemaError(`children of ${describe(el)} do not match its schema`);
  return kids;
}

/**
 * Unqualified attributes must be among `allowed`; `required` ones must be present.
 * Namespaced attributes (extensions, xml:lang, xmlns) pass.
 */
export function checkAttributes(el: XmlElementView, allowed: readonly string[], required: readonly string[] = []): void {
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes[i]!;
    if (a.namespaceURI) continue;
    if (a.name === "xmlns" || a.name.startsWith("xmlns:")) continue;
    if (!allowed.includes(a.name)) throw schemaError(`attribute "${a.name}" not allowed on ${describe(el)}`);
  }
  for (const r of required) {
    if (!el.hasAttribute(r)) throw schemaError(`attribute "${r}" required on ${describe(el)}`);
  }
}

/** Element with simple (text-only) content. */
export function textOnly(el: XmlElementView): string {
  // with no element children, textContent is the text and CDATA children (without xmldom's walkDOM)
  let text = "";
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1) throw schemaError(`${describe(el)} must contain text only`);
    if (c.nodeType === 3 || c.nodeType === 4) text += (c as XmlTextView).data;
  }
  return text;
}

const NCNAME_RE = /^[A-Za-z_\u00C0-\uFFEF][A-Za-z0-9_.\-\u00B7-\uFFEF]*$/;
export function isNCName(s: string): boolean {
  return NCNAME_RE.test(s);
}

const QUOTED_SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*%3A/i;
/**
 * python-sipsimple (Blink) writes every xs:anyURI value through `urllib.parse.quote`, so its
 * documents carry `sip%3Aalice%2Bpresence%40example.test` and `https%3A//xcap…` and its readers
 * unquote them. A value whose scheme colon is percent-encoded is decoded once; anything else is
 * returned as is.
 */
export function decodeQuotedUri(s: string): string {
  if (!QUOTED_SCHEME_RE.test(s)) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const ABS_URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;
/** Absolute URI, in plain or Blink's percent-encoded form. */
export function isAbsoluteUri(s: string): boolean {
  return ABS_URI_RE.test(decodeQuotedUri(s));
}

/** Absolute http(s) URI, in plain or Blink's percent-encoded form. */
export function isHttpUri(s: string): boolean {
  return /^https?:\/\/[^\s/]+(\/\S*)?$/i.test(decodeQuotedUri(s));
}

const DATETIME_RE = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
export function isDateTime(s: string): boolean {
  return DATETIME_RE.test(s.trim());
}

/** anyURI lexical check: no whitespace inside. */
export function isAnyUri(s: string): boolean {
  return !/\s/.test(s.trim());
}
