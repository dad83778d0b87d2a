/**
 * XMPP `<presence/>` stanzas (RFC 6121 §4) as plain data, read from any element tree of the
 * shape `{ name, attrs, children }` (what ltx, @xmpp/xml's element, builds) and written as text.
 */
import { NS } from "../presence/namespaces";
import { escapeXml } from "../xml";

export type PresenceType = "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed" | "probe" | "unavailable" | "error";
/** RFC 6121 §4.7.2.1; absent = available without qualification. */
export type Show = "chat" | "away" | "xa" | "dnd";

export interface StatusText {
  text: string;
  /** `xml:lang` of the `<status/>` (or inherited from the stanza). */
  lang?: string;
}

export interface PresenceStanza {
  from: string;
  to: string;
  /** Absent: available presence. */
  type?: PresenceType;
  show?: Show;
  statuses: StatusText[];
  priority?: number;
  id?: string;
  /** A `type="error"` stanza's condition (RFC 6120 §8.3; written, not read). */
  error?: StanzaError;
}

export interface StanzaError {
  type: "auth" | "cancel" | "continue" | "modify" | "wait";
  /** A defined condition of RFC 6120 §8.3.3, e.g. `policy-violation`. */
  condition: string;
  text?: string;
}

/** The part of an XML element tree the reader needs. */
export interface ElementLike {
  name: string;
  attrs: Record<string, string | undefined>;
  children: ReadonlyArray<ElementLike | string>;
}

const TYPES: ReadonlySet<string> = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "unavailable", "error"]);
const SHOWS: ReadonlySet<string> = new Set(["chat", "away", "xa", "dnd"]);

function textOf(el: ElementLike): string {
  let s = "";
  for (const c of el.children) if (typeof c === "string") s += c;
  return s;
}

/**
 * Read a `<presence/>` element; undefined when it is not one or lacks `from`/`to` (a component
 * only ever gets addressed stanzas, XEP-0114). An unknown `type` is read as `error` (RFC 6121
 * §4.7.1: not processed as presence). Unknown `show` values are ignored.
 */
export function readPresence(el: ElementLike): PresenceStanza | undefined {
  if (el.name !== "presence") return undefined;
  const { from, to } = el.attrs;
  if (!from || !to) return undefined;
  const rawType = el.attrs.type;
  const p: PresenceStanza = { from, to, statuses: [] };
  if (rawType !== undefined) p.type = TYPES.has(rawType) ? (rawType as PresenceType) : "error";
  if (el.attrs.id) p.id = el.attrs.id;
  const stanzaLang = el.attrs["xml:lang"];
  for (const c of el.children) {
    if (typeof c === "string") continue;
    if (c.name === "show") {
      const v = textOf(c).trim();
      if (SHOWS.has(v)) p.show = v as Show;
    } else if (c.name === "status") {
      const text = textOf(c);
      const lang = c.attrs["xml:lang"] ?? stanzaLang;
      if (text) p.statuses.push(lang ? { text, lang } : { text });
    } else if (c.name === "priority") {
      const n = Number.parseInt(textOf(c).trim(), 10);
      if (Number.isInteger(n) && n >= -128 && n <= 127) p.priority = n;
    }
  }
  return p;
}

/** Serialize a presence stanza (namespace-less: it inherits the stream's, `jabber:component:accept`). */
export function writePresence(p: PresenceStanza): string {
  let s = `<presence from="${escapeXml(p.from)}" to="${escapeXml(p.to)}"`;
  if (p.type) s += ` type="${p.type}"`;
  if (p.id) s += ` id="${escapeXml(p.id)}"`;
  const inner: string[] = [];
  if (p.show) inner.push(`<show>${p.show}</show>`);
  for (const st of p.statuses) inner.push(st.lang ? `<status xml:lang="${escapeXml(st.lang)}">${escapeXml(st.text)}</status>` : `<status>${escapeXml(st.text)}</status>`);
  if (p.priority !== undefined) inner.push(`<priority>${p.priority}</priority>`);
  if (p.error) {
    const text = p.error.text === undefined ? "" : `<text xmlns="${NS.xmppStanzas}">${escapeXml(p.error.text)}</text>`;
    inner.push(`<error type="${p.error.type}"><${p.error.condition} xmlns="${NS.xmppStanzas}"/>${text}</error>`);
  }
  return inner.length ? `${s}>${inner.join("")}</presence>` : `${s}/>`;
}
