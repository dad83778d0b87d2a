/**
 * XCAP URIs (RFC 4825 §6): `<auid>/users/<xui>/<doc path>[/~~/<node selector>]` and
 * `<auid>/global/<doc path>[/~~/<node selector>]`, relative to the XCAP root.
 *
 * XUIs `user@domain` and `sip:user@domain` address the same tree; the canonical key is
 * `sip:user@domain` with the domain in lower case.
 */
import { canonicalAor } from "../sip/aor";
import { XcapError } from "./errors";
import { parseNodeSelector, parseXmlnsQuery, type NodeSelector } from "./node-selector";

export type XcapScope = "users" | "global";

/** Identifies one stored document. */
export interface XcapDocumentKey {
  auid: string;
  scope: XcapScope;
  /** Canonical XUI (`sip:user@domain`) for the users tree; null for the global tree. */
  xui: string | null;
  /** Document path below the XUI (or below `global/`), e.g. `index` or `oma_status-icon/index`. */
  docPath: string;
}

export interface XcapUri extends XcapDocumentKey {
  /** Parsed node selector, null when the URI addresses a whole document. */
  nodeSelector: NodeSelector | null;
  /** The node selector as it appeared (percent-decoded). */
  nodeSelectorText: string | null;
  /** Prefix bindings from the `xmlns()` query component. */
  namespaces: Map<string, string>;
}

function decodeSegment(seg: string): string {
  let out: string;
  try {
    out = decodeURIComponent(seg);
  } catch {
    throw new XcapError(400, "malformed percent-encoding in request URI");
  }
  if (out.includes("\u0000")) throw new XcapError(400, "NUL in request URI");
  return out;
}

/**
 * Parse the request path (after the XCAP root) and the raw query component.
 * Throws XcapError(400) for malformed URIs and XcapError(404) for paths that cannot name a
 * document.
 */
export function parseXcapUri(path: string, query = ""): XcapUri {
  const raw = path.replace(/^\/+/, "");
  const rawSegs = raw.split("/");
  // RFC 4825 §6: the first path segment that is exactly "~~" separates document and node selector
  let sep = -1;
  for (let i = 0; i < rawSegs.length; i++) {
    if (decodeSegment(rawSegs[i]!) === "~~") {
      sep = i;
      break;
    }
  }
  const docSegs = (sep >= 0 ? rawSegs.slice(0, sep) : rawSegs).map(decodeSegment);
  let nodeSelectorText: string | null = null;
  let nodeSelector: NodeSelector | null = null;
  if (sep >= 0) {
    nodeSelectorText = decodeSegment(rawSegs.slice(sep + 1).join("/"));
    nodeSelector = parseNodeSelector(nodeSelectorText);
  }
  const namespaces = parseXmlnsQuery(query);
  if (docSegs.length < 3) throw new XcapError(404, "no document in request URI");
  const [auid, scope] = docSegs as [string, string];
  if (!auid) throw new XcapError(404, "missing application usage");
  let xui: string | null = null;
  let docParts: string[];
  if (scope === "users") {
    if (docSegs.length < 4 || !docSegs[2]) throw new XcapError(404, "no document in request URI");
    xui = canonicalAor(docSegs[2]!);
    docParts = docSegs.slice(3);
  } else if (scope === "global") {
    docParts = docSegs.slice(2);
  } else {
    throw new XcapError(404, `unknown tree "${scope}"`);
  }
  if (docParts.length === 0 || docParts.some((p) => p === "" || p === "." || p === "..")) {
    throw new XcapError(404, "bad document path");
  }
  return { auid, scope, xui, docPath: docParts.join("/"), nodeSelector, nodeSelectorText, namespaces };
}

function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ":").replace(/%40/g, "@").replace(/%2B/gi, "+");
}

/** Absolute HTTP URI of a document (and optionally a node selector) below `rootUri`. */
export function buildXcapUri(rootUri: string, key: XcapDocumentKey, nodeSelector?: string): string {
  const root = rootUri.replace(/\/+$/, "");
  const parts = [encodeSegment(key.auid), key.scope];
  if (key.scope === "users") parts.push(encodeSegment(key.xui ?? ""));
  parts.push(...key.docPath.split("/").map(encodeSegment));
  let uri = `${root}/${parts.join("/")}`;
  if (nodeSelector) uri += `/~~/${encodeURI(nodeSelector).replace(/\[/g, "%5B").replace(/\]/g, "%5D")}`;
  return uri;
}
