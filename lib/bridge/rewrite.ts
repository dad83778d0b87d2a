/**
 * The bridge's only edits to SIP messages, done on the header text so that every other header,
 * the start line and the body pass byte for byte (RFC 7118 §5; RFC 5626 edge-proxy role):
 *  - browser → upstream: insert the bridge's own top Via, replace the Contact header(s) with the
 *    rewritten list, drop P-Asserted-Identity (RFC 3325 §5: the trust boundary removes it), and
 *    add Content-Length when the browser left it out (optional on WebSocket, required on TCP);
 *  - upstream → browser (responses only): remove the bridge's top Via.
 * Identity checks on From/To live here too, as pure functions.
 */
import { canonicalHeaderName, splitTopLevel, SipUri, type NameAddr, type SipMessageAny } from "../sip";
import { topViaBranch } from "./upstream-framer";

const CRLF = "\r\n";
const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Lower-case first letters of the header names (long and compact) the bridge edits or looks at. */
const EDITED_INITIALS = new Set(["v", "m", "c", "l", "p"].map((ch) => ch.charCodeAt(0)));

/** A logical header line: its canonical lower-case name and its raw text (folded lines kept). */
interface HeaderLine {
  lower: string;
  text: string;
}

export interface SplitMessage {
  startLine: string;
  headers: HeaderLine[];
  /** Body bytes exactly as on the wire after the header block. */
  body: Buffer;
}

/** Split raw message bytes into start line, logical header lines and body. `undefined` when there is no header block end. */
export function splitRaw(raw: Buffer): SplitMessage | undefined {
  let start = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored
  while (start + 1 < raw.length && raw[start] === 13 && raw[start + 1] === 10) start += 2;
  const headEnd = raw.indexOf(CRLFCRLF, start);
  if (headEnd < 0) return undefined;
  const lines = raw.toString("utf8", start, headEnd).split(CRLF);
  const headers: HeaderLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const c = line.charCodeAt(0);
    if ((c === 32 || c === 9) && headers.length > 0) {
      headers[headers.length - 1].text += CRLF + line; // RFC 3261 §7.3.1 folding
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon).trimEnd();
    headers.push({ lower: canonicalHeaderName(name).toLowerCase(), text: line });
  }
  return { startLine: lines[0], headers, body: raw.subarray(headEnd + 4) };
}

function join(startLine: string, headers: Iterable<string>, body: Buffer): Buffer {
  let head = startLine + CRLF;
  for (const h of headers) head += h + CRLF;
  head += CRLF;
  if (body.length === 0) return Buffer.from(head, "utf8");
  const headLen = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headLen + body.length);
  out.write(head, 0, "utf8");
  body.copy(out, headLen);
  return out;
}

export interface ClientMessageEdit {
  /** Value of the Via to insert on top (requests only). */
  via?: string;
  /** Replacement Contact values; `undefined` keeps the Contact lines as they are. */
  contacts?: NameAddr[];
}

/**
 * Apply the browser → upstream edits. `msg` is the parsed form of `raw` (its body already cut to
 * Content-Length by datagram parsing, RFC 7118 §5: WebSocket frames carry one message each).
 */
export function editClientMessage(raw: Buffer, msg: SipMessageAny, edit: ClientMessageEdit): Buffer {
  const layout = scanClientMessage(raw);
  if (layout && msg.contentLength === raw.length - layout.headEnd - 4 && (edit.via !== undefined || edit.contacts !== undefined)) {
    return editLayout(raw, layout, edit.via, edit.contacts?.join(", "));
  }
  const split = splitRaw(raw);
  if (!split) throw new Error("editClientMessage: raw message has no header block"); // parse succeeded, so unreachable
  const out: string[] = [];
  if (edit.via !== undefined) out.push(`Via: ${edit.via}`);
  let sawLength = false;
  let wroteContact = false;
  for (const h of split.headers) {
    switch (h.lower) {
      case "contact":
        if (edit.contacts === undefined) out.push(h.text);
        else if (!wroteContact && edit.contacts.length > 0) out.push(`Contact: ${edit.contacts.join(", ")}`);
        wroteContact = true;
        break;
      case "p-asserted-identity":
        break;
      case "content-length":
        sawLength = true;
        out.push(h.text);
        break;
      default:
        out.push(h.text);
    }
  }
  if (!sawLength) out.push(`Content-Length: ${msg.body.length}`);
  return join(split.startLine, out, msg.body);
}

/**
 * Where the bridge's edits go in a browser message of the usual layout (what JsSIP sends): no
 * CRLF before the start line, no folded line, one Content-Length line, at most one Contact line,
 * no P-Asserted-Identity. Offsets are byte offsets into the message.
 */
export interface ClientLayout {
  /** Index of the CRLF ending the start line. */
  startLineEnd: number;
  /** Index of the CRLFCRLF ending the header block. */
  headEnd: number;
  /** Request (else a response; the parser checks the start line). */
  isRequest: boolean;
  /** Branch of the top Via value, when it has one. */
  branch?: string;
  /** The Contact line: [start, end) including its CRLF, and its value. */
  contact?: { start: number; end: number; value: string };
}

