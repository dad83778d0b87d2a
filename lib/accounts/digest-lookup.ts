/** Digest credentials of accounts (RFC 2617/7616 HA1 by user and realm), plus ephemeral ones. */
import type { Db } from "../db";
import { ephemeralCredentialsLookup, parseEphemeralUsername, type CredentialsLookup } from "../sip";

/** HA1 of an enabled account in an enabled domain with this realm. */
export function accountCredentialsLookup(db: Db): CredentialsLookup {
  return async (username, realm, algorithm) => {
    // one indexed query per challenge answer (hot path of every XCAP request)
    const acc = await db.account.findFirst({
      where: { username, disabled: false, domain: { realm, enabled: true } },
      select: { ha1: true, ha1Sha256: true },
    });
    if (!acc) return undefined;
    return algorithm === "SHA-256" ? acc.ha1Sha256 : acc.ha1;
  };
}

/**
 * Account HA1s, and short-lived credentials `<expiry>:<user>` signed with the shared secret —
 * accepted only while the account itself exists and is enabled.
 */
export function sipCredentialsLookup(db: Db, ephemeralSecret: string): CredentialsLookup {
  const accounts = accountCredentialsLookup(db);
  const ephemeral = ephemeralCredentialsLookup({ secret: ephemeralSecret });
  return async (username, realm, algorithm) => {
    const eph = parseEphemeralUsername(username);
    if (eph) {
      if (!(await accounts(eph.user, realm, algorithm))) return undefined;
      return ephemeral(username, realm, algorithm);
    }
    return accounts(username, realm, algorithm);
  };
}

/** The account user name behind a digest user name (strips the ephemeral expiry prefix). */
export function digestAccountUser(username: string): string {
  return parseEphemeralUsername(username)?.user ?? username;
}
