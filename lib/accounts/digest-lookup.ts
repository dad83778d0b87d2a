/**
 * Digest credentials of accounts (RFC 2617/7616 HA1s), plus ephemeral ones. Accounts are looked up
 * by (user, domain of the identity being claimed), never by realm: several domains may share a
 * realm, and a password of alice@example.test must not open alice@other.test.
 */
import type { Db } from "../db";
import { ephemeralCredentialsLookup, parseEphemeralUsername, type CredentialsLookup, type DigestAlgorithm } from "../sip";
import { accountsGeneration } from "./changes";

interface Ha1Row {
  ha1: string;
  ha1Sha256: string;
}

export interface CredentialsCacheOptions {
  /** How long an answer (HA1s, or "no such enabled account") is reused, ms. Default 5000; 0 = no cache. */
  ttlMs?: number;
  /** Most entries kept (then the cache starts over). Default 10000. */
  maxEntries?: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

export const CREDENTIALS_TTL_MS = 5_000;

interface Entry<T> {
  until: number;
  row: Promise<T | null>;
}

/**
 * Per-process cache of account HA1s by (user name, domain). A Prisma query per XCAP request costs
 * about as much CPU as the request itself, and a digest client answers every request with
 * credentials. Every account or domain write in this process (lib/accounts/service) empties it at
 * once (accountsGeneration); a write by another process (the CLI) is seen within the TTL, so a
 * disabled account or a changed password stops working within `ttlMs` at the latest.
 */
export class CredentialsCache<T = Ha1Row> {
  private readonly entries = new Map<string, Entry<T>>();
  private generation = accountsGeneration();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Counters (tests, diagnostics). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(options: CredentialsCacheOptions = {}) {
    this.ttlMs = Math.max(0, options.ttlMs ?? CREDENTIALS_TTL_MS);
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  /** The cached answer for (username, domain), or `load`'s (then cached until the TTL or an account write). */
  get(username: string, domain: string, load: () => Promise<T | null>): Promise<T | null> {
    if (this.ttlMs === 0) return load();
    const gen = accountsGeneration();
    if (gen !== this.generation) {
      this.entries.clear();
      this.generation = gen;
    }
    const k = `${username}\u0000${domain}`;
    const now = this.now();
    const e = this.entries.get(k);
    if (e && e.until > now) {
      this.stats.hits++;
      return e.row;
    }
    this.stats.misses++;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    // concurrent requests of one user share the query in flight
    const row = load();
    const entry: Entry<T> = { until: now + this.ttlMs, row };
    this.entries.set(k, entry);
    row.then(
      () => {
        // an account write while the query ran: its answer may predate the write, do not keep it
        if (accountsGeneration() !== gen && this.entries.get(k) === entry) this.entries.delete(k);
      },
      () => {
        if (this.entries.get(k) === entry) this.entries.delete(k);
      },
    );
    return row;
  }

  clear(): void {
    this.entries.clear();
  }
}

export interface AccountCredentialsOptions {
  /** A cache of HA1s (default: none, one query per lookup). */
  cache?: CredentialsCache;
  /** Whether short-lived credentials of `address` expiring at `expires` (unix s) predate the account's last revocation: refused then. */
  ephemeralRevoked?: (address: string, expires: number) => boolean;
}

/** HA1 of an enabled account `username` in the enabled domain `domain` (by name). */
export type AccountHa1Lookup = (username: string, domain: string, algorithm: DigestAlgorithm) => Promise<string | undefined>;

export function accountCredentialsLookup(db: Db, options: AccountCredentialsOptions = {}): AccountHa1Lookup {
  const query = (username: string, domain: string) => () =>
    db.account.findFirst({
      where: { username, disabled: false, domain: { name: domain, enabled: true } },
      select: { ha1: true, ha1Sha256: true },
    });
  const cache = options.cache;
  return async (username, domain, algorithm) => {
    // one indexed query per challenge answer (hot path of every XCAP request), unless cached
    const acc = cache ? await cache.get(username, domain, query(username, domain)) : await query(username, domain)();
    if (!acc) return undefined;
    return algorithm === "SHA-256" ? acc.ha1Sha256 : acc.ha1;
  };
}

/**
 * The digest credentials lookup for identities in `domain` (the domain of the XUI/AOR, whatever
 * its realm): account HA1s, and short-lived credentials `<expiry>:<user>` signed with the shared
 * secret — accepted only while the account itself exists and is enabled, and not when issued
 * before the account's sessions were last ended.
 */
export function sipCredentialsLookup(db: Db, ephemeralSecret: string, options: AccountCredentialsOptions = {}): (domain: string) => CredentialsLookup {
  const accounts = accountCredentialsLookup(db, options);
  const ephemeral = ephemeralCredentialsLookup({ secret: ephemeralSecret });
  return (domain) => async (username, realm, algorithm) => {
    const eph = parseEphemeralUsername(username);
    if (eph) {
      if (!(await accounts(eph.user, domain, algorithm))) return undefined;
      if (options.ephemeralRevoked?.(`${eph.user}@${domain}`, eph.expires)) return undefined;
      return ephemeral(username, realm, algorithm);
    }
    return accounts(username, domain, algorithm);
  };
}

/** The account user name behind a digest user name (strips the ephemeral expiry prefix). */
export function digestAccountUser(username: string): string {
  return parseEphemeralUsername(username)?.user ?? username;
}
