/**
 * Ephemeral (time-limited) credentials, the scheme of Kamailio's autheph module (and the TURN
 * REST API): username `<expiry-unix-seconds>:<user>`, password = base64(HMAC-SHA1(secret, username)).
 * The portal hands these to the browser; the presence server derives HA1 from the shared secret.
 */
import { createHmac } from "node:crypto";
import type { CredentialsLookup } from "./digest-server";
import { computeHa1, type DigestAlgorithm } from "./digest-hash";

const EPHEMERAL_RE = /^(\d{1,12}):(.+)$/;

export interface EphemeralCredentials {
  username: string;
  password: string;
  /** Expiry, unix seconds. */
  expires: number;
}

export function ephemeralPassword(secret: string | Buffer, username: string): string {
  return createHmac("sha1", secret).update(username, "utf8").digest("base64");
}

export function issueEphemeralCredentials(opts: {
  secret: string | Buffer;
  user: string;
  ttlSeconds: number;
  /** Current time in ms (default Date.now()). */
  now?: number;
}): EphemeralCredentials {
  const expires = Math.floor((opts.now ?? Date.now()) / 1000) + opts.ttlSeconds;
  const username = `${expires}:${opts.user}`;
  return { username, password: ephemeralPassword(opts.secret, username), expires };
}

export function parseEphemeralUsername(username: string): { expires: number; user: string } | undefined {
  const m = EPHEMERAL_RE.exec(username);
  return m ? { expires: Number(m[1]), user: m[2] } : undefined;
}

/** HA1 for an ephemeral username (any algorithm), or undefined when not ephemeral or expired. */
export function ephemeralHa1(opts: {
  secret: string | Buffer;
  username: string;
  realm: string;
  algorithm: DigestAlgorithm;
  now?: number;
}): string | undefined {
  const parsed = parseEphemeralUsername(opts.username);
  if (!parsed) return undefined;
  if (parsed.expires * 1000 <= (opts.now ?? Date.now())) return undefined;
  return computeHa1(opts.algorithm, opts.username, opts.realm, ephemeralPassword(opts.secret, opts.username));
}

/**
 * A `CredentialsLookup` that accepts ephemeral usernames (not expired) and defers everything
 * else to `fallback` (e.g. the accounts table's MD5 HA1).
 */
export function ephemeralCredentialsLookup(opts: {
  secret: string | Buffer;
  fallback?: CredentialsLookup;
  clock?: () => number;
}): CredentialsLookup {
  const clock = opts.clock ?? Date.now;
  return async (username, realm, algorithm) => {
    if (parseEphemeralUsername(username)) return ephemeralHa1({ secret: opts.secret, username, realm, algorithm, now: clock() });
    return opts.fallback ? opts.fallback(username, realm, algorithm) : undefined;
  };
}
