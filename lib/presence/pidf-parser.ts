/**
 * PIDF parser (RFC 3863 + RFC 4479 data model + RPID/CIPID/caps/Blink extensions).
 *
 * Lenient on content (an unknown value is kept in the raw element and ignored by the typed
 * view), strict on structure: the root must be `{urn:ietf:params:xml:ns:pidf}presence` with an
 * `entity`. Errors are PresencePayloadError (status 400).
 */
import {
  childElements,
  parseXml,
  textOf,
  XML_NAMESPACE,
  XmlParseError,
  type ParseXmlOptions,
  parseXmlTree,
  type XmlDocument,
  type XmlDocumentView,
  type XmlElement,
} from "../xml";
import { PresencePayloadError } from "./errors";
import { NS } from "./namespaces";
import {
  EXTENDED_STATUSES,
  type ContactInfo,
  type Device,
  type DeviceInfo,
  type ExtendedStatus,
  type Note,
  type Person,
  type PresenceDocument,
  type RpidEnumeration,
  type ServiceCapabilities,
  type ServiceDescription,
  type SupportList,
  type TimeOffset,
  type Tuple,
  type UserInput,
} from "./presence-document";

/** Parse XML text/bytes (or take a parsed document) into a DOM, mapping XML errors to PresencePayloadError. */
export function parsePayloadXml(input: string | Uint8Array | XmlDocument, options?: ParseXmlOptions): XmlDocument {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return input;
  return payload(() => parseXml(input, options));
}

/** As parsePayloadXml, into the read-only tree (`parseXmlTree`) when given text or bytes: for readers. */
export function parsePayloadTree(input: string | Uint8Array | XmlDocumentView, options?: ParseXmlOptions): XmlDocumentView {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return input;
  return payload(() => parseXmlTree(input, options));
}

function payload<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof XmlParseError) {
      throw new PresencePayloadError(err.code === "too-large" ? "too-large" : "not-xml", err.message);
    }
    throw err;
  }
}

export function noteOf(el: XmlElement): Note {
  const lang = el.getAttributeNS(XML_NAMESPACE, "lang") || el.getAttribute("xml:lang") || undefined;
  const note: Note = { text: textOf(el) ?? "" };
  if (lang) note.lang = lang;
  return note;
}

function is(el: XmlElement, ns: string, local: string): boolean {
  return el.namespaceURI === ns && el.localName === local;
}

function attr(el: XmlElement, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined;
}

function bool(el: XmlElement): boolean | undefined {
  const t = (textOf(el) ?? "").toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  return undefined;
}

function clark(el: XmlElement): string {
  return el.namespaceURI === NS.rpid ? el.localName : `{${el.namespaceURI ?? ""}}${el.localName}`;
}

function rpidEnumeration(el: XmlElement): RpidEnumeration {
  const out: RpidEnumeration = { values: [], other: [], notes: [] };
  for (const c of childElements(el)) {
    if (is(c, NS.rpid, "note")) out.notes.push(noteOf(c));
    else if (is(c, NS.rpid, "other")) out.other.push(noteOf(c));
    else out.values.push(clark(c));
  }
  const id = attr(el, "id");
  const from = attr(el, "from");
  const until = attr(el, "until");
  if (id) out.id = id;
  if (from) out.from = from;
  if (until) out.until = until;
  return out;
}

function userInput(el: XmlElement): UserInput | undefined {
  const v = textOf(el);
  if (v !== "active" && v !== "idle") return undefined;
  const out: UserInput = { value: v };
  const threshold = Number(attr(el, "idle-threshold"));
  if (Number.isFinite(threshold) && threshold > 0) out.idleThreshold = threshold;
  const last = attr(el, "last-input");
  if (last) out.lastInput = last;
  return out;
}

function timeOffset(el: XmlElement): TimeOffset | undefined {
  const value = Number.parseInt(textOf(el) ?? "", 10);
  if (!Number.isFinite(value)) return undefined;
  const out: TimeOffset = { value };
  const d = attr(el, "description");
  if (d) out.description = d;
  return out;
}

const CIPID_FIELDS: Record<string, keyof ContactInfo> = {
  "display-name": "displayName",
  icon: "icon",
  homepage: "homepage",
  card: "card",
  map: "map",
  sound: "sound",
};

/** Apply a CIPID child to `target`; true when handled. */
function cipid(c: XmlElement, target: ContactInfo): boolean {
  if (c.namespaceURI !== NS.cipid) return false;
  const key = CIPID_FIELDS[c.localName];
  if (!key) return false;
  const v = textOf(c);
  if (v) target[key] = v;
  return true;
}

