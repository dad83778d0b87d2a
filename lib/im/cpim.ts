/**
 * message/cpim (RFC 3862): message headers, a blank line, then one MIME entity (its content
 * headers, a blank line, its body). Used by IMDN (RFC 5438) to carry imdn.* headers.
 *
 * - Header names are case-sensitive (§3.1); a name may carry a namespace prefix declared by an
 *   `NS: prefix <urn>` header (§3.3.1); `Name:;lang=fr value` parameters are kept in `params`.
 * - Lines end with CRLF (§3.1); a bare LF is accepted on input, CRLF always written.
 * - `From`, `To`, `cc` are `[display-name] <URI>` (§4.1–4.3); `DateTime` an RFC 3339 time (§4.4).
 */
import { parseMediaType } from "../presence";
import { canonicalAor } from "../sip/aor";
import { ImPayloadError } from "./errors";

export interface CpimHeader {
  /** Name as written, prefix included (`imdn.Message-ID`). */
  name: string;
  value: string;
  /** `;param=value` between the colon and the value (§3.2), in order. */
  params?: string;
}

export interface CpimMessage {
  /** Message headers in order (From, To, DateTime, NS, imdn.*, ...). */
  headers: CpimHeader[];
  /** Content headers of the encapsulated entity (`Content-Type` first when written). */
  contentHeaders: CpimHeader[];
  /** The encapsulated body (UTF-8 text). */
  body: string;
}

/** Maximum header lines per block: a CPIM wrapper has a handful; thousands are an attack. */
const MAX_HEADERS = 100;
const NAME_RE = /^[!#$%&'*+\-^_`|~0-9A-Za-z.]+$/;
const ADDRESS_RE = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<]*?))\s*<([^<>\s]+)>\s*$/;

