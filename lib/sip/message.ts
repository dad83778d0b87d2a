/**
 * SIP message model (RFC 3261 §7). Headers are kept as ordered raw values under canonical names
 * (list headers split into one entry per element); typed views are parsed on first access and
 * cached. The parser primes the cache for the routing-critical headers, so a message that parsed
 * has valid Via, From, To, Call-ID, CSeq, Content-Length, Event and Expires.
 */
import { CSeq } from "./cseq";
import { canonicalHeaderName, knownHeaderName, lowerHeaderName } from "./header-names";
import { NameAddr, type ContactValue } from "./name-addr";
import { ParamHeader } from "./param-header";
import { SipParseError, type SipParseErrorCode } from "./parse-error";
import { TOKEN_RE, parseUnsigned } from "./syntax";
import { parseUri, type Uri } from "./uri";
import { Via } from "./via";

const HEADER_VALUE_BAD_RE = /[\r\n]/;
// eslint-disable-next-line no-control-regex -- RFC 3261 §25.1 Reason-Phrase admits no control character but HTAB
const REASON_BAD_RE = /[\x00-\x08\x0a-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const REASON_BAD_RUN_RE = /[\x00-\x08\x0a-\x1f\x7f]+/g;
/** Longest reason phrase written (RFC 3261 sets none; a status line stays short and log-friendly). */
export const MAX_REASON_PHRASE_LENGTH = 128;
const CALL_ID_RE = /^[^\s]+$/;
const WS_LIST_RE = /[ \t]*,[ \t]*/;

export interface HeaderField {
  /** Canonical name (compact forms expanded). */
  name: string;
  value: string;
}

/** Anything with a wire form: strings, `Via`, `NameAddr`, `CSeq`, `SipUri`, numbers. */
export type HeaderValue = string | number | { toString(): string };

export type SipBody = Buffer | string;

function toWire(name: string, v: HeaderValue): string {
  const s = typeof v === "string" ? v : String(v);
  if (HEADER_VALUE_BAD_RE.test(s)) throw new TypeError(`header ${name} value contains CR or LF`);
  return s;
}

export abstract class SipMessage {
  /** Ordered header fields. Mutate through the methods below so typed caches stay coherent. */
  readonly headers: HeaderField[] = [];
  body: Buffer = Buffer.alloc(0);
  /** Parsed typed values keyed by lower-case header name. */
  private cache = new Map<string, unknown>();

  abstract get isRequest(): boolean;
  abstract startLine(): string;

  // ---- raw header access --------------------------------------------------------------------

  getHeader(name: string): string | undefined {
    const canonical = canonicalHeaderName(name);
    const lower = lowerHeaderName(canonical);
    for (const h of this.headers) if (sameName(h.name, canonical, lower)) return h.value;
    return undefined;
  }

  getHeaders(name: string): string[] {
    const canonical = canonicalHeaderName(name);
    const lower = lowerHeaderName(canonical);
    const out: string[] = [];
    for (const h of this.headers) if (sameName(h.name, canonical, lower)) out.push(h.value);
    return out;
  }

  hasHeader(name: string): boolean {
    return this.getHeader(name) !== undefined;
  }

  /** Replace every value of `name` (keeps the position of the first occurrence). */
  setHeader(name: string, value: HeaderValue | HeaderValue[]): this {
    const canonical = this.checkName(name);
    const lower = canonical.toLowerCase();
    const given = Array.isArray(value) ? value : [value];
    const values = given.map((v) => toWire(canonical, v));
    let pos = this.headers.findIndex((h) => sameName(h.name, canonical, lower));
    this.removeHeader(canonical);
    if (pos < 0 || pos > this.headers.length) pos = this.headers.length;
    this.headers.splice(pos, 0, ...values.map((v) => ({ name: canonical, value: v })));
    // Via objects written back (the transport's received/rport, §18.2.1) are the typed view as
    // they stand: no re-parse of what was just serialized (the objects now belong to the message)
    if (lower === "via" && given.every((v) => v instanceof Via)) this.cache.set(lower, given);
    return this;
  }

  /** Append (or with `prepend`, insert before the first value of the same name). */
  addHeader(name: string, value: HeaderValue, options?: { prepend?: boolean }): this {
    const canonical = this.checkName(name);
    const lower = lowerHeaderName(canonical);
    const field = { name: canonical, value: toWire(canonical, value) };
    this.cache.delete(lower);
    if (options?.prepend) {
      const pos = this.headers.findIndex((h) => h.name.toLowerCase() === lower);
      this.headers.splice(pos < 0 ? 0 : pos, 0, field);
    } else {
      this.headers.push(field);
    }
    return this;
  }

  /**
   * Append a Via or CSeq built here (a request being made): when it is the first of its name, the
   * object is kept as the typed view, so the transaction layer does not parse back what was just
   * written. The object belongs to the message from then on.
   */
  addBuiltHeader(value: Via | CSeq): this {
    const name = value instanceof Via ? "Via" : "CSeq";
    const first = this.getHeader(name) === undefined;
    this.addHeader(name, value);
    if (first) this.cache.set(name === "Via" ? "via" : "cseq", name === "Via" ? [value] : value);
    return this;
  }

  removeHeader(name: string): this {
    const lower = canonicalHeaderName(name).toLowerCase();
    this.cache.delete(lower);
    for (let i = this.headers.length - 1; i >= 0; i--) if (this.headers[i].name.toLowerCase() === lower) this.headers.splice(i, 1);
    return this;
  }

  /** @internal used by the parser: append without validation, the parser has checked the text. */
  pushRawHeader(name: string, value: string): void {
    this.headers.push({ name, value });
  }

  private checkName(name: string): string {
    const known = knownHeaderName(name);
    if (known !== undefined) return known;
    if (!TOKEN_RE.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    return name;
  }

  /**
   * Typed, cached view of a header. `lower` is the lower-case canonical name; `parse` (a
   * module-level function: no closure per access) receives all raw values (may be empty).
   */
  protected typed<T>(lower: string, parse: (values: string[]) => T): T {
    const cache = this.cache;
    const hit = cache.get(lower);
    if (hit !== undefined || cache.has(lower)) return hit as T;
    const value = parse(this.getHeaders(lower));
    cache.set(lower, value);
    return value;
  }

  // ---- typed views --------------------------------------------------------------------------

  get via(): Via[] {
    return this.typed("via", parseVias);
  }
  get topVia(): Via | undefined {
    return this.via[0];
  }
  get from(): NameAddr {
    return this.typed("from", parseFrom);
  }
  get to(): NameAddr {
    return this.typed("to", parseTo);
  }
  get callId(): string {
    return this.typed("call-id", parseCallId);
  }
  get cseq(): CSeq {
    return this.typed("cseq", parseCSeq);
  }
  /** Declared Content-Length, if the header is present. */
  get contentLength(): number | undefined {
    return this.typed("content-length", parseContentLength);
  }
  get event(): ParamHeader | undefined {
    return this.typed("event", parseEvent);
  }
  get expires(): number | undefined {
    return this.typed("expires", parseExpires);
  }
  get minExpires(): number | undefined {
    return this.typed("min-expires", parseMinExpires);
  }
  get maxForwards(): number | undefined {
    return this.typed("max-forwards", parseMaxForwards);
  }
  /** Contact list; `["*"]` for the REGISTER wildcard. */
  get contact(): ContactValue[] {
    return this.typed("contact", parseContacts);
  }
  get route(): NameAddr[] {
    return this.typed("route", parseNameAddrs);
  }
  get recordRoute(): NameAddr[] {
    return this.typed("record-route", parseNameAddrs);
  }
  get contentType(): ParamHeader | undefined {
    return this.typed("content-type", parseContentType);
  }
  get subscriptionState(): ParamHeader | undefined {
    return this.typed("subscription-state", parseSubscriptionState);
  }
  get supported(): string[] {
    return this.typed("supported", tokenList);
  }
  get require(): string[] {
    return this.typed("require", tokenList);
  }
  get allow(): string[] {
    return this.typed("allow", tokenList);
  }
  get allowEvents(): string[] {
    return this.typed("allow-events", tokenList);
  }
  get accept(): string[] {
    return this.typed("accept", parseAccept);
  }

  /** Body as UTF-8 text. */
  get bodyText(): string {
    return this.body.toString("utf8");
  }
  setBody(body: SipBody, contentType?: string): this {
    this.body = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    if (contentType !== undefined) this.setHeader("Content-Type", contentType);
    return this;
  }

  /** Parse every structured header this model knows; throws the first SipParseError. */
  validate(): void {
    this.primeCache();
    // only headers that are present can be malformed: absent ones are not parsed (nor cached) here
    for (const [name, view] of VALIDATED) if (this.getHeader(name) !== undefined) view(this);
  }

  /** @internal the parser primes the cache for the routing-critical headers (each getter parses and caches). */
  primeCache(): void {
    const views: unknown[] = [this.via, this.from, this.to, this.callId, this.cseq, this.contentLength, this.event, this.expires];
    views.length = 0;
  }
}

export interface SipRequestInit {
  method: string;
  uri: Uri | string;
  headers?: Array<[string, HeaderValue]>;
  body?: SipBody;
}

export class SipRequest extends SipMessage {
  method: string;
  uri: Uri;
  constructor(init: SipRequestInit) {
    super();
    if (!TOKEN_RE.test(init.method)) throw new TypeError("invalid method");
    this.method = init.method;
    this.uri = typeof init.uri === "string" ? parseUri(init.uri) : init.uri;
    for (const [n, v] of init.headers ?? []) this.addHeader(n, v);
    if (init.body !== undefined) this.setBody(init.body);
  }
  get isRequest(): true {
    return true;
  }
  startLine(): string {
    return `${this.method} ${this.uri.toString()} SIP/2.0`;
  }
}

export interface SipResponseInit {
  status: number;
  reason?: string;
  headers?: Array<[string, HeaderValue]>;
  body?: SipBody;
}

export class SipResponse extends SipMessage {
  status: number;
  private phrase = "";
  constructor(init: SipResponseInit) {
    super();
    if (!Number.isInteger(init.status) || init.status < 100 || init.status > 699) throw new TypeError("invalid status");
    this.status = init.status;
    this.reason = init.reason ?? defaultReason(init.status);
    for (const [n, v] of init.headers ?? []) this.addHeader(n, v);
    if (init.body !== undefined) this.setBody(init.body);
  }
  /** Reason phrase; whatever is assigned is made wire-safe (`sanitizeReasonPhrase`). */
  get reason(): string {
    return this.phrase;
  }
  set reason(value: string) {
    this.phrase = sanitizeReasonPhrase(this.status, value);
  }
  get isRequest(): false {
    return false;
  }
  startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

export type SipMessageAny = SipRequest | SipResponse;
/** Naming per CONVENTIONS: what arrives from the network vs what we send. Same classes. */
export type IncomingRequest = SipRequest;
export type IncomingResponse = SipResponse;
export type OutgoingRequest = SipRequest;
export type OutgoingResponse = SipResponse;

/** Structured headers `validate()` parses beyond the primed ones, in order. */
const VALIDATED: ReadonlyArray<readonly [string, (m: SipMessage) => unknown]> = [
  ["Min-Expires", (m) => m.minExpires],
  ["Max-Forwards", (m) => m.maxForwards],
  ["Contact", (m) => m.contact],
  ["Route", (m) => m.route],
  ["Record-Route", (m) => m.recordRoute],
  ["Content-Type", (m) => m.contentType],
  ["Subscription-State", (m) => m.subscriptionState],
  ["Supported", (m) => m.supported],
  ["Require", (m) => m.require],
  ["Allow", (m) => m.allow],
  ["Allow-Events", (m) => m.allowEvents],
  ["Accept", (m) => m.accept],
];

/** A stored (canonical) header name against a looked-up one: exact first, case-insensitive for unknown spellings. */
function sameName(stored: string, canonical: string, lower: string): boolean {
  return stored === canonical || (stored.length === lower.length && stored.toLowerCase() === lower);
}

// typed-view parsers (module level: one function object each, not one per access)
const parseVias = (vs: string[]): Via[] => vs.map((v) => Via.parse(v));
const parseFrom = (vs: string[]): NameAddr => single(vs, "From", "INVALID_NAME_ADDR", NameAddr.parse);
const parseTo = (vs: string[]): NameAddr => single(vs, "To", "INVALID_NAME_ADDR", NameAddr.parse);
const parseCallId = (vs: string[]): string =>
  single(vs, "Call-ID", "MALFORMED_HEADER", (v) => {
    const t = v.trim();
    if (!CALL_ID_RE.test(t)) throw new SipParseError("MALFORMED_HEADER", "invalid Call-ID");
    return t;
  });
const parseCSeq = (vs: string[]): CSeq => single(vs, "CSeq", "INVALID_CSEQ", CSeq.parse);
const parseContentLength = (vs: string[]): number | undefined =>
  optional(vs, "Content-Length", (v) => parseUnsigned(v, 2 ** 31 - 1, "INVALID_CONTENT_LENGTH", "Content-Length"));
const parseEvent = (vs: string[]): ParamHeader | undefined => optional(vs, "Event", (v) => ParamHeader.parse(v, "INVALID_VALUE"));
const parseExpires = (vs: string[]): number | undefined => optional(vs, "Expires", (v) => parseUnsigned(v, 2 ** 32 - 1, "INVALID_VALUE", "Expires"));
const parseMinExpires = (vs: string[]): number | undefined => optional(vs, "Min-Expires", (v) => parseUnsigned(v, 2 ** 32 - 1, "INVALID_VALUE", "Min-Expires"));
const parseMaxForwards = (vs: string[]): number | undefined => optional(vs, "Max-Forwards", (v) => parseUnsigned(v, 255, "INVALID_VALUE", "Max-Forwards"));
const parseContacts = (vs: string[]): ContactValue[] => vs.map((v) => (v.trim() === "*" ? "*" : NameAddr.parse(v)));
const parseNameAddrs = (vs: string[]): NameAddr[] => vs.map((v) => NameAddr.parse(v));
const parseContentType = (vs: string[]): ParamHeader | undefined => optional(vs, "Content-Type", (v) => ParamHeader.parse(v, "INVALID_VALUE", "media-type"));
const parseSubscriptionState = (vs: string[]): ParamHeader | undefined => optional(vs, "Subscription-State", (v) => ParamHeader.parse(v));
const parseAccept = (vs: string[]): string[] => vs.filter((v) => v.trim() !== "").map((v) => ParamHeader.parse(v, "INVALID_VALUE", "media-type").value);

function single<T>(values: string[], name: string, code: SipParseErrorCode, parse: (v: string) => T): T {
  if (values.length === 0) throw new SipParseError("MISSING_HEADER", `missing ${name}`);
  if (values.length > 1) throw new SipParseError("DUPLICATE_HEADER", `duplicate ${name}`);
  return parse(values[0]);
}

function optional<T>(values: string[], name: string, parse: (v: string) => T): T | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new SipParseError("DUPLICATE_HEADER", `duplicate ${name}`);
  return parse(values[0]);
}

function tokenList(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const t of v.split(WS_LIST_RE)) {
      const tok = t.trim();
      if (tok === "") continue;
      if (!TOKEN_RE.test(tok)) throw new SipParseError("INVALID_VALUE", "invalid token in list");
      out.push(tok);
    }
  }
  return out;
}