function supportList(el: XmlElement): SupportList {
  const out: SupportList = { supported: [], notsupported: [] };
  for (const c of childElements(el)) {
    const bucket = c.localName === "supported" ? out.supported : c.localName === "notsupported" ? out.notsupported : undefined;
    if (!bucket) continue;
    for (const item of childElements(c)) {
      // schemes and languages list values as <s>x</s> / <l>x</l>; the others as empty elements
      if (item.localName === "s" || item.localName === "l") bucket.push(textOf(item) ?? "");
      else bucket.push(item.localName);
    }
  }
  return out;
}

const CAPS_BOOLEANS = ["audio", "video", "text", "message", "application", "control", "data", "automata", "isfocus"] as const;
const CAPS_LISTS: Record<string, keyof ServiceCapabilities> = {
  methods: "methods",
  "event-packages": "eventPackages",
  extensions: "extensions",
  schemes: "schemes",
  languages: "languages",
  actor: "actor",
  class: "classes",
  duplex: "duplex",
};

function serviceCapabilities(el: XmlElement): ServiceCapabilities {
  const out: ServiceCapabilities = { types: [], descriptions: [], agp: {} };
  for (const c of childElements(el)) {
    if (c.namespaceURI === NS.caps) {
      const name = c.localName;
      if ((CAPS_BOOLEANS as readonly string[]).includes(name)) {
        const b = bool(c);
        if (b !== undefined) (out as unknown as Record<string, boolean>)[name] = b;
      } else if (name === "type") out.types.push(textOf(c) ?? "");
      else if (name === "description") out.descriptions.push(noteOf(c));
      else if (CAPS_LISTS[name]) (out as unknown as Record<string, SupportList>)[CAPS_LISTS[name]] = supportList(c);
    } else if (c.namespaceURI === NS.agpCaps) {
      const b = bool(c);
      if (b !== undefined) out.agp[c.localName] = b;
    }
  }
  return out;
}

function deviceInfo(el: XmlElement): DeviceInfo {
  const out: DeviceInfo = { id: attr(el, "id") ?? "" };
  // Older sipsimple versions put the description in an attribute.
  const descAttr = attr(el, "description");
  if (descAttr) out.description = descAttr;
  for (const c of childElements(el)) {
    if (c.namespaceURI !== NS.agpPidf) continue;
    if (c.localName === "description") out.description = textOf(c);
    else if (c.localName === "user-agent") out.userAgent = textOf(c);
    else if (c.localName === "time-offset") {
      const t = timeOffset(c);
      if (t) out.timeOffset = t;
    }
  }
  return out;
}

function serviceDescription(el: XmlElement): ServiceDescription {
  const out: ServiceDescription = {};
  for (const c of childElements(el)) {
    if (c.localName === "service-id") out.serviceId = textOf(c);
    else if (c.localName === "version") out.version = textOf(c);
    else if (c.localName === "description") out.description = textOf(c);
  }
  return out;
}

function parseTuple(el: XmlElement): Tuple {
  const t: Tuple = { id: attr(el, "id") ?? "", notes: [], element: el, extensions: [] };
  for (const c of childElements(el)) {
    if (is(c, NS.pidf, "status")) {
      for (const s of childElements(c)) {
        if (is(s, NS.pidf, "basic")) {
          const b = textOf(s);
          if (b === "open" || b === "closed") t.basic = b;
        } else if (is(s, NS.agpPidf, "extended")) {
          const v = textOf(s) as ExtendedStatus;
          if (EXTENDED_STATUSES.includes(v)) t.extendedStatus = v;
        }
      }
    } else if (is(c, NS.pidf, "contact")) {
      t.contact = textOf(c);
      const p = Number(attr(c, "priority"));
      if (c.hasAttribute("priority") && Number.isFinite(p)) t.priority = p;
    } else if (is(c, NS.pidf, "note")) t.notes.push(noteOf(c));
    else if (is(c, NS.pidf, "timestamp")) t.timestamp = textOf(c);
    else if (is(c, NS.dm, "deviceID")) t.deviceId = textOf(c);
    else if (is(c, NS.agpPidf, "device-info")) t.deviceInfo = deviceInfo(c);
    else if (is(c, NS.caps, "servcaps")) t.capabilities = serviceCapabilities(c);
    else if (is(c, NS.omaPres, "service-description")) t.serviceDescription = serviceDescription(c);
    else if (is(c, NS.rpid, "user-input")) {
      const u = userInput(c);
      if (u) t.userInput = u;
    } else if (is(c, NS.rpid, "class")) t.class = textOf(c);
    else if (is(c, NS.rpid, "status-icon")) t.statusIcon = textOf(c);
    else if (!cipid(c, t)) t.extensions.push(c);
  }
  return t;
}

