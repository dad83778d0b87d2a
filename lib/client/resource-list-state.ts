/**
 * Client-side state of one RLS subscription (RFC 4662): a pure merge of NOTIFY bodies into a map
 * of resources. Full state replaces the list; partial state updates only the resources it names
 * (RFC 4662 §5.2); a version that is not exactly the next one after a partial NOTIFY is a gap the
 * caller answers with a fresh SUBSCRIBE (RFC 4662 §5.2: "the subscriber ... SHOULD re-subscribe").
 */
import {
  parseMultipartRelated,
  parsePidf,
  partText,
  summarizePresence,
  type Availability,
  type MimePart,
  type MultipartRelated,
  type PresenceSummary,
  type RlmiList,
  type RlmiResource,
} from "../presence";
import { CONTENT_TYPES } from "../presence/namespaces";

/** "unknown": no live state (not yet received, or the connection was lost). */
export type ContactState = "active" | "pending" | "terminated" | "unknown";

export interface ContactPresence {
  uri: string;
  /** Name from the RLMI document (the list's display name for the entry). */
  name?: string;
  /** Subscription state of the resource's instance (RFC 4662 §5.2). */
  state: ContactState;
  /** Subscription-State reason of a terminated instance (e.g. "rejected", "deactivated"). */
  reason?: string;
  /** Last presence document summarized, only while `state` is active and not stale. */
  summary?: PresenceSummary;
  /** What the buddy list shows. "unknown" when there is no live state. */
  availability: Availability | "unknown";
  /** Epoch ms of the last change of state or presence. */
  lastChange?: number;
  /** True after the connection was lost until fresh state arrives: never show as live. */
  stale: boolean;
}

export interface ResourceListState {
  /** RLMI `version` of the last applied NOTIFY, undefined before the first full state. */
  version?: number;
  /** The list URI (`sip:alice+presence@example.test`). */
  uri?: string;
  resources: ReadonlyMap<string, ContactPresence>;
}

export const EMPTY_RESOURCE_LIST: ResourceListState = { resources: new Map() };

export type RlsNotifyOutcome =
  | { kind: "applied"; state: ResourceListState; changed: string[] }
  /** Older or duplicate version: ignored. */
  | { kind: "ignored"; state: ResourceListState; reason: string }
  /** Partial state whose version does not follow the last one: re-SUBSCRIBE for full state. */
  | { kind: "gap"; state: ResourceListState; expected?: number; got: number };

function firstName(r: { names: { text: string }[] }): string | undefined {
  return r.names.find((n) => n.text)?.text;
}

function availabilityOf(state: ContactState, summary: PresenceSummary | undefined): Availability | "unknown" {
  if (state === "active") return summary?.availability ?? "unknown";
  if (state === "terminated") return "offline";
  return "unknown";
}

/** Best instance of a resource: active > pending > terminated (several devices of one watcher are rare). */
function bestInstance(r: RlmiResource) {
  const rank = { active: 0, pending: 1, terminated: 2 } as const;
  return [...r.instances].sort((a, b) => rank[a.state] - rank[b.state])[0];
}

function summaryFromPart(part: MimePart): PresenceSummary | undefined {
  const mime = part.mediaType.mime;
  if (mime !== CONTENT_TYPES.pidf && mime !== "application/xpidf+xml") return undefined;
  return summarizePresence(parsePidf(partText(part)));
}

interface FlatResource {
  resource: RlmiResource;
  parts: MultipartRelated;
}

/** Resources of a list and of nested lists (RFC 4662 §5.4) in document order. */
function flatten(doc: MultipartRelated, depth = 0): FlatResource[] {
  const out: FlatResource[] = [];
  if (!doc.rlmi) return out;
  for (const resource of doc.rlmi.resources) {
    const inst = bestInstance(resource);
    const nested = inst?.cid ? doc.byContentId.get(inst.cid)?.multipart : undefined;
    if (nested?.rlmi && depth < 4) out.push(...flatten(nested, depth + 1));
    else out.push({ resource, parts: doc });
  }
  return out;
}

function sameSummary(a: PresenceSummary | undefined, b: PresenceSummary | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.availability === b.availability &&
    a.note === b.note &&
    a.iconUrl === b.iconUrl &&
    a.homepage === b.homepage &&
    a.displayName === b.displayName &&
    JSON.stringify(a.notes) === JSON.stringify(b.notes) &&
    a.activities.join() === b.activities.join() &&
    JSON.stringify(a.devices) === JSON.stringify(b.devices)
  );
}