/**
 * Read the layout of a browser message without parsing it: one pass over the header lines, names
 * only (the message is parsed after the edit, see BridgedConnection). `undefined` when the layout
 * is not the usual one; the general path (parse, split and re-join) handles those.
 */
export function scanClientMessage(raw: Buffer): ClientLayout | undefined {
  if (raw.length === 0 || raw[0] === 13) return undefined;
  const headEnd = raw.indexOf(CRLFCRLF);
  if (headEnd < 0) return undefined;
  // header lines as latin1 text: one character per byte, so offsets are byte offsets
  const head = raw.toString("latin1", 0, headEnd + 2);
  const startLineEnd = head.indexOf(CRLF);
  let branch: string | undefined;
  let sawVia = false;
  let sawLength = false;
  let contact: ClientLayout["contact"];
  for (let pos = startLineEnd + 2; pos < head.length; ) {
    const end = head.indexOf(CRLF, pos);
    const c = head.charCodeAt(pos);
    if (c === 32 || c === 9) return undefined; // RFC 3261 §7.3.1 folding
    const colon = head.indexOf(":", pos);
    if (colon <= pos || colon > end) return undefined;
    // only Via (v), Contact (m), Content-Length (l) and P-Asserted-Identity matter here
    if (!EDITED_INITIALS.has(c | 0x20)) {
      pos = end + 2;
      continue;
    }
    switch (canonicalHeaderName(head.slice(pos, colon).trimEnd())) {
      case "Via":
        if (!sawVia) branch = topViaBranch(raw.toString("utf8", colon + 1, end));
        sawVia = true;
        break;
      case "Contact":
        if (contact) return undefined;
        contact = { start: pos, end: end + 2, value: raw.toString("utf8", colon + 1, end) };
        break;
      case "Content-Length":
        if (sawLength) return undefined;
        sawLength = true;
        break;
      case "P-Asserted-Identity":
        return undefined;
    }
    pos = end + 2;
  }
  if (!sawLength) return undefined;
  return { startLineEnd, headEnd, isRequest: !head.startsWith("SIP/"), branch, contact };
}

/**
 * The edits on the bytes of a message of the usual layout: `via` inserted on top; the Contact
 * line replaced by `contact` (removed when it is empty, kept when undefined). A few slices and one
 * concatenation; every other byte as it was.
 */
export function editLayout(raw: Buffer, layout: ClientLayout, via: string | undefined, contact: string | undefined): Buffer {
  const headers = layout.startLineEnd + 2;
  const viaLine = via === undefined ? "" : `Via: ${via}\r\n`;
  const line = contact === undefined ? undefined : layout.contact;
  const contactLine = line && contact !== "" ? `Contact: ${contact}\r\n` : "";
  const viaLength = Buffer.byteLength(viaLine, "utf8");
  const contactLength = Buffer.byteLength(contactLine, "utf8");
  // one allocation, each piece written once
  const out = Buffer.allocUnsafe(raw.length + viaLength + (line ? contactLength - (line.end - line.start) : 0));
  let at = raw.copy(out, 0, 0, headers);
  at += out.write(viaLine, at, "utf8");
  if (!line) {
    raw.copy(out, at, headers);
    return out;
  }
  at += raw.copy(out, at, headers, line.start);
  at += out.write(contactLine, at, "utf8");
  raw.copy(out, at, line.end);
  return out;
}

/**
 * Remove the top Via value (the bridge's own) from a response from upstream. When the top Via
 * line holds several comma-separated values, only the first is removed.
 */
export function stripTopVia(raw: Buffer): Buffer {
  const split = splitRaw(raw);
  if (!split) throw new Error("stripTopVia: raw message has no header block");
  const out: string[] = [];
  let done = false;
  for (const h of split.headers) {
    if (!done && h.lower === "via") {
      done = true;
      const colon = h.text.indexOf(":");
      const values = splitTopLevel(h.text.slice(colon + 1).replace(/\r\n[ \t]+/g, " "), ",");
      if (values.length > 1) out.push(`${h.text.slice(0, colon)}: ${values.slice(1).map((v) => v.trim()).join(", ")}`);
      continue;
    }
    out.push(h.text);
  }
  return join(split.startLine, out, split.body);
}

/** `user@domain` of the session (a leading `sip:` is accepted), split for comparison. */
export interface SessionIdentity {
  user: string;
  /** Lower-cased domain. */
  domain: string;
  /** Canonical `user@domain`. */
  aor: string;
}

export function parseSessionAor(aor: string): SessionIdentity | undefined {
  const s = aor.trim().replace(/^sip:/i, "");
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) return undefined;
  const user = s.slice(0, at);
  const domain = s.slice(at + 1).toLowerCase();
  return { user, domain, aor: `${user}@${domain}` };
}

/**
 * True when `uri` is the session's address of record: `sip:` scheme, same user (case-sensitive,
 * compared unescaped per RFC 3261 §19.1.4), same domain ignoring case; port and parameters ignored.
 */
export function isSessionAor(uri: NameAddr["uri"], who: SessionIdentity): boolean {
  return uri instanceof SipUri && uri.scheme === "sip" && uri.user === who.user && uri.host.toLowerCase() === who.domain;
}
