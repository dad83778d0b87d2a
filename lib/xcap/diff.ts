/**
 * The XCAP diff document (RFC 5874, `application/xcap-diff+xml`) as the xcap-diff event package
 * (RFC 5875) uses it without patches ("no-patching", RFC 5875 §4.4): one `<document>` per
 * document, its selector relative to the XCAP root, `new-etag` when it exists, `previous-etag`
 * when it existed before the change. Created: new only; deleted: previous only; changed: both.
 *
 * Also the other direction: the list of XCAP URIs a subscriber names in its SUBSCRIBE body
 * (`application/resource-lists+xml`, RFC 5875 §4.3), as python-sipsimple (Blink) sends it.
 */
import { CONTENT_TYPES, NS } from "../presence/namespaces";
import { childElements, escapeXml, parseXml, XML_DECLARATION, type XmlElement } from "../xml";
import { XcapError } from "./errors";
import { buildXcapUri, parseXcapUri, type XcapDocumentKey } from "./uri";

export const XCAP_DIFF_TYPE = "application/xcap-diff+xml";
export const XCAP_DIFF_NS = "urn:ietf:params:xml:ns:xcap-diff";
/** The SUBSCRIBE body type naming the watched resources (RFC 5875 §4.3). */
export const XCAP_DIFF_SUBSCRIBE_BODY_TYPE = CONTENT_TYPES.resourceLists;
const RL_NS = NS.resourceLists;

export interface XcapDiffDocument {
  /** Document selector relative to the XCAP root, e.g. `resource-lists/users/sip:alice@example.test/index`. */
  sel: string;
  /** ETag after the change (absent: the document was deleted). */
  newEtag?: string | null;
  /** ETag before the change (absent: created, or full state). */
  previousEtag?: string | null;
}

/** The document selector (RFC 4825 §6) of a stored document, relative to the XCAP root. */
/** An entity tag as xcap-diff writes it (RFC 5874 §4: the tag's value, without HTTP's quotes) from its HTTP form. */
export function diffEtag(httpEtag: string): string {
  return httpEtag.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

export function documentSelector(key: XcapDocumentKey): string {
  return buildXcapUri("", key).slice(1);
}

/** An `<xcap-diff>` document (RFC 5874 §4) for `documents`, without patches. */
export function composeXcapDiff(xcapRoot: string, documents: readonly XcapDiffDocument[]): string {
  const root = xcapRoot.endsWith("/") ? xcapRoot : `${xcapRoot}/`;
  let xml = `${XML_DECLARATION}\n<xcap-diff xmlns="${XCAP_DIFF_NS}" xcap-root="${escapeXml(root)}">`;
  for (const d of documents) {
    xml += `\n  <document sel="${escapeXml(d.sel)}"`;
    if (d.newEtag) xml += ` new-etag="${escapeXml(d.newEtag)}"`;
    if (d.previousEtag) xml += ` previous-etag="${escapeXml(d.previousEtag)}"`;
    xml += "/>";
  }
  return `${xml}\n</xcap-diff>\n`;
}

export interface ParsedXcapDiff {
  xcapRoot: string;
  documents: Array<XcapDiffDocument & { auid: string }>;
}

/** Parse an `<xcap-diff>` document (documents only; element and attribute changes are not used here). */
export function parseXcapDiff(xml: string): ParsedXcapDiff {
  const root = parseXml(xml).documentElement;
  if (root.namespaceURI !== XCAP_DIFF_NS || root.localName !== "xcap-diff") throw new XcapError(400, "not an xcap-diff document");
  const documents: ParsedXcapDiff["documents"] = [];
  for (const el of childElements(root)) {
    if (el.namespaceURI !== XCAP_DIFF_NS || el.localName !== "document") continue;
    const sel = el.getAttribute("sel") ?? "";
    documents.push({ sel, auid: sel.replace(/^\/+/, "").split("/")[0] ?? "", newEtag: el.getAttribute("new-etag"), previousEtag: el.getAttribute("previous-etag") });
  }
  return { xcapRoot: root.getAttribute("xcap-root") ?? "", documents };
}

/** A watched resource: one document, or every document below a directory (`path` ending in `/`, or empty). */
export interface XcapWatch {
  auid: string;
  /** Canonical XUI of the tree; null for the global tree. */
  xui: string | null;
  /** Document path, or a directory prefix ending in `/` (`""`: every document of the AUID). */
  path: string;
}

/** Whether a change to `key` is one `watch` covers. */
export function watches(watch: XcapWatch, key: { auid: string; xui: string | null; docPath: string }): boolean {
  if (watch.auid !== key.auid || watch.xui !== key.xui) return false;
  return watch.path === key.docPath || ((watch.path === "" || watch.path.endsWith("/")) && key.docPath.startsWith(watch.path));
}

/**
 * The XCAP URIs a SUBSCRIBE body names (RFC 5875 §4.3: `<entry uri>` of a resource-lists
 * document, relative to the XCAP root or absolute below `xcapRoot`). A URI ending in `/` names a
 * directory. Throws XcapError(400) for a body or URI that cannot be read.
 */
export function parseWatchList(body: string, xcapRoot: string): XcapWatch[] {
  let doc;
  try {
    doc = parseXml(body);
  } catch (e) {
    throw new XcapError(400, `resource list: ${e instanceof Error ? e.message : String(e)}`);
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== RL_NS || root.localName !== "resource-lists") throw new XcapError(400, "body is not a resource-lists document");
  const out: XcapWatch[] = [];
  const walk = (el: XmlElement) => {
    for (const c of childElements(el)) {
      if (c.namespaceURI !== RL_NS) continue;
      if (c.localName === "list") walk(c);
      else if (c.localName === "entry") out.push(watchOf(c.getAttribute("uri") ?? "", xcapRoot));
    }
  };
  walk(root);
  return out;
}

function watchOf(uri: string, xcapRoot: string): XcapWatch {
  let rel = uri.trim();
  const root = xcapRoot.replace(/\/+$/, "");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rel)) {
    if (!root || !(rel === root || rel.startsWith(`${root}/`))) throw new XcapError(403, "only documents of this XCAP root can be watched");
    rel = rel.slice(root.length);
  }
  rel = rel.replace(/^\/+/, "");
  if (rel.endsWith("/")) {
    // a directory: `<auid>/users/<xui>/[<dir>/]`
    const parts = rel.split("/");
    if (parts[1] === "global") return { auid: parts[0] ?? "", xui: null, path: parts.slice(2, -1).map((p) => `${p}/`).join("") };
    const dir = parts.length >= 4 ? `${parts.slice(3, -1).join("/")}${parts.length > 4 ? "/" : ""}` : "";
    const key = parseXcapUri(`${parts.slice(0, 3).join("/")}/x`);
    return { auid: key.auid, xui: key.xui, path: dir };
  }
  const key = parseXcapUri(rel);
  if (key.nodeSelector) throw new XcapError(400, "xcap-diff watches whole documents only");
  return { auid: key.auid, xui: key.xui, path: key.docPath };
}
