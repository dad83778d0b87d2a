/** SIP addresses of accounts: `user@domain` (an optional `sip:` prefix is accepted and dropped). */
import { parseAor } from "../sip/aor";

export class AddressError extends Error {
  readonly code = "malformed-address";
}

// account names are plain RFC 3261 §25.1 user characters: no escapes, at most 64
const ACCOUNT_USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,/]{1,64}$/;
const DOMAIN_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (!DOMAIN_RE.test(d)) throw new AddressError(`malformed domain name: ${JSON.stringify(domain)}`);
  return d;
}

/**
 * An account's address from `user@domain` or `sip:user@domain`, through the one AOR parser
 * (lib/sip/aor.ts); the domain is lower-cased, the user kept as typed.
 */
export function accountAddress(input: string): { user: string; domain: string; address: string } {
  let parsed;
  try {
    parsed = parseAor(input);
  } catch (e) {
    throw new AddressError((e as Error).message);
  }
  if (input.includes("%") || !ACCOUNT_USER_RE.test(parsed.user)) throw new AddressError(`malformed SIP address ${JSON.stringify(input)}: invalid user part`);
  const domain = normalizeDomain(parsed.host);
  return { user: parsed.user, domain, address: `${parsed.user}@${domain}` };
}
