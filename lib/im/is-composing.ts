/**
 * Message composition indication, `application/im-iscomposing+xml` (RFC 3994 §5–6):
 * `state` active|idle (§5.2; an unknown value is taken as idle, §6.1), optional `lastactive`,
 * `contenttype`, and `refresh` (seconds the active state lasts before the receiver times it out,
 * §4: default 120 s when absent).
 */
import { NS } from "../presence/namespaces";
import { appendElementNS, childElements, createXmlDocument, parseXml, serializeXmlDocument, textOf, XmlParseError } from "../xml";
import { ImPayloadError } from "./errors";

export interface IsComposing {
  state: "active" | "idle";
  lastActive?: string;
  contentType?: string;
  /** Seconds (positive integer). */
  refresh?: number;
}

/** RFC 3994 §4: the receiver's idle timeout when no refresh is given. */
export const IS_COMPOSING_DEFAULT_IDLE_SECONDS = 120;
const MAX_BYTES = 4096;

export function parseIsComposing(text: string): IsComposing {
  let root;
  try {
    root = parseXml(text, { maxBytes: MAX_BYTES, maxDepth: 4 }).documentElement;
  } catch (e) {
    if (e instanceof XmlParseError) throw new ImPayloadError("not-xml", `is-composing: ${e.message}`);
    throw e;
  }
  if (root.namespaceURI !== NS.isComposing || root.localName !== "isComposing") {
    throw new ImPayloadError("wrong-root", `expected {${NS.isComposing}}isComposing`);
  }
  const child = (name: string) => textOf(childElements(root).find((c) => c.namespaceURI === NS.isComposing && c.localName === name))?.trim();
  const state = child("state");
  if (state === undefined) throw new ImPayloadError("invalid-value", "is-composing has no state");
  const out: IsComposing = { state: state === "active" ? "active" : "idle" };
  const last = child("lastactive");
  if (last) out.lastActive = last;
  const ct = child("contenttype");
  if (ct) out.contentType = ct;
  const refresh = child("refresh");
  if (refresh !== undefined) {
    if (!/^\d{1,9}$/.test(refresh) || Number(refresh) === 0) throw new ImPayloadError("invalid-value", "is-composing refresh must be a positive integer");
    out.refresh = Number(refresh);
  }
  return out;
}

export function composeIsComposing(ind: IsComposing): string {
  if (ind.refresh !== undefined && (!Number.isInteger(ind.refresh) || ind.refresh <= 0)) throw new RangeError("refresh must be a positive integer");
  const doc = createXmlDocument(NS.isComposing, "isComposing");
  const root = doc.documentElement;
  appendElementNS(root, NS.isComposing, "state", {}, ind.state);
  if (ind.lastActive) appendElementNS(root, NS.isComposing, "lastactive", {}, ind.lastActive);
  if (ind.contentType) appendElementNS(root, NS.isComposing, "contenttype", {}, ind.contentType);
  if (ind.refresh !== undefined) appendElementNS(root, NS.isComposing, "refresh", {}, String(ind.refresh));
  return serializeXmlDocument(doc);
}