function entryFor(flat: FlatResource, previous: ContactPresence | undefined, now: number): ContactPresence {
  const { resource, parts } = flat;
  const inst = bestInstance(resource);
  const name = firstName(resource) ?? previous?.name;
  const state: ContactState = inst?.state ?? "unknown";
  let summary: PresenceSummary | undefined;
  if (state === "active") {
    const part = inst?.cid ? parts.byContentId.get(inst.cid) : undefined;
    // an active instance without a body part keeps its last known state (unless it was stale)
    summary = part ? summaryFromPart(part) : previous && !previous.stale ? previous.summary : undefined;
  }
  const entry: ContactPresence = { uri: resource.uri, state, availability: availabilityOf(state, summary), stale: false };
  if (name) entry.name = name;
  if (inst?.reason) entry.reason = inst.reason;
  if (summary) entry.summary = summary;
  const unchanged =
    previous && !previous.stale && previous.state === state && previous.reason === entry.reason && sameSummary(previous.summary, summary);
  entry.lastChange = unchanged ? previous.lastChange : now;
  return entry;
}

/** Parse an RLS NOTIFY body (multipart/related with an RLMI root) — throws PresencePayloadError. */
export function parseRlsNotifyBody(contentType: string, body: string | Uint8Array): MultipartRelated {
  return parseMultipartRelated(contentType, body);
}

/**
 * Merge one NOTIFY into the state. `contentType` is the NOTIFY's Content-Type. A plain
 * `application/pidf+xml` body (a server without RLS answering the list URI as a presentity) is
 * taken as the state of that one entity.
 */
export function applyRlsNotify(
  state: ResourceListState,
  contentType: string,
  body: string | Uint8Array,
  now: number = Date.now(),
): RlsNotifyOutcome {
  const mime = contentType.split(";", 1)[0].trim().toLowerCase();
  if (mime === CONTENT_TYPES.pidf) {
    const text = typeof body === "string" ? body : new TextDecoder().decode(body);
    const summary = summarizePresence(parsePidf(text));
    const previous = state.resources.get(summary.entity);
    const resources = new Map(state.resources);
    const entry: ContactPresence = { uri: summary.entity, state: "active", summary, availability: summary.availability, stale: false, lastChange: now };
    if (previous?.name) entry.name = previous.name;
    resources.set(summary.entity, entry);
    return { kind: "applied", state: { ...state, resources }, changed: [summary.entity] };
  }
  let doc: MultipartRelated;
  if (mime === CONTENT_TYPES.rlmi) {
    // an RLMI document alone (no resource has a body part yet)
    doc = parseMultipartRelated(
      `${CONTENT_TYPES.multipartRelated};type="${CONTENT_TYPES.rlmi}";boundary=b`,
      `--b\r\nContent-Type: ${CONTENT_TYPES.rlmi}\r\n\r\n${typeof body === "string" ? body : new TextDecoder().decode(body)}\r\n--b--\r\n`,
    );
  } else {
    doc = parseRlsNotifyBody(contentType, body);
  }
  if (!doc.rlmi) throw new TypeError("RLS NOTIFY without an RLMI root document");
  const list: RlmiList = doc.rlmi;

  if (!list.fullState) {
    if (state.version === undefined) return { kind: "gap", state, got: list.version };
    if (list.version <= state.version) return { kind: "ignored", state, reason: `version ${list.version} already applied` };
    if (list.version !== state.version + 1) return { kind: "gap", state, expected: state.version + 1, got: list.version };
  } else if (state.version !== undefined && list.version <= state.version) {
    // RFC 4662 §5.2: versions only grow within a subscription; a lower full state is a replay
    return { kind: "ignored", state, reason: `full state version ${list.version} not newer than ${state.version}` };
  }

  const flat = flatten(doc);
  const resources = new Map<string, ContactPresence>(list.fullState ? [] : state.resources);
  const changed: string[] = [];
  for (const f of flat) {
    const previous = state.resources.get(f.resource.uri);
    const entry = entryFor(f, previous, now);
    resources.set(entry.uri, entry);
    if (entry.lastChange === now) changed.push(entry.uri);
  }
  if (list.fullState) for (const uri of state.resources.keys()) if (!resources.has(uri)) changed.push(uri);
  return { kind: "applied", state: { version: list.version, uri: list.uri, resources }, changed };
}

/**
 * Connection lost or subscription restarted: keep the entries (names, so the list does not
 * jump) but drop every live state — no contact is left showing a state as if live.
 */
export function markResourceListStale(state: ResourceListState, now: number = Date.now()): ResourceListState {
  const resources = new Map<string, ContactPresence>();
  for (const [uri, r] of state.resources) {
    const e: ContactPresence = { uri, state: "unknown", availability: "unknown", stale: true, lastChange: r.stale ? r.lastChange : now };
    if (r.name) e.name = r.name;
    resources.set(uri, e);
  }
  // a new subscription starts a new version sequence (RFC 4662 §5.2)
  return { uri: state.uri, resources };
}

/** A fresh subscription (after a version gap) starts a new version sequence; entries stay as they are until its full state. */
export function resetResourceListVersion(state: ResourceListState): ResourceListState {
  return { uri: state.uri, resources: state.resources };
}
