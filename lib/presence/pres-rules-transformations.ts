/**
 * Apply pres-rules permissions to a composed PIDF (RFC 5025 §3.3 and §5): the document a given
 * watcher may see.
 *
 * - sub-handling other than `allow` (polite-block, and confirm/block should a caller ask): a
 *   neutral document — one closed tuple and nothing else (RFC 5025 §3.2.1 polite-block).
 * - Components: a tuple is kept when provide-services grants all services, its contact URI
 *   (service-uri) or URI scheme (service-uri-scheme), its rpid:class or its id (occurrence-id);
 *   persons by all-persons / class / occurrence-id; devices by all-devices / deviceID / class /
 *   occurrence-id. Without the permission, the component is removed (RFC 5025 default deny).
 * - Attributes, unless provide-all-attributes: PIDF core content (status/basic, contact,
 *   timestamp, dm:deviceID of a device) is always kept; RPID elements need their
 *   provide-<name> permission; dm:deviceID in a tuple needs provide-deviceID; notes
 *   (pidf:note, dm:note, rpid:note, presence-level note) need provide-note; user-input is cut to
 *   the provide-user-input level (bare drops idle-threshold and last-input, thresholds drops
 *   last-input); elements of any other namespace (CIPID, caps, Blink's agp-pidf...) need a
 *   provide-unknown-attribute with their ns and name.
 */
import { childElements, createXmlDocument, serializeXmlDocument, XMLNS_NAMESPACE, type XmlElement } from "../xml";
import { NS } from "./namespaces";
import { presenceDocumentFromElement } from "./pidf-parser";
import type { PresenceDocument } from "./presence-document";
import type { ProvideSet, Transformations } from "./pres-rules";
import type { Permissions } from "./pres-rules-evaluation";

export interface WatcherDocument {
  xml: string;
  document: PresenceDocument;
}

/** The neutral document for polite-block: a single closed tuple. */
export function neutralPresence(entity: string): WatcherDocument {
  const doc = createXmlDocument(NS.pidf, "presence");
  doc.documentElement.setAttribute("entity", entity);
  const t = doc.createElementNS(NS.pidf, "tuple");
  t.setAttribute("id", "neutral");
  const status = doc.createElementNS(NS.pidf, "status");
  const basic = doc.createElementNS(NS.pidf, "basic");
  basic.appendChild(doc.createTextNode("closed"));
  status.appendChild(basic);
  t.appendChild(status);
  doc.documentElement.appendChild(t);
  return { xml: serializeXmlDocument(doc), document: presenceDocumentFromElement(doc.documentElement) };
}

/** RPID element → the boolean permission that provides it. */
const RPID_PERMISSION: Record<string, string> = {
  activities: "provide-activities",
  class: "provide-class",
  mood: "provide-mood",
  "place-is": "provide-place-is",
  "place-type": "provide-place-type",
  privacy: "provide-privacy",
  relationship: "provide-relationship",
  "status-icon": "provide-status-icon",
  sphere: "provide-sphere",
  "time-offset": "provide-time-offset",
};

function text(el: XmlElement, ns: string, name: string): string | undefined {
  const c = childElements(el).find((x) => x.namespaceURI === ns && x.localName === name);
  return c ? (c.textContent ?? "").trim() : undefined;
}

function setAllows(set: ProvideSet | undefined, el: XmlElement, kind: "tuple" | "person" | "device"): boolean {
  if (!set) return false;
  if (set.all) return true;
  const id = el.getAttribute("id") ?? "";
  if (set.occurrenceIds.includes(id)) return true;
  const cls = text(el, NS.rpid, "class");
  if (cls !== undefined && set.classes.includes(cls)) return true;
  if (kind === "tuple") {
    const contact = text(el, NS.pidf, "contact");
    if (contact !== undefined) {
      if (set.serviceUris.includes(contact)) return true;
      const scheme = contact.split(":", 1)[0].toLowerCase();
      if (set.serviceUriSchemes.includes(scheme)) return true;
    }
  }
  if (kind === "device") {
    const deviceId = text(el, NS.dm, "deviceID");
    if (deviceId !== undefined && set.deviceIds.includes(deviceId)) return true;
  }
  return false;
}

