/**
 * Reduce a PIDF document to what a buddy list shows.
 *
 * Mapping (first rule that applies wins, per tuple):
 *  1. A tuple with `basic` closed (or no basic) is offline, whatever else it says.
 *  2. An open tuple with Blink's `agp-pidf:extended` status has exactly that availability
 *     (available | away | extended-away | busy | offline — "offline" while open is Blink's
 *     "invisible").
 *  3. An open tuple without extended status takes the person's RPID activities (RFC 4480 §3.2),
 *     the most restrictive one winning:
 *       busy ← busy, on-the-phone, meeting, appointment, presentation, performance, steering, worship
 *       extended-away ← vacation, holiday, permanent-absence, sleeping
 *       away ← away, meal, breakfast, dinner, in-transit, travel, shopping
 *       (working, playing, tv, spectator, looking-for-work, unknown, other: no change)
 *     and is otherwise available; RPID `user-input` idle (on the tuple, its device or the person)
 *     turns "available" into "away".
 *  4. Best across devices: the user's own choice wins over devices — among open tuples with an
 *     explicit extended status that are not idle (auto-away is a device's idleness, not a
 *     choice), the one with the newest timestamp is the user's state (a Busy chosen in a new tab
 *     beats the Available of a tab that died without un-publishing). Otherwise tuples with an
 *     explicit extended status outrank tuples that only have basic status (a Blink client's
 *     "away" must not be hidden by the open tuple a registrar such as Kamailio's pua_usrloc adds
 *     for the same registration); within the same class the most available wins — available >
 *     busy > away > extended-away > offline — and then the most recent timestamp.
 *
 * Notes are the chosen tuple's, then the persons', then the presence-level and remaining open
 * tuples' notes, de-duplicated by (text, xml:lang). Icon, homepage and display name come from
 * the chosen tuple, else from a person, else from any tuple.
 */
import type { Device, ExtendedStatus, Note, PresenceDocument, ServiceCapabilities, Tuple } from "./presence-document";

export type Availability = ExtendedStatus;

export interface DeviceSummary {
  tupleId: string;
  availability: Availability;
  basic?: "open" | "closed";
  extendedStatus?: ExtendedStatus;
  contact?: string;
  notes: Note[];
  deviceId?: string;
  description?: string;
  userAgent?: string;
  timeOffset?: number;
  idle?: boolean;
  /** RPID user-input `last-input` (RFC 4480 user-input): when the idle user last did something. */
  lastInput?: string;
  timestamp?: string;
  capabilities?: ServiceCapabilities;
}

export interface PresenceSummary {
  entity: string;
  availability: Availability;
  /** First note (convenience). */
  note?: string;
  notes: Note[];
  iconUrl?: string;
  homepage?: string;
  displayName?: string;
  /** Person activities (RPID), union over persons. */
  activities: string[];
  /** When the activities end (RPID `until`, RFC 4480 §3.2): a status set "for 1 hour". */
  until?: string;
  /** The chosen device is idle since then (its user-input `last-input`). */
  idleSince?: string;
  devices: DeviceSummary[];
}

const ACTIVITY_AVAILABILITY: Record<string, Availability> = {
  busy: "busy",
  "on-the-phone": "busy",
  meeting: "busy",
  appointment: "busy",
  presentation: "busy",
  performance: "busy",
  steering: "busy",
  worship: "busy",
  vacation: "extended-away",
  holiday: "extended-away",
  "permanent-absence": "extended-away",
  sleeping: "extended-away",
  away: "away",
  meal: "away",
  breakfast: "away",
  dinner: "away",
  "in-transit": "away",
  travel: "away",
  shopping: "away",
};

/** Higher is "more available". */
const RANK: Record<Availability, number> = { available: 4, busy: 3, away: 2, "extended-away": 1, offline: 0 };
/** Higher is "more restrictive" (for combining several activities). */
const RESTRICTION: Record<Availability, number> = { available: 0, away: 1, "extended-away": 2, busy: 3, offline: 4 };

/** Availability implied by RPID activities (undefined when they imply nothing). */
export function availabilityFromActivities(activities: readonly string[]): Availability | undefined {
  let out: Availability | undefined;
  for (const a of activities) {
    const v = ACTIVITY_AVAILABILITY[a];
    if (v && (!out || RESTRICTION[v] > RESTRICTION[out])) out = v;
  }
  return out;
}

function noteKey(n: Note): string {
  return `${n.lang ?? ""}\u0000${n.text}`;
}

