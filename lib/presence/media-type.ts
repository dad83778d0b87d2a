/**
 * Content-Type header values (RFC 2045 §5.1 / RFC 3261 §20.15): `type/subtype *(; param=value)`,
 * values as tokens or quoted strings (with backslash escapes).
 */
import { PresencePayloadError } from "./errors";

export interface MediaType {
  /** Lower-cased `type/subtype`. */
  mime: string;
  /** Parameters by lower-cased name, values unquoted. */
  params: Record<string, string>;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseMediaType(header: string): MediaType {
  let i = 0;
  const s = header.trim();
  const semi = s.indexOf(";");
  const mime = (semi < 0 ? s : s.slice(0, semi)).trim().toLowerCase();
  const [type, subtype, extra] = mime.split("/");
  if (!type || !subtype || extra !== undefined || !TOKEN_RE.test(type) || !TOKEN_RE.test(subtype)) {
    throw new PresencePayloadError("bad-content-type", `invalid media type: ${header.slice(0, 100)}`);
  }
  const params: Record<string, string> = {};
  i = semi < 0 ? s.length : semi;
  while (i < s.length) {
    // at ';'
    i++;
    while (i < s.length && /\s/.test(s[i])) i++;
    const eq = s.indexOf("=", i);
    if (eq < 0) break;
    const name = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < s.length && /\s/.test(s[i])) i++;
    let value = "";
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length) i++;
        value += s[i++];
      }
      if (s[i] !== '"') throw new PresencePayloadError("bad-content-type", `unterminated quoted parameter ${name}`);
      i++;
      while (i < s.length && s[i] !== ";") i++;
    } else {
      const next = s.indexOf(";", i);
      value = (next < 0 ? s.slice(i) : s.slice(i, next)).trim();
      i = next < 0 ? s.length : next;
    }
    if (name) params[name] = value;
  }
  return { mime, params };
}

/** Quote a parameter value when it is not a token. */
export function formatParam(name: string, value: string): string {
  return TOKEN_RE.test(value) ? `${name}=${value}` : `${name}="${value.replace(/(["\\])/g, "\\$1")}"`;
}