function isNote(el: XmlElement): boolean {
  return el.localName === "note" && (el.namespaceURI === NS.pidf || el.namespaceURI === NS.dm || el.namespaceURI === NS.rpid);
}

/** Filter the children of a tuple / person / device (or a tuple's status) in place. */
function filterAttributes(el: XmlElement, t: Transformations, kind: "tuple" | "person" | "device" | "status" | "presence"): void {
  for (const c of childElements(el)) {
    let keep: boolean;
    const ns = c.namespaceURI ?? "";
    if (isNote(c)) keep = t.booleans["provide-note"] === true;
    else if (ns === NS.pidf) keep = true; // status, basic, contact, timestamp (tuple, note handled above)
    else if (ns === NS.dm) {
      keep = c.localName === "deviceID" ? kind === "device" || t.booleans["provide-deviceID"] === true : true;
    } else if (ns === NS.rpid) {
      if (c.localName === "user-input") {
        const level = t.provideUserInput ?? "false";
        keep = level !== "false";
        if (keep && level !== "full") {
          c.removeAttribute("last-input");
          if (level === "bare") c.removeAttribute("idle-threshold");
        }
      } else {
        const perm = RPID_PERMISSION[c.localName];
        keep = perm ? t.booleans[perm] === true : t.unknownAttributes[`{${ns}}${c.localName}`] === true;
      }
    } else keep = t.unknownAttributes[`{${ns}}${c.localName}`] === true;

    if (!keep) {
      el.removeChild(c);
      continue;
    }
    if (kind === "tuple" && ns === NS.pidf && c.localName === "status") filterAttributes(c, t, "status");
    // notes nested inside RPID elements follow provide-note too
    if (ns === NS.rpid && t.booleans["provide-note"] !== true) {
      for (const n of childElements(c)) if (isNote(n)) c.removeChild(n);
    }
  }
}

/**
 * The document `permissions` let a watcher see. The input is not modified.
 */
export function applyTransformations(pidf: PresenceDocument, permissions: Permissions): WatcherDocument {
  if (permissions.subHandling !== "allow") return neutralPresence(pidf.entity);
  const doc = createXmlDocument(NS.pidf, "presence");
  const root = doc.documentElement;
  // keep the publisher's namespace declarations (prefixes as published)
  for (let i = 0; i < pidf.element.attributes.length; i++) {
    const a = pidf.element.attributes[i];
    if (a.name.startsWith("xmlns:")) root.setAttributeNS(XMLNS_NAMESPACE, a.name, a.value);
  }
  root.setAttribute("entity", pidf.entity);
  const t = permissions.transformations;
  for (const c of childElements(pidf.element)) {
    const ns = c.namespaceURI;
    let keep: boolean;
    let kind: "tuple" | "person" | "device" | undefined;
    if (ns === NS.pidf && c.localName === "tuple") {
      kind = "tuple";
      keep = setAllows(t.provideServices, c, kind);
    } else if (ns === NS.dm && (c.localName === "person" || c.localName === "device")) {
      kind = c.localName as "person" | "device";
      keep = setAllows(kind === "person" ? t.providePersons : t.provideDevices, c, kind);
    } else if (ns === NS.pidf && c.localName === "note") keep = t.provideAllAttributes === true || t.booleans["provide-note"] === true;
    else keep = t.provideAllAttributes === true || t.unknownAttributes[`{${ns ?? ""}}${c.localName}`] === true;
    if (!keep) continue;
    const copy = doc.importNode(c, true) as XmlElement;
    if (kind && !t.provideAllAttributes) filterAttributes(copy, t, kind);
    root.appendChild(copy);
  }
  return { xml: serializeXmlDocument(doc), document: presenceDocumentFromElement(root) };
}
