/**
 * Short-lived SIP credentials for the page (the autheph scheme: user name `<expiry>:<user>`,
 * password base64 HMAC-SHA1 of the user name): the browser never needs the SIP password.
 */
import { issueEphemeralCredentials } from "../sip";
import { config } from "../config";
import { accountAddress } from "../accounts/address";
import { db } from "../db";

export interface PageSipCredentials {
  /** Path of the WebSocket bridge on the portal's host. */
  wsPath: string;
  aor: string;
  authorizationUser: string;
  password: string;
  displayName: string | null;
  realm: string;
  expires: number;
}

export function sipCredentialsFor(user: { address: string; name: string | null }, realm: string): PageSipCredentials {
  const c = config();
  const { user: name } = accountAddress(user.address);
  const eph = issueEphemeralCredentials({ secret: c.ephemeralSecret, user: name, ttlSeconds: c.SIP_EPHEMERAL_TTL });
  return {
    wsPath: "/sip",
    aor: `sip:${user.address}`,
    authorizationUser: eph.username,
    password: eph.password,
    displayName: user.name,
    realm,
    expires: eph.expires,
  };
}

export type PageSipCredentialsResult = { ok: true; credentials: PageSipCredentials } | { ok: false; status: 403; error: string };

/**
 * Credentials for a signed-in user, or why none are issued (their domain is disabled). Used by
 * the credentials route and by the pages, which hand the first set to the client with the page
 * itself so that the SIP connection starts without another round trip.
 */
export async function issuePageSipCredentials(user: { address: string; name: string | null }): Promise<PageSipCredentialsResult> {
  const domain = await db().domain.findUnique({ where: { name: user.address.split("@")[1] } });
  if (!domain?.enabled) return { ok: false, status: 403, error: "domain disabled" };
  return { ok: true, credentials: sipCredentialsFor(user, domain.realm) };
}