function deviceFor(doc: PresenceDocument, t: Tuple): Device | undefined {
  if (!t.deviceId) return undefined;
  return doc.devices.find((d) => d.deviceId === t.deviceId);
}

function time(ts: string | undefined): number {
  const v = ts ? Date.parse(ts) : NaN;
  return Number.isFinite(v) ? v : 0;
}

export function summarizePresence(doc: PresenceDocument): PresenceSummary {
  const activities = [...new Set(doc.persons.flatMap((p) => p.activities?.values ?? []))];
  const personIdle = doc.persons.some((p) => p.userInput?.value === "idle");
  const personLastInput = doc.persons.find((p) => p.userInput?.lastInput)?.userInput?.lastInput;
  const fromActivities = availabilityFromActivities(activities);

  const devices: DeviceSummary[] = doc.tuples.map((t) => {
    const device = deviceFor(doc, t);
    const idle = t.userInput?.value === "idle" || device?.userInput?.value === "idle" || personIdle;
    let availability: Availability;
    if (t.basic !== "open") availability = "offline";
    else if (t.extendedStatus) availability = t.extendedStatus;
    else if (fromActivities) availability = fromActivities;
    else availability = idle ? "away" : "available";
    const s: DeviceSummary = { tupleId: t.id, availability, notes: t.notes };
    if (t.basic) s.basic = t.basic;
    if (t.extendedStatus) s.extendedStatus = t.extendedStatus;
    if (t.contact) s.contact = t.contact;
    const deviceId = t.deviceInfo?.id || t.deviceId;
    if (deviceId) s.deviceId = deviceId;
    if (t.deviceInfo?.description) s.description = t.deviceInfo.description;
    if (t.deviceInfo?.userAgent) s.userAgent = t.deviceInfo.userAgent;
    if (t.deviceInfo?.timeOffset) s.timeOffset = t.deviceInfo.timeOffset.value;
    if (idle) s.idle = true;
    const lastInput = t.userInput?.lastInput ?? device?.userInput?.lastInput ?? personLastInput;
    if (idle && lastInput) s.lastInput = lastInput;
    if (t.timestamp) s.timestamp = t.timestamp;
    if (t.capabilities) s.capabilities = t.capabilities;
    return s;
  });

  let best: { tuple: Tuple; summary: DeviceSummary } | undefined;
  doc.tuples.forEach((tuple, i) => {
    const summary = devices[i];
    if (!best) {
      best = { tuple, summary };
      return;
    }
    const explicit = (x: DeviceSummary) => (x.basic === "open" && x.extendedStatus ? 1 : 0);
    const chosen = (x: DeviceSummary) => (explicit(x) && !x.idle ? 1 : 0);
    const newer = time(summary.timestamp) - time(best.summary.timestamp);
    const cmp =
      chosen(summary) - chosen(best.summary) ||
      (chosen(summary) && newer) ||
      explicit(summary) - explicit(best.summary) ||
      RANK[summary.availability] - RANK[best.summary.availability] ||
      time(summary.timestamp) - time(best.summary.timestamp);
    if (cmp > 0) best = { tuple, summary };
  });

  const notes: Note[] = [];
  const seen = new Set<string>();
  const add = (list: readonly Note[]) => {
    for (const n of list) {
      if (!n.text || seen.has(noteKey(n))) continue;
      seen.add(noteKey(n));
      notes.push(n);
    }
  };
  if (best) add(best.tuple.notes);
  for (const p of doc.persons) add(p.notes);
  add(doc.notes);
  for (const t of doc.tuples) if (t.basic === "open" || !best || best.summary.availability === "offline") add(t.notes);

  const pick = (key: "icon" | "homepage" | "displayName"): string | undefined =>
    best?.tuple[key] ?? doc.persons.find((p) => p[key])?.[key] ?? doc.tuples.find((t) => t[key])?.[key];

  const summary: PresenceSummary = {
    entity: doc.entity,
    availability: best?.summary.availability ?? "offline",
    notes,
    activities,
    devices,
  };
  if (notes[0]) summary.note = notes[0].text;
  const icon = pick("icon");
  const homepage = pick("homepage");
  const displayName = pick("displayName");
  if (icon) summary.iconUrl = icon;
  if (homepage) summary.homepage = homepage;
  if (displayName) summary.displayName = displayName;
  const until = doc.persons.find((p) => p.activities?.until)?.activities?.until;
  if (until) summary.until = until;
  if (best?.summary.lastInput) summary.idleSince = best.summary.lastInput;
  return summary;
}
