/**
 * SIP/SIPS URIs (RFC 3261 §19.1) with parse, serialize and the §19.1.4 comparison rules.
 * Other schemes (tel:, pres:, urn: ...) are kept as an opaque `AbsoluteUri`.
 */
import { SipParseError } from "./parse-error";
import { Params } from "./syntax";

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+\-.]*):/;
const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_])?\.?$|^[A-Za-z0-9]$/;
const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
/** A dotted-quad octet above 255 (256-999): the address is invalid. */
const IPV4_OCTET_OVER_RE = /(?:^|\.)(?:2(?:5[6-9]|[6-9]\d)|[3-9]\d\d)(?:\.|$)/;
const IPV6_RE = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT_RE = /^\d{1,5}$/;
// user / password / param / header characters (unreserved, escaped and the component's own extras)
const USER_RE = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
const PASSWORD_RE = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/;
const PARAMCHAR_RE = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$]|%[0-9A-Fa-f]{2})+$/;
const HNVCHAR_RE = /^(?:[A-Za-z0-9\-_.!~*'()[\]/?:+$]|%[0-9A-Fa-f]{2})*$/;
const OPAQUE_RE = /^[^\s<>"]+$/;
const USER_UNSAFE_RE = /[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g;
const PASSWORD_UNSAFE_RE = /[^A-Za-z0-9\-_.!~*'()&=+$,]/g;
const PCT_RE = /%[0-9A-Fa-f]{2}/;
const HEX2_RE = /^[0-9A-Fa-f]{2}$/;
const HEADER_UNSAFE_RE = /[^A-Za-z0-9\-_.!~*'()[\]/?:+$]/g;

const escapeChar = (c: string): string =>
  Array.from(Buffer.from(c, "utf8"), (b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join("");

/** Decode %-escapes; malformed UTF-8 decodes to U+FFFD (never throws). */
export function unescapeUriComponent(s: string): string {
  if (!PCT_RE.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && HEX2_RE.test(s.substr(i + 1, 2))) {
      bytes.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(s[i], "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

export interface SipUriInit {
  scheme?: "sip" | "sips";
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params?: Record<string, string | null> | Params;
  headers?: Record<string, string>;
}

export class SipUri {
  readonly kind = "sip" as const;
  scheme: "sip" | "sips";
  /** User part, %-unescaped. */
  user?: string;
  /** Password, %-unescaped. */
  password?: string;
  /** Host as written (IPv6 with its brackets). */
  host: string;
  port?: number;
  /** URI parameters; values are kept as written (escapes intact). */
  params: Params;
  /** URI headers (`?name=value&...`), values %-unescaped. */
  headers: Array<[string, string]>;

  constructor(init: SipUriInit) {
    this.scheme = init.scheme ?? "sip";
    this.user = init.user;
    this.password = init.password;
    this.host = init.host;
    this.port = init.port;
    this.params = Params.from(init.params);
    this.headers = init.headers ? Object.entries(init.headers) : [];
  }

  static parse(text: string): SipUri {
    const uri = parseUri(text);
    if (!(uri instanceof SipUri)) throw new SipParseError("INVALID_URI", "not a sip or sips URI");
    return uri;
  }

  get transport(): string | undefined {
    const t = this.params.get("transport");
    return typeof t === "string" ? t.toLowerCase() : undefined;
  }

  /** `user@host` (no port), handy as an address-of-record key. */
  get aor(): string {
    return `${this.scheme}:${this.user !== undefined ? this.user + "@" : ""}${this.host.toLowerCase()}`;
  }

  /** Serialized without URI headers (as needed e.g. for a Request-URI). */
  toString(): string {
    let s = this.scheme + ":";
    if (this.user !== undefined) {
      s += this.user.replace(USER_UNSAFE_RE, escapeChar);
      if (this.password !== undefined) s += ":" + this.password.replace(PASSWORD_UNSAFE_RE, escapeChar);
      s += "@";
    }
    s += this.host;
    if (this.port !== undefined) s += ":" + this.port;
    s += this.params.toString();
    if (this.headers.length > 0) {
      s += "?" + this.headers.map(([k, v]) => `${k}=${v.replace(HEADER_UNSAFE_RE, escapeChar)}`).join("&");
    }
    return s;
  }

  clone(): SipUri {
    const u = new SipUri({ scheme: this.scheme, user: this.user, password: this.password, host: this.host, port: this.port });
    u.params = this.params.clone();
    u.headers = this.headers.map(([k, v]) => [k, v]);
    return u;
  }

  /** URI comparison per RFC 3261 §19.1.4. */
  equals(other: Uri): boolean {
    if (!(other instanceof SipUri)) return false;
    if (this.scheme !== other.scheme) return false;
    if (this.user !== other.user || this.password !== other.password) return false; // case-sensitive, unescaped
    if (this.host.toLowerCase() !== other.host.toLowerCase()) return false;
    if (this.port !== other.port) return false; // an explicit default port is not equal to none
    for (const name of ["user", "ttl", "method", "maddr", "transport"]) {
      const a = this.params.get(name);
      const b = other.params.get(name);
      if (a === undefined && b === undefined) continue;
      if (a === undefined || b === undefined) return false;
      if (unescapeUriComponent(a ?? "").toLowerCase() !== unescapeUriComponent(b ?? "").toLowerCase()) return false;
    }
    for (const [name, a] of this.params.entries()) {
      const b = other.params.get(name);
      if (b === undefined) continue; // other params only compared when present in both
      if (unescapeUriComponent(a ?? "").toLowerCase() !== unescapeUriComponent(b ?? "").toLowerCase()) return false;
    }
    if (this.headers.length !== other.headers.length) return false;
    for (const [name, value] of this.headers) {
      const match = other.headers.find(([n]) => n.toLowerCase() === name.toLowerCase());
      if (!match || match[1] !== value) return false;
    }
    return true;
  }
}

/** A URI of a scheme other than sip/sips (tel, pres, im, urn, http...), kept opaque. */
export class AbsoluteUri {
  readonly kind = "absolute" as const;
  constructor(
    readonly scheme: string,
    readonly value: string,
  ) {}
  toString(): string {
    return `${this.scheme}:${this.value}`;
  }
  clone(): AbsoluteUri {
    return new AbsoluteUri(this.scheme, this.value);
  }
  equals(other: Uri): boolean {
    return other instanceof AbsoluteUri && other.scheme === this.scheme && other.value === this.value;
  }
}

export type Uri = SipUri | AbsoluteUri;

function bad(reason: string): never {
  throw new SipParseError("INVALID_URI", reason);
}

export function parseHostPort(text: string): { host: string; port?: number } {
  let host: string;
  let rest: string;
  if (text.charCodeAt(0) === 91 /* [ */) {
    const close = text.indexOf("]");
    if (close < 0) bad("unterminated IPv6 reference");
    host = text.slice(0, close + 1);
    rest = text.slice(close + 1);
    if (!IPV6_RE.test(host)) bad("invalid IPv6 reference");
  } else {
    const colon = text.indexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? "" : text.slice(colon);
    if (IPV4_RE.test(host)) {
      if (IPV4_OCTET_OVER_RE.test(host)) bad("invalid IPv4 address");
    } else if (!HOSTNAME_RE.test(host)) bad("invalid host");
  }
  if (rest === "") return { host };
  if (rest.charCodeAt(0) !== 58 || !PORT_RE.test(rest.slice(1))) bad("invalid port");
  const port = Number(rest.slice(1));
  if (port > 65535) bad("port out of range");
  return { host, port };
}

/** Parse any URI; sip/sips are fully parsed, others kept opaque. */
export function parseUri(text: string): Uri {
  const m = SCHEME_RE.exec(text);
  if (!m) bad("missing scheme");
  const scheme = m[1].toLowerCase();
  const rest = text.slice(m[0].length);
  if (scheme !== "sip" && scheme !== "sips") {
    if (rest === "" || !OPAQUE_RE.test(rest)) bad("invalid absolute URI");
    return new AbsoluteUri(scheme, rest);
  }
  if (rest === "") bad("empty sip URI");
  const uri = new SipUri({ scheme: scheme as "sip" | "sips", host: "" });
  let hostStart = 0;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (!USER_RE.test(user)) bad("invalid user part");
    uri.user = unescapeUriComponent(user);
    if (colon >= 0) {
      const pw = userinfo.slice(colon + 1);
      if (!PASSWORD_RE.test(pw)) bad("invalid password");
      uri.password = unescapeUriComponent(pw);
    }
    hostStart = at + 1;
  }
  let end = rest.length;
  const q = rest.indexOf("?", hostStart);
  if (q >= 0) end = q;
  const semi = rest.indexOf(";", hostStart);
  const hostEnd = semi >= 0 && semi < end ? semi : end;
  const hp = parseHostPort(rest.slice(hostStart, hostEnd));
  uri.host = hp.host;
  uri.port = hp.port;
  if (hostEnd < end) {
    for (const part of rest.slice(hostEnd + 1, end).split(";")) {
      const eq = part.indexOf("=");
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? null : part.slice(eq + 1);
      if (!PARAMCHAR_RE.test(name) || (value !== null && !PARAMCHAR_RE.test(value))) bad("invalid URI parameter");
      uri.params.set(name, value);
    }
  }
  if (q >= 0) {
    for (const part of rest.slice(q + 1).split("&")) {
      const eq = part.indexOf("=");
      if (eq <= 0) bad("invalid URI header");
      const name = part.slice(0, eq);
      const value = part.slice(eq + 1);
      if (!HNVCHAR_RE.test(name) || !HNVCHAR_RE.test(value)) bad("invalid URI header");
      uri.headers.push([unescapeUriComponent(name), unescapeUriComponent(value)]);
    }
  }
  return uri;
}
