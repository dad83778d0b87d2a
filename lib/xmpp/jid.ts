/**
 * JIDs (RFC 7622) as far as the SIP–XMPP gateway needs them: split into local part, domain and
 * resource, the bare JID, and the mapping between a bare JID and a `sip:` URI (the same
 * `user@domain` on both sides: `bob@xmpp.example` ⇄ `sip:bob@xmpp.example`).
 */

export interface Jid {
  local?: string;
  domain: string;
  resource?: string;
}

/** Parse `local@domain/resource` (local part and domain lower-cased, resource kept as is); undefined when malformed. */
export function parseJid(text: string | undefined): Jid | undefined {
  if (!text) return undefined;
  const slash = text.indexOf("/");
  const bare = slash < 0 ? text : text.slice(0, slash);
  const resource = slash < 0 ? undefined : text.slice(slash + 1);
  if (resource === "") return undefined;
  const at = bare.indexOf("@");
  const local = at < 0 ? undefined : bare.slice(0, at).toLowerCase();
  const domain = (at < 0 ? bare : bare.slice(at + 1)).toLowerCase();
  if (local === "" || !domain || /[\s@<>"'&]/.test(domain) || (local !== undefined && /[\s@<>"'&:/]/.test(local))) return undefined;
  return { local, domain, resource };
}

/** `local@domain` (or `domain`). */
export function bareJid(j: Jid): string {
  return j.local === undefined ? j.domain : `${j.local}@${j.domain}`;
}

/** `sip:local@domain` for a JID with a local part. */
export function jidToSipUri(j: Jid): string | undefined {
  return j.local === undefined ? undefined : `sip:${j.local}@${j.domain}`;
}

/** The bare JID of a `sip:user@domain` AOR (undefined when it has no user part). */
export function sipUriToJid(aor: string): Jid | undefined {
  const s = aor.replace(/^sips?:/i, "");
  const at = s.lastIndexOf("@");
  if (at <= 0) return undefined;
  return parseJid(s);
}