function splitBlock(text: string, from: number, what: string): { lines: string[]; next: number } {
  const lines: string[] = [];
  let i = from;
  for (;;) {
    const nl = text.indexOf("\n", i);
    if (nl < 0) throw new ImPayloadError("malformed-cpim", `${what} not ended by an empty line`);
    const line = text.slice(i, nl).replace(/\r$/, "");
    i = nl + 1;
    if (line === "") return { lines, next: i };
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`; // folded (RFC 5322 §2.2.3)
    else lines.push(line);
    if (lines.length > MAX_HEADERS) throw new ImPayloadError("malformed-cpim", `more than ${MAX_HEADERS} ${what}`);
  }
}

function parseHeader(line: string, what: string): CpimHeader {
  const colon = line.indexOf(":");
  const name = colon > 0 ? line.slice(0, colon) : "";
  if (!NAME_RE.test(name)) throw new ImPayloadError("malformed-cpim", `bad ${what} line: ${line.slice(0, 80)}`);
  let rest = line.slice(colon + 1);
  let params: string | undefined;
  if (rest.startsWith(";")) {
    const sp = rest.search(/\s/);
    params = sp < 0 ? rest : rest.slice(0, sp);
    rest = sp < 0 ? "" : rest.slice(sp);
  }
  const h: CpimHeader = { name, value: rest.trim() };
  if (params) h.params = params;
  return h;
}

/** Parse a message/cpim body. Throws ImPayloadError("malformed-cpim") on anything not RFC 3862. */
export function parseCpim(text: string): CpimMessage {
  const message = splitBlock(text, 0, "message headers");
  const headers = message.lines.map((l) => parseHeader(l, "message header"));
  // content headers are RFC 2045 MIME headers: case-insensitive names
  const content = splitBlock(text, message.next, "content headers");
  const contentHeaders = content.lines.map((l) => parseHeader(l, "content header"));
  if (!contentHeaders.some((h) => h.name.toLowerCase() === "content-type")) throw new ImPayloadError("malformed-cpim", "encapsulated entity has no Content-Type");
  return { headers, contentHeaders, body: text.slice(content.next) };
}

/** Serialize (CRLF line ends). A value holding a line break is refused: it would inject headers. */
export function serializeCpim(message: CpimMessage): string {
  const line = (h: CpimHeader) => {
    if (!NAME_RE.test(h.name) || /[\r\n]/.test(h.value) || /[\s\r\n]/.test(h.params ?? "")) throw new ImPayloadError("invalid-value", `CPIM header ${h.name} cannot be written`);
    return `${h.name}:${h.params ?? ""} ${h.value}\r\n`;
  };
  return `${message.headers.map(line).join("")}\r\n${message.contentHeaders.map(line).join("")}\r\n${message.body}`;
}

/** Prefix → namespace URN, from the `NS` headers (§3.3.1); the empty prefix is the default namespace. */
function namespaces(message: CpimMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of message.headers) {
    if (h.name !== "NS") continue;
    const m = /^\s*([^\s<]*)\s*<([^>]+)>\s*$/.exec(h.value);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** Values of header `name` in namespace `ns` (undefined = the CPIM core headers), whatever prefix the sender chose. */
export function cpimHeaders(message: CpimMessage, name: string, ns?: string): string[] {
  const prefixes = ns === undefined ? new Set([""]) : new Set([...namespaces(message)].filter(([, urn]) => urn === ns).map(([p]) => p));
  return message.headers
    .filter((h) => {
      const dot = h.name.lastIndexOf(".");
      const prefix = dot < 0 ? "" : h.name.slice(0, dot);
      return h.name.slice(dot + 1) === name && prefixes.has(prefix);
    })
    .map((h) => h.value);
}

export function cpimHeader(message: CpimMessage, name: string, ns?: string): string | undefined {
  return cpimHeaders(message, name, ns)[0];
}

/** The encapsulated entity's media type (lower-cased `type/subtype`). */
export function cpimContentType(message: CpimMessage): string {
  const ct = message.contentHeaders.find((h) => h.name.toLowerCase() === "content-type")?.value ?? "";
  try {
    return parseMediaType(ct).mime;
  } catch {
    throw new ImPayloadError("bad-content-type", `encapsulated Content-Type is not a media type: ${ct.slice(0, 80)}`);
  }
}

/** `[display-name] <URI>` (§4.1): the URI and the display name, or undefined when malformed. */
export function parseCpimAddress(value: string): { uri: string; displayName?: string } | undefined {
  const m = ADDRESS_RE.exec(value);
  if (!m) return undefined;
  const display = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]?.trim();
  return display ? { uri: m[3], displayName: display } : { uri: m[3] };
}

/** The AOR a CPIM address URI names (`im:`, `pres:` or `sip:`, §4.1), canonical: for comparing with SIP identities. */
export function cpimAor(uri: string): string {
  return canonicalAor(uri.replace(/^(im|pres):/i, "sip:"));
}

export function formatCpimAddress(uri: string, displayName?: string): string {
  return displayName ? `"${displayName.replace(/["\\]/g, "\\$&")}" <${uri}>` : `<${uri}>`;
}

/**
 * A CPIM message as a sender writes one: From, To, DateTime, then `extraHeaders` (imdn.* after
 * their NS declaration), then the body with its Content-Type.
 */
export function createCpim(init: {
  from: { uri: string; displayName?: string };
  to: { uri: string; displayName?: string };
  dateTime?: Date;
  extraHeaders?: CpimHeader[];
  contentType: string;
  body: string;
  contentHeaders?: CpimHeader[];
}): CpimMessage {
  return {
    headers: [
      { name: "From", value: formatCpimAddress(init.from.uri, init.from.displayName) },
      { name: "To", value: formatCpimAddress(init.to.uri, init.to.displayName) },
      { name: "DateTime", value: (init.dateTime ?? new Date()).toISOString() },
      ...(init.extraHeaders ?? []),
    ],
    contentHeaders: [{ name: "Content-Type", value: init.contentType }, ...(init.contentHeaders ?? [])],
    body: init.body,
  };
}
