/**
 * Composition (RFC 4479 §4, RFC 3903 §2): the presence agent's view of one presentity, built
 * from everything it knows.
 *
 * ## The rule
 *
 * Inputs: the live publications (PUBLISH, RFC 3903) of the presentity, the registrar's bindings
 * for its AOR, and its pidf-manipulation document (RFC 4827, XCAP auid `pidf-manipulation`).
 *
 * 1. **Publications.** Publications whose `expiresAt` is not in the future are ignored. The rest
 *    are applied oldest `publishedAt` first: every `tuple`, `dm:person` and `dm:device` is keyed
 *    by (kind, id) and a later publication's element with the same key replaces the earlier one
 *    in place (so "most recent publication wins" per id, and ids are never renamed). Elements
 *    are copied as published — prefixes, namespaces, unknown children and attributes included.
 *    Presence-level `<note>`s are unioned (de-duplicated by text and xml:lang); other top-level
 *    extension elements are kept.
 * 2. **Registration-derived tuples.** For every binding of the AOR that no publication describes,
 *    the agent adds a tuple `reg-<hash>` with basic `open` (or `closed` for a binding reported as
 *    unregistered), the binding's contact and its q as priority. A binding is *described* by a
 *    publication when a published tuple's `contact` equals the binding's contact or public GRUU
 *    (ignoring URI parameters other than `gr`), or its `dm:deviceID` / `agp-pidf:device-info id`
 *    equals the binding's `+sip.instance` (ignoring `<>`, `urn:uuid:` and case).
 * 3. **pidf-manipulation.** The document's presence-level `<note>`s are a *permanent note*:
 *    always merged (after the publications' notes). Its tuples, persons, devices and other
 *    elements are the *offline status*: merged only when no live publication exists
 *    (registration-derived tuples do not count as publishing), exactly as they are in the
 *    document.
 * 4. If the result has no tuple at all, a single closed tuple `offline` is added (clients such as
 *    Blink expect at least one service), unless `options.emptyTuple` is false.
 *
 * ## The user's own state
 *
 * The user's state is the newest state the user *set* on any device (`userStateOf`): among the
 * live publications' tuples that carry an explicit `agp-pidf:extended` status and are not idle
 * (auto-away is a device's idleness, not a choice), the one with the newest `timestamp` (else
 * the publication's time). Devices add their tuples beneath it. When that state is Invisible —
 * extended `offline`, which Herald publishes with basic `closed` and Blink with `open` — every
 * watcher but the user gets exactly what an offline user shows (`composePresence` with no
 * publication and no registration: the offline status and permanent note included), while the
 * user's own devices still see every publication and follow it.
 */
import { childElements, createXmlDocument, serializeXmlDocument, XML_NAMESPACE, XMLNS_NAMESPACE, type XmlDocument, type XmlElement } from "../xml";
import { NS } from "./namespaces";
import { noteOf, presenceDocumentFromElement } from "./pidf-parser";
import type { Note, PresenceDocument, Tuple } from "./presence-document";
import { sha1 } from "./sha1";

export interface Publication {
  /** SIP-ETag of the publication (for the caller's bookkeeping). */
  etag?: string;
  document: PresenceDocument;
  /** Time of the PUBLISH that set this state, ms since the epoch. */
  publishedAt: number;
  /** Expiry, ms since the epoch; absent = does not expire. */
  expiresAt?: number;
}

export interface RegistrationBinding {
  /** Contact URI of the binding. */
  contact: string;
  /** `+sip.instance` value, e.g. `<urn:uuid:…>`. */
  instanceId?: string;
  /** Public GRUU assigned to the binding. */
  pubGruu?: string;
  /** Contact q-value 0..1. */
  q?: number;
  /** Default "registered". */
  state?: "registered" | "unregistered";
}

export interface ComposePresenceOptions {
  /** Clock, ms since the epoch (default Date.now()). */
  now?: number;
  registrations?: readonly RegistrationBinding[];
  /** The pidf-manipulation document, parsed. */
  manipulation?: PresenceDocument;
  /** Add a closed tuple when the result would have none (default true). */
  emptyTuple?: boolean;
}

export interface ComposedPresence {
  xml: string;
  document: PresenceDocument;
  /** True when at least one live publication contributed. */
  published: boolean;
}

