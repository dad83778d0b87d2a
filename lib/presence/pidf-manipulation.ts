/**
 * pidf-manipulation (RFC 4827): the presence document a user stores on the XCAP server
 * (auid `pidf-manipulation`, document `index`). It is plain PIDF; Blink uses it for its
 * "offline status" (a closed tuple with a note on the tuple and the person). How the presence
 * agent merges it is defined in presence-composition.ts.
 *
 * Herald keeps two things in it:
 * - the **offline status** — its tuples, persons and devices, shown while no device publishes;
 * - the **permanent status** an operator sets ("On leave until 3 January") — a presence-level
 *   `<note>` (RFC 3863 §4.1.6), merged into the composed document whether or not a device
 *   publishes. Blink puts no note at that level, so the two never mix.
 */
import { childElements, createXmlDocument, serializeXmlDocument, type ParseXmlOptions, type XmlDocument } from "../xml";
import { NS } from "./namespaces";
import { parsePayloadXml, parsePidf } from "./pidf-parser";
import type { PresenceDocument } from "./presence-document";
import { summarizePresence } from "./presence-summary";

/** Parse a pidf-manipulation document (same format as PIDF). */
export function parsePidfManipulation(input: string | Uint8Array | XmlDocument, options?: ParseXmlOptions): PresenceDocument {
  return parsePidf(input, options);
}

/** The permanent status of a pidf-manipulation document (its first presence-level note). */
export function permanentNoteOf(doc: PresenceDocument): string | undefined {
  return doc.notes.find((n) => n.text.trim() !== "")?.text;
}

/** The offline status of a pidf-manipulation document: whether there is one, and its note (the permanent status left out). */
export function offlineStatusOf(doc: PresenceDocument): { set: boolean; note: string | undefined } {
  const set = doc.tuples.length > 0 || doc.persons.length > 0 || doc.devices.length > 0;
  return { set, note: set ? summarizePresence({ ...doc, notes: [] }).note : undefined };
}

/**
 * `xml` (a pidf-manipulation document, or undefined for none) with its presence-level notes
 * replaced by `note` (none when null or blank); everything else stays as it is. Returns null when
 * nothing would be left, i.e. the document should be deleted.
 */
export function withPermanentNote(xml: string | undefined, entity: string, note: string | null): string | null {
  const doc = xml === undefined ? createXmlDocument(NS.pidf, "presence") : parsePayloadXml(xml);
  const root = doc.documentElement;
  if (xml === undefined) root.setAttribute("entity", entity);
  else parsePidf(doc); // the root must be a presence document
  for (const c of childElements(root)) if (c.namespaceURI === NS.pidf && c.localName === "note") root.removeChild(c);
  const text = note?.trim();
  if (text) {
    // pidf.xsd: tuple*, note*, ##other — after the last tuple
    const tuples = childElements(root).filter((c) => c.namespaceURI === NS.pidf && c.localName === "tuple");
    const el = doc.createElementNS(NS.pidf, "note");
    el.appendChild(doc.createTextNode(text));
    root.insertBefore(el, tuples.length ? tuples[tuples.length - 1].nextSibling : root.firstChild);
  }
  return childElements(root).length === 0 ? null : serializeXmlDocument(doc);
}
