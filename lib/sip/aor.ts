/**
 * The one address-of-record normaliser (RFC 3261 §10.3, §19.1.4): `sip:user@host` keys every table,
 * XCAP tree (the XUI, RFC 4825 §4) and comparison in Herald. Browser-safe: no imports, no Buffer.
 *
 * - `canonicalAor(text)` is total (never throws): for addresses read from the wire or from stored
 *   documents, which are compared, never refused.
 * - `parseAor(text)` is strict: for addresses a person typed (portal, CLI, accounts); a malformed one
 *   throws `AorError` with a message that says what is wrong.
 *
 * Both: whitespace, `Display Name <…>` and `<>` dropped; percent-escapes decoded; `sip:`/`sips:` or
 * no scheme (a bare `user@host` is SIP) give `sip:` (Herald keeps one tree per user whichever
 * scheme reached it); URI parameters, headers and port dropped; host lower-cased, user kept as typed.
 * URIs of other schemes (`tel:`, `pres:`, `im:`) are not AORs: `canonicalAor` returns them as they are.
 */

export class AorError extends Error {
  readonly code = "malformed-address";
  constructor(message: string) {
    super(message);
    this.name = "AorError";
  }
}

export interface ParsedAor {
  user: string;
  /** lower-case domain name or IP literal, no port */
  host: string;
  /** `sip:user@host` */
  aor: string;
}

export interface ParseAorOptions {
  /**
   * Require a full domain name (at least two labels, such as example.com), an IP literal or
   * `localhost`: what the portal asks of an address typed as a contact. Default false.
   */
  fullDomain?: boolean;
  /** Longest input accepted. Default 256. */
  maxLength?: number;
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const PCT_RUN_RE = /(?:%[0-9A-Fa-f]{2})+/g;
// RFC 3261 §25.1 user: unreserved / user-unreserved (escapes are decoded first; `;` and `?` start params)
const USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,/]+$/;
const DOMAIN_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6_REF_RE = /^\[[0-9A-Fa-f:.]+\]$/;

/** Decode runs of percent-escapes as UTF-8; a run that is not valid UTF-8 stays as it was. */
function decodeEscapes(s: string): string {
  if (!s.includes("%")) return s;
  return s.replace(PCT_RUN_RE, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** The parts of an address: scheme (lower-case, "" when none), user (undefined without `@`), host with port. */
function split(text: string): { scheme: string; user?: string; host: string } {
  let s = decodeEscapes(text.trim());
  const lt = s.indexOf("<");
  if (lt >= 0) {
    const gt = s.indexOf(">", lt);
    s = s.slice(lt + 1, gt < 0 ? undefined : gt).trim();
  }
  const m = SCHEME_RE.exec(s);
  const scheme = m ? m[1]!.toLowerCase() : "";
  const addr = (m ? s.slice(m[0].length) : s).split(/[;?]/, 1)[0]!;
  const at = addr.lastIndexOf("@");
  return at < 0 ? { scheme, host: addr } : { scheme, user: addr.slice(0, at), host: addr.slice(at + 1) };
}

function stripPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1 || undefined);
  return host.replace(/:\d*$/, "");
}

/** Canonical `sip:user@host` of an address as read from the wire or a document; never throws. */
export function canonicalAor(text: string): string {
  const p = split(text);
  if (p.scheme && p.scheme !== "sip" && p.scheme !== "sips") return text.trim();
  const host = stripPort(p.host).toLowerCase();
  return p.user === undefined ? `sip:${host}` : `sip:${p.user}@${host}`;
}

/** Parse an address a person typed; throws AorError naming the problem. */
export function parseAor(input: string, options: ParseAorOptions = {}): ParsedAor {
  const shown = JSON.stringify(typeof input === "string" && input.length > 80 ? `${input.slice(0, 80)}…` : input);
  const bad = (why: string) => new AorError(`malformed SIP address ${shown}: ${why}`);
  if (typeof input !== "string" || !input.trim()) throw bad("expected user@domain");
  const max = options.maxLength ?? 256;
  if (input.length > max) throw bad(`longer than ${max} characters`);
  const p = split(input);
  if (p.scheme && p.scheme !== "sip" && p.scheme !== "sips") throw bad(`a ${p.scheme}: URI is not a SIP address; expected user@domain or sip:user@domain`);
  if (p.user === undefined || !p.user) throw bad("expected user@domain");
  if (!USER_RE.test(p.user)) throw bad("invalid user part");
  const hostPort = /^(.*?)(?::(\d{1,5}))?$/.exec(p.host)!;
  const host = hostPort[1]!.toLowerCase().replace(/\.$/, "");
  const ip = IPV4_RE.test(host) || IPV6_REF_RE.test(host);
  if (!host || (!ip && !DOMAIN_RE.test(host))) throw bad("invalid domain");
  if (options.fullDomain && !ip && host !== "localhost" && !host.includes(".")) {
    throw bad(`"${host}" is not a full domain name; expected user@domain such as bob@example.com`);
  }
  return { user: p.user, host, aor: `sip:${p.user}@${host}` };
}