/** The user's state: the newest deliberate (explicit, not idle) tuple among the live publications. */
export interface UserState {
  publication: Publication;
  tuple: Tuple;
  /** Extended status `offline`: the user chose to be seen as offline. */
  invisible: boolean;
}

function isIdle(doc: PresenceDocument, t: Tuple): boolean {
  if (t.userInput?.value === "idle") return true;
  if (t.deviceId && doc.devices.some((d) => d.deviceId === t.deviceId && d.userInput?.value === "idle")) return true;
  return false;
}

/** Time a tuple's state was set: its `timestamp`, else the publication's time. */
function setAt(t: Tuple, p: Publication): number {
  const ts = t.timestamp ? Date.parse(t.timestamp) : NaN;
  return Number.isFinite(ts) ? ts : p.publishedAt;
}

export function userStateOf(publications: readonly Publication[], now: number = Date.now()): UserState | undefined {
  let best: (UserState & { at: number }) | undefined;
  for (const p of publications) {
    if (p.expiresAt !== undefined && p.expiresAt <= now) continue;
    for (const t of p.document.tuples) {
      if (!t.extendedStatus || isIdle(p.document, t)) continue;
      const at = setAt(t, p);
      if (!best || at > best.at || (at === best.at && p.publishedAt > best.publication.publishedAt)) {
        best = { publication: p, tuple: t, invisible: t.extendedStatus === "offline", at };
      }
    }
  }
  if (!best) return undefined;
  const { at: _at, ...state } = best;
  return state;
}

function normalizeInstance(v: string): string {
  return v.replace(/^<|>$/g, "").replace(/^urn:uuid:/i, "").toLowerCase();
}

/** URI without `<>`, lower-cased scheme/host part, parameters dropped except `gr`. */
function normalizeUri(v: string): string {
  const bare = v.trim().replace(/^<|>$/g, "");
  const [base, ...params] = bare.split(";");
  const gr = params.find((p) => p.toLowerCase().startsWith("gr="));
  const at = base.lastIndexOf("@");
  const norm = at < 0 ? base.toLowerCase() : base.slice(0, at + 1).replace(/^[a-z]+:/i, (s) => s.toLowerCase()) + base.slice(at + 1).toLowerCase();
  return gr ? `${norm};${gr}` : norm;
}

function qvalue(q: number): string {
  const clamped = Math.min(1, Math.max(0, q));
  return clamped === 1 ? "1" : clamped.toFixed(3).replace(/0+$/, "").replace(/\.$/, ".0");
}

function noteKey(n: Note): string {
  return `${n.lang ?? ""}\u0000${n.text}`;
}

/** Copy the root's namespace declarations of `from` onto `to` when their prefixes are free. */
function copyNamespaceDeclarations(from: XmlElement, to: XmlElement): void {
  for (let i = 0; i < from.attributes.length; i++) {
    const a = from.attributes[i];
    if (a.name === "xmlns" || !a.name.startsWith("xmlns:")) continue;
    if (!to.hasAttribute(a.name)) to.setAttributeNS(XMLNS_NAMESPACE, a.name, a.value);
  }
}