function parsePerson(el: XmlElement): Person {
  const p: Person = { id: attr(el, "id") ?? "", notes: [], element: el, extensions: [] };
  for (const c of childElements(el)) {
    if (is(c, NS.dm, "note")) p.notes.push(noteOf(c));
    else if (is(c, NS.dm, "timestamp")) p.timestamp = textOf(c);
    else if (c.namespaceURI === NS.rpid) {
      switch (c.localName) {
        case "activities":
          p.activities = rpidEnumeration(c);
          break;
        case "mood":
          p.mood = rpidEnumeration(c);
          break;
        case "place-type":
          p.placeType = rpidEnumeration(c);
          break;
        case "privacy":
          p.privacy = rpidEnumeration(c);
          break;
        case "sphere": {
          const first = childElements(c)[0];
          p.sphere = first ? clark(first) : textOf(c) || undefined;
          break;
        }
        case "time-offset": {
          const t = timeOffset(c);
          if (t) p.timeOffset = t;
          break;
        }
        case "user-input": {
          const u = userInput(c);
          if (u) p.userInput = u;
          break;
        }
        case "status-icon":
          p.statusIcon = textOf(c);
          break;
        case "class":
          p.class = textOf(c);
          break;
        default:
          p.extensions.push(c);
      }
    } else if (!cipid(c, p)) p.extensions.push(c);
  }
  return p;
}

function parseDevice(el: XmlElement): Device {
  const d: Device = { id: attr(el, "id") ?? "", notes: [], element: el, extensions: [] };
  for (const c of childElements(el)) {
    if (is(c, NS.dm, "deviceID")) d.deviceId = textOf(c);
    else if (is(c, NS.dm, "note")) d.notes.push(noteOf(c));
    else if (is(c, NS.dm, "timestamp")) d.timestamp = textOf(c);
    else if (is(c, NS.rpid, "user-input")) {
      const u = userInput(c);
      if (u) d.userInput = u;
    } else if (is(c, NS.rpid, "time-offset")) {
      const t = timeOffset(c);
      if (t) d.timeOffset = t;
    } else if (is(c, NS.rpid, "class")) d.class = textOf(c);
    else if (is(c, NS.caps, "devcaps")) {
      const caps: { descriptions: Note[]; mobility?: SupportList } = { descriptions: [] };
      for (const x of childElements(c)) {
        if (is(x, NS.caps, "description")) caps.descriptions.push(noteOf(x));
        else if (is(x, NS.caps, "mobility")) caps.mobility = supportList(x);
      }
      d.capabilities = caps;
    } else d.extensions.push(c);
  }
  return d;
}

/** Build the typed view of an already parsed `presence` element. */
export function presenceDocumentFromElement(root: XmlElement): PresenceDocument {
  if (!is(root, NS.pidf, "presence")) {
    throw new PresencePayloadError("wrong-root", `expected {${NS.pidf}}presence, got {${root.namespaceURI ?? ""}}${root.localName}`);
  }
  const entity = root.getAttribute("entity");
  if (!entity) throw new PresencePayloadError("missing-attribute", "presence has no entity attribute");
  const doc: PresenceDocument = {
    entity,
    tuples: [],
    notes: [],
    persons: [],
    devices: [],
    extensions: [],
    element: root,
    document: root.ownerDocument as XmlDocument,
  };
  for (const c of childElements(root)) {
    if (is(c, NS.pidf, "tuple")) doc.tuples.push(parseTuple(c));
    else if (is(c, NS.pidf, "note")) doc.notes.push(noteOf(c));
    else if (is(c, NS.dm, "person")) doc.persons.push(parsePerson(c));
    else if (is(c, NS.dm, "device")) doc.devices.push(parseDevice(c));
    else doc.extensions.push(c);
  }
  return doc;
}

/**
 * Parse a PIDF document (`application/pidf+xml`). Throws PresencePayloadError with code
 * not-xml | too-large | wrong-root | missing-attribute.
 */
export function parsePidf(input: string | Uint8Array | XmlDocument, options?: ParseXmlOptions): PresenceDocument {
  return presenceDocumentFromElement(parsePayloadXml(input, options).documentElement);
}
