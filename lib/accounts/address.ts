/** SIP addresses of accounts: `user@domain` (an optional `sip:` prefix is accepted and dropped). */

export class AddressError extends Error {
  readonly code = "malformed-address";
}

// RFC 3261 §25.1 "user" unreserved + user-unreserved characters (no escapes in account names)
const USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]+$/;
const DOMAIN_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (!DOMAIN_RE.test(d)) throw new AddressError(`malformed domain name: ${JSON.stringify(domain)}`);
  return d;
}

/** Parse `user@domain` or `sip:user@domain`; the domain is lower-cased, the user kept as typed. */
export function parseAddress(input: string): { user: string; domain: string; address: string } {
  const s = input.trim().replace(/^sip:/i, "");
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) {
    throw new AddressError(`malformed SIP address ${JSON.stringify(input)}: expected user@domain`);
  }
  const user = s.slice(0, at);
  if (!USER_RE.test(user) || user.length > 64) {
    throw new AddressError(`malformed SIP address ${JSON.stringify(input)}: invalid user part`);
  }
  let domain: string;
  try {
    domain = normalizeDomain(s.slice(at + 1));
  } catch {
    throw new AddressError(`malformed SIP address ${JSON.stringify(input)}: invalid domain`);
  }
  return { user, domain, address: `${user}@${domain}` };
}
