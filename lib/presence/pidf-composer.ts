/**
 * Compose the PIDF a client publishes, in the shape Blink (python-sipsimple) publishes it, so
 * that Blink and Herald users read each other's state:
 *
 * ```xml
 * <presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test" xmlns:dm=… xmlns:rpid=… …>
 *   <tuple id="SID-<device>">
 *     <status><basic>open</basic><agp-pidf:extended>away</agp-pidf:extended></status>
 *     <dm:deviceID>…</dm:deviceID> <rpid:user-input>…</rpid:user-input>
 *     <c:display-name/> <c:icon/> <c:homepage/>
 *     <agp-pidf:device-info id="…"><agp-pidf:description/><agp-pidf:user-agent/><agp-pidf:time-offset/></agp-pidf:device-info>
 *     <caps:servcaps>…<agp-caps:file-transfer>true</agp-caps:file-transfer></caps:servcaps>
 *     <contact>…</contact> <note>…</note> <timestamp>…</timestamp>
 *   </tuple>
 *   <dm:person id="PID-…"><rpid:activities><rpid:away/></rpid:activities><dm:note/><dm:timestamp/></dm:person>
 *   <dm:device id="DID-…"><dm:deviceID>…</dm:deviceID><dm:note>UA at host</dm:note><dm:timestamp/></dm:device>
 * </presence>
 * ```
 *
 * Element order follows the XSD sequences (pidf.xsd tuple: status, ##other*, contact, note*,
 * timestamp; data-model.xsd person: ##other*, note*, timestamp; device: ##other*, deviceID, note*,
 * timestamp; caps.xsd servcaps sequence), so the output validates against the shared schemas.
 */
import { appendElementNS, createXmlDocument, serializeXmlDocument, type XmlElement } from "../xml";
import { NS, PREFIXES } from "./namespaces";
import type { BasicStatus, ExtendedStatus, Note, TimeOffset, UserInput } from "./presence-document";
import { sha1 } from "./sha1";

/** RPID activity values that have their own element (rpid.xsd). Anything else becomes `<rpid:other>`. */
export const RPID_ACTIVITIES = [
  "appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit", "looking-for-work", "meal",
  "meeting", "on-the-phone", "performance", "permanent-absence", "playing", "presentation", "shopping",
  "sleeping", "spectator", "steering", "travel", "tv", "vacation", "working", "worship",
] as const;

/** caps.xsd order of the `methods` values. */
const CAPS_METHODS = ["ACK", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NOTIFY", "OPTIONS", "PRACK", "PUBLISH", "REFER", "REGISTER", "SUBSCRIBE", "UPDATE"];
/** caps.xsd order of the `event-packages` values. */
const CAPS_EVENT_PACKAGES = ["conference", "dialog", "kpml", "message-summary", "poc-settings", "presence", "reg", "refer", "Siemens-RTP-Stats", "spirits-INDPs", "spirits-user-prof", "winfo"];

export interface CapabilitiesInput {
  audio?: boolean;
  video?: boolean;
  text?: boolean;
  message?: boolean;
  /** AG extensions */
  fileTransfer?: boolean;
  screenSharingServer?: boolean;
  screenSharingClient?: boolean;
  /** Other AG capability booleans by element name. */
  agp?: Record<string, boolean>;
  /** caps:methods supported */
  methods?: string[];
  /** caps:event-packages supported */
  eventPackages?: string[];
}

export interface PidfInput {
  entity: string;
  /** Default "open". */
  basic?: BasicStatus;
  extended?: ExtendedStatus;
  note?: string | Note;
  notes?: (string | Note)[];
  /** RPID activities. When absent, derived from `extended` (away / extended-away → away, busy → busy). */
  activities?: string[];
  /** When the activities end (RPID `until`, RFC 4480 §3.2); written only with activities. */
  activitiesUntil?: Date | string;
  mood?: string[];
  homepage?: string;
  iconUrl?: string;
  displayName?: string;
  /** The device's instance id (UUID); ids of tuple/device derive from it. Default: derived from entity. */
  deviceId?: string;
  userAgent?: string;
  /** Host name / device description. */
  deviceDescription?: string;
  /** Minutes from UTC. */
  timeOffset?: number | TimeOffset;
  capabilities?: CapabilitiesInput;
  /** pidf:contact; default the entity. */
  contact?: string;
  priority?: number;
  userInput?: UserInput;
  /** Default now. */
  timestamp?: Date | string;
  /** Override generated ids. */
  tupleId?: string;
  personId?: string;
}

/** Turn any string into a valid xs:ID (NCName). */
export function toXmlId(prefix: string, raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, "_");
  return `${prefix}${cleaned}`;
}