const REASONS: Record<number, string> = {
  100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
  200: "OK", 202: "Accepted", 204: "No Notification", 300: "Multiple Choices", 301: "Moved Permanently",
  302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service", 400: "Bad Request",
  401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
  405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
  408: "Request Timeout", 410: "Gone", 412: "Conditional Request Failed", 413: "Request Entity Too Large",
  414: "Request-URI Too Long", 415: "Unsupported Media Type", 416: "Unsupported URI Scheme",
  420: "Bad Extension", 421: "Extension Required", 423: "Interval Too Brief", 430: "Flow Failed",
  439: "First Hop Lacks Outbound Support", 480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
  484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
  488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
  500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
  600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
};

/**
 * The one place a reason phrase is made safe to write (every response is built through
 * `SipResponse`, whose `reason` setter calls this): control characters, CR and LF included
 * (RFC 3261 §25.1 Reason-Phrase), become a space, the phrase is cut to
 * `MAX_REASON_PHRASE_LENGTH`, and one that is left blank falls back to the status's default.
 * Text from anywhere (a parser's error message, a peer's input) can be passed as it is.
 */
export function sanitizeReasonPhrase(status: number, reason: string): string {
  let r = typeof reason === "string" ? reason : String(reason);
  if (r.length <= MAX_REASON_PHRASE_LENGTH && !REASON_BAD_RE.test(r)) return r;
  r = r.replace(REASON_BAD_RUN_RE, " ").trim();
  if (r.length > MAX_REASON_PHRASE_LENGTH) {
    let cut = MAX_REASON_PHRASE_LENGTH;
    const c = r.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--; // never split a surrogate pair
    r = r.slice(0, cut).trimEnd();
  }
  return r === "" ? defaultReason(status) : r;
}

export function defaultReason(status: number): string {
  return REASONS[status] ?? (status < 200 ? "Provisional" : status < 300 ? "OK" : status < 700 ? "Error" : "");
}