export function composePresence(
  entity: string,
  publications: readonly Publication[],
  options: ComposePresenceOptions = {},
): ComposedPresence {
  const now = options.now ?? Date.now();
  const live = publications
    .filter((p) => p.expiresAt === undefined || p.expiresAt > now)
    .slice()
    .sort((a, b) => a.publishedAt - b.publishedAt);

  const doc: XmlDocument = createXmlDocument(NS.pidf, "presence", { dm: NS.dm });
  const root = doc.documentElement;
  root.setAttribute("entity", entity);

  const components = new Map<string, XmlElement>();
  const notes: Note[] = [];
  const seenNotes = new Set<string>();
  const others: XmlElement[] = [];
  const addNotes = (list: readonly Note[]) => {
    for (const n of list) {
      if (seenNotes.has(noteKey(n))) continue;
      seenNotes.add(noteKey(n));
      notes.push(n);
    }
  };
  const absorb = (source: PresenceDocument) => {
    copyNamespaceDeclarations(source.element, root);
    for (const c of childElements(source.element)) {
      const kind =
        c.namespaceURI === NS.pidf && c.localName === "tuple"
          ? "tuple"
          : c.namespaceURI === NS.dm && (c.localName === "person" || c.localName === "device")
            ? c.localName
            : c.namespaceURI === NS.pidf && c.localName === "note"
              ? "note"
              : "other";
      if (kind === "note") addNotes([noteOf(c)]);
      else if (kind === "other") others.push(c);
      else {
        const key = `${kind}\u0000${c.getAttribute("id") ?? ""}`;
        components.delete(key); // re-insert: most recent publication's order wins too
        components.set(key, c);
      }
    }
  };

  for (const p of live) absorb(p.document);
  // the permanent note of pidf-manipulation is always there; the rest only when nobody publishes
  if (options.manipulation) {
    if (live.length === 0) absorb(options.manipulation);
    else addNotes(options.manipulation.notes);
  }

  // registration-derived tuples
  const described = { contacts: new Set<string>(), instances: new Set<string>() };
  for (const p of live) {
    for (const t of p.document.tuples) {
      if (t.contact) described.contacts.add(normalizeUri(t.contact));
      if (t.deviceId) described.instances.add(normalizeInstance(t.deviceId));
      if (t.deviceInfo?.id) described.instances.add(normalizeInstance(t.deviceInfo.id));
    }
    for (const d of p.document.devices) if (d.deviceId) described.instances.add(normalizeInstance(d.deviceId));
  }
  const registrationTuples: XmlElement[] = [];
  for (const b of options.registrations ?? []) {
    const isDescribed =
      described.contacts.has(normalizeUri(b.contact)) ||
      (b.pubGruu !== undefined && described.contacts.has(normalizeUri(b.pubGruu))) ||
      (b.instanceId !== undefined && described.instances.has(normalizeInstance(b.instanceId)));
    if (isDescribed) continue;
    const id = `reg-${sha1(b.instanceId ? normalizeInstance(b.instanceId) : normalizeUri(b.contact)).slice(0, 16)}`;
    if (components.has(`tuple\u0000${id}`)) continue;
    const t = doc.createElementNS(NS.pidf, "tuple");
    t.setAttribute("id", id);
    const status = doc.createElementNS(NS.pidf, "status");
    const basic = doc.createElementNS(NS.pidf, "basic");
    basic.appendChild(doc.createTextNode(b.state === "unregistered" ? "closed" : "open"));
    status.appendChild(basic);
    t.appendChild(status);
    const contact = doc.createElementNS(NS.pidf, "contact");
    if (b.q !== undefined && Number.isFinite(b.q)) contact.setAttribute("priority", qvalue(b.q));
    contact.appendChild(doc.createTextNode(b.pubGruu ?? b.contact.replace(/^<|>$/g, "")));
    t.appendChild(contact);
    registrationTuples.push(t);
  }

  // order per pidf.xsd: tuple*, note*, then ##other (persons, devices, extensions)
  const entries = [...components.entries()];
  const tuples = entries.filter(([k]) => k.startsWith("tuple\u0000")).map(([, e]) => doc.importNode(e, true) as XmlElement);
  tuples.push(...registrationTuples);
  if (tuples.length === 0 && options.emptyTuple !== false) {
    const t = doc.createElementNS(NS.pidf, "tuple");
    t.setAttribute("id", "offline");
    const status = doc.createElementNS(NS.pidf, "status");
    const basic = doc.createElementNS(NS.pidf, "basic");
    basic.appendChild(doc.createTextNode("closed"));
    status.appendChild(basic);
    t.appendChild(status);
    tuples.push(t);
  }
  for (const t of tuples) root.appendChild(t);
  for (const n of notes) {
    const el = doc.createElementNS(NS.pidf, "note");
    if (n.lang) el.setAttributeNS(XML_NAMESPACE, "xml:lang", n.lang);
    el.appendChild(doc.createTextNode(n.text));
    root.appendChild(el);
  }
  for (const [k, e] of entries) if (k.startsWith("person\u0000")) root.appendChild(doc.importNode(e, true));
  for (const [k, e] of entries) if (k.startsWith("device\u0000")) root.appendChild(doc.importNode(e, true));
  for (const e of others) root.appendChild(doc.importNode(e, true));

  return { xml: serializeXmlDocument(doc), document: presenceDocumentFromElement(root), published: live.length > 0 };
}
