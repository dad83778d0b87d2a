/**
 * Presence mapping of the SIP–XMPP gateway (after SylkServer's xmppgateway):
 *
 * | XMPP (RFC 6121 §4.7)              | PIDF (RFC 3863 + Blink's `agp-pidf:extended`, RPID activities) |
 * | --------------------------------- | --------------------------------------------------------------- |
 * | available, no `show` / `chat`     | open, `available`                                               |
 * | `away`                            | open, `away` (activity away)                                    |
 * | `xa`                              | open, `extended-away` (activity away)                           |
 * | `dnd`                             | open, `busy` (activity busy)                                    |
 * | `unavailable`                     | closed (no open tuple)                                          |
 * | `<status xml:lang="…">`           | `<note xml:lang="…">`, one per language                         |
 *
 * XMPP → SIP: one tuple per available resource (contact `xmpp:bare/resource`, timestamp = when the
 * resource last changed, so the buddy list's "newest choice wins" picks the resource the user
 * touched last), a person carrying the activity and notes of the highest-priority resource; no
 * resource available → one closed tuple with the last `unavailable`'s status texts.
 * SIP → XMPP: the buddy-list summary of the PIDF (lib/presence/presence-summary.ts) reversed:
 * offline (and Invisible, which looks offline) → `unavailable`.
 */
import { NS, parsePidf, summarizePresence, toXmlId, type ExtendedStatus, type Note } from "../presence";
import { XML_DECLARATION, escapeXml } from "../xml";
import type { PresenceStanza, Show, StatusText } from "./presence-stanza";

/** XMPP `show` → Blink extended status. */
export function extendedStatusOfShow(show: Show | undefined): ExtendedStatus {
  switch (show) {
    case "away":
      return "away";
    case "xa":
      return "extended-away";
    case "dnd":
      return "busy";
    default:
      return "available"; // none and chat
  }
}

/** Extended status → XMPP: `show` (undefined = plain available) or `unavailable`. */
export function showOfExtendedStatus(s: ExtendedStatus): { show?: Show } | "unavailable" {
  switch (s) {
    case "away":
      return { show: "away" };
    case "extended-away":
      return { show: "xa" };
    case "busy":
      return { show: "dnd" };
    case "offline":
      return "unavailable";
    default:
      return {};
  }
}

/** One available resource of an XMPP contact. */
export interface XmppResourceState {
  show?: Show;
  statuses: StatusText[];
  priority: number;
  /** When it last changed (ISO 8601). */
  since: string;
}

function notes(tag: string, statuses: readonly StatusText[]): string {
  let s = "";
  for (const st of statuses) s += st.lang ? `<${tag} xml:lang="${escapeXml(st.lang)}">${escapeXml(st.text)}</${tag}>` : `<${tag}>${escapeXml(st.text)}</${tag}>`;
  return s;
}

function activity(status: ExtendedStatus): string {
  if (status === "away" || status === "extended-away") return "<rpid:activities><rpid:away/></rpid:activities>";
  if (status === "busy") return "<rpid:activities><rpid:busy/></rpid:activities>";
  return "";
}

/**
 * The PIDF document of an XMPP contact (`entity`: its `sip:` URI) from its available resources
 * (by resource name). `offlineStatuses`: the texts of its last `unavailable`, shown while it has
 * no resource.
 */
export function composeXmppPidf(entity: string, bare: string, resources: ReadonlyMap<string, XmppResourceState>, offlineStatuses: readonly StatusText[] = [], now: Date = new Date()): string {
  const e = escapeXml(entity);
  let s = `${XML_DECLARATION}\n<presence xmlns="${NS.pidf}" xmlns:agp-pidf="${NS.agpPidf}" xmlns:dm="${NS.dm}" xmlns:rpid="${NS.rpid}" entity="${e}">`;
  const personId = toXmlId("PID-", bare);
  if (resources.size === 0) {
    const ts = now.toISOString();
    s += `<tuple id="${toXmlId("SID-", bare)}"><status><basic>closed</basic></status><contact>xmpp:${escapeXml(bare)}</contact>${notes("note", offlineStatuses)}<timestamp>${ts}</timestamp></tuple>`;
    return `${s}<dm:person id="${personId}">${notes("dm:note", offlineStatuses)}<dm:timestamp>${ts}</dm:timestamp></dm:person></presence>`;
  }
  let best: [string, XmppResourceState] | undefined;
  for (const [name, r] of resources) {
    const status = extendedStatusOfShow(r.show);
    s += `<tuple id="${toXmlId("SID-", `${bare}/${name}`)}"><status><basic>open</basic><agp-pidf:extended>${status}</agp-pidf:extended></status>`;
    s += `<contact>xmpp:${escapeXml(bare)}/${escapeXml(name)}</contact>${notes("note", r.statuses)}<timestamp>${r.since}</timestamp></tuple>`;
    // RFC 6121 §4.7.2.3: the highest priority wins; then the newest
    if (!best || r.priority > best[1].priority || (r.priority === best[1].priority && r.since > best[1].since)) best = [name, r];
  }
  const [, top] = best!;
  return `${s}<dm:person id="${personId}">${activity(extendedStatusOfShow(top.show))}${notes("dm:note", top.statuses)}<dm:timestamp>${top.since}</dm:timestamp></dm:person></presence>`;
}

/** What a Herald user's PIDF says to an XMPP contact. */
export interface XmppPresenceView {
  available: boolean;
  show?: Show;
  /** One per language (the first note of each). */
  statuses: StatusText[];
}

/** The XMPP view of a PIDF body (as the buddy list summarizes it); throws on a malformed body. */
export function presenceOfPidf(body: string | Uint8Array): XmppPresenceView {
  const summary = summarizePresence(parsePidf(body));
  const seen = new Set<string>();
  const statuses: StatusText[] = [];
  for (const n of summary.notes as Note[]) {
    const lang = n.lang ?? "";
    if (seen.has(lang) || !n.text) continue;
    seen.add(lang);
    statuses.push(n.lang ? { text: n.text, lang: n.lang } : { text: n.text });
  }
  const m = showOfExtendedStatus(summary.availability);
  if (m === "unavailable") return { available: false, statuses };
  return m.show ? { available: true, show: m.show, statuses } : { available: true, statuses };
}

/** The stanza carrying `view` from `from` to `to`. */
export function presenceStanzaOf(view: XmppPresenceView, from: string, to: string): PresenceStanza {
  const p: PresenceStanza = { from, to, statuses: view.statuses };
  if (!view.available) p.type = "unavailable";
  else if (view.show) p.show = view.show;
  return p;
}