function isoTimestamp(t: Date | string | undefined): string {
  if (typeof t === "string") return t;
  return (t ?? new Date()).toISOString();
}

function toNote(n: string | Note): Note {
  return typeof n === "string" ? { text: n } : n;
}

function notesOf(input: PidfInput): Note[] {
  const all = [...(input.note !== undefined ? [input.note] : []), ...(input.notes ?? [])].map(toNote);
  const seen = new Set<string>();
  return all.filter((n) => {
    const key = `${n.lang ?? ""}\u0000${n.text}`;
    if (!n.text || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function appendNote(parent: XmlElement, ns: string, qname: string, note: Note): void {
  appendElementNS(parent, ns, qname, { "xml:lang": note.lang }, note.text);
}

function appendUserInput(parent: XmlElement, u: UserInput): void {
  appendElementNS(
    parent,
    NS.rpid,
    "rpid:user-input",
    { "idle-threshold": u.idleThreshold, "last-input": u.lastInput },
    u.value,
  );
}

function appendCapabilities(parent: XmlElement, caps: CapabilitiesInput): void {
  const servcaps = appendElementNS(parent, NS.caps, "caps:servcaps");
  const flag = (name: string, v: boolean | undefined) => {
    if (v !== undefined) appendElementNS(servcaps, NS.caps, `caps:${name}`, {}, String(v));
  };
  const list = (name: string, values: string[] | undefined, order: readonly string[]) => {
    // the schema fixes both the set and the order of the values; unknown ones are dropped
    const known = [...new Set(values ?? [])].filter((v) => order.includes(v)).sort((a, b) => order.indexOf(a) - order.indexOf(b));
    if (!known.length) return;
    const el = appendElementNS(servcaps, NS.caps, `caps:${name}`);
    const sup = appendElementNS(el, NS.caps, "caps:supported");
    for (const v of known) appendElementNS(sup, NS.caps, `caps:${v}`);
  };
  // caps.xsd servcaps sequence: actor, application, audio, automata, class, control, data,
  // description*, duplex, event-packages, extensions, isfocus, message, methods, languages,
  // priority, schemes, text, type*, video, ##other*
  flag("audio", caps.audio);
  list("event-packages", caps.eventPackages, CAPS_EVENT_PACKAGES);
  flag("message", caps.message);
  list("methods", caps.methods, CAPS_METHODS);
  flag("text", caps.text);
  flag("video", caps.video);
  const agp: Record<string, boolean> = { ...caps.agp };
  if (caps.fileTransfer !== undefined) agp["file-transfer"] = caps.fileTransfer;
  if (caps.screenSharingServer !== undefined) agp["screen-sharing-server"] = caps.screenSharingServer;
  if (caps.screenSharingClient !== undefined) agp["screen-sharing-client"] = caps.screenSharingClient;
  for (const [name, v] of Object.entries(agp)) appendElementNS(servcaps, NS.agpCaps, `agp-caps:${name}`, {}, String(v));
}

function activitiesFor(input: PidfInput): string[] {
  if (input.activities) return input.activities;
  switch (input.extended) {
    case "away":
    case "extended-away":
      return ["away"];
    case "busy":
      return ["busy"];
    default:
      return [];
  }
}

/** Compose a Blink-compatible PIDF document (text, with XML declaration). */
export function composePidf(input: PidfInput): string {
  const doc = createXmlDocument(NS.pidf, "presence", PREFIXES);
  const root = doc.documentElement;
  root.setAttribute("entity", input.entity);
  const timestamp = isoTimestamp(input.timestamp);
  const deviceId = input.deviceId ?? sha1(input.entity).slice(0, 32);
  const notes = notesOf(input);

  // --- tuple (service) ---
  const tuple = appendElementNS(root, NS.pidf, "tuple", { id: input.tupleId ?? toXmlId("SID-", deviceId) });
  const status = appendElementNS(tuple, NS.pidf, "status");
  appendElementNS(status, NS.pidf, "basic", {}, input.basic ?? "open");
  if (input.extended) appendElementNS(status, NS.agpPidf, "agp-pidf:extended", {}, input.extended);
  appendElementNS(tuple, NS.dm, "dm:deviceID", {}, deviceId);
  if (input.userInput) appendUserInput(tuple, input.userInput);
  if (input.displayName) appendElementNS(tuple, NS.cipid, "c:display-name", {}, input.displayName);
  if (input.iconUrl) appendElementNS(tuple, NS.cipid, "c:icon", {}, input.iconUrl);
  if (input.homepage) appendElementNS(tuple, NS.cipid, "c:homepage", {}, input.homepage);
  if (input.userAgent !== undefined || input.deviceDescription !== undefined || input.timeOffset !== undefined) {
    const info = appendElementNS(tuple, NS.agpPidf, "agp-pidf:device-info", { id: deviceId });
    if (input.deviceDescription) appendElementNS(info, NS.agpPidf, "agp-pidf:description", {}, input.deviceDescription);
    if (input.userAgent) appendElementNS(info, NS.agpPidf, "agp-pidf:user-agent", {}, input.userAgent);
    if (input.timeOffset !== undefined) {
      const t = typeof input.timeOffset === "number" ? { value: input.timeOffset } : input.timeOffset;
      appendElementNS(info, NS.agpPidf, "agp-pidf:time-offset", { description: t.description }, String(Math.trunc(t.value)));
    }
  }
  if (input.capabilities) appendCapabilities(tuple, input.capabilities);
  appendElementNS(tuple, NS.pidf, "contact", { priority: input.priority?.toString() }, input.contact ?? input.entity);
  for (const n of notes) appendNote(tuple, NS.pidf, "note", n);
  appendElementNS(tuple, NS.pidf, "timestamp", {}, timestamp);

  // --- person ---
  const person = appendElementNS(root, NS.dm, "dm:person", { id: input.personId ?? `PID-${sha1(input.entity).slice(0, 32)}` });
  const activities = activitiesFor(input);
  if (activities.length) {
    const act = appendElementNS(person, NS.rpid, "rpid:activities", { until: input.activitiesUntil === undefined ? undefined : isoTimestamp(input.activitiesUntil) });
    for (const a of activities) {
      if ((RPID_ACTIVITIES as readonly string[]).includes(a)) appendElementNS(act, NS.rpid, `rpid:${a}`);
      else appendElementNS(act, NS.rpid, "rpid:other", {}, a);
    }
  }
  if (input.mood?.length) {
    const mood = appendElementNS(person, NS.rpid, "rpid:mood");
    for (const m of input.mood) appendElementNS(mood, NS.rpid, `rpid:${m}`);
  }
  for (const n of notes) appendNote(person, NS.dm, "dm:note", n);
  appendElementNS(person, NS.dm, "dm:timestamp", {}, timestamp);

  // --- device ---
  const device = appendElementNS(root, NS.dm, "dm:device", { id: toXmlId("DID-", deviceId) });
  appendElementNS(device, NS.dm, "dm:deviceID", {}, deviceId);
  const deviceNote = [input.userAgent, input.deviceDescription].filter(Boolean).join(" at ");
  if (deviceNote) appendElementNS(device, NS.dm, "dm:note", {}, deviceNote);
  appendElementNS(device, NS.dm, "dm:timestamp", {}, timestamp);

  return serializeXmlDocument(doc);
}
