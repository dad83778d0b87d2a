/** Canonical header names, compact forms (RFC 3261 §7.3.3 and later RFCs), and list-valued headers. */

const CANONICAL = [
  "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
  "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
  "Content-Disposition", "Content-Encoding", "Content-ID", "Content-Language", "Content-Length",
  "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "Flow-Timer", "From", "Identity",
  "Identity-Info", "In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires", "Organization",
  "P-Asserted-Identity", "Path", "Priority", "Proxy-Authenticate", "Proxy-Authorization",
  "Proxy-Require", "Reason", "Record-Route", "Refer-To", "Referred-By", "Reject-Contact",
  "Reply-To", "Request-Disposition", "Require", "Retry-After", "Route", "RSeq", "Server",
  "Service-Route", "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject", "Subscription-State",
  "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
];

const COMPACT: Record<string, string> = {
  a: "Accept-Contact", b: "Referred-By", c: "Content-Type", d: "Request-Disposition",
  e: "Content-Encoding", f: "From", i: "Call-ID", j: "Reject-Contact", k: "Supported",
  l: "Content-Length", m: "Contact", n: "Identity-Info", o: "Event", r: "Refer-To", s: "Subject",
  t: "To", u: "Allow-Events", v: "Via", x: "Session-Expires", y: "Identity",
};

const BY_LOWER = new Map<string, string>();
for (const name of CANONICAL) BY_LOWER.set(name.toLowerCase(), name);
for (const [short, long] of Object.entries(COMPACT)) BY_LOWER.set(short, long);
/** Spellings looked up as they are (canonical, lower case, compact): no lower-casing on the hot path. */
const EXACT = new Map<string, string>(BY_LOWER);
for (const name of CANONICAL) EXACT.set(name, name);
for (const [short, long] of Object.entries(COMPACT)) EXACT.set(short.toUpperCase(), long);

/** Canonical spelling when `name` is a known header (any case, or compact form), else undefined. */
export function knownHeaderName(name: string): string | undefined {
  return EXACT.get(name) ?? BY_LOWER.get(name.toLowerCase());
}

const LOWER = new Map<string, string>(CANONICAL.map((n) => [n, n.toLowerCase()]));
/** Lower-case form of a canonical name (precomputed for the known ones). */
export function lowerHeaderName(canonical: string): string {
  return LOWER.get(canonical) ?? canonical.toLowerCase();
}

/** Canonical spelling of a header name (compact forms expanded); unknown names keep their spelling. */
export function canonicalHeaderName(name: string): string {
  return EXACT.get(name) ?? BY_LOWER.get(name.toLowerCase()) ?? name;
}

/** Headers whose values are comma-separated lists (RFC 3261 §7.3.1) and are split on parse. */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  "accept", "accept-encoding", "accept-language", "alert-info", "allow", "allow-events",
  "call-info", "contact", "content-encoding", "content-language", "error-info", "in-reply-to",
  "path", "proxy-require", "record-route", "require", "route", "service-route", "supported",
  "unsupported", "via", "warning", "p-asserted-identity", "reason",
]);

/** List headers written back as one comma-joined line (token lists); the others get one line per value. */
export const JOINED_HEADERS: ReadonlySet<string> = new Set([
  "accept", "accept-encoding", "accept-language", "allow", "allow-events", "content-encoding",
  "content-language", "proxy-require", "require", "supported", "unsupported",
]);
