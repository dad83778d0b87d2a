/** Address-of-record helpers: the canonical `sip:user@domain` form keys every table of the server. */
import { SipUri, unescapeUriComponent, type Uri } from "../sip";

/** `sip:user@domain` (sips folded to sip, host lower-cased, no port/params), or undefined for non-SIP URIs. */
export function aorOf(uri: Uri): string | undefined {
  if (!(uri instanceof SipUri) || uri.user === undefined) return undefined;
  return `sip:${uri.user}@${uri.host.toLowerCase()}`;
}

/** Canonical AOR from text (`sip:…`, `<sip:…>`, `user@domain`, percent-encoded Blink form). */
export function canonicalAor(text: string): string {
  let s = text.trim();
  if (s.includes("%")) s = unescapeUriComponent(s);
  if (s.startsWith("<")) s = s.slice(1, s.indexOf(">") < 0 ? undefined : s.indexOf(">"));
  s = s.replace(/^sips?:/i, "");
  s = s.split(/[;?]/, 1)[0];
  const at = s.lastIndexOf("@");
  if (at < 0) return `sip:${s.toLowerCase()}`;
  return `sip:${s.slice(0, at)}@${s.slice(at + 1).replace(/:\d+$/, "").toLowerCase()}`;
}

export function splitAor(aor: string): { user: string; domain: string } {
  const s = aor.replace(/^sips?:/i, "");
  const at = s.lastIndexOf("@");
  return { user: s.slice(0, at), domain: s.slice(at + 1) };
}
