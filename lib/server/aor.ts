/** Address-of-record helpers: the canonical `sip:user@domain` form keys every table of the server. */
import { SipUri, type Uri } from "../sip";

/** The one AOR normaliser lives in lib/sip/aor.ts (shared with the portal and the browser). */
export { canonicalAor } from "../sip/aor";

/** `sip:user@domain` (sips folded to sip, host lower-cased, no port/params), or undefined for non-SIP URIs. */
export function aorOf(uri: Uri): string | undefined {
  if (!(uri instanceof SipUri) || uri.user === undefined) return undefined;
  return `sip:${uri.user}@${uri.host.toLowerCase()}`;
}

export function splitAor(aor: string): { user: string; domain: string } {
  const s = aor.replace(/^sips?:/i, "");
  const at = s.lastIndexOf("@");
  return { user: s.slice(0, at), domain: s.slice(at + 1) };
}
