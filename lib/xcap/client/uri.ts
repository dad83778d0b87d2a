/**
 * XCAP URI construction (RFC 4825 §6): document selector + "~~" + node selector, with the
 * node selector percent-encoded as a URI path (RFC 3986 pchar), e.g. the Blink form
 * `~~/resource-lists/list%5B@name=%22buddies%22%5D`.
 */

/** Characters allowed unencoded in a path segment (RFC 3986 pchar, ASCII only). */
const PCHAR_RE = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
/** Characters allowed in a query (pchar / "/" / "?"). */
const QUERY_CHAR_RE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;

function encodeChars(s: string, allowed: RegExp, extraEncoded = ""): string {
  let out = "";
  for (const ch of s) {
    if (allowed.test(ch) && !extraEncoded.includes(ch)) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Percent-encode one path segment (keeps ":" and "@", so `sip:alice@example.test` stays readable). */
export function encodePathSegment(segment: string): string {
  return encodeChars(segment, PCHAR_RE);
}

/**
 * Percent-encode a node selector (the part after `~~`, starting with "/"), optionally followed
 * by `?xmlns(prefix=namespace)` bindings. Step separators "/" outside quoted strings are kept;
 * "/" inside an attribute value is encoded as %2F so no server can mistake it for a step.
 */
export function encodeNodeSelector(selector: string): string {
  let path = selector;
  let query: string | undefined;
  let quote: string | null = null;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "?") {
      path = selector.slice(0, i);
      query = selector.slice(i + 1);
      break;
    }
  }
  let out = "";
  quote = null;
  for (const ch of path) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch === "/" ? "%2F" : encodeChars(ch, PCHAR_RE);
    } else {
      if (ch === '"' || ch === "'") quote = ch;
      out += ch === "/" ? "/" : encodeChars(ch, PCHAR_RE);
    }
  }
  if (query !== undefined) out += "?" + encodeChars(query, QUERY_CHAR_RE);
  return out;
}

/** Quote a value for use in a node-selector predicate (RFC 4825 §6.3 AttValue). */
export function quoteSelectorValue(value: string): string {
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}"`;
}

/** `/resource-lists/list[@name="<name>"]` — the selector Blink uses for its named lists. */
export function resourceListSelector(name: string): string {
  return `/resource-lists/list[@name=${quoteSelectorValue(name)}]`;
}

export interface DocumentLocation {
  auid: string;
  /** document name inside the user's (or global) folder; may contain "/" (e.g. `oma_status-icon/index`) */
  document: string;
  /** true for the global tree (`<auid>/global/<doc>`); default: the user's tree */
  global?: boolean;
}

/** Path of a document relative to the XCAP root, not encoded (the form Blink writes into anchors). */
export function documentPathRaw(xui: string, loc: DocumentLocation): string {
  return loc.global ? `/${loc.auid}/global/${loc.document}` : `/${loc.auid}/users/${xui}/${loc.document}`;
}

/** Path of a document relative to the XCAP root, percent-encoded for an HTTP request. */
export function documentPath(xui: string, loc: DocumentLocation): string {
  const docSegments = loc.document.split("/").map(encodePathSegment).join("/");
  const auid = encodePathSegment(loc.auid);
  return loc.global ? `/${auid}/global/${docSegments}` : `/${auid}/users/${encodePathSegment(xui)}/${docSegments}`;
}

/** Join an XCAP root (with or without trailing slash) and a path starting with "/". */
export function joinRoot(root: string, path: string): string {
  return root.replace(/\/+$/, "") + path;
}

/** The percent-encoded XCAP URI of a node, for HTTP requests. */
export function nodeUri(root: string, xui: string, loc: DocumentLocation, selector?: string): string {
  const base = joinRoot(root, documentPath(xui, loc));
  return selector === undefined ? base : `${base}/~~${encodeNodeSelector(selector)}`;
}
