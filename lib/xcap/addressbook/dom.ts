/**
 * Small DOM editing helpers for in-place edits: new elements reuse the prefix a document
 * already binds to their namespace (or the SDK's usual prefix, declared once on the root),
 * so documents written by Blink keep their look and everything unknown stays where it is.
 */
import { XMLNS_NAMESPACE, childElements, firstChildNS, type XmlDocument, type XmlElement } from "../../xml";
import { PREFERRED_PREFIX } from "./model";

/** Qualified name to use for a new element of `ns` in `doc`, declaring a prefix on the root if needed. */
export function qualifiedName(doc: XmlDocument, ns: string, local: string): string {
  const root = doc.documentElement;
  if (root.namespaceURI === ns && !root.prefix) return local;
  if ((root.getAttribute("xmlns") ?? null) === ns) return local;
  for (const attr of Array.from(root.attributes)) {
    if (attr.prefix === "xmlns" && attr.value === ns) return `${attr.localName}:${local}`;
  }
  if (root.namespaceURI === ns && root.prefix) return `${root.prefix}:${local}`;
  let prefix = PREFERRED_PREFIX[ns] ?? "ns";
  let n = 1;
  while (root.hasAttribute(`xmlns:${prefix}`)) prefix = `${PREFERRED_PREFIX[ns] ?? "ns"}${n++}`;
  root.setAttributeNS(XMLNS_NAMESPACE, `xmlns:${prefix}`, ns);
  return `${prefix}:${local}`;
}

export function createEl(doc: XmlDocument, ns: string, local: string, attrs: Record<string, string> = {}, text?: string): XmlElement {
  const el = doc.createElementNS(ns, qualifiedName(doc, ns, local));
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.appendChild(doc.createTextNode(text));
  return el;
}

/** Replace the text content of an element (only when it differs, to keep diffs minimal). */
export function setText(el: XmlElement, text: string): void {
  if ((el.textContent ?? "") === text && childElements(el).length === 0) return;
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument!.createTextNode(text));
}

export function removeEl(el: XmlElement): void {
  el.parentNode?.removeChild(el);
}

/** Child element (ns, local), created and inserted by `insert` when missing. */
export function ensureChild(parent: XmlElement, ns: string, local: string, insert: (el: XmlElement) => void): XmlElement {
  const found = firstChildNS(parent, ns, local);
  if (found) return found;
  const el = createEl(parent.ownerDocument!, ns, local);
  insert(el);
  return el;
}

/**
 * Insert `child` into `parent` after the last child element satisfying `after` (or first, when
 * none does). Keeps schema sequences (e.g. known elements before `##other` extensions).
 */
export function insertAfterLast(parent: XmlElement, child: XmlElement, after: (e: XmlElement) => boolean): void {
  const kids = childElements(parent);
  let anchor: XmlElement | undefined;
  for (const k of kids) if (after(k)) anchor = k;
  if (anchor) parent.insertBefore(child, anchor.nextSibling);
  else parent.insertBefore(child, kids[0] ?? null);
}

export function isNS(e: XmlElement, ns: string, local?: string): boolean {
  return e.namespaceURI === ns && (local === undefined || e.localName === local);
}
